// One schema for every setting: each flag has its environment variable, default and parser here,
// so `--help`, the README's flag table and the parser cannot disagree.
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../lib/log.js';
import { DEFAULT_THRESHOLDS, THRESHOLD_HELP, thresholdProblems, type ThresholdKind, type Thresholds } from '../analysis/thresholds.js';
import { DEFAULT_WRITE_SIZE } from '../sources/fsync-probe.js';
import { MAX_PEER_AGENTS } from '../sources/peer-agents.js';
import { formatDuration, isDurationSyntax, isSizeSyntax, ms, parseDuration, parseSize, seconds, type Bytes, type Milliseconds } from '../lib/units.js';
import { ConfigError } from '../lib/errors.js';
import type { ListenAddress } from '../export/http/server.js';
import type { SourceSettings } from '../sources/registry.js';

export const ENV_PREFIX = 'ETCD_LATENCY_AGENT_';

/** Everything the flags set; the sources' part is theirs (`SourceSettings`, sources/registry.ts). */
export interface Config extends SourceSettings {
  readonly listenAddress: ListenAddress;
  readonly webConfigFile?: string;
  readonly webDisableApi: boolean;
  readonly etcdCacert?: string;
  readonly etcdCert?: string;
  readonly etcdKey?: string;
  readonly memberName?: string;
  readonly peerAgents: PeerAgents;
  readonly probeEnabled: boolean;
  readonly probeDir?: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly diagnosisInterval: Milliseconds;
  readonly thresholds: Thresholds;
}

/** --peer-agents: off, the members' addresses from etcd's member list, or the URLs given. */
export type PeerAgents = 'off' | 'auto' | readonly string[];

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (problem: string): Parsed<never> => ({ ok: false, problem });

interface FlagSpec<K extends keyof Config> {
  readonly key: K;
  readonly flag: string;
  readonly metavar: string;
  readonly help: string;
  /** Written as the user would write it; undefined means "not set". */
  readonly default?: string;
  readonly parse: (text: string) => Parsed<Config[K]>;
}

/**
 * The longest duration a setting may have: Node.js timers take at most 2^31 - 1 ms (24.8 days) and
 * fire after 1 ms when given more, which would turn a long interval into a busy loop.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

function duration(text: string): Parsed<Milliseconds> {
  const d = parseDuration(text);
  const tooLong = `"${text}" is too long: at most 596h (${MAX_DURATION_MS} ms, the longest timer Node.js can set)`;
  if (d === undefined) return bad(isDurationSyntax(text) ? tooLong : `"${text}" is not a duration; write it like 500ms, 10s or 1m`);
  if (d <= 0) return bad(`"${text}" must be longer than zero`);
  if (d > MAX_DURATION_MS) return bad(tooLong);
  return ok(d);
}

function size(text: string): Parsed<Bytes> {
  const s = parseSize(text);
  if (s !== undefined) return ok(s);
  return bad(isSizeSyntax(text) ? `"${text}" is too large: at most 8PiB` : `"${text}" is not a size; write it like 2300, 64MiB or 1GiB`);
}

function httpUrl(text: string): Parsed<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad(`"${text}" is not a URL; write it like http://127.0.0.1:2381/metrics`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad(`"${text}" must start with http:// or https://`);
  if (url.username || url.password) return bad(`"${text}" must not carry credentials; use --etcd-cert/--etcd-key`);
  return ok(url.toString());
}

function urlList(text: string): Parsed<readonly string[]> {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) return bad('needs at least one URL, e.g. https://127.0.0.1:2379');
  const urls: string[] = [];
  for (const item of items) {
    const u = httpUrl(item);
    if (!u.ok) return u;
    urls.push(u.value.replace(/\/$/, ''));
  }
  return ok(urls);
}

function listenAddress(text: string): Parsed<ListenAddress> {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return bad(`"${text}" is not HOST:PORT; write it like 0.0.0.0:9379, :9379 or [::1]:9379`);
  return ok({ host: m[1] ?? (m[2] || '0.0.0.0'), port });
}

function oneOf<T extends string>(values: readonly T[]) {
  return (text: string): Parsed<T> =>
    (values as readonly string[]).includes(text) ? ok(text as T) : bad(`"${text}" must be one of ${values.join(', ')}`);
}

function boolean(text: string): Parsed<boolean> {
  if (['true', '1', 'yes'].includes(text)) return ok(true);
  if (['false', '0', 'no'].includes(text)) return ok(false);
  return bad(`"${text}" must be true or false`);
}

function positiveInt(max: number) {
  return (text: string): Parsed<number> => {
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) return bad(`"${text}" must be a whole number above zero`);
    return n <= max ? ok(n) : bad(`"${text}" is too many: at most ${max}`);
  };
}

function path(text: string): Parsed<string> {
  return text === '' ? bad('must not be empty') : ok(text);
}

const splitList = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

function pathList(text: string): Parsed<readonly string[]> {
  return ok(splitList(text));
}

/** At most this many candidate filesystems: each adds a round of fdatasyncs and a few series. */
export const MAX_CANDIDATES = 4;

