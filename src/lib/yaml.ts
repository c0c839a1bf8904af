// A YAML subset reader. No YAML dependency on purpose: the agent reads one file of a fixed, machine-written shape (kubeadm
// writes block-style YAML with one flag per `- ` line), needs three lists out of it, and must run in a
// minimal container where every dependency is attack surface and image weight. The reader below
// understands the YAML that Kubernetes manifests use: block mappings and sequences; plain, single-
// and double-quoted scalars; flow sequences/mappings; comments; JSON; and `|`/`>` block scalars
// approximately (text without final newline or inner indentation; etcd flags are never written so).
// It refuses (returns undefined) what it does not understand (aliases, `?` keys, tabs in indentation,
// malformed nesting) instead of guessing: the kubelet would refuse a broken manifest too.


export type YamlValue = string | null | YamlValue[] | Map<string, YamlValue>;

export class YamlError extends Error {}

interface Line {
  indent: number;
  text: string;
}

/** The largest text the reader accepts (kubeadm's etcd.yaml is ~3 KiB). */
export const MAX_YAML_CHARS = 1 << 20;

/**
 * `s` without trailing spaces and tabs. Not `s.replace(/[ \t]+$/, '')`: that regular expression is
 * retried from every blank of a line and costs quadratic time on a long run of inner blanks (a
 * 1 MiB line took minutes).
 */
function trimEndBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--;
  return end === s.length ? s : s.slice(0, end);
}

function toLines(text: string): Line[] {
  const out: Line[] = [];
  let started = false;
  for (const raw of text.split(/\r\n|\n|\r/)) {
    const trimmedEnd = trimEndBlanks(raw);
    const body = trimmedEnd.replace(/^ +/, '');
    if (body === '' || body.startsWith('#')) continue;
    if (body === '---' || body.startsWith('--- ') || body === '...') {
      if (started) break; // only the first document
      continue;
    }
    if (body.startsWith('%')) continue; // %YAML directive
    const indent = trimmedEnd.length - body.length;
    if (body.startsWith('\t')) throw new YamlError('tab in indentation');
    out.push({ indent, text: body });
    started = true;
  }
  return out;
}

const isDash = (text: string): boolean => text === '-' || text.startsWith('- ') || text.startsWith('-\t');

