// From Evidence to recommendations: which stall distribution feeds the election model, what the
// running settings are, the tuning recommendation, and the disk recommendation chosen from the
// findings. Pure: no I/O, no clock.
import {
  DEFAULT_MEMBERS,
  ETCD_DEFAULT_ELECTION,
  ETCD_DEFAULT_HEARTBEAT,
  recommendSettings,
} from './election-model.js';
import { fmtBytes, fmtMs, fmtRate } from '../lib/format.js';
import { observations, quantile } from '../lib/histogram.js';
import type { Thresholds } from './thresholds.js';
import type { DiskRecommendation, DiskRemedy, Evidence, Finding, HistogramWindow, Leadership, SettingsPrediction, StallSource, TopWriter, TuningRecommendation } from '../model/diagnosis.js';
import { ms, type Milliseconds, type Seconds } from '../lib/units.js';

export interface StallDistribution {
  readonly stalls: HistogramWindow;
  readonly source: StallSource;
}

/**
 * The stall distribution for the election model: etcd's WAL fsync window when it has observations
 * (those are the raft loop's own stalls), otherwise the probe's window (the same disk, seen by a
 * process that imitates the WAL); undefined when neither has data.
 */
export function stallDistribution(ev: Evidence): StallDistribution | undefined {
  if (ev.walFsync && observations(ev.walFsync.histogram) > 0) return { stalls: ev.walFsync, source: 'etcd_wal_fsync' };
  if (ev.probe && observations(ev.probe.histogram) > 0) return { stalls: ev.probe, source: 'probe' };
  return undefined;
}

export interface PeerRtt {
  /** Mean round trip (sum / count) — the "average RTT" of etcd's tuning guide. */
  readonly mean: Milliseconds;
  readonly p50?: Milliseconds;
  readonly p99?: Milliseconds;
  readonly observations: number;
  readonly window: Seconds;
}

/** etcd's peer round-trip over the window (all peers merged); undefined without observations. */
export function peerRtt(ev: Evidence): PeerRtt | undefined {
  const w = ev.peerRoundTrip;
  if (!w) return undefined;
  const h = w.histogram;
  const n = observations(h);
  if (!(n > 0) || !(h.count > 0)) return undefined;
  const toMs = (s: number | undefined): Milliseconds | undefined => (s === undefined ? undefined : ms(s * 1000));
  const p50 = toMs(quantile(h, 0.5));
  const p99 = toMs(quantile(h, 0.99));
  return {
    mean: ms((h.sum / h.count) * 1000),
    ...(p50 !== undefined ? { p50 } : {}),
    ...(p99 !== undefined ? { p99 } : {}),
    observations: n,
    window: w.window,
  };
}

export interface RunningSettings {
  readonly heartbeat: Milliseconds;
  readonly election: Milliseconds;
  /** False when etcd's defaults were assumed because the settings are unknown. */
  readonly known: boolean;
}

/** The heartbeat and election timeout running now, or etcd's defaults (known: false). */
export function runningSettings(ev: Evidence): RunningSettings {
  return ev.settings
    ? { heartbeat: ev.settings.heartbeat.value, election: ev.settings.election.value, known: true }
    : { heartbeat: ETCD_DEFAULT_HEARTBEAT, election: ETCD_DEFAULT_ELECTION, known: false };
}

/** Cluster size for the model: the member list, or DEFAULT_MEMBERS. */
export function clusterSize(ev: Evidence): number {
  return ev.members !== undefined && ev.members >= 1 ? ev.members : DEFAULT_MEMBERS;
}

/** The election model's recommendation from the evidence; undefined when no stall distribution exists. */
export function tuningFromEvidence(ev: Evidence, th: Thresholds): TuningRecommendation | undefined {
  const dist = stallDistribution(ev);
  return dist && tuningFor(dist, ev, th);
}

