// The etcd metrics source: scrapes one member's /metrics and keeps only the families the analysis
// needs. The fetch is bounded in time (one deadline for connect, headers and body) and in size (the
// socket is destroyed past the bound); every problem comes back as a failure value, never a throw.

import type { Bucket, HistogramSnapshot } from '../lib/histogram.js';
import { bytes, seconds, type Bytes, type Milliseconds, type Seconds } from '../lib/units.js';
import { fetchBounded, memberAgent, type TlsMaterial } from '../lib/http-fetch.js';
import { parsePromText, parsePromValue, type Sample } from '../host/prom-text.js';
import { errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type Outcome } from '../lib/outcome.js';
import { type Source } from './source.js';
import type { MaintenanceKind } from '../model/diagnosis.js';

/** The families the agent keeps from one scrape of a member's /metrics. Absent family → undefined. */
export interface EtcdMetricsSample {
  readonly walFsync?: HistogramSnapshot;
  readonly backendCommit?: HistogramSnapshot;
  /** etcd_network_peer_round_trip_time_seconds by its `To` label (peer member id, hex). */
  readonly peerRoundTrip: ReadonlyMap<string, HistogramSnapshot>;
  readonly leaderChanges?: number;
  readonly hasLeader?: boolean;
  readonly isLeader?: boolean;
  readonly heartbeatSendFailures?: number;
  readonly slowApplies?: number;
  readonly proposalsFailed?: number;
  readonly proposalsPending?: number;
  readonly dbSize?: Bytes;
  readonly dbSizeInUse?: Bytes;
  readonly quotaBackend?: Bytes;
  /** etcd's maintenance work since it started, by kind: how many and how long in all. */
  readonly maintenance?: Readonly<Partial<Record<MaintenanceKind, MaintenanceTally>>>;
  /** A defragmentation is running now (etcd_disk_defrag_inflight). */
  readonly defragInflight?: boolean;
  /** Size of the response body, for self-observability and the size bound. */
  readonly bodyBytes: Bytes;
  /** Which families this member's version lacks, said once in the log (the agent's notes). */
  readonly notes?: readonly string[];
}

/** Completed operations since etcd started (a histogram's count) and their total duration (its sum). */
export interface MaintenanceTally {
  readonly count: number;
  readonly seconds: Seconds;
}

/** The etcd metric families read, by role. */
export const ETCD_FAMILIES = {
  walFsync: 'etcd_disk_wal_fsync_duration_seconds',
  backendCommit: 'etcd_disk_backend_commit_duration_seconds',
  peerRoundTrip: 'etcd_network_peer_round_trip_time_seconds',
  leaderChanges: 'etcd_server_leader_changes_seen_total',
  hasLeader: 'etcd_server_has_leader',
  isLeader: 'etcd_server_is_leader',
  heartbeatSendFailures: 'etcd_server_heartbeat_send_failures_total',
  slowApplies: 'etcd_server_slow_apply_total',
  proposalsFailed: 'etcd_server_proposals_failed_total',
  proposalsPending: 'etcd_server_proposals_pending',
  dbSize: 'etcd_mvcc_db_total_size_in_bytes',
  /** etcd < 3.4 names the DB size only so; 3.4 exposes both. */
  dbSizeLegacy: 'etcd_debugging_mvcc_db_total_size_in_bytes',
  dbSizeInUse: 'etcd_mvcc_db_total_size_in_use_in_bytes',
  quotaBackend: 'etcd_server_quota_backend_bytes',
  defragInflight: 'etcd_disk_defrag_inflight',
  defrag: 'etcd_disk_backend_defrag_duration_seconds',
  /** In milliseconds, unlike the others. */
  compaction: 'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds',
  raftSnapshot: 'etcd_debugging_snap_save_total_duration_seconds',
  dbSnapshot: 'etcd_disk_backend_snapshot_duration_seconds',
} as const;

const WANTED: ReadonlySet<string> = new Set(Object.values(ETCD_FAMILIES));

/**
 * Roles whose family a healthy member of a supported version may lack: peer round trips exist only
 * with peers; the legacy DB size name only before 3.5 (the current one is read first).
 */
const OPTIONAL_ROLES: ReadonlySet<keyof typeof ETCD_FAMILIES> = new Set(['peerRoundTrip', 'dbSizeLegacy']);

/**
 * The families the agent reads that a body lacks: another etcd version than the tested 3.4–3.7 may
 * rename or drop one. What the agent derives from it is then unknown, never a crash.
 */