function candidateDirs(text: string): Parsed<readonly string[]> {
  // A trailing slash names the same directory: /mnt/ssd/ and /mnt/ssd are one candidate.
  const dirs = splitList(text).map((d) => d.replace(/(.)\/+$/, '$1'));
  const relative = dirs.find((d) => !d.startsWith('/'));
  if (relative !== undefined) return bad(`"${relative}" is not an absolute path; name the candidate's mount point, e.g. /mnt/local-ssd/etcd-candidate`);
  const twice = dirs.find((d, i) => dirs.indexOf(d) !== i);
  if (twice !== undefined) return bad(`"${twice}" is given twice`);
  if (dirs.length > MAX_CANDIDATES) return bad(`${dirs.length} directories: at most ${MAX_CANDIDATES}`);
  return ok(dirs);
}

function serverName(text: string): Parsed<string> {
  return /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(text)
    ? ok(text)
    : bad(`"${text}" is not a DNS name; write the name in the peers' certificates, e.g. etcd-latency-agent`);
}

function peerAgents(text: string): Parsed<PeerAgents> {
  const t = text.trim();
  if (t === '' || t === 'off') return ok('off');
  if (t === 'auto') return ok('auto');
  const items = splitList(t);
  const urls: string[] = [];
  for (const item of items) {
    const u = httpUrl(item);
    if (!u.ok) return bad(`${u.problem}; or write auto for the other members' addresses at this agent's port`);
    const url = new URL(u.value);
    if (url.pathname !== '/' || url.search !== '') return bad(`"${item}" must be an agent's base URL, like http://10.0.0.12:9379, without a path`);
    urls.push(url.origin);
  }
  const twice = urls.find((u, i) => urls.indexOf(u) !== i);
  if (twice !== undefined) return bad(`"${twice}" is given twice`);
  if (urls.length > MAX_PEER_AGENTS) return bad(`${urls.length} agents: at most ${MAX_PEER_AGENTS}`);
  return ok(urls);
}

const flag = <K extends keyof Config>(spec: FlagSpec<K>): FlagSpec<K> => spec;