/** The election model's recommendation for a stall distribution, with this cluster's settings, size and peer RTT. */
export function tuningFor(dist: StallDistribution, ev: Evidence, th: Thresholds): TuningRecommendation {
  const rtt = peerRtt(ev);
  return recommendSettings({
    stalls: dist.stalls,
    stallSource: dist.source,
    ...(ev.settings ? { settings: ev.settings } : {}),
    ...(ev.members !== undefined ? { members: ev.members } : {}),
    ...(rtt ? { peerRttMean: rtt.mean } : {}),
    targetElectionsPerDay: th.targetElectionsPerDay,
    maxTuningElection: th.maxTuningElection,
    stallRepresentative: th.stallRepresentative,
  });
}

/** True when the model predicts the running settings miss the target: only then is tuning recommended. */
export function tuningWarranted(t: TuningRecommendation): boolean {
  return t.current.electionsPerDay >= t.targetElectionsPerDay;
}

/** The remedy sentence for tuning, with its numbers and its cost. */
export function tuningRemedy(t: TuningRecommendation): string {
  const r = t.recommended;
  const flags = `--heartbeat-interval=${r.heartbeat} --election-timeout=${r.election}`;
  const cost =
    t.addedFailoverDetection > 0
      ? `a real leader failure is then detected ~${fmtMs(t.addedFailoverDetection)} later (mean ${fmtMs(r.failoverDetection)} instead of ${fmtMs(t.current.failoverDetection)})`
      : `fail-over detection does not get slower (mean ${fmtMs(r.failoverDetection)})`;
  const rate = `predicted ${fmtRate(r.electionsPerDay)} elections/day instead of ${fmtRate(t.current.electionsPerDay)}`;
  if (!t.meetsTarget) {
    return `No timeout within etcd's limits keeps elections under ${fmtRate(t.targetElectionsPerDay)}/day: fix the disk. At most, as a stop-gap, set ${flags} on every member (${rate}; ${cost}).`;
  }
  const lead = t.temporary ? 'Stop-gap only (the disk is the primary remedy): set' : 'Set';
  return `${lead} ${flags} on every member (same values on all; ${rate}; ${cost}).${profileWords(t)} ${ROLLOUT}`;
}

/**
 * The predictions by role: a follower's own stalls start no election, so "now" is 0 while it follows;
 * a leader's, or a member whose role is unknown (assume the worst), cause what the model predicts.
 */
export function leadershipOf(role: Evidence['role'], ifLeader: SettingsPrediction): Leadership {
  return {
    role: role ?? 'unknown',
    electionsPerDayNow: role === 'follower' ? 0 : ifLeader.electionsPerDay,
    electionsPerDayIfLeader: ifLeader.electionsPerDay,
  };
}

/**
 * What a follower whose disk stalls should do instead of tuning the whole cluster for it: keep
 * leadership away until its disk is fixed. `etcdctl move-leader` hands leadership to a member of the
 * operator's choice; only the agents together (EtcdLeaderOnStallingDisk) know whose disk keeps up.
 */
export function followerRemedy(t: TuningRecommendation | undefined): string {
  const ifLed = t ? ` (if it led: predicted ${fmtRate(t.current.electionsPerDay)} elections/day at the running settings)` : '';
  const tune = t && tuningWarranted(t) ? ` Tune only if this member must be able to lead: ${tuningRemedy(t)}` : '';
  return (
    `This member follows, and a follower's stalls start no election${ifLed}: if another member's disk keeps up, keep leadership there ` +
    `until this disk is fixed (etcdctl move-leader <that member's id>, and again after etcd restarts elsewhere).${tune}`
  );
}

/** How operators change the timing settings of a kubeadm control plane without losing quorum. */
export const ROLLOUT =
  'Roll it out one control-plane node at a time: edit etcd\'s static pod manifest (/etc/kubernetes/manifests/etcd.yaml; the kubelet ' +
  'restarts that member), wait until the member is healthy again (etcdctl endpoint health, its agent ready), then the next.';