function absentFamilies(present: ReadonlyMap<string, unknown>): string[] {
  const F = ETCD_FAMILIES;
  return (Object.keys(F) as Array<keyof typeof F>)
    .filter((role) => !OPTIONAL_ROLES.has(role) && !present.has(F[role]))
    .filter((role) => !(role === 'dbSize' && present.has(F.dbSizeLegacy)))
    .map((role) => F[role]);
}

/** Default response-size bound: a 3.4 member's /metrics is ~150 KiB; 16 MiB leaves room for anything sane. */
export const DEFAULT_MAX_BODY_BYTES: Bytes = bytes(16 * 2 ** 20);

export interface EtcdMetricsOptions {
  /** e.g. `http://127.0.0.1:2381/metrics` (kubeadm) or `https://127.0.0.1:2379/metrics`. */
  url: string;
  /** PEM material for https: CA to verify the member, client certificate and key. */
  tls?: TlsMaterial;
  /** Total deadline of one scrape: connect, headers and the whole body. */
  timeout: Milliseconds;
  /** Response-size bound; default DEFAULT_MAX_BODY_BYTES (16 MiB). */
  maxBodyBytes?: Bytes;
  interval: Milliseconds;
}

// ---------------------------------------------------------------------------------------------
// Extraction (pure)

/** Labels other than `le`, as a stable key, so the series of one histogram can be grouped. */
function seriesKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .filter((k) => k !== 'le')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

interface HistogramParts {
  labels: Record<string, string>;
  buckets: Map<number, number>;
  sum?: number;
  count?: number;
}

function parseLe(text: string | undefined): number | undefined {
  const le = text === undefined ? undefined : parsePromValue(text);
  return le === undefined || Number.isNaN(le) ? undefined : le;
}

