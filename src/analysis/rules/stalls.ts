// Stalls long enough to threaten leadership: single fdatasyncs that reach a fraction of the election
// timeout. Counted from the probe's per-round maxima (exact) and from the histograms (lower bounds
// the buckets prove), so a count is never inflated by interpolation.
import { electionTicks, pElection } from '../election-model.js';
import { fmtMs, fmtRatio, fmtSeconds } from '../../lib/format.js';
import { maxBucketUpperBound, provenCountAbove } from '../../lib/histogram.js';
import { clusterSize, followerRemedy, runningSettings, tuningFromEvidence, tuningRemedy, tuningWarranted } from '../recommendation.js';
import type { Fact, HistogramWindow } from '../../model/diagnosis.js';
import { ms, seconds, type Seconds } from '../../lib/units.js';
import { maxOf, pointsIn, reaches, type Rule } from './common.js';
import { stallWarningLimit } from '../thresholds.js';

/** Observations of a window strictly above `threshold` that the buckets prove (the lower bound). */
function provenAbove(w: HistogramWindow | undefined, threshold: Seconds): number | undefined {
  return w && provenCountAbove(w.histogram, threshold);
}

const DISK_FIX = "Fix the disk under etcd: its own disk (or --wal-dir on one), a local-SSD flavor, and ionice -c2 -n0 for etcd meanwhile.";

export const stallsThreatenLeadership: Rule = (ev, th) => {
  const settings = runningSettings(ev);
  const et = settings.election;
  const warnAt = stallWarningLimit(th, et);
  const critAt = seconds((th.stallCriticalFraction * et) / 1000);
  const points = pointsIn(ev.probePoints, ev.now, th.window);
  const pointsOver = (limit: number): number => points.filter((p) => reaches(p.max, limit)).length;

  const probeWarn = Math.max(pointsOver(warnAt), provenAbove(ev.probe, warnAt) ?? 0);
  const probeCrit = Math.max(pointsOver(critAt), provenAbove(ev.probe, critAt) ?? 0);
  const walWarn = provenAbove(ev.walFsync, warnAt);
  const walCrit = provenAbove(ev.walFsync, critAt);
  // Each source sees the same disk stalls: the best proven count is the largest.
  const overWarn = Math.max(probeWarn, walWarn ?? 0);
  const overCrit = Math.max(probeCrit, walCrit ?? 0);
  if (overWarn < 1) return undefined;

  const n = clusterSize(ev);
  const longest = maxOf(points);
  const walBound = ev.walFsync ? maxBucketUpperBound(ev.walFsync.histogram) : undefined;
  const facts: Fact[] = [
    { name: 'stalls_over_warning', value: overWarn, unit: 'count', window: th.window },
    { name: 'stalls_over_election_timeout', value: overCrit, unit: 'count', window: th.window },
    { name: 'stall_warning_threshold', value: warnAt, unit: 'seconds' },
    { name: 'stall_critical_threshold', value: critAt, unit: 'seconds' },
    { name: 'election_timeout', value: et / 1000, unit: 'seconds' },
    { name: 'heartbeat_interval', value: settings.heartbeat / 1000, unit: 'seconds' },
    { name: 'settings', value: settings.known ? 'running' : 'unknown: etcd defaults assumed' },
    { name: 'members', value: n, unit: 'count' },
    { name: 'role', value: ev.role ?? 'unknown' },
  ];
  if (points.length > 0 || ev.probe) {
    facts.push({ name: 'probe_stalls_over_warning', value: probeWarn, unit: 'count', window: th.window });
    facts.push({ name: 'probe_stalls_over_election_timeout', value: probeCrit, unit: 'count', window: th.window });
  }
  if (walWarn !== undefined && ev.walFsync) {
    facts.push({ name: 'wal_fsync_stalls_over_warning', value: walWarn, unit: 'count', window: ev.walFsync.window });
    facts.push({ name: 'wal_fsync_stalls_over_election_timeout', value: walCrit ?? 0, unit: 'count', window: ev.walFsync.window });
  }
  if (walBound !== undefined && ev.walFsync) {
    facts.push(
      Number.isFinite(walBound)
        ? { name: 'wal_fsync_longest_at_most', value: walBound, unit: 'seconds', window: ev.walFsync.window }
        : { name: 'wal_fsync_longest_at_most', value: 'above the highest bucket', window: ev.walFsync.window },
    );
  }
  if (longest !== undefined) {
    facts.push({ name: 'longest_probe_stall', value: longest, unit: 'seconds', window: th.window });
    facts.push({
      name: 'election_probability_longest_probe_stall',
      value: pElection(ms(longest * 1000), settings.heartbeat, et, n),
      unit: 'ratio',
    });
  }

  const single = n === 1;
  // A follower's stalls threaten nothing while it follows: warn, so the leader's agent alone pages.
  const follows = ev.role === 'follower';
  const severity = overCrit >= 1 && !single && !follows ? 'critical' : 'warning';
  const assumed = settings.known ? '' : ' (etcd default assumed)';
  let summary =
    `${overWarn} stall${overWarn === 1 ? '' : 's'} in the last ${fmtSeconds(th.window)} reached ${fmtRatio(th.stallWarningFraction)} ` +
    `of the election timeout (≥ ${fmtSeconds(warnAt)} of ${fmtMs(et)}${assumed})`;
  if (overCrit >= 1) summary += `, ${overCrit} of them ≥ ${fmtSeconds(critAt)}`;
  if (longest !== undefined) summary += `; longest probe stall ${fmtSeconds(longest)}`;
  if (single) summary += ' (single member: no election possible, but every request stalls)';
  else if (follows) summary += '; this member follows, so they start no election while it does, but would if it led';

  const tuning = single ? undefined : tuningFromEvidence(ev, th);
  const threshold = `A stall longer than election timeout − 2 × heartbeat (${fmtMs(ms((electionTicks(settings.heartbeat, et) - 2) * settings.heartbeat))}) can start an election while this member leads.`;
  const remedy = follows
    ? `${DISK_FIX} ${followerRemedy(tuning)}`
    : tuning && tuningWarranted(tuning)
      ? `${DISK_FIX} ${tuningRemedy(tuning)}`
      : `${DISK_FIX} ${threshold}`;
  return { code: 'stalls_threaten_leadership', severity, summary, facts, remedy };
};