export const FLAGS = [
  flag({ key: 'listenAddress', flag: 'listen-address', metavar: 'HOST:PORT', default: '0.0.0.0:9379', parse: listenAddress,
    help: 'Where to serve /metrics, /healthz, /readyz and /api/v1/status.' }),
  flag({ key: 'webConfigFile', flag: 'web-config-file', metavar: 'FILE', parse: path,
    help: "TLS and bearer-token authentication for the HTTP endpoint, in node_exporter's --web.config.file format (docs/security.md); /healthz and /readyz stay open." }),
  flag({ key: 'webDisableApi', flag: 'web-disable-api', metavar: 'BOOL', default: 'false', parse: boolean,
    help: 'Serve only /metrics, /healthz and /readyz: /api/* and the status page answer 404.' }),
  flag({ key: 'etcdEndpoints', flag: 'etcd-endpoints', metavar: 'URL[,URL]', default: 'http://127.0.0.1:2379', parse: urlList,
    help: "etcd client URLs; the first is the member this agent watches (its node's own member). kubeadm: https://127.0.0.1:2379 with the certs below." }),
  flag({ key: 'etcdCacert', flag: 'etcd-cacert', metavar: 'FILE', parse: path,
    help: "CA bundle to verify etcd's serving certificate (kubeadm: /etc/kubernetes/pki/etcd/ca.crt)." }),
  flag({ key: 'etcdCert', flag: 'etcd-cert', metavar: 'FILE', parse: path,
    help: 'Client certificate for etcd (kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.crt).' }),
  flag({ key: 'etcdKey', flag: 'etcd-key', metavar: 'FILE', parse: path,
    help: 'Client key for etcd (kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.key).' }),
  flag({ key: 'etcdMetricsUrl', flag: 'etcd-metrics-url', metavar: 'URL', default: 'http://127.0.0.1:2381/metrics', parse: httpUrl,
    help: "The member's Prometheus endpoint (kubeadm's --listen-metrics-urls). https uses the certs above." }),
  flag({ key: 'etcdDataDir', flag: 'etcd-data-dir', metavar: 'DIR', default: '/var/lib/etcd', parse: path,
    help: "etcd's --data-dir: its disk is the one measured." }),
  flag({ key: 'etcdWalDir', flag: 'etcd-wal-dir', metavar: 'DIR', parse: path,
    help: "etcd's --wal-dir when set; default DATA-DIR/member/wal." }),
  flag({ key: 'etcdManifest', flag: 'etcd-manifest', metavar: 'FILE', default: '/etc/kubernetes/manifests/etcd.yaml', parse: path,
    help: "kubeadm's etcd static pod manifest, read to discover heartbeat-interval and election-timeout." }),
  flag({ key: 'etcdHeartbeatInterval', flag: 'etcd-heartbeat-interval', metavar: 'DURATION', parse: duration,
    help: "etcd's --heartbeat-interval, when it cannot be discovered from the manifest or the process." }),
  flag({ key: 'etcdElectionTimeout', flag: 'etcd-election-timeout', metavar: 'DURATION', parse: duration,
    help: "etcd's --election-timeout, when it cannot be discovered from the manifest or the process." }),
  flag({ key: 'etcdApiInterval', flag: 'etcd-api-interval', metavar: 'DURATION', default: '1s', parse: duration,
    help: 'How often to ask the member for its status (raft term: elections are counted from it).' }),
  flag({ key: 'etcdMetricsInterval', flag: 'etcd-metrics-interval', metavar: 'DURATION', default: '5s', parse: duration,
    help: "How often to read etcd's /metrics." }),
  flag({ key: 'etcdTimeout', flag: 'etcd-timeout', metavar: 'DURATION', default: '2s', parse: duration,
    help: 'Deadline for one request to etcd (status, member list, /metrics body).' }),
  flag({ key: 'etcdMetricsMaxBytes', flag: 'etcd-metrics-max-bytes', metavar: 'SIZE', default: '16MiB', parse: size,
    help: "Largest /metrics body read from etcd; a larger one is an error, not a memory spike." }),
  flag({ key: 'memberName', flag: 'member-name', metavar: 'NAME', parse: path,
    help: 'Value of the member label on re-exported etcd metrics; default the host name (kubeadm names members after nodes).' }),
  flag({ key: 'probeEnabled', flag: 'probe-enabled', metavar: 'BOOL', default: 'true', parse: boolean,
    help: 'Write the fdatasync probe file; false for a read-only agent that writes nothing near etcd.' }),
  flag({ key: 'probeDir', flag: 'probe-dir', metavar: 'DIR', parse: path,
    help: "Where the probe writes, on etcd's filesystem (elsewhere the probe is off, and a finding says why). Default: beside the data dir if writable, else the temp dir (said in the log)." }),
  flag({ key: 'probeInterval', flag: 'probe-interval', metavar: 'DURATION', default: '1s', parse: duration,
    help: 'Time between probe rounds.' }),
  flag({ key: 'probeWrites', flag: 'probe-writes', metavar: 'N', default: '10', parse: positiveInt(1000),
    help: 'WAL-sized writes, each followed by fdatasync, per probe round (at most 1000).' }),
  flag({ key: 'probeFileSize', flag: 'probe-file-size', metavar: 'SIZE', default: '64MiB', parse: size,
    help: "Size of the preallocated probe file (etcd preallocates 64 MiB WAL segments); the probe never writes beyond it." }),
  flag({ key: 'candidateDirs', flag: 'candidate-dir', metavar: 'DIR[,DIR]', default: '', parse: candidateDirs,
    help: `Filesystems etcd could move to (a new volume, the instance's local disk; at most ${MAX_CANDIDATES}): each is probed like etcd's at a low rate, and the agent says what the election model predicts if etcd ran there and which settings it would need. Not on etcd's own filesystem.` }),
  flag({ key: 'candidateInterval', flag: 'candidate-interval', metavar: 'DURATION', default: '10s', parse: duration,
    help: 'Time between rounds on the candidate filesystems; each round is --probe-writes fdatasyncs per candidate.' }),
  flag({ key: 'peerAgents', flag: 'peer-agents', metavar: 'auto|URL[,URL]', default: 'off', parse: peerAgents,
    help: "The other members' agents, asked for their heartbeat interval and election timeout (members must run the same): auto takes each member's client URL host from etcd's member list with this agent's port (the DaemonSet's hostNetwork), over https when this agent serves https or the flags below are given, or name their base URLs; off asks none. Peers behind a --web-config-file need the three flags below." }),
  flag({ key: 'peerAgentsInterval', flag: 'peer-agents-interval', metavar: 'DURATION', default: '30s', parse: duration,
    help: 'Time between rounds of asking the peer agents.' }),
  flag({ key: 'peerAgentsCaFile', flag: 'peer-agents-ca-file', metavar: 'FILE', parse: path,
    help: "CA bundle that signed the peer agents' certificates (their --web-config-file's ca.crt); the system's CAs without it. Read each round." }),
  flag({ key: 'peerAgentsServerName', flag: 'peer-agents-server-name', metavar: 'NAME', parse: serverName,
    help: "The DNS name the peer agents' certificates carry, checked instead of their address (auto addresses them by IP); the web-config component's is etcd-latency-agent." }),
  flag({ key: 'peerAgentsTokenFile', flag: 'peer-agents-token-file', metavar: 'FILE', parse: path,
    help: 'The bearer token the peer agents ask for (their --web-config-file bearer_token_file); sent over https only. Read each round.' }),
  flag({ key: 'probeMinFree', flag: 'probe-min-free', metavar: 'SIZE', default: '1GiB', parse: size,
    help: 'The probe pauses while the filesystem has less free space than this.' }),
  flag({ key: 'diskInterval', flag: 'disk-interval', metavar: 'DURATION', default: '5s', parse: duration,
    help: 'How often to read /proc/diskstats.' }),
  flag({ key: 'sharedPaths', flag: 'shared-paths', metavar: 'PATH[,PATH]', default: '/,/var/lib/containerd,/var/lib/kubelet,/var/log', parse: pathList,
    help: "Busy paths checked for sharing a disk with etcd." }),
  flag({ key: 'configInterval', flag: 'etcd-config-interval', metavar: 'DURATION', default: '1m', parse: duration,
    help: "How often to re-read etcd's manifest and process for heartbeat-interval and election-timeout." }),
  flag({ key: 'processesEnabled', flag: 'processes-enabled', metavar: 'BOOL', default: 'true', parse: boolean,
    help: "Find the processes writing most to etcd's device (/proc/<pid>/io and fd; needs CAP_SYS_PTRACE to see other users' and privileged processes)." }),
  flag({ key: 'processesInterval', flag: 'processes-interval', metavar: 'DURATION', default: '10s', parse: duration,
    help: "How often to read every process's write counter for etcd's top writers." }),
  flag({ key: 'cgroupIoEnabled', flag: 'cgroup-io-enabled', metavar: 'BOOL', default: 'true', parse: boolean,
    help: "Find the pods and services writing most to etcd's device from the kernel's cgroup I/O accounting (v2 io.stat, v1 blkio); needs no capability." }),
  flag({ key: 'cgroupIoInterval', flag: 'cgroup-io-interval', metavar: 'DURATION', default: '10s', parse: duration,
    help: "How often to read every cgroup's write counter on etcd's device." }),
  flag({ key: 'cgroupPath', flag: 'cgroup-path', metavar: 'DIR', default: '/sys/fs/cgroup', parse: path,
    help: "The host's cgroup mount (in a pod: where it is mounted)." }),
  flag({ key: 'podLogsPath', flag: 'pod-logs-path', metavar: 'DIR', default: '/var/log', parse: path,
    help: "The host's /var/log, whose pods/ and containers/ (kubelet's) name the pods and containers of cgroups (in a pod: where they are mounted)." }),
  flag({ key: 'podUid', flag: 'pod-uid', metavar: 'UID', parse: path,
    help: "The agent's own pod UID (the DaemonSet sets it from the downward API): its probe's writes are not counted among etcd's writers." }),
  flag({ key: 'procPath', flag: 'proc-path', metavar: 'DIR', default: '/proc', parse: path,
    help: "The host's /proc (in a pod: where it is mounted)." }),
  flag({ key: 'sysPath', flag: 'sys-path', metavar: 'DIR', default: '/sys', parse: path,
    help: "The host's /sys (in a pod: where it is mounted)." }),
  flag({ key: 'diagnosisInterval', flag: 'diagnosis-interval', metavar: 'DURATION', default: '5s', parse: duration,
    help: 'How often the diagnosis is re-evaluated from what the sources have gathered.' }),
  flag({ key: 'logLevel', flag: 'log-level', metavar: LOG_LEVELS.join('|'), default: 'info', parse: oneOf(LOG_LEVELS), help: 'Least severe level logged.' }),
  flag({ key: 'logFormat', flag: 'log-format', metavar: LOG_FORMATS.join('|'), default: 'text', parse: oneOf(LOG_FORMATS), help: 'Log line format.' }),
] as const;

