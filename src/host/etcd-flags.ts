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
// The parsing and the merge, pure functions; sources/etcd-config.ts does the I/O.

import path from 'node:path';
import { ms, type Milliseconds } from '../lib/units.js';
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
