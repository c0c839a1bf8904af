// A small parser for the Prometheus text exposition format 0.0.4 that keeps only the families it is
// asked for. One pass over the body, no regular expression over a whole line: the metric name is
// read first and a line whose family is not wanted is skipped before anything else is looked at.
// Malformed lines are skipped, never thrown about.
//
// Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
//   metric_name [ "{" label_name "=" `"` label_value `"` { "," … } [ "," ] "}" ] value [ timestamp ]
// Lines end with "\n" (a "\r" before it is tolerated). The format requires the last line to end with
// "\n" too: an unterminated last line may be a body cut short, so it is skipped rather than trusted.

/** One series value. `name` is the full series name, e.g. `etcd_disk_wal_fsync_duration_seconds_bucket`. */
export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries a timestamp. */
  readonly timestamp?: number;
}

/** What a histogram or summary family adds to its name for its series. */
const SERIES_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

const CH_CR = 13;
const CH_SPACE = 32;
const CH_TAB = 9;
const CH_HASH = 35;
const CH_LBRACE = 123;
const CH_RBRACE = 125;
const CH_EQ = 61;
const CH_QUOTE = 34;
const CH_COMMA = 44;
const CH_BACKSLASH = 92;

const isBlank = (c: number): boolean => c === CH_SPACE || c === CH_TAB;
const isNameStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // A-Z a-z _
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 48 && c <= 57); // + 0-9
const isMetricNameStart = (c: number): boolean => isNameStart(c) || c === 58; // + ':'
const isMetricNameChar = (c: number): boolean => isNameChar(c) || c === 58;

// Unambiguous on purpose: `\d+\.?\d*` lets the engine split a run of digits two ways, so a long
// digit token that fails to match (garbage from a broken endpoint) costs quadratic time; this form
// is linear (a 1 MB token is rejected in milliseconds, not hours).
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?\d+$/;

/** Parses a sample value as Go's ParseFloat does for exposition values: decimals, NaN, ±Inf. */
export function parsePromValue(token: string): number | undefined {
  switch (token.toLowerCase()) {
    case 'nan': return NaN;
    case '+inf': case 'inf': case '+infinity': case 'infinity': return Infinity;
    case '-inf': case '-infinity': return -Infinity;
  }
  return FLOAT.test(token) ? Number(token) : undefined;
}

/**
 * The family a series name belongs to, if it is wanted: the name itself, or the name less a
 * `_bucket`/`_sum`/`_count` suffix when that family is a histogram or summary (or has no `# TYPE`
 * line: an exposition without TYPE lines is taken at its word).
 */
function familyOf(name: string, wanted: ReadonlySet<string>, types: ReadonlyMap<string, string>): string | undefined {
  if (wanted.has(name)) return name;
  for (const suffix of SERIES_SUFFIXES) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, name.length - suffix.length);
      if (!wanted.has(base)) continue;
      const type = types.get(base);
      if (type === undefined || type === 'histogram' || type === 'summary') return base;
    }
  }
  return undefined;
}

const TYPE_PREFIX = '# TYPE ';

/** Records `# TYPE name type` for a wanted family (the line is body[start, end)). */
function readType(body: string, start: number, end: number, wanted: ReadonlySet<string>, types: Map<string, string>): void {
  if (!body.startsWith(TYPE_PREFIX, start)) return;
  const parts = body.slice(start + TYPE_PREFIX.length, end).trim().split(/[ \t]+/);
  if (parts.length === 2 && wanted.has(parts[0]!)) types.set(parts[0]!, parts[1]!);
}

function setLabel(labels: Record<string, string>, name: string, value: string): void {
  // A plain assignment to `__proto__` would not create a property.
  if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
  else labels[name] = value;
}

/**
 * Parses one sample line, body[start, end) (no line terminator), whose metric name ends at `nameEnd`.
 * Returns undefined when the line is malformed.
 */
