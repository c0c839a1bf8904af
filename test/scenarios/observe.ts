// What the harness measures for itself, never taking the agent's word for it: raft terms from
// `etcdctl endpoint status`, etcd's own histograms from each member's /metrics, and (separately,
// for the agent's side of the report) the agent's /metrics read as plain Prometheus text.
// Parsing reuses the project's pure pieces: prom-text.ts for the exposition, histogram.ts for math.
import type { EtcdCluster, EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { histogramDelta, maxBucketUpperBound, observations, quantile, type Bucket, type HistogramSnapshot } from '../../src/lib/histogram.js';
import { parsePromText, parsePromValue, type Sample } from '../../src/host/prom-text.js';

// ───────────────────────────────────────────── Prometheus text

/** Every sample of the given families (histogram families include their _bucket/_sum/_count). */
export function parseFamilies(text: string, families: readonly string[]): Map<string, Sample[]> {
  return parsePromText(text.endsWith('\n') ? text : text + '\n', new Set(families));
}

const matches = (labels: Record<string, string>, want: Record<string, string>): boolean =>
  Object.entries(want).every(([k, v]) => labels[k] === v);

/** A histogram family's series whose labels include `want`, summed across the other labels. */
export function histogramOf(samples: Map<string, Sample[]>, family: string, want: Record<string, string> = {}): HistogramSnapshot | undefined {
  const all = (samples.get(family) ?? []).filter((s) => matches(s.labels, want));
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  let seen = false;
  for (const s of all) {
    if (s.name === `${family}_bucket`) {
      const le = parsePromValue(s.labels['le'] ?? '');
      if (le === undefined || Number.isNaN(le)) continue;
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
      seen = true;
    } else if (s.name === `${family}_sum`) sum += s.value;
    else if (s.name === `${family}_count`) count += s.value;
  }
  if (!seen || !byLe.has(Infinity)) return undefined;
  const buckets: Bucket[] = [...byLe].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
  return { buckets, sum, count };
}

/** The value of a gauge/counter series whose labels include `want` (summed when several match). */
export function valueOf(samples: Map<string, Sample[]>, family: string, want: Record<string, string> = {}): number | undefined {
  const all = (samples.get(family) ?? []).filter((s) => s.name === family && matches(s.labels, want));
  return all.length === 0 ? undefined : all.reduce((a, s) => a + s.value, 0);
}

export interface Quantiles {
  readonly count: number;
  readonly p50?: number;
  readonly p99?: number;
  /** Upper edge of the highest non-empty bucket: the true maximum is at most this. */
  readonly maxBound?: number;
}

/** Quantiles of what was observed between two snapshots (a counter reset counts from zero). */
export function windowQuantiles(before: HistogramSnapshot | undefined, after: HistogramSnapshot | undefined): Quantiles | undefined {
  if (after === undefined) return undefined;
  const d = before === undefined ? after : histogramDelta(before, after);
  const count = observations(d);
  const p50 = quantile(d, 0.5);
  const p99 = quantile(d, 0.99);
  const maxBound = maxBucketUpperBound(d);
  return { count, ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}), ...(maxBound !== undefined ? { maxBound } : {}) };
}

/** Sums several histograms with the same buckets (several members' deltas). */
export function addHistograms(hs: readonly (HistogramSnapshot | undefined)[]): HistogramSnapshot | undefined {
  const present = hs.filter((h): h is HistogramSnapshot => h !== undefined);
  if (present.length === 0) return undefined;
  const first = present[0]!;
  if (!present.every((h) => h.buckets.length === first.buckets.length && h.buckets.every((b, i) => b.le === first.buckets[i]!.le))) return undefined;
  return {
    buckets: first.buckets.map((b, i) => ({ le: b.le, count: present.reduce((a, h) => a + h.buckets[i]!.count, 0) })),
    sum: present.reduce((a, h) => a + h.sum, 0),
    count: present.reduce((a, h) => a + h.count, 0),
  };
}

// ───────────────────────────────────────────── etcd, first hand

export const ETCD_WAL_FSYNC = 'etcd_disk_wal_fsync_duration_seconds';
export const ETCD_BACKEND_COMMIT = 'etcd_disk_backend_commit_duration_seconds';
export const ETCD_LEADER_CHANGES = 'etcd_server_leader_changes_seen_total';
export const ETCD_HEARTBEAT_FAILURES = 'etcd_server_heartbeat_send_failures_total';