/** The flag of each diagnosis threshold; kinds, help and defaults (with their reasons) are in src/analysis/thresholds.ts. */
const THRESHOLD_FLAG_NAMES: Record<keyof Thresholds, string> = {
  walFsyncP99: 'wal-fsync-p99',
  backendCommitP99: 'backend-commit-p99',
  probeP99: 'probe-p99',
  window: 'analysis-window',
  minTailObservations: 'min-tail-observations',
  stallThreshold: 'stall-threshold',
  stallWarningFraction: 'stall-warning-fraction',
  stallCriticalFraction: 'stall-critical-fraction',
  electionsPerDayWarning: 'elections-per-day-warning',
  electionsPerDayCritical: 'elections-per-day-critical',
  electionRateMinHistory: 'election-rate-min-history',
  forensicsLookback: 'forensics-lookback',
  diskBusyFraction: 'disk-busy-fraction',
  diskQueueDepth: 'disk-queue-depth',
  peerRttP99: 'peer-rtt-p99',
  dbQuotaFraction: 'db-quota-fraction',
  dbQuotaCriticalFraction: 'db-quota-critical-fraction',
  dbFragmentedFraction: 'db-fragmented-fraction',
  dbFragmentedMinMiB: 'db-fragmented-min-mib',
  targetElectionsPerDay: 'target-elections-per-day',
  maxTuningElection: 'max-tuning-election-timeout',
  stallRepresentative: 'stall-representative',
  clearAfter: 'finding-clear-after',
};