function parseSampleLine(body: string, name: string, nameEnd: number, end: number): Sample | undefined {
  let i = nameEnd;
  while (i < end && isBlank(body.charCodeAt(i))) i++;
  const labels: Record<string, string> = {};
  if (i < end && body.charCodeAt(i) === CH_LBRACE) {
    i++;
    const seen = new Set<string>();
    for (;;) {
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (i >= end) return undefined;
      if (body.charCodeAt(i) === CH_RBRACE) { i++; break; }
      // label name
      const ls = i;
      if (!isNameStart(body.charCodeAt(i))) return undefined;
      i++;
      while (i < end && isNameChar(body.charCodeAt(i))) i++;
      const labelName = body.slice(ls, i);
      if (seen.has(labelName)) return undefined;
      seen.add(labelName);
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (i >= end || body.charCodeAt(i) !== CH_EQ) return undefined;
      i++;
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (i >= end || body.charCodeAt(i) !== CH_QUOTE) return undefined;
      i++;
      // label value, with the escapes \\ \" \n
      let value = '';
      let chunk = i;
      let closed = false;
      while (i < end) {
        const c = body.charCodeAt(i);
        if (c === CH_QUOTE) { closed = true; break; }
        if (c === CH_BACKSLASH) {
          if (i + 1 >= end) return undefined;
          const e = body.charCodeAt(i + 1);
          value += body.slice(chunk, i);
          if (e === CH_BACKSLASH) value += '\\';
          else if (e === CH_QUOTE) value += '"';
          else if (e === 110 /* n */) value += '\n';
          else return undefined;
          i += 2;
          chunk = i;
          continue;
        }
        i++;
      }
      if (!closed) return undefined;
      value += body.slice(chunk, i);
      i++; // closing quote
      setLabel(labels, labelName, value);
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (i >= end) return undefined;
      const sep = body.charCodeAt(i);
      if (sep === CH_COMMA) { i++; continue; }
      if (sep === CH_RBRACE) { i++; break; }
      return undefined;
    }
  } else if (i === nameEnd) {
    return undefined; // the name must be followed by "{" or a blank
  }
  // value ("}" may be followed directly by the value, as Go's parser allows)
  while (i < end && isBlank(body.charCodeAt(i))) i++;
  const vs = i;
  while (i < end && !isBlank(body.charCodeAt(i))) i++;
  if (i === vs) return undefined;
  const value = parsePromValue(body.slice(vs, i));
  if (value === undefined) return undefined;
  // optional timestamp
  while (i < end && isBlank(body.charCodeAt(i))) i++;
  let timestamp: number | undefined;
  if (i < end) {
    const ts = i;
    while (i < end && !isBlank(body.charCodeAt(i))) i++;
    const token = body.slice(ts, i);
    if (!INTEGER.test(token)) return undefined;
    timestamp = Number(token);
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    if (i < end) return undefined;
  }
  return timestamp === undefined ? { name, labels, value } : { name, labels, value, timestamp };
}

/** What a parse saw, for self-observability and tests. */
export interface PromTextStats {
  /** Lines looked at (comments and blank lines included). */
  lines: number;
  /** Lines of a wanted family that could not be parsed (skipped). */
  malformed: number;
}

/**
 * Parses a text exposition and returns the samples of the wanted families, by family. A family is
 * named as in its `# TYPE` line: `etcd_server_has_leader`, `etcd_server_leader_changes_seen_total`,
 * or `etcd_disk_wal_fsync_duration_seconds` for a histogram (whose `_bucket`, `_sum` and `_count`
 * series it then collects). Families with no sample are absent from the map. Never throws.
 */
export function parsePromText(body: string, wanted: ReadonlySet<string>, stats?: PromTextStats): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  const types = new Map<string, string>();
  const len = body.length;
  let pos = 0;
  let lines = 0;
  let malformed = 0;
  // Series come in runs of one name (a histogram's buckets, a counter's label sets): the family of
  // the previous line's name is reused instead of being looked up again. Any comment line may be a
  // TYPE line that changes what a name belongs to, so it forgets the run.
  let runName: string | undefined;
  let runFamily: string | undefined;
  while (pos < len) {
    let nl = body.indexOf('\n', pos);
    const terminated = nl !== -1;
    if (!terminated) nl = len;
    const start = pos;
    let end = nl;
    pos = nl + 1;
    lines++;
    if (end > start && body.charCodeAt(end - 1) === CH_CR) end--;
    // leading blanks are allowed before a sample
    let i = start;
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    if (i >= end) continue; // blank line
    const first = body.charCodeAt(i);
    if (first === CH_HASH) {
      readType(body, i, end, wanted, types); // HELP and other comments are skipped
      runName = undefined;
      continue;
    }
    if (!isMetricNameStart(first)) {
      if (!terminated) break;
      continue; // not a sample of any family: nothing to want
    }
    const ns = i;
    i++;
    while (i < end && isMetricNameChar(body.charCodeAt(i))) i++;
    const name = body.slice(ns, i);
    let family: string | undefined;
    if (name === runName) family = runFamily;
    else {
      family = familyOf(name, wanted, types);
      runName = name;
      runFamily = family;
    }
    if (family === undefined) continue;
    if (!terminated) { malformed++; break; } // possibly cut short
    const sample = parseSampleLine(body, name, i, end);
    if (sample === undefined) { malformed++; continue; }
    const list = out.get(family);
    if (list) list.push(sample);
    else out.set(family, [sample]);
  }
  if (stats) { stats.lines = lines; stats.malformed = malformed; }
  return out;
}
