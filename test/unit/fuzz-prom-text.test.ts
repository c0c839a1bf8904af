// Property-based tests (fast-check) of the Prometheus text parser that reads etcd's /metrics: it
// never throws, its output is bounded by its input, valid expositions round-trip exactly, a body cut
// anywhere yields only lines the full body has (never a corrupted value), and unwanted or garbage
// lines change nothing. Plus the worst cases a fuzzer finds slowly: long tokens that a backtracking
// regular expression would take hours over.
import fc from 'fast-check';
import t from 'tap';
import { parsePromText, parsePromValue, type PromTextStats, type Sample } from '../../src/host/prom-text.js';

const RUNS = { numRuns: 500 };

const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,24}$/);
const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
// Any text at all, including quotes, backslashes, newlines and characters outside the BMP.
const labelValue = fc.string({ unit: 'binary', maxLength: 24 });
const sampleValue = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, 0, 1, -1),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
);

interface GenSample {
  name: string;
  labels: Array<[string, string]>;
  value: number;
  timestamp?: number;
}

const genSample: fc.Arbitrary<GenSample> = fc.record(
  {
    name: metricName,
    labels: fc.uniqueArray(fc.tuple(labelName, labelValue), { maxLength: 4, selector: ([k]) => k }),
    value: sampleValue,
    timestamp: fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  },
  { requiredKeys: ['name', 'labels', 'value'] },
);

/** Go's formatting of a sample value, as etcd writes it. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function renderLine(s: GenSample, style: { spaces: boolean; trailingComma: boolean }): string {
  const sp = style.spaces ? ' ' : '';
  const labels = s.labels.map(([k, v]) => `${k}${sp}=${sp}"${escapeLabel(v)}"`);
  const block = labels.length > 0 ? `{${labels.join(',' + sp)}${style.trailingComma ? ',' : ''}}` : '';
  return `${s.name}${block} ${formatValue(s.value)}${s.timestamp !== undefined ? ` ${s.timestamp}` : ''}`;
}

function expected(s: GenSample): Sample {
  const labels: Record<string, string> = {};
  for (const [k, v] of s.labels) Object.defineProperty(labels, k, { value: v, enumerable: true, writable: true, configurable: true });
  return s.timestamp === undefined ? { name: s.name, labels, value: s.value } : { name: s.name, labels, value: s.value, timestamp: s.timestamp };
}

/** Samples grouped by family as the parser returns them, in input order (each name is its own family here). */
function byFamily(samples: readonly GenSample[]): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = out.get(s.name) ?? [];
    list.push(expected(s));
    out.set(s.name, list);
  }
  return out;
}

function sameSample(a: Sample, b: Sample): boolean {
  const va = Number.isNaN(a.value) ? 'NaN' : a.value;
  const vb = Number.isNaN(b.value) ? 'NaN' : b.value;
  return a.name === b.name && va === vb && a.timestamp === b.timestamp && JSON.stringify(Object.entries(a.labels)) === JSON.stringify(Object.entries(b.labels));
}

function sameResult(got: Map<string, Sample[]>, want: Map<string, Sample[]>): boolean {
  if (got.size !== want.size) return false;
  for (const [family, list] of want) {
    const g = got.get(family);
    if (g === undefined || g.length !== list.length) return false;
    if (!list.every((s, i) => sameSample(s, g[i]!))) return false;
  }
  return true;
}

/** Every character the output holds: it can never exceed the input's. */
function outputChars(out: Map<string, Sample[]>): number {
  let n = 0;
  for (const list of out.values()) for (const s of list) n += s.name.length + Object.entries(s.labels).reduce((a, [k, v]) => a + k.length + v.length, 0);
  return n;
}

t.test('arbitrary text: never throws, output bounded by the input', async (t) => {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    // Mostly exposition-like characters, so lines get deep into the label and value grammar.
    fc.string({ unit: fc.constantFrom(...'ab_:{}=",\\ \t\n\r#019.eE+-InfNa'.split('')), maxLength: 400 }),
  );
  const wanted = fc.uniqueArray(fc.constantFrom('a', 'ab', 'a_b', 'b', 'a:b', 'ab_bucket', 'ab_count'), { maxLength: 4 });
  fc.assert(
    fc.property(text, wanted, (body, names) => {
      const stats: PromTextStats = { lines: 0, malformed: 0 };
      const out = parsePromText(body, new Set(names), stats);
      const samples = [...out.values()].reduce((a, l) => a + l.length, 0);
      const lines = body === '' ? 0 : body.split('\n').length;
      return stats.lines <= lines && stats.malformed <= stats.lines && samples + stats.malformed <= stats.lines && outputChars(out) <= body.length;
    }),
    RUNS,
  );
  t.pass('no exception escaped and every output was bounded by its input');
});