/** `key: rest` at the start of a block line, or undefined when the line is not a mapping entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  if (text.startsWith('"') || text.startsWith("'")) {
    const { value, end } = readQuoted(text, 0);
    const m = /^[ \t]*:(?:[ \t]|$)/.exec(text.slice(end));
    if (!m) return undefined;
    return { key: value, rest: text.slice(end + m[0].length) };
  }
  if (/^[[{&*!|>%@`?]/.test(text)) return undefined;
  const m = /:(?:[ \t]|$)/.exec(text);
  if (!m) return undefined;
  const key = text.slice(0, m.index).trim();
  if (/[ \t]#/.test(key)) return undefined; // the colon is inside a comment
  return { key, rest: text.slice(m.index + m[0].length) };
}

function readQuoted(s: string, start: number): { value: string; end: number } {
  const q = s[start];
  let i = start + 1;
  let out = '';
  if (q === "'") {
    for (;;) {
      if (i >= s.length) throw new YamlError('unterminated single-quoted scalar');
      const c = s[i]!;
      if (c === "'") {
        if (s[i + 1] === "'") { out += "'"; i += 2; continue; }
        return { value: out, end: i + 1 };
      }
      out += c;
      i++;
    }
  }
  const escapes: Record<string, string> = {
    '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
    ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
  };
  for (;;) {
    if (i >= s.length) throw new YamlError('unterminated double-quoted scalar');
    const c = s[i]!;
    if (c === '"') return { value: out, end: i + 1 };
    if (c !== '\\') { out += c; i++; continue; }
    const e = s[i + 1];
    if (e === undefined) throw new YamlError('dangling escape');
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = s.slice(i + 2, i + 2 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) throw new YamlError('bad escape');
      out += String.fromCodePoint(parseInt(hex, 16));
      i += 2 + hexLen;
      continue;
    }
    const r = escapes[e];
    if (r === undefined) throw new YamlError(`bad escape \\${e}`);
    out += r;
    i += 2;
  }
}

/** Only whitespace or a comment may follow a complete value. */
function expectEnd(s: string, i: number): void {
  const rest = s.slice(i);
  if (!/^[ \t]*(?:#.*)?$/.test(rest) || (rest.startsWith('#') && i > 0 && !/[ \t]/.test(s[i - 1]!))) {
    throw new YamlError(`unexpected ${JSON.stringify(rest.slice(0, 20))}`);
  }
}

/** Strips a leading tag (`!!str`) or anchor (`&a`); refuses aliases, which this reader does not resolve. */
function stripProperties(s: string): string {
  let t = s.trimStart();
  for (;;) {
    const m = /^([!&])[^ \t]*(?:[ \t]+|$)/.exec(t);
    if (!m) break;
    t = t.slice(m[0].length);
  }
  if (t.startsWith('*')) throw new YamlError('aliases are not supported');
  return t;
}

/** A flow value (`[a, "b"]`, `{k: v}`, a quoted or plain scalar) starting at `i`; plain scalars stop at `,]}`. */
function readFlow(s: string, start: number, depth: number): { value: YamlValue; end: number } {
  if (depth > 32) throw new YamlError('nesting too deep');
  let i = start;
  const skip = (): void => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  skip();
  const c = s[i];
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    const seq: YamlValue[] = [];
    const map = new Map<string, YamlValue>();
    i++;
    skip();
    if (s[i] === close) return { value: c === '[' ? seq : map, end: i + 1 };
    for (;;) {
      const item = readFlow(s, i, depth + 1);
      i = item.end;
      skip();
      if (c === '{' || s[i] === ':') {
        if (s[i] !== ':') throw new YamlError('expected ":" in flow mapping');
        if (typeof item.value !== 'string') throw new YamlError('complex keys are not supported');
        const v = readFlow(s, i + 1, depth + 1);
        i = v.end;
        if (c === '{') map.set(item.value, v.value);
        else seq.push(new Map([[item.value, v.value]]));
      } else {
        seq.push(item.value);
      }
      skip();
      if (s[i] === ',') { i++; skip(); if (s[i] === close) return { value: c === '[' ? seq : map, end: i + 1 }; continue; }
      if (s[i] === close) return { value: c === '[' ? seq : map, end: i + 1 };
      throw new YamlError(`expected "," or "${close}"`);
    }
  }
  if (c === '"' || c === "'") {
    const q = readQuoted(s, i);
    return { value: q.value, end: q.end };
  }
  // Plain scalar inside a flow collection: ends at , ] } or ": ".
  let j = i;
  const endsPlain = (k: number): boolean => {
    const ch = s[k]!;
    if (',]}'.includes(ch)) return true;
    if (ch === ':') return k + 1 >= s.length || ' \t,]}'.includes(s[k + 1]!);
    return ch === '#' && k > i && (s[k - 1] === ' ' || s[k - 1] === '\t');
  };
  while (j < s.length && !endsPlain(j)) j++;
  const text = s.slice(i, j).trim();
  return { value: text === '' ? null : text, end: j };
}

/** A complete inline value (the text after `key:` or `- `, continuation lines joined). */
function parseInline(text: string): YamlValue {
  const t = stripProperties(text);
  if (t === '' || t.startsWith('#')) return null;
  const c = t[0]!;
  if (c === '"' || c === "'" || c === '[' || c === '{') {
    const { value, end } = readFlow(t, 0, 0);
    expectEnd(t, end);
    return value;
  }
  if (c === '?' && (t.length === 1 || t[1] === ' ')) throw new YamlError('complex keys are not supported');
  const hash = /[ \t]#/.exec(t);
  const plain = (hash ? t.slice(0, hash.index) : t).trim();
  // `a: b` cannot be a plain scalar in block context: it is a mis-indented mapping entry.
  if (/:(?:[ \t]|$)/.test(plain)) throw new YamlError(`unexpected mapping in ${JSON.stringify(plain.slice(0, 40))}`);
  return plain;
}

class BlockParser {
  private i = 0;

