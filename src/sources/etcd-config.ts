// etcd's running configuration: --heartbeat-interval, --election-timeout, --data-dir, --wal-dir
// (and --name, which etcd's default data dir is made of), --pre-vote and the feature gates (3.6's
// --feature-gates, or the --experimental-* flags they replace in 3.4 and 3.5), read from
//   1. the agent's own flags                                   origin 'flag'
//   2. the etcd process's /proc/<pid>/cmdline (needs hostPID)   origin 'cmdline'
//   3. the etcd process's ETCD_* environment (/proc/<pid>/environ)  origin 'env'
//   4. the kubeadm static pod manifest (etcd.yaml)              origin 'manifest'
// The running process comes before the manifest: it is what etcd does now, while an edited manifest
// only takes effect when the kubelet restarts the pod. The manifest is what a pod without hostPID sees.
//   5. etcd's defaults, only once etcd was found somewhere      origin 'default'
// The parsing and the merge are pure functions; `findEtcdProcesses` and the source do the I/O.

import { open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ms, type Milliseconds } from '../lib/units.js';
import { errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type FailureReason } from '../lib/outcome.js';
import { type Source } from './source.js';
import { preVoteDefault } from '../model/etcd-versions.js';
import type { ConfigOrigin, Setting } from '../model/setting.js';

/**
 * etcd's running configuration. A field is undefined when no etcd was found at all; when etcd was
 * found but a flag is not set, the field carries etcd's default with origin `default`.
 */
export interface EtcdConfigSample {
  readonly name?: Setting<string>;
  readonly heartbeatInterval?: Setting<Milliseconds>;
  readonly electionTimeout?: Setting<Milliseconds>;
  readonly dataDir?: Setting<string>;
  readonly walDir?: Setting<string>;
  /**
   * `--pre-vote` when it is set somewhere; undefined when it is not, since its default depends on the
   * version etcd runs (`preVoteDefault`), which this source does not know.
   */
  readonly preVote?: Setting<boolean>;
  /** The feature gates set (by either spelling) and known to this agent; unset gates keep etcd's defaults. */
  readonly featureGates?: Setting<Readonly<Partial<Record<EtcdFeatureGate, boolean>>>>;
  /** Where etcd was found: the manifest path or `/proc/<pid>/cmdline`. */
  readonly foundIn?: string;
  /**
   * What an operator should know about how the values were read: ignored invalid values, a manifest
   * that disagrees with the running process, several etcd processes, an unread --config-file.
   */
  readonly notes?: readonly string[];
}

// ───────────────────────────── etcd's flags and their defaults ─────────────────────────────

/**
 * etcd 3.6's feature gates (server/features/etcd_features.go), each with the 3.4/3.5 flag it replaces
 * (`ExperimentalFlagToFeatureMap`; 3.6 still takes the old flag, 3.7 only the gate).
 */
export const ETCD_FEATURE_GATES = {
  StopGRPCServiceOnDefrag: 'experimental-stop-grpc-service-on-defrag',
  InitialCorruptCheck: 'experimental-initial-corrupt-check',
  CompactHashCheck: 'experimental-compact-hash-check-enabled',
  TxnModeWriteWithSharedBuffer: 'experimental-txn-mode-write-with-shared-buffer',
  LeaseCheckpoint: 'experimental-enable-lease-checkpoint',
  LeaseCheckpointPersist: 'experimental-enable-lease-checkpoint-persist',
  SetMemberLocalAddr: undefined,
} as const;
export type EtcdFeatureGate = keyof typeof ETCD_FEATURE_GATES;
type GateFlag = Exclude<(typeof ETCD_FEATURE_GATES)[EtcdFeatureGate], undefined>;
const GATE_FLAGS = Object.values(ETCD_FEATURE_GATES).filter((f): f is GateFlag => f !== undefined);