export interface EtcdMetricsSnapshot {
  readonly walFsync?: HistogramSnapshot;
  readonly backendCommit?: HistogramSnapshot;
  readonly leaderChanges?: number;
  readonly heartbeatFailures?: number;
}

/** One scrape of a member's own /metrics; undefined when it does not answer (down, frozen). */
export async function scrapeEtcd(member: EtcdMemberProcess, timeoutMs = 3000): Promise<EtcdMetricsSnapshot | undefined> {
  if (!member.running() || member.paused()) return undefined;
  try {
    const res = await fetch(member.metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) return undefined;
    const s = parseFamilies(await res.text(), [ETCD_WAL_FSYNC, ETCD_BACKEND_COMMIT, ETCD_LEADER_CHANGES, ETCD_HEARTBEAT_FAILURES]);
    const walFsync = histogramOf(s, ETCD_WAL_FSYNC);
    const backendCommit = histogramOf(s, ETCD_BACKEND_COMMIT);
    const leaderChanges = valueOf(s, ETCD_LEADER_CHANGES);
    const heartbeatFailures = valueOf(s, ETCD_HEARTBEAT_FAILURES);
    return {
      ...(walFsync ? { walFsync } : {}),
      ...(backendCommit ? { backendCommit } : {}),
      ...(leaderChanges !== undefined ? { leaderChanges } : {}),
      ...(heartbeatFailures !== undefined ? { heartbeatFailures } : {}),
    };
  } catch {
    return undefined;
  }
}

/** etcd_server_is_leader from the member's /metrics; undefined when it does not answer in time. */
export async function scrapeIsLeader(member: EtcdMemberProcess, timeoutMs = 400): Promise<boolean | undefined> {
  if (!member.running() || member.paused()) return undefined;
  try {
    const res = await fetch(member.metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    const v = valueOf(parseFamilies(await res.text(), ['etcd_server_is_leader']), 'etcd_server_is_leader');
    return v === undefined ? undefined : v === 1;
  } catch {
    return undefined;
  }
}

export interface MemberStatus {
  readonly member: string;
  readonly raftTerm: number;
  /** The leader's id as this member sees it, hex; '0' when none. */
  readonly leaderId: string;
  readonly memberId: string;
}

/** Quotes long integers before JSON.parse would round them (etcdctl prints uint64 ids bare). */
function parseBigJson(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

/** `etcdctl endpoint status` of one member; undefined when it does not answer. */
export async function memberStatus(cluster: EtcdCluster, member: EtcdMemberProcess): Promise<MemberStatus | undefined> {
  if (!member.running() || member.paused()) return undefined;
  try {
    const out = await cluster.etcdctl(['endpoint', 'status', '-w', 'json'], { endpoints: [member.clientUrl] });
    const parsed = parseBigJson(out) as Array<{ Status?: { header?: { member_id?: unknown }; leader?: unknown; raftTerm?: unknown } }>;
    const s = parsed[0]?.Status;
    if (!s?.header) return undefined;
    const hex = (v: unknown) => BigInt(String(v ?? 0)).toString(16);
    return { member: member.name, raftTerm: Number(s.raftTerm ?? 0), leaderId: hex(s.leader), memberId: hex(s.header.member_id) };
  } catch {
    return undefined;
  }
}

export async function memberStatuses(cluster: EtcdCluster): Promise<Map<string, MemberStatus>> {
  const all = await Promise.all(cluster.members.map((m) => memberStatus(cluster, m)));
  return new Map(all.filter((s): s is MemberStatus => s !== undefined).map((s) => [s.member, s]));
}

/**
 * Waits (bounded) until every running member answers with the same term and the same, non-zero
 * leader twice in a row: the cluster has settled, so terms read now are final for the window.
 */
export async function settledStatuses(cluster: EtcdCluster, timeoutMs = 20_000): Promise<{ statuses: Map<string, MemberStatus>; settled: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  let last = new Map<string, MemberStatus>();
  const want = () => cluster.members.filter((m) => m.running() && !m.paused()).length;
  while (Date.now() < deadline) {
    last = await memberStatuses(cluster);
    const vals = [...last.values()];
    const key = JSON.stringify(vals.map((s) => [s.member, s.raftTerm, s.leaderId]));
    const agreed = vals.length === want() && vals.length > 0 && vals.every((s) => s.raftTerm === vals[0]!.raftTerm && s.leaderId === vals[0]!.leaderId && s.leaderId !== '0');
    if (agreed && key === previous) return { statuses: last, settled: true };
    previous = agreed ? key : '';
    await new Promise((r) => setTimeout(r, 300));
  }
  return { statuses: last, settled: false };
}
