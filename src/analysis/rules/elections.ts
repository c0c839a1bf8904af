// Leader elections: how often (from raft term increases over the retained history), and for each
// recent one, whether a stall on this node's disk in the minute before explains it.
import { fmtMs, fmtRate, fmtSeconds } from '../../lib/format.js';
import { runningSettings, tuningFromEvidence, tuningRemedy, tuningWarranted } from '../recommendation.js';
import { maxBucketUpperBound, type HistogramSnapshot } from '../../lib/histogram.js';
import type { ElectionEvent, Fact, Severity } from '../../model/diagnosis.js';
import type { Milliseconds } from '../../lib/units.js';
import { exceeds, maxOf, pointsBetween, reaches, type Rule } from './common.js';

/** Elections an event stands for: a term rising by d between two observations is d campaigns. */
export const electionsIn = (e: ElectionEvent): number => Math.max(1, e.termTo - e.termFrom);

export const frequentElections: Rule = (ev, th) => {
  const count = ev.elections.reduce((sum, e) => sum + electionsIn(e), 0);
  if (count === 0) return undefined;
  const history = Math.max(ev.electionHistory, th.electionRateMinHistory);
  const perDay = (count * 86_400) / history;
  let severity: Severity;
  if (exceeds(perDay, th.electionsPerDayCritical)) severity = 'critical';
  else if (exceeds(perDay, th.electionsPerDayWarning)) severity = 'warning';
  else return undefined;
  const last = ev.elections[ev.elections.length - 1]!;
  const facts: Fact[] = [
    { name: 'elections', value: count, unit: 'count', window: ev.electionHistory },
    { name: 'elections_per_hour', value: perDay / 24, unit: 'per_hour', window: ev.electionHistory },
    { name: 'elections_per_day', value: perDay, unit: 'per_day', window: ev.electionHistory },
    { name: 'rate_history', value: history, unit: 'seconds' },
    { name: 'last_election_at', value: last.at.toISOString() },
    { name: 'last_term', value: last.termTo, unit: 'count' },
  ];
  const extrapolated = history > ev.electionHistory ? ` (rate over at least ${fmtSeconds(history)})` : '';
  const summary =
    `${count} leader election${count === 1 ? '' : 's'} in the last ${fmtSeconds(ev.electionHistory)}: ` +
    `${fmtRate(perDay)}/day, ${fmtRate(perDay / 24)}/hour${extrapolated}; a healthy cluster sees well under one per week`;
  const tuning = tuningFromEvidence(ev, th);
  const remedy =
    'See election_forensics for what preceded each election. When stalls on the leader\'s disk explain them, fix that disk ' +
    '(its own disk or --wal-dir on one, a local-SSD flavor, ionice -c2 -n0)' +
    (tuning && tuningWarranted(tuning) ? `. ${tuningRemedy(tuning)}` : '; otherwise check peer RTT, CPU starvation and etcd restarts.');
  return { code: 'frequent_elections', severity, summary, facts, remedy };
};

export type ElectionCause = 'explained' | 'possibly_explained' | 'stall_below_timeout' | 'no_stall' | 'no_data';

export interface ElectionExamination {
  readonly election: ElectionEvent;
  /** Worst probe fdatasync in the lookback before the election (exact, from the probe rounds). */
  readonly probeMax?: number;
  /** etcd's worst WAL fsync in the lookback lies in (walFsyncAtLeast, walFsyncAtMost] (its bucket). */
  readonly walFsyncAtLeast?: number;
  readonly walFsyncAtMost?: number;
  readonly diskBusy?: number;
  readonly cause: ElectionCause;
}

/** The bucket (lower edge, upper edge] holding the longest observation; undefined when empty. */
function longestBucket(h: HistogramSnapshot | undefined): { atLeast: number; atMost: number } | undefined {
  if (!h) return undefined;
  const atMost = maxBucketUpperBound(h);
  if (atMost === undefined) return undefined;
  const i = h.buckets.findIndex((b) => b.le === atMost);
  return { atLeast: i > 0 ? h.buckets[i - 1]!.le : 0, atMost };
}

/**
 * Whether a stall explains an election: the leader silent for stall + heartbeat exceeds the shortest
 * randomized election timeout (et) — the election model's condition for P > 0.
 * - explained: a proven stall does (the probe's exact maximum, or the lower edge of etcd's worst WAL bucket);
 * - possibly_explained: only the upper edge of etcd's worst WAL bucket does (the bucket cannot tell);
 * - stall_below_timeout: a proven stall ≥ stallThreshold, too short by itself;
 * - no_stall / no_data.
 */
export function examineElection(
  e: ElectionEvent,
  points: Parameters<typeof pointsBetween>[0],
  lookbackMs: number,
  heartbeat: Milliseconds,
  election: Milliseconds,
  stallThreshold: Milliseconds,
): ElectionExamination {
  const to = e.at.getTime();
  const probeMax = maxOf(pointsBetween(points, to - lookbackMs, to));
  const wal = longestBucket(e.walFsyncBefore);
  const explains = (stallSeconds: number): boolean => exceeds(stallSeconds * 1000 + heartbeat, election);
  let cause: ElectionCause;
  if (probeMax === undefined && wal === undefined) cause = 'no_data';
  else {
    const proven = Math.max(probeMax ?? 0, wal?.atLeast ?? 0);
    if (explains(proven)) cause = 'explained';
    else if (wal !== undefined && explains(wal.atMost)) cause = 'possibly_explained';
    else if (reaches(proven * 1000, stallThreshold)) cause = 'stall_below_timeout';
    else cause = 'no_stall';
  }
  return {
    election: e,
    ...(probeMax !== undefined ? { probeMax } : {}),
    ...(wal !== undefined ? { walFsyncAtLeast: wal.atLeast, walFsyncAtMost: wal.atMost } : {}),
    ...(e.diskBusyBefore !== undefined ? { diskBusy: e.diskBusyBefore } : {}),
    cause,
  };
}