/** etcd's boolean flags among those read: a bare `--pre-vote` means true and takes no argument (Go's flag package). */
const BOOL_KEYS: ReadonlySet<string> = new Set(['pre-vote', ...GATE_FLAGS]);

/** The etcd flags this source reads, by their etcd names. */
export const ETCD_CONFIG_KEYS = ['name', 'heartbeat-interval', 'election-timeout', 'data-dir', 'wal-dir', 'pre-vote', 'feature-gates', ...GATE_FLAGS] as const;
export type EtcdConfigKey = (typeof ETCD_CONFIG_KEYS)[number];
/** Raw values as etcd would receive them, before validation. */
export type EtcdConfigValues = Partial<Record<EtcdConfigKey, string>>;

/** etcd's defaults (`etcd --help`, 3.4 to 3.7). The data dir default is `${name}.etcd`, the WAL dir `${data-dir}/member/wal`. */
export const ETCD_DEFAULTS = {
  name: 'default',
  heartbeatInterval: ms(100),
  electionTimeout: ms(1000),
} as const;

/** Whether etcd runs with pre-vote: as set, else its version's default; undefined when neither is known. */
export function runningPreVote(config: EtcdConfigSample | undefined, version: string | undefined): Setting<boolean> | undefined {
  if (config?.preVote) return config.preVote;
  const byVersion = version === undefined ? undefined : preVoteDefault(version);
  return byVersion === undefined ? undefined : { value: byVersion, origin: 'default' };
}

const isConfigKey = (k: string): k is EtcdConfigKey => (ETCD_CONFIG_KEYS as readonly string[]).includes(k);

/** `heartbeat-interval` → `ETCD_HEARTBEAT_INTERVAL`, as etcd's pkg/flags does. */
const envNameOf = (key: EtcdConfigKey): string => `ETCD_${key.toUpperCase().replaceAll('-', '_')}`;

/**
 * The flags of interest in an etcd command line, parsed as Go's `flag` package does: `--flag=value`,
 * `-flag=value`, `--flag value`, `-flag value`; `--` ends the flags; the last occurrence wins. A
 * boolean flag given bare (`--pre-vote`) is true and takes no argument; any other flag given bare
 * takes the next argument (even one that starts with `-`, like Go). Elements that are not flags
 * (argv[0], values of other flags) are skipped, so the whole argv can be passed.
 */
export function parseEtcdArgs(args: readonly string[]): EtcdConfigValues {
  const out: EtcdConfigValues = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    const m = /^--?([^-=][^=]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) continue;
    const key = m[1]!;
    if (!isConfigKey(key)) continue;
    let value = m[2];
    if (value === undefined && BOOL_KEYS.has(key)) value = 'true';
    if (value === undefined) {
      if (i + 1 >= args.length) continue; // etcd would refuse to start: "flag needs an argument"
      value = args[++i]!;
    }
    out[key] = value;
  }
  return out;
}

/**
 * The flags of interest in an environment (`ETCD_NAME`, `ETCD_HEARTBEAT_INTERVAL`, …). Like etcd,
 * an empty variable counts as unset. (etcd uses a variable only when the flag is not on its command
 * line; `resolveEtcdConfig` gives the command line precedence for the same reason.)
 */
export function parseEtcdEnv(env: Readonly<Record<string, string>>): EtcdConfigValues {
  const out: EtcdConfigValues = {};
  for (const key of ETCD_CONFIG_KEYS) {
    const value = env[envNameOf(key)];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** The value of `--config-file` in an etcd command line (etcd then ignores its other flags and ETCD_* variables). */
export function configFileOf(args: readonly string[], env?: Readonly<Record<string, string>>): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    const m = /^--?config-file(?:=([\s\S]*))?$/.exec(arg);
    if (!m) continue;
    found = m[1] ?? args[++i];
  }
  if (found === undefined || found === '') found = env?.['ETCD_CONFIG_FILE'];
  return found === '' ? undefined : found;
}