interface ThresholdFlag {
  readonly key: keyof Thresholds;
  readonly flag: string;
  readonly kind: ThresholdKind;
  readonly help: string;
}

export const THRESHOLD_FLAGS: readonly ThresholdFlag[] = (Object.keys(THRESHOLD_HELP) as Array<keyof Thresholds>).map((key) => ({
  key,
  flag: THRESHOLD_FLAG_NAMES[key],
  kind: THRESHOLD_HELP[key].kind,
  help: THRESHOLD_HELP[key].help.replace(/^./, (c) => c.toUpperCase()) + '.',
}));

function thresholdDefault(f: ThresholdFlag): string {
  const v = DEFAULT_THRESHOLDS[f.key];
  if (f.kind === 'milliseconds') return formatDuration(ms(v));
  if (f.kind === 'seconds') return formatDuration(ms(v * 1000));
  return String(v);
}

function parseThreshold(f: ThresholdFlag, text: string): Parsed<number> {
  if (f.kind === 'milliseconds' || f.kind === 'seconds') {
    const d = duration(text);
    return d.ok ? ok(f.kind === 'milliseconds' ? d.value : seconds(d.value / 1000)) : d;
  }
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) return bad(`"${text}" must be a number, 0 or more`);
  if (f.kind === 'fraction' && n > 1) return bad(`"${text}" must be a fraction from 0 to 1`);
  return ok(n);
}

