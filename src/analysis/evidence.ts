// Cuts the Evidence for one diagnosis out of the agent's state: windows are differences of
// cumulative totals, disk rates are differences of kernel counters. Reads memory only.
import { histogramDelta, type HistogramSnapshot } from '../lib/histogram.js';
import type { Thresholds } from './thresholds.js';
import type { CandidateEvidence, DiskWindow, ElectionEvent, Evidence, EtcdSettings, HistogramWindow, MemberRole, TopWriter } from '../model/diagnosis.js';
import { ELECTION_RETENTION_MS, type AgentState, type DiskPoint, type TotalsPoint } from '../state/state.js';
import { ms, seconds, type Milliseconds, type Seconds } from '../lib/units.js';
import type { DeviceStats } from '../host/proc-diskstats.js';
import { runningPreVote } from '../host/etcd-flags.js';

type TotalsKey = Exclude<keyof TotalsPoint, 'at'>;

export function collectEvidence(state: AgentState, now: Date, thresholds: Thresholds): Evidence {
  const window = ms(thresholds.window * 1000);
  const since = new Date(now.getTime() - window);
  const start = state.history.totals.startOfWindow(since);
  const end = state.totals(now);
  const windowOf = (key: TotalsKey): HistogramWindow | undefined => histogramWindow(start, end, key);
  const src = state.sources;
  const metrics = src.etcd_metrics.up ? src.etcd_metrics.latest?.value : undefined;
  const api = src.etcd_api.up ? src.etcd_api.latest?.value : undefined;
  const settings = etcdSettings(state);
  const disk = diskWindow(state.history.disk.startOfWindow(since), state.history.disk.latest());
  const hasLeader = metrics?.hasLeader ?? (api ? api.leaderId !== '0' : undefined);
  const health = src.etcd_health.up ? src.etcd_health.latest?.value : undefined;
  return {
    now,
    ...optional('probe', windowOf('probe')),
    probePoints: state.history.probePoints.since(new Date(now.getTime() - window - 60_000)),
    ...optional('walFsync', windowOf('walFsync')),
    ...optional('backendCommit', windowOf('backendCommit')),
    ...optional('peerRoundTrip', windowOf('peerRoundTrip')),
    ...optional('disk', disk),
    elections: state.history.elections.all().map((e) => withForensics(state, e, ms(thresholds.forensicsLookback * 1000))),
    electionHistory: seconds(Math.min(now.getTime() - state.startedAt.getTime(), ELECTION_RETENTION_MS) / 1000),
    ...optional('settings', settings),
    ...optional('members', api?.members.length),
    etcdReachable: Boolean(src.etcd_api.up || src.etcd_metrics.up),
    ...optional('hasLeader', hasLeader),
    ...optional(
      'health',
      health && {
        endpoint: health.endpoint,
        ready: health.ready,
        // /livez repeats serializable_read: one name per failed check
        failedChecks: [...new Set(health.checks.filter((c) => !c.ok).map((c) => c.name))],
        ...optional('reason', health.reason),
      },
    ),
    ...optional('dbSize', metrics?.dbSize),
    ...optional('dbSizeInUse', metrics?.dbSizeInUse),
    ...optional('quotaBackend', metrics?.quotaBackend),
    topWriters: recentWriters(state, since),
    ...optional('probeOff', state.probeOff),
    ...optional('role', memberRole(state, now)),
    candidates: candidateEvidence(state, now),
    stalls: state.history.stalls.all(),
    maintenance: state.history.maintenance.all(),
    ...optional('self', api && { name: api.memberName, id: api.memberId }),
    ...optional('peers', src.peer_agents.up ? src.peer_agents.latest?.value.answers : undefined),
  };
}

/** Each candidate's fdatasyncs since its first measured round, and why its latest round failed, if it did. */
function candidateEvidence(state: AgentState, now: Date): CandidateEvidence[] {
  return [...state.candidates].map(([dir, c]) => {
    const r = c.last.result;
    const window = c.since && seconds((now.getTime() - c.since.getTime()) / 1000);
    return {
      dir,
      ...(window !== undefined && c.fdatasync.count > 0 ? { measured: { histogram: c.fdatasync, window } } : {}),
      ...(r.ok ? {} : { problem: { reason: r.reason, message: r.message } }),
    };
  });
}

/**
 * How long the last answer on leadership counts when etcd stops answering: long enough to ride out a
 * few failed scrapes, short enough that a member which lost leadership meanwhile is not called leader
 * for long (a minute is a few election timeouts of any sane setting).
 */
export const ROLE_MAX_AGE_MS = 60_000;

/**
 * Leader or follower: etcd_server_is_leader from its /metrics, else the member status (its id against
 * the leader's); the fresher answer wins, and neither when both are older than ROLE_MAX_AGE_MS.
 */