/** etcd reads both durations as unsigned whole milliseconds and refuses 0. */
function parseEtcdMs(text: string): Milliseconds | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) && n > 0 ? ms(n) : undefined;
}

/** Go's strconv.ParseBool, which etcd's boolean flags and feature gates use. */
function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

const isFeatureGate = (name: string): name is EtcdFeatureGate => Object.hasOwn(ETCD_FEATURE_GATES, name);

/**
 * The gates one place sets: the pre-3.6 `--experimental-*` flags, then `--feature-gates=A=true,B=false`
 * (etcd refuses both for one gate; the list wins here). A gate this agent does not know (a newer etcd's)
 * or a malformed item is skipped with a note, the rest still read. Undefined when nothing sets a gate.
 */
function featureGatesOf(values: EtcdConfigValues, origin: ConfigOrigin, notes: string[]): Partial<Record<EtcdFeatureGate, boolean>> | undefined {
  const gates: Partial<Record<EtcdFeatureGate, boolean>> = {};
  for (const gate of Object.keys(ETCD_FEATURE_GATES) as EtcdFeatureGate[]) {
    const flag = ETCD_FEATURE_GATES[gate];
    const raw = flag === undefined ? undefined : values[flag];
    if (raw === undefined) continue;
    const on = parseGoBool(raw);
    if (on === undefined) notes.push(`ignored --${flag}=${JSON.stringify(raw)} from ${origin}: not a boolean`);
    else gates[gate] = on;
  }
  for (const item of (values['feature-gates'] ?? '').split(',')) {
    const text = item.trim();
    if (text === '') continue;
    const eq = text.indexOf('=');
    const name = (eq < 0 ? text : text.slice(0, eq)).trim();
    const on = eq < 0 ? undefined : parseGoBool(text.slice(eq + 1).trim());
    if (!isFeatureGate(name)) notes.push(`ignored feature gate ${JSON.stringify(name)} from ${origin}: not one of etcd 3.6's that this agent knows`);
    else if (on === undefined) notes.push(`ignored --feature-gates item ${JSON.stringify(text)} from ${origin}: not NAME=true or NAME=false`);
    else gates[name] = on;
  }
  return Object.keys(gates).length > 0 ? gates : undefined;
}

// ─────────────────────────────────────── the merge ───────────────────────────────────────

/** Values given to the agent itself (`--etcd-heartbeat-interval` …): they win over everything found. */
export interface EtcdConfigFlags {
  heartbeatInterval?: Milliseconds;
  electionTimeout?: Milliseconds;
  dataDir?: string;
  walDir?: string;
}

/**
 * What each place said. For manifest, cmdline and env: undefined means "etcd was not found there";
 * `{}` means "etcd was found there, with nothing set" (so its defaults apply). Flags count as
 * finding something only when at least one is set.
 */
export interface EtcdConfigLayers {
  readonly flags?: EtcdConfigFlags;
  readonly manifest?: EtcdConfigValues;
  readonly cmdline?: EtcdConfigValues;
  readonly env?: EtcdConfigValues;
  /** The etcd process's working directory: relative data/WAL dirs (etcd's default `default.etcd`!) are relative to it. */
  readonly cwd?: string;
}

/**
 * Merges the layers in precedence flag > cmdline > env > manifest > default and says where each value
 * came from. Invalid durations are skipped (the next layer's value, or the default, is used) with a
 * note. When no layer found anything, the sample is empty: etcd's defaults are not evidence that etcd
 * runs with them.
 */