  constructor(private readonly lines: Line[]) {}

  parseDocument(): YamlValue {
    if (this.lines.length === 0) return null;
    const first = this.lines[0]!;
    const v = this.parseBlock(first.indent, -1, 0);
    if (this.i < this.lines.length) throw new YamlError('unexpected indentation');
    return v;
  }

  /** The node whose first line is `lines[i]` at `indent`; continuation lines are deeper than `parent`. */
  private parseBlock(indent: number, parent: number, depth: number): YamlValue {
    if (depth > 64) throw new YamlError('nesting too deep');
    const line = this.lines[this.i]!;
    if (isDash(line.text)) return this.parseSeq(indent, depth);
    if (splitKey(line.text) !== undefined) return this.parseMap(indent, depth);
    this.i++;
    return this.readValue(line.text, parent);
  }

  private parseSeq(indent: number, depth: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent !== indent || !isDash(line.text)) break;
      const rest = line.text.slice(1);
      const body = rest.replace(/^[ \t]+/, '');
      if (body === '' || body.startsWith('#')) {
        this.i++;
        const next = this.lines[this.i];
        out.push(next !== undefined && next.indent > indent ? this.parseBlock(next.indent, indent, depth + 1) : null);
        continue;
      }
      // Read the item as if its content started its own line at its own column: `- name: etcd`
      // followed by `  image: …` is then an ordinary mapping at that column.
      const col = indent + 1 + (rest.length - body.length);
      this.lines[this.i] = { indent: col, text: body };
      out.push(this.parseBlock(col, indent, depth + 1));
    }
    return out;
  }

  private parseMap(indent: number, depth: number): Map<string, YamlValue> {
    const out = new Map<string, YamlValue>();
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.indent !== indent || isDash(line.text)) break;
      const kv = splitKey(line.text);
      if (kv === undefined) throw new YamlError(`expected "key:" in ${JSON.stringify(line.text.slice(0, 40))}`);
      if (out.has(kv.key)) throw new YamlError(`duplicate key ${kv.key}`);
      this.i++;
      const rest = stripProperties(kv.rest);
      if (rest === '' || rest.startsWith('#')) {
        const next = this.lines[this.i];
        // A sequence may sit at the key's own indentation (`containers:` / `- command:`), as kubeadm writes it.
        if (next !== undefined && (next.indent > indent || (next.indent === indent && isDash(next.text)))) {
          out.set(kv.key, this.parseBlock(next.indent, indent, depth + 1));
        } else {
          out.set(kv.key, null);
        }
        continue;
      }
      out.set(kv.key, this.readValue(kv.rest, indent));
    }
    return out;
  }

  /** An inline value plus its continuation lines (deeper than `parent`): folded scalars, multi-line quotes or flows. */
  private readValue(first: string, parent: number): YamlValue {
    const cont: string[] = [];
    while (this.i < this.lines.length && this.lines[this.i]!.indent > parent) cont.push(this.lines[this.i++]!.text);
    const head = stripProperties(first);
    if (/^[|>][-+0-9]*[ \t]*(?:#.*)?$/.test(head)) return cont.join(head.startsWith('|') ? '\n' : ' ');
    return parseInline([first, ...cont].join(' '));
  }
}

function fromJson(v: unknown, depth = 0): YamlValue {
  if (depth > 64) throw new YamlError('nesting too deep');
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x: unknown) => fromJson(x, depth + 1));
  if (typeof v === 'object') return new Map(Object.entries(v).map(([k, x]: [string, unknown]) => [k, fromJson(x, depth + 1)]));
  return String(v);
}

/** Parses the subset of YAML described above; throws YamlError for anything else. Also reads --web-config-file (src/export/http/web-config.ts). */
export function parseYaml(text: string): YamlValue {
  if (text.length > MAX_YAML_CHARS) throw new YamlError('too large');
  const t = text.replace(/^\uFEFF/, '').trim();
  if (t.startsWith('{')) {
    try {
      return fromJson(JSON.parse(t));
    } catch {
      // not JSON: may still be a YAML flow mapping
    }
  }
  return new BlockParser(toLines(t)).parseDocument();
}