function profileWords(t: TuningRecommendation): string {
  const p = t.profile;
  if (!p) return '';
  if (p.heartbeat === t.recommended.heartbeat && p.election === t.recommended.election) return ` These are the values of ${p.name}.`;
  return ` ${p.name[0]!.toUpperCase()}${p.name.slice(1)} (${p.heartbeat}/${p.election}) fit too: predicted ${fmtRate(p.electionsPerDay)} elections/day, mean fail-over detection ${fmtMs(p.failoverDetection)}.`;
}

const SLOW_DISK_CODES = new Set(['wal_fsync_slow', 'backend_commit_slow', 'probe_fsync_slow', 'stalls_threaten_leadership', 'disk_saturated']);

/** Writers on etcd's device other than etcd itself, busiest first. */
export function neighbours(writers: readonly TopWriter[]): TopWriter[] {
  return writers.filter((w) => !w.etcd && !/^etcd$/.test(w.command.trim())).sort((a, b) => b.bytesPerSecond - a.bytesPerSecond);
}

export function describeWriters(writers: readonly TopWriter[], max = 3): string {
  return writers
    .slice(0, max)
    .map((w) => `${w.command} (${w.pid === undefined ? '' : `pid ${w.pid}, `}${fmtBytes(w.bytesPerSecond)}/s)`)
    .join(', ');
}

/**
 * The disk recommendation, from the active findings: only when some finding says the disk under
 * etcd is slow or saturated (or elections were explained by stalls). Shared device or noisy
 * neighbours → separate disk / dedicated WAL dir; a dedicated but slow device → faster storage;
 * unknown device → both; always `ionice -c2 -n0` as the cheap mitigation.
 */
export function diskRecommendation(ev: Evidence, findings: readonly Pick<Finding, 'code' | 'severity' | 'summary'>[]): DiskRecommendation | undefined {
  const slow = findings.filter(
    (f) => SLOW_DISK_CODES.has(f.code) || (f.code === 'election_forensics' && f.severity !== 'info'),
  );
  if (slow.length === 0) return undefined;
  const reasons = slow.map((f) => `${f.code}: ${f.summary}`);
  const others = neighbours(ev.topWriters);
  const disk = ev.disk;
  const remedies: DiskRemedy[] = [];
  let summary: string;
  if (disk && (disk.sharedWith.length > 0 || others.length > 0)) {
    remedies.push('separate_disk', 'dedicated_wal_dir', 'ionice');
    const parts: string[] = [];
    if (disk.sharedWith.length > 0) parts.push(`shared with ${disk.sharedWith.join(', ')}`);
    if (others.length > 0) parts.push(`written to by ${describeWriters(others)}`);
    reasons.push(`etcd's device ${disk.device} is ${parts.join(' and ')}`);
    summary =
      `Give etcd its own disk (mount a dedicated volume at its data dir, or at least put --wal-dir on one): ` +
      `${disk.device} is ${parts.join(' and ')}. Meanwhile run etcd with ionice -c2 -n0.`;
  } else if (disk) {
    remedies.push('faster_storage', 'ionice');
    reasons.push(`etcd's device ${disk.device} is not shared with other busy paths, yet it is slow: the storage itself is too slow`);
    const extra = disk.rotational ? ' (it is a rotational disk)' : '';
    summary =
      `Move etcd to faster storage${extra}: a local-SSD/NVMe instance flavor or a low-latency provisioned-IOPS volume ` +
      `(fdatasync p99 < 10 ms, check with \`etcd-latency-agent bench\`). Meanwhile run etcd with ionice -c2 -n0.`;
  } else {
    remedies.push('dedicated_wal_dir', 'faster_storage', 'ionice');
    reasons.push("etcd's device is unknown (diskstats unavailable): cannot tell whether it is shared");
    summary =
      'Put etcd (at least --wal-dir) on a dedicated low-latency disk (local SSD/NVMe flavor); meanwhile run etcd with ionice -c2 -n0.';
  }
  return { remedies, summary, reasons };
}