export function resolveEtcdConfig(layers: EtcdConfigLayers): EtcdConfigSample {
  const flags = layers.flags ?? {};
  const flagsGiven = Object.values(flags).some((v) => v !== undefined);
  const found: Array<readonly [ConfigOrigin, EtcdConfigValues]> = [];
  if (layers.cmdline !== undefined) found.push(['cmdline', layers.cmdline]);
  if (layers.env !== undefined) found.push(['env', layers.env]);
  if (layers.manifest !== undefined) found.push(['manifest', layers.manifest]);
  if (!flagsGiven && found.length === 0) return {};

  const notes: string[] = [];

  const pickString = (key: EtcdConfigKey, flag: string | undefined): Setting<string> | undefined => {
    if (flag !== undefined && flag !== '') return { value: flag, origin: 'flag' };
    for (const [origin, values] of found) {
      const v = values[key];
      if (v !== undefined && v.trim() !== '') return { value: v, origin }; // etcd treats an empty dir as unset
    }
    return undefined;
  };

  const pickMs = (key: EtcdConfigKey, flag: Milliseconds | undefined, fallback: Milliseconds): Setting<Milliseconds> => {
    if (flag !== undefined) {
      if (Number.isFinite(flag) && flag > 0) return { value: flag, origin: 'flag' };
      notes.push(`ignored agent flag for --${key} (${String(flag)}): not a positive number of milliseconds`);
    }
    for (const [origin, values] of found) {
      const raw = values[key];
      if (raw === undefined) continue;
      const v = parseEtcdMs(raw);
      if (v !== undefined) return { value: v, origin };
      notes.push(`ignored --${key}=${JSON.stringify(raw)} from ${origin}: not a positive whole number of milliseconds`);
    }
    return { value: fallback, origin: 'default' };
  };

  // Relative directories are relative to etcd's working directory, not the agent's.
  const absolute = (s: Setting<string>): Setting<string> =>
    s.origin !== 'flag' && layers.cwd !== undefined && !path.isAbsolute(s.value)
      ? { value: path.resolve(layers.cwd, s.value), origin: s.origin }
      : s;

  const name = pickString('name', undefined) ?? { value: ETCD_DEFAULTS.name, origin: 'default' };
  const dataDir = absolute(pickString('data-dir', flags.dataDir) ?? { value: `${name.value}.etcd`, origin: 'default' });
  const walDir = absolute(
    pickString('wal-dir', flags.walDir) ?? { value: path.posix.join(dataDir.value, 'member', 'wal'), origin: 'default' },
  );
  const heartbeatInterval = pickMs('heartbeat-interval', flags.heartbeatInterval, ETCD_DEFAULTS.heartbeatInterval);
  const electionTimeout = pickMs('election-timeout', flags.electionTimeout, ETCD_DEFAULTS.electionTimeout);

  let preVote: Setting<boolean> | undefined;
  for (const [origin, values] of found) {
    const raw = values['pre-vote'];
    if (raw === undefined) continue;
    const on = parseGoBool(raw);
    if (on !== undefined) {
      preVote = { value: on, origin };
      break;
    }
    notes.push(`ignored --pre-vote=${JSON.stringify(raw)} from ${origin}: not a boolean`);
  }
  let featureGates: Setting<Partial<Record<EtcdFeatureGate, boolean>>> | undefined;
  for (const [origin, values] of found) {
    const gates = featureGatesOf(values, origin, notes);
    if (gates !== undefined) {
      featureGates = { value: gates, origin };
      break;
    }
  }

  // The process wins, but the manifest is what etcd will run after its next restart: say so when they differ.
  if (layers.manifest !== undefined && layers.cmdline !== undefined) {
    for (const key of ETCD_CONFIG_KEYS) {
      const a = layers.manifest[key];
      const b = layers.cmdline[key];
      if (a !== undefined && b !== undefined && a !== b) {
        notes.push(`the running etcd has --${key}=${b} but the manifest has --${key}=${a}: etcd takes the manifest's value when the static pod restarts`);
      }
    }
  }

  return {
    name, heartbeatInterval, electionTimeout, dataDir, walDir,
    ...(preVote !== undefined ? { preVote } : {}),
    ...(featureGates !== undefined ? { featureGates } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

// ─────────────────────────── the kubeadm static pod manifest ───────────────────────────
//
// No YAML dependency on purpose: the agent reads one file of a fixed, machine-written shape (kubeadm
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

const MAX_MANIFEST_CHARS = 1 << 20;

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
  if (text.length > MAX_MANIFEST_CHARS) throw new YamlError('too large');
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

const asMap = (v: YamlValue | undefined): Map<string, YamlValue> | undefined => (v instanceof Map ? v : undefined);
const asSeq = (v: YamlValue | undefined): YamlValue[] | undefined => (Array.isArray(v) ? v : undefined);

/** A list of strings (`command`, `args`); null items count as empty strings; anything else is invalid. */
function stringList(v: YamlValue | undefined): string[] | undefined {
  if (v === undefined || v === null) return [];
  const seq = asSeq(v);
  if (seq === undefined) return undefined;
  const out: string[] = [];
  for (const item of seq) {
    if (item === null) out.push('');
    else if (typeof item === 'string') out.push(item);
    else return undefined;
  }
  return out;
}

const isEtcdCommand = (argv0: string | undefined): boolean => argv0 !== undefined && path.posix.basename(argv0) === 'etcd';

/**
 * The etcd container of a static pod manifest: its `command` followed by its `args` (as the kubelet
 * runs them), and its literal `env` values (`valueFrom` entries are skipped). The container is the
 * one named `etcd`, else the first whose command is `etcd`. Undefined for anything that is not a pod
 * with such a container, including text this reader cannot parse; never throws.
 */
export function parseManifest(yamlText: string): { args: string[]; env: Record<string, string> } | undefined {
  let doc: YamlValue;
  try {
    doc = parseYaml(yamlText);
  } catch {
    return undefined; // YamlError for what this reader refuses; anything else must not crash the source either
  }
  const containers = asSeq(asMap(asMap(doc)?.get('spec'))?.get('containers'));
  if (containers === undefined) return undefined;
  const candidates = containers.map(asMap).filter((c): c is Map<string, YamlValue> => c !== undefined);
  const container =
    candidates.find((c) => c.get('name') === 'etcd') ??
    candidates.find((c) => isEtcdCommand(stringList(c.get('command'))?.[0]));
  if (container === undefined) return undefined;
  const command = stringList(container.get('command'));
  const args = stringList(container.get('args'));
  if (command === undefined || args === undefined) return undefined;

  const env: Record<string, string> = {};
  const envList = container.get('env');
  if (envList !== undefined && envList !== null) {
    const seq = asSeq(envList);
    if (seq === undefined) return undefined;
    for (const entry of seq) {
      const e = asMap(entry);
      const name = e?.get('name');
      if (e === undefined || typeof name !== 'string') return undefined;
      const value = e.get('value');
      if (typeof value === 'string') env[name] = value;
      else if (value === null && !e.has('valueFrom')) env[name] = '';
    }
  }
  return { args: [...command, ...args], env };
}

// ──────────────────────────────────── etcd processes ────────────────────────────────────

export interface EtcdProcess {
  readonly pid: number;
  /** The whole argv, argv[0] included. */
  readonly args: string[];
  /** Its `ETCD_*` variables only (the rest of a process's environment is none of our business); undefined when unreadable. */
  readonly env?: Record<string, string>;
  /** Its working directory, when readable. */
  readonly cwd?: string;
}

const CMDLINE_HEAD = 4096;
const CMDLINE_MAX = 1 << 20;
const ENVIRON_MAX = 1 << 20;
const MAX_PIDS = 65_536;
const PARALLEL = 64;

/** Reads at most `max` bytes (files in /proc report size 0, so read until EOF). */
async function readUpTo(file: string, max: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(max, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < max) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, max - total), null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}

function splitNul(buf: Buffer): string[] {
  if (buf.length === 0) return [];
  const parts = buf.toString('utf8').split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

async function inspectPid(procPath: string, pid: number): Promise<EtcdProcess | undefined> {
  const dir = path.join(procPath, String(pid));
  let head: Buffer;
  try {
    head = await readUpTo(path.join(dir, 'cmdline'), CMDLINE_HEAD);
  } catch {
    return undefined; // gone, a kernel thread's race, or not readable: not ours to worry about
  }
  const nul = head.indexOf(0);
  if (nul < 0 && head.length >= CMDLINE_HEAD) return undefined; // argv[0] longer than 4 KiB: not etcd
  const argv0 = head.subarray(0, nul < 0 ? head.length : nul).toString('utf8');
  if (!isEtcdCommand(argv0)) return undefined;
  let full = head;
  if (head.length >= CMDLINE_HEAD) {
    try {
      full = await readUpTo(path.join(dir, 'cmdline'), CMDLINE_MAX);
    } catch {
      return undefined;
    }
  }
  const args = splitNul(full);
  let env: Record<string, string> | undefined;
  try {
    env = {};
    for (const entry of splitNul(await readUpTo(path.join(dir, 'environ'), ENVIRON_MAX))) {
      const eq = entry.indexOf('=');
      if (eq > 0 && entry.startsWith('ETCD_')) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } catch {
    env = undefined; // EACCES without CAP_SYS_PTRACE, or the process just exited
  }
  let cwd: string | undefined;
  try {
    cwd = await readlink(path.join(dir, 'cwd'));
  } catch {
    cwd = undefined;
  }
  return { pid, args, ...(env !== undefined ? { env } : {}), ...(cwd !== undefined ? { cwd } : {}) };
}

/**
 * The etcd processes visible in `procPath` (`/proc`, or the host's proc mounted into a pod with
 * hostPID): every `<pid>/cmdline` whose argv[0] has the basename `etcd`, ordered by pid. Reads are
 * bounded (4 KiB of each cmdline, at most 1 MiB for an etcd's, the first 65 536 pids, 64 at a time).
 * Throws only when `procPath` itself cannot be listed.
 */
export async function findEtcdProcesses(procPath: string): Promise<EtcdProcess[]> {
  const pids = (await readdir(procPath))
    .filter((n) => /^[0-9]+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b)
    .slice(0, MAX_PIDS);
  const out: EtcdProcess[] = [];
  for (let i = 0; i < pids.length; i += PARALLEL) {
    const batch = await Promise.all(pids.slice(i, i + PARALLEL).map((pid) => inspectPid(procPath, pid)));
    for (const p of batch) if (p !== undefined) out.push(p);
  }
  return out;
}

// ───────────────────────────────────────── the source ─────────────────────────────────────────

export interface EtcdConfigOptions {
  manifestPath: string;
  procPath: string;
  flags: EtcdConfigFlags;
  /**
   * The data dir the agent was told etcd uses (its --etcd-data-dir, possibly the default): picks the
   * right etcd when several run on the host, without claiming the value came from a flag.
   */
  dataDirHint?: string;
  interval: Milliseconds;
}

function layersOfProcess(p: EtcdProcess): Pick<EtcdConfigLayers, 'cmdline' | 'env' | 'cwd'> {
  return {
    cmdline: parseEtcdArgs(p.args),
    ...(p.env !== undefined ? { env: parseEtcdEnv(p.env) } : {}),
    ...(p.cwd !== undefined ? { cwd: p.cwd } : {}),
  };
}

const samePath = (a: string, b: string): boolean => path.resolve(a) === path.resolve(b);

/**
 * Each sample reads the manifest (absent is fine: the node is not kubeadm's) and the etcd processes,
 * and merges what it found with the agent's flags. With several etcd processes (a test cluster on one
 * machine), the one whose data dir is the flags' (or the manifest's) is chosen, else the lowest pid.
 * Fails with `not_found` only when etcd is nowhere and no flag says anything about it.
 */
export function createEtcdConfigSource(opts: EtcdConfigOptions): Source<EtcdConfigSample> {
  return {
    name: 'etcd_config',
    interval: opts.interval,
    async sample() {
      const notes: string[] = [];
      const blockers: FailureReason[] = [];

      let manifest: EtcdConfigValues | undefined;
      let manifestState = `no manifest at ${opts.manifestPath}`;
      try {
        const text = (await readUpTo(opts.manifestPath, MAX_MANIFEST_CHARS + 1)).toString('utf8');
        const parsed = parseManifest(text);
        if (parsed !== undefined) {
          manifest = { ...parseEtcdEnv(parsed.env), ...parseEtcdArgs(parsed.args) };
          const cf = configFileOf(parsed.args, parsed.env);
          if (cf !== undefined) notes.push(`the manifest starts etcd with --config-file=${cf}: etcd then ignores its other flags, and this agent does not read that file`);
        } else {
          manifestState = `no etcd container in ${opts.manifestPath} (or YAML this agent cannot read)`;
          notes.push(manifestState);
        }
      } catch (err) {
        const reason = reasonForError(err);
        if (reason !== 'not_found') {
          manifestState = `cannot read ${opts.manifestPath}: ${errorMessage(err)}`;
          notes.push(manifestState);
          blockers.push(reason);
        }
      }

      let processes: EtcdProcess[] = [];
      let procState = `no etcd process in ${opts.procPath}/*/cmdline`;
      try {
        processes = await findEtcdProcesses(opts.procPath);
      } catch (err) {
        procState = `cannot list ${opts.procPath}: ${errorMessage(err)}`;
        notes.push(procState);
        blockers.push(reasonForError(err));
      }

      let chosen: EtcdProcess | undefined;
      if (processes.length > 0) {
        const wanted = opts.flags.dataDir ?? manifest?.['data-dir'] ?? opts.dataDirHint;
        if (wanted !== undefined && wanted !== '') {
          chosen = processes.find((p) => {
            const d = resolveEtcdConfig(layersOfProcess(p)).dataDir?.value;
            return d !== undefined && samePath(d, wanted);
          });
        }
        if (chosen === undefined) {
          chosen = processes[0]!;
          if (wanted !== undefined && wanted !== '') notes.push(`no etcd process uses --data-dir ${wanted}; reading pid ${chosen.pid}, the lowest`);
        }
        if (processes.length > 1) notes.push(`${processes.length} etcd processes: pids ${processes.map((p) => p.pid).join(', ')}`);
        const cf = configFileOf(chosen.args, chosen.env);
        if (cf !== undefined) notes.push(`etcd (pid ${chosen.pid}) runs with --config-file=${cf}: etcd then ignores its other flags, and this agent does not read that file`);
      }

      const sample = resolveEtcdConfig({
        flags: opts.flags,
        ...(manifest !== undefined ? { manifest } : {}),
        ...(chosen !== undefined ? layersOfProcess(chosen) : {}),
      });
      if (sample.heartbeatInterval === undefined) {
        const reason = blockers.includes('permission') ? 'permission' : 'not_found';
        return failure(reason, `no etcd found: ${manifestState}, ${procState}; pass --etcd-heartbeat-interval/--etcd-election-timeout`);
      }

      const where: string[] = [];
      if (manifest !== undefined) where.push(opts.manifestPath);
      if (chosen !== undefined) {
        const cmdline = path.join(opts.procPath, String(chosen.pid), 'cmdline');
        where.push(processes.length > 1 ? `${cmdline} (1 of ${processes.length} etcd processes)` : cmdline);
      }
      if (where.length === 0) {
        where.push('agent flags');
        notes.push(`etcd was not found (${manifestState}, ${procState}): values not given as agent flags are etcd's defaults, not observed`);
      }
      const allNotes = [...notes, ...(sample.notes ?? [])];
      return success({ ...sample, foundIn: where.join(', '), ...(allNotes.length > 0 ? { notes: allNotes } : {}) });
    },
  };
}