t.test('valid expositions round-trip exactly (escapes, NaN, ±Inf, timestamps, spacing styles)', async (t) => {
  fc.assert(
    fc.property(fc.array(genSample, { maxLength: 12 }), fc.boolean(), fc.boolean(), fc.boolean(), (samples, spaces, trailingComma, crlf) => {
      const eol = crlf ? '\r\n' : '\n';
      const body = samples.map((s) => renderLine(s, { spaces, trailingComma }) + eol).join('');
      const got = parsePromText(body, new Set(samples.map((s) => s.name)));
      return sameResult(got, byFamily(samples));
    }),
    RUNS,
  );
  t.pass('every generated exposition parsed back to its samples');
});

t.test('a body cut anywhere yields a prefix of the full result: never a corrupted value', async (t) => {
  fc.assert(
    fc.property(fc.array(genSample, { minLength: 1, maxLength: 8 }), fc.nat(), (samples, cutSeed) => {
      const body = samples.map((s) => renderLine(s, { spaces: false, trailingComma: false }) + '\n').join('');
      const cut = cutSeed % (body.length + 1);
      const wanted = new Set(samples.map((s) => s.name));
      const full = parsePromText(body, wanted);
      const part = parsePromText(body.slice(0, cut), wanted);
      for (const [family, list] of part) {
        const f = full.get(family);
        if (f === undefined || list.length > f.length) return false;
        if (!list.every((s, i) => sameSample(s, f[i]!))) return false;
      }
      return true;
    }),
    RUNS,
  );
  t.pass('truncation only ever drops whole lines');
});

t.test('unwanted families, comments and garbage lines between samples change nothing', async (t) => {
  // Garbage that cannot be a wanted sample: a comment that is not a TYPE line, or a line whose first
  // character cannot start a metric name.
  const garbage = fc.tuple(fc.constantFrom('#~', '# HELP x ', '{', '9', '"', '=', '}', ' \t#'), fc.string({ unit: 'binary', maxLength: 40 })).map(([p, s]) => (p + s).replace(/[\r\n]/g, ' '));
  const unwanted = fc.tuple(fc.constantFrom('zz_unwanted', 'go_gc_seconds', 'process_open_fds'), genSample).map(([n, s]) => renderLine({ ...s, name: n }, { spaces: true, trailingComma: false }));
  fc.assert(
    fc.property(fc.array(fc.tuple(genSample, fc.array(fc.oneof(garbage, unwanted), { maxLength: 3 })), { maxLength: 8 }), (items) => {
      const samples = items.map(([s]) => s).filter((s) => !['zz_unwanted', 'go_gc_seconds', 'process_open_fds'].includes(s.name));
      const body = items
        .filter(([s]) => samples.includes(s))
        .map(([s, noise]) => [renderLine(s, { spaces: false, trailingComma: false }), ...noise].join('\n') + '\n')
        .join('');
      return sameResult(parsePromText(body, new Set(samples.map((s) => s.name))), byFamily(samples));
    }),
    RUNS,
  );
  t.pass('noise was skipped');
});

t.test('parsePromValue: finite doubles round-trip through their shortest text; junk is undefined, never a throw', async (t) => {
  fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => parsePromValue(String(x)) === (Object.is(x, -0) ? 0 : x)), RUNS);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
      const v = parsePromValue(s);
      return v === undefined || typeof v === 'number';
    }),
    RUNS,
  );
  t.pass();
});

t.test('long tokens are rejected in linear time (a backtracking float pattern took hours on 1 MB)', async (t) => {
  const digits = '1'.repeat(1_000_000);
  const started = performance.now();
  t.equal(parsePromValue(digits + 'x'), undefined, 'a 1 MB run of digits with a bad end is not a number');
  t.equal(parsePromValue(digits + '.' + digits + 'e+' + digits + 'x'), undefined);
  const body = `etcd_disk_wal_fsync_duration_seconds_count ${digits}x\netcd_disk_wal_fsync_duration_seconds_count 7\n`;
  const got = parsePromText(body, new Set(['etcd_disk_wal_fsync_duration_seconds_count']));
  t.same(got.get('etcd_disk_wal_fsync_duration_seconds_count')?.map((s) => s.value), [7], 'the garbage line is skipped, the next one read');
  const elapsed = performance.now() - started;
  t.ok(elapsed < 5000, `done in ${elapsed.toFixed(0)} ms (quadratic matching: hours)`);
});