function finishHistogram(parts: HistogramParts): HistogramSnapshot | undefined {
  if (parts.buckets.size === 0) return undefined;
  const buckets: Bucket[] = [...parts.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  const inf = parts.buckets.get(Infinity);
  const count = parts.count ?? inf;
  if (count === undefined) return undefined; // no +Inf bucket and no _count: the total is unknown
  if (inf === undefined) buckets.push({ le: Infinity, count });
  return { buckets, sum: parts.sum ?? NaN, count };
}

/** Groups a histogram family's `_bucket`, `_sum` and `_count` series by their labels (less `le`). */
function histograms(family: string, samples: readonly Sample[] | undefined): HistogramParts[] {
  if (!samples) return [];
  const byKey = new Map<string, HistogramParts>();
  for (const s of samples) {
    const key = seriesKey(s.labels);
    let parts = byKey.get(key);
    if (!parts) {
      const labels: Record<string, string> = { ...s.labels };
      delete labels['le'];
      parts = { labels, buckets: new Map() };
      byKey.set(key, parts);
    }
    if (s.name === `${family}_bucket`) {
      const le = parseLe(s.labels['le']);
      if (le !== undefined) parts.buckets.set(le, s.value);
    } else if (s.name === `${family}_sum`) parts.sum = s.value;
    else if (s.name === `${family}_count`) parts.count = s.value;
  }
  return [...byKey.values()];
}

/** The histogram of a family without labels (the first series when etcd ever adds some). */
function singleHistogram(family: string, samples: readonly Sample[] | undefined): HistogramSnapshot | undefined {
  const all = histograms(family, samples);
  const plain = all.find((p) => Object.keys(p.labels).length === 0) ?? all[0];
  return plain && finishHistogram(plain);
}

/** The value of a family's series without labels (else its first series), if it is a number. */
function scalar(family: string, samples: readonly Sample[] | undefined): number | undefined {
  if (!samples) return undefined;
  const own = samples.filter((s) => s.name === family);
  const s = own.find((x) => Object.keys(x.labels).length === 0) ?? own[0];
  return s === undefined || Number.isNaN(s.value) ? undefined : s.value;
}

const flag = (v: number | undefined): boolean | undefined => (v === undefined ? undefined : v === 1);
const size = (v: number | undefined): Bytes | undefined => (v === undefined ? undefined : bytes(v));

/** Reads the wanted families from a /metrics body. Pure; absent or malformed families are undefined. */
export function extractEtcdMetrics(body: string): EtcdMetricsSample {
  return extract(body, Buffer.byteLength(body, 'utf8'));
}

function extract(body: string, bodyBytes: number): EtcdMetricsSample {
  const f = parsePromText(body, WANTED);
  const F = ETCD_FAMILIES;
  const peerRoundTrip = new Map<string, HistogramSnapshot>();
  for (const parts of histograms(F.peerRoundTrip, f.get(F.peerRoundTrip))) {
    const to = parts.labels['To'];
    const h = finishHistogram(parts);
    if (to !== undefined && h) peerRoundTrip.set(to, h);
  }
  const sample: { -readonly [K in keyof EtcdMetricsSample]: EtcdMetricsSample[K] } = { peerRoundTrip, bodyBytes: bytes(bodyBytes) };
  const set = <K extends keyof EtcdMetricsSample>(key: K, value: EtcdMetricsSample[K] | undefined): void => {
    if (value !== undefined) sample[key] = value;
  };
  set('walFsync', singleHistogram(F.walFsync, f.get(F.walFsync)));
  set('backendCommit', singleHistogram(F.backendCommit, f.get(F.backendCommit)));
  set('leaderChanges', scalar(F.leaderChanges, f.get(F.leaderChanges)));
  set('hasLeader', flag(scalar(F.hasLeader, f.get(F.hasLeader))));
  set('isLeader', flag(scalar(F.isLeader, f.get(F.isLeader))));
  set('heartbeatSendFailures', scalar(F.heartbeatSendFailures, f.get(F.heartbeatSendFailures)));
  set('slowApplies', scalar(F.slowApplies, f.get(F.slowApplies)));
  set('proposalsFailed', scalar(F.proposalsFailed, f.get(F.proposalsFailed)));
  set('proposalsPending', scalar(F.proposalsPending, f.get(F.proposalsPending)));
  set('dbSize', size(scalar(F.dbSize, f.get(F.dbSize)) ?? scalar(F.dbSizeLegacy, f.get(F.dbSizeLegacy))));
  set('dbSizeInUse', size(scalar(F.dbSizeInUse, f.get(F.dbSizeInUse))));
  set('quotaBackend', size(scalar(F.quotaBackend, f.get(F.quotaBackend))));
  set('defragInflight', flag(scalar(F.defragInflight, f.get(F.defragInflight))));
  const tally = (family: string, unitSeconds: number): MaintenanceTally | undefined => {
    const h = singleHistogram(family, f.get(family));
    return h && Number.isFinite(h.sum) ? { count: h.count, seconds: seconds(h.sum * unitSeconds) } : undefined;
  };
  const maintenance: Partial<Record<MaintenanceKind, MaintenanceTally>> = {};
  const tallies: ReadonlyArray<[MaintenanceKind, MaintenanceTally | undefined]> = [
    ['defrag', tally(F.defrag, 1)],
    ['compaction', tally(F.compaction, 0.001)],
    ['raft_snapshot', tally(F.raftSnapshot, 1)],
    ['db_snapshot', tally(F.dbSnapshot, 1)],
  ];
  for (const [kind, t] of tallies) if (t) maintenance[kind] = t;
  if (Object.keys(maintenance).length > 0) sample.maintenance = maintenance;
  const absent = absentFamilies(f);
  if (absent.length > 0) sample.notes = [`etcd's /metrics has no ${absent.join(', ')}: what the agent reads from ${absent.length === 1 ? 'it' : 'them'} is unknown`];
  return sample;
}

/** True when the sample holds none of the wanted families: the body was not an etcd /metrics. */
export function isEmptyEtcdSample(s: EtcdMetricsSample): boolean {
  return (
    s.peerRoundTrip.size === 0 &&
    (Object.keys(s) as Array<keyof EtcdMetricsSample>).every((k) => k === 'peerRoundTrip' || k === 'bodyBytes' || k === 'notes' || s[k] === undefined)
  );
}

/** Scrapes a member's /metrics. Name 'etcd_metrics'. */
export function createEtcdMetricsSource(opts: EtcdMetricsOptions): Source<EtcdMetricsSample> & { close(): Promise<void> } {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { agent, agentError } = memberAgent(opts.url, opts.tls);
  let closed = false;
  return {
    name: 'etcd_metrics',
    interval: opts.interval,
    async sample(): Promise<Outcome<EtcdMetricsSample>> {
      if (closed) return failure('other', 'source closed');
      if (!agent) return failure(reasonForError(agentError), `cannot set up the connection to ${opts.url}: ${errorMessage(agentError)}`);
      const fetched = await fetchBounded(opts.url, { timeout: opts.timeout, maxBodyBytes, agent });
      if (!fetched.ok) return failure(fetched.reason, fetched.message);
      let sample: EtcdMetricsSample;
      try {
        sample = extract(fetched.value.toString('utf8'), fetched.value.length);
      } catch (err) {
        return failure('parse', `${opts.url}: ${errorMessage(err)}`);
      }
      if (isEmptyEtcdSample(sample)) {
        return failure('parse', `${opts.url}: none of the etcd metric families in a ${fetched.value.length}-byte body`);
      }
      return success(sample);
    },
    async close(): Promise<void> {
      closed = true;
      agent?.destroy();
    },
  };
}