const CAUSE_WORDS: Record<ElectionCause, string> = {
  explained: 'a stall long enough to explain it',
  possibly_explained: "etcd's WAL fsync bucket may hold a stall long enough",
  stall_below_timeout: 'a stall, too short to explain it by itself',
  no_stall: "no stall on this node's disk",
  no_data: 'no stall evidence',
};

/** At most this many elections are itemized in the facts (the most recent ones). */
export const FORENSICS_MAX_ELECTIONS = 10;

export const electionForensics: Rule = (ev, th) => {
  const start = ev.now.getTime() - th.window * 1000;
  const recent = ev.elections.filter((e) => e.at.getTime() > start && e.at.getTime() <= ev.now.getTime()).slice(-FORENSICS_MAX_ELECTIONS);
  if (recent.length === 0) return undefined;
  const s = runningSettings(ev);
  const exams = recent.map((e) => examineElection(e, ev.probePoints, th.forensicsLookback * 1000, s.heartbeat, s.election, th.stallThreshold));
  const explained = exams.filter((x) => x.cause === 'explained').length;
  const possibly = exams.filter((x) => x.cause === 'possibly_explained').length;
  const facts: Fact[] = [
    { name: 'elections_examined', value: exams.length, unit: 'count', window: th.window },
    { name: 'elections_explained_by_stalls', value: explained, unit: 'count', window: th.window },
    { name: 'elections_possibly_explained_by_stalls', value: possibly, unit: 'count', window: th.window },
    { name: 'lookback', value: th.forensicsLookback, unit: 'seconds' },
    { name: 'election_timeout', value: s.election / 1000, unit: 'seconds' },
    { name: 'heartbeat_interval', value: s.heartbeat / 1000, unit: 'seconds' },
    { name: 'settings', value: s.known ? 'running' : 'unknown: etcd defaults assumed' },
  ];
  exams.forEach((x, i) => {
    const k = `election_${i + 1}`;
    facts.push({ name: `${k}_at`, value: x.election.at.toISOString() });
    facts.push({ name: `${k}_term`, value: `${x.election.termFrom}→${x.election.termTo}` });
    if (x.probeMax !== undefined) facts.push({ name: `${k}_max_probe_fsync`, value: x.probeMax, unit: 'seconds', window: th.forensicsLookback });
    if (x.walFsyncAtLeast !== undefined && x.walFsyncAtMost !== undefined) {
      facts.push({ name: `${k}_wal_fsync_max_at_least`, value: x.walFsyncAtLeast, unit: 'seconds', window: th.forensicsLookback });
      facts.push(
        Number.isFinite(x.walFsyncAtMost)
          ? { name: `${k}_wal_fsync_max_at_most`, value: x.walFsyncAtMost, unit: 'seconds', window: th.forensicsLookback }
          : { name: `${k}_wal_fsync_max_at_most`, value: 'above the highest bucket', window: th.forensicsLookback },
      );
    }
    if (x.diskBusy !== undefined) facts.push({ name: `${k}_disk_busy`, value: x.diskBusy, unit: 'ratio', window: th.forensicsLookback });
    facts.push({ name: `${k}_cause`, value: x.cause });
  });
  const worst = Math.max(...exams.map((x) => x.probeMax ?? 0));
  const n = exams.length;
  const parts: string[] = [];
  if (explained > 0) parts.push(`${explained} followed a stall on this node's disk long enough to explain ${explained === 1 ? 'it' : 'them'} (stall + heartbeat > ${fmtMs(s.election)})`);
  if (possibly > 0) parts.push(`${possibly} followed etcd WAL fsyncs that may have been long enough (the buckets cannot tell)`);
  if (parts.length === 0) parts.push(`none is explained by a stall on this node's disk (latest: ${CAUSE_WORDS[exams[n - 1]!.cause]})`);
  let summary = `${n} election${n === 1 ? '' : 's'} in the last ${fmtSeconds(th.window)}: ${parts.join('; ')}`;
  if (worst > 0) summary += `; worst probe fdatasync in the ${fmtSeconds(th.forensicsLookback)} before: ${fmtSeconds(worst)}`;
  const disk = explained + possibly > 0;
  const remedy = disk
    ? `This node's disk stalls ${explained > 0 ? 'cause' : 'may cause'} elections: fix the disk (its own disk or --wal-dir on one, a local-SSD flavor, ionice -c2 -n0); see stalls_threaten_leadership for the tuning stop-gap.`
    : "This node's disk does not explain them: look at the other members' agents (the leader's disk), peer RTT, CPU starvation and etcd restarts.";
  return { code: 'election_forensics', severity: disk ? 'warning' : 'info', summary, facts, remedy };
};