/** The threshold flags as FlagSpecs for parsing, --help and the README. */
const thresholdSpecs = THRESHOLD_FLAGS.map((f) => ({
  flag: f.flag,
  metavar: f.kind === 'milliseconds' || f.kind === 'seconds' ? 'DURATION' : f.kind === 'fraction' ? 'FRACTION' : 'NUMBER',
  help: f.help,
  default: thresholdDefault(f),
}));

/** Every flag of the common schema, for --help and documentation. */
export const ALL_FLAGS: ReadonlyArray<{ flag: string; metavar: string; help: string; default?: string }> = [...FLAGS, ...thresholdSpecs];

export const envName = (f: { flag: string }): string => ENV_PREFIX + f.flag.toUpperCase().replace(/-/g, '_');

export interface CommandLine {
  readonly command: string;
  readonly help: boolean;
  readonly version: boolean;
  /** flag name → raw text, flags given on the command line only. */
  readonly values: ReadonlyMap<string, string>;
  /** The command's own flags (not settable from the environment); a boolean flag's value is "true". */
  readonly extra: ReadonlyMap<string, string>;
}

/** Flags a command adds to the common ones: `valued` take a value, `boolean` take none. */
export interface CommandFlags {
  readonly valued?: readonly string[];
  readonly boolean?: readonly string[];
}

/**
 * Splits argv into the command (first, optional) and `--flag value` / `--flag=value` pairs. Flags
 * that neither the schema nor the command knows are an error, so a typo never silently falls back
 * to a default.
 */
export function splitArgs(argv: readonly string[], commands: Readonly<Record<string, CommandFlags>> = {}): CommandLine {
  const known = new Set(ALL_FLAGS.map((f) => f.flag));
  const values = new Map<string, string>();
  const extra = new Map<string, string>();
  let command = 'run';
  let help = false;
  let version = false;
  let sawCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') { help = true; continue; }
    if (arg === '--version') { version = true; continue; }
    if (!arg.startsWith('--')) {
      if (sawCommand || values.size > 0 || extra.size > 0) throw new ConfigError(`unexpected argument "${arg}"; flags are written --name=value`);
      command = arg;
      sawCommand = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const own = commands[command] ?? {};
    if ((own.boolean ?? []).includes(name)) {
      extra.set(name, eq === -1 ? 'true' : arg.slice(eq + 1));
      continue;
    }
    const isExtra = (own.valued ?? []).includes(name);
    if (!known.has(name) && !isExtra) throw new ConfigError(`unknown flag --${name}${sawCommand ? ` for ${command}` : ''}; see --help for the flags`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) value = argv[++i]!;
    else throw new ConfigError(`flag --${name} needs a value, e.g. --${name}=VALUE`);
    (isExtra ? extra : values).set(name, value);
  }
  return { command, help, version, values, extra };
}