export function memberRole(state: AgentState, now: Date): MemberRole | undefined {
  const fresh = (at: Date | undefined): boolean => at !== undefined && now.getTime() - at.getTime() <= ROLE_MAX_AGE_MS;
  const metrics = state.sources.etcd_metrics.latest;
  const api = state.sources.etcd_api.latest;
  const fromMetrics = metrics?.value.isLeader !== undefined && fresh(metrics.at) ? { at: metrics.at, leads: metrics.value.isLeader } : undefined;
  const fromApi = api && api.value.leaderId !== '0' && fresh(api.at) ? { at: api.at, leads: api.value.leaderId === api.value.memberId } : undefined;
  const answer = [fromMetrics, fromApi].filter((a) => a !== undefined).sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  return answer === undefined ? undefined : answer.leads ? 'leader' : 'follower';
}

/**
 * The latest top writers when they were seen within the analysis window the disk findings describe:
 * the processes source's when it is on (it names processes), else the cgroup_io source's (pods and
 * services, without a capability). A failed round keeps the last writers of either.
 */
function recentWriters(state: AgentState, since: Date): readonly TopWriter[] {
  if (state.enabled.has('processes')) {
    const latest = state.topWriters;
    return latest !== undefined && latest.at >= since ? latest.writers : [];
  }
  const cg = state.sources.cgroup_io.latest;
  if (cg === undefined || cg.at < since) return [];
  return cg.value.writers.map((w) => ({ command: w.name, bytesPerSecond: w.bytesPerSecond, ...(w.etcd ? { etcd: true } : {}) }));
}

/** `{ key: value }` when value is defined, else `{}`: keeps absent evidence absent, not `undefined`. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function histogramWindow(start: TotalsPoint | undefined, end: TotalsPoint, key: TotalsKey): HistogramWindow | undefined {
  const to: HistogramSnapshot | undefined = end[key];
  if (!to) return undefined;
  const from = start?.[key];
  const histogram = from ? histogramDelta(from, to) : to;
  const window = seconds(start ? (end.at.getTime() - start.at.getTime()) / 1000 : 0);
  return window > 0 && histogram.count > 0 ? { histogram, window } : undefined;
}

/**
 * What etcd's own WAL fsync and the disk did in the `lookback` before an election: the probe does not
 * see stalls only etcd's fdatasyncs suffer, etcd's histogram does.
 */
function withForensics(state: AgentState, e: ElectionEvent, lookback: Milliseconds): ElectionEvent {
  const since = new Date(e.at.getTime() - lookback);
  const end = state.history.totals.atOrBefore(e.at);
  const start = state.history.totals.startOfWindow(since);
  const wal = end?.walFsync && start?.walFsync && start.at < end.at ? histogramDelta(start.walFsync, end.walFsync) : undefined;
  const disk = diskWindow(state.history.disk.startOfWindow(since), state.history.disk.atOrBefore(e.at));
  return { ...e, ...optional('walFsyncBefore', wal), ...optional('diskBusyBefore', disk?.busyFraction) };
}

/** The running heartbeat and election timeout, when etcd's configuration told them. */
export function etcdSettings(state: AgentState): EtcdSettings | undefined {
  const cfg = state.sources.etcd_config.latest?.value;
  if (!cfg?.heartbeatInterval || !cfg.electionTimeout) return undefined;
  const preVote = runningPreVote(cfg, state.sources.etcd_api.latest?.value.version);
  return { heartbeat: cfg.heartbeatInterval, election: cfg.electionTimeout, ...(preVote ? { preVote } : {}) };
}

/** Rates of etcd's device between two diskstats samples; the busiest of the device and its disks. */
function diskWindow(first: DiskPoint | undefined, last: DiskPoint | undefined): DiskWindow | undefined {
  if (!first || !last || first === last) return undefined;
  const dt = (last.at.getTime() - first.at.getTime()) / 1000;
  if (dt <= 0) return undefined;
  const rates = last.sample.stats.flatMap((cur) => {
    const prev = first.sample.stats.find((s) => s.device === cur.device);
    return prev ? [deviceRates(prev, cur, dt)] : [];
  });
  if (rates.length === 0) return undefined;
  const busiest = rates.reduce((a, b) => (b.busyFraction > a.busyFraction ? b : a));
  const s = last.sample;
  return {
    ...busiest,
    window: seconds(dt),
    sharedWith: s.sharedWith,
    ...(s.rotational !== undefined ? { rotational: s.rotational } : {}),
  };
}

function deviceRates(prev: DeviceStats, cur: DeviceStats, dt: number) {
  const writes = cur.writesCompleted - prev.writesCompleted;
  const flushes = cur.flushRequests !== undefined && prev.flushRequests !== undefined ? cur.flushRequests - prev.flushRequests : 0;
  const avg = (time: number, n: number): Seconds | undefined => (n > 0 ? seconds(time / n) : undefined);
  const writeAwait = avg(cur.writeTime - prev.writeTime, writes);
  const flushAwait = avg((cur.flushTime ?? 0) - (prev.flushTime ?? 0), flushes);
  return {
    device: cur.device as string,
    busyFraction: Math.min(1, Math.max(0, (cur.ioTime - prev.ioTime) / dt)),
    queueDepth: Math.max(0, (cur.weightedIoTime - prev.weightedIoTime) / dt),
    ...(writeAwait !== undefined ? { writeAwait } : {}),
    ...(flushAwait !== undefined ? { flushAwait } : {}),
  };
}