/** The user's value of a flag: the command line's, else the environment's; undefined when neither. */
function pick(flag: string, cli: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): { value: string; where: string } | undefined {
  const fromCli = cli.get(flag);
  if (fromCli !== undefined) return { value: fromCli, where: `--${flag}` };
  const name = envName({ flag });
  const fromEnv = env[name];
  return fromEnv !== undefined && fromEnv !== '' ? { value: fromEnv, where: `${name} (environment)` } : undefined;
}

/** Builds the config: command-line value, else environment variable, else default. */
export function buildConfig(cli: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): Config {
  const config: Record<string, unknown> = {};
  for (const spec of FLAGS) {
    const text = pick(spec.flag, cli, env) ?? (spec.default !== undefined ? { value: spec.default, where: `default of --${spec.flag}` } : undefined);
    if (text === undefined) continue;
    const parsed = (spec.parse as (t: string) => Parsed<unknown>)(text.value);
    if (!parsed.ok) throw new ConfigError(`${text.where}: ${parsed.problem}`);
    config[spec.key] = parsed.value;
  }
  const thresholds: Record<string, number> = { ...DEFAULT_THRESHOLDS };
  for (const f of THRESHOLD_FLAGS) {
    const text = pick(f.flag, cli, env);
    if (text === undefined) continue;
    const parsed = parseThreshold(f, text.value);
    if (!parsed.ok) throw new ConfigError(`${text.where}: ${parsed.problem}`);
    thresholds[f.key] = parsed.value;
  }
  config.thresholds = thresholds as unknown as Thresholds;
  const problem = thresholdProblems(config.thresholds as Thresholds)[0];
  if (problem !== undefined) {
    // The analysis names fields (walFsyncP99); the user wrote flags (--wal-fsync-p99).
    const asFlags = problem.replace(/\b[a-z][a-zA-Z0-9]*\b/g, (w) => (w in THRESHOLD_FLAG_NAMES ? `--${THRESHOLD_FLAG_NAMES[w as keyof Thresholds]}` : w));
    throw new ConfigError(`thresholds: ${asFlags}`);
  }
  const result = config as unknown as Config;
  checkCombinations(result);
  return result;
}

function checkCombinations(c: Config): void {
  if ((c.etcdCert === undefined) !== (c.etcdKey === undefined)) {
    throw new ConfigError('--etcd-cert and --etcd-key go together: give both, or neither');
  }
  if (c.probeFileSize < DEFAULT_WRITE_SIZE) {
    throw new ConfigError(`--probe-file-size must be at least ${DEFAULT_WRITE_SIZE} bytes: one probe write, which never goes beyond the file`);
  }
  if (c.etcdHeartbeatInterval !== undefined && c.etcdElectionTimeout !== undefined && c.etcdElectionTimeout < 5 * c.etcdHeartbeatInterval) {
    throw new ConfigError('--etcd-election-timeout must be at least 5× --etcd-heartbeat-interval (etcd refuses to start otherwise)');
  }
}

export function usage(version: string): string {
  const lines = [
    `etcd-latency-agent ${version}`,
    '',
    'Usage: etcd-latency-agent [COMMAND] [--flag=value ...]',
    '',
    'Commands:',
    '  run        probe the disk, read etcd and serve metrics (default)',
    '  diagnose   sample this node for --duration=30s (or read a running agent: --from=URL) and print',
    '             findings and recommendations (--json); exit 0 healthy, 1 warning or worse',
    "  bench      the fio etcd check with the agent's probe: --count=N fdatasyncs (default 10000), --json;",
    "             exit 0 when p99 is under etcd's 10 ms target, 1 when over",
    '',
    'Flags (each also settable from the environment variable shown):',
  ];
  for (const f of ALL_FLAGS) {
    lines.push(`  --${f.flag}=${f.metavar}`);
    lines.push(`      ${f.help}`);
    lines.push(`      env ${envName(f)}${f.default !== undefined ? `, default ${f.default}` : ''}`);
  }
  lines.push('  --help, --version');
  return lines.join('\n');
}
