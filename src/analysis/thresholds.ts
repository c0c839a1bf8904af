// Every threshold the diagnosis uses, in one flat record with its documented default. Nothing in
// src/analysis compares against a literal: rules take a `Thresholds`, and each field is meant to be a
// CLI flag (`walFsyncP99` → `--wal-fsync-p99`), so an operator can move a line without a rebuild.
//
// Sources cited below:
// - etcd FAQ: https://etcd.io/docs/v3.5/faq/ (p99 WAL fsync < 10 ms, p99 backend commit < 25 ms,
//   "failed to send out heartbeat on time").
// - etcd tuning guide: https://etcd.io/docs/v3.5/tuning/ (heartbeat ≈ average RTT, election timeout
//   ≥ 10 × RTT, at most 50 000 ms; `ionice -c2 -n0` for etcd; trade-off of higher timeouts).
// - etcd's WAL code (server/storage/wal): a sync slower than 1 s is logged ("slow fdatasync").
// - etcd's backend quota: NOSPACE alarm when the DB reaches --quota-backend-bytes.
// - OpenShift's cluster-etcd-operator defragmentation controller (pkg/operator/defragcontroller):
//   defragments a member once at least 45 % of its DB is free pages and the DB is at least 100 MB.
// - the etcd-mixin alerts (fsync p99 > 0.5 s / 1 s, ≥ 4 leader changes in 15 m), which are far too
//   late for an agent meant to warn before the pipelines fail: our defaults are the targets above.
import { ms, seconds, type Milliseconds, type Seconds } from '../lib/units.js';

export interface Thresholds {
  /** etcd's WAL fsync p99 must stay at or under this (`wal_fsync_slow` fires strictly above). */
  readonly walFsyncP99: Milliseconds;
  /** etcd's backend commit p99 must stay at or under this (`backend_commit_slow`). */
  readonly backendCommitP99: Milliseconds;
  /** The probe's fdatasync p99 must stay at or under this (`probe_fsync_slow`). */
  readonly probeP99: Milliseconds;
  /** Length of the analysis window: histograms, probe points and disk rates are cut to it. */
  readonly window: Seconds;
  /** The p99 rules judge a window only once it holds this many observations. */
  readonly minTailObservations: number;
  /** One fdatasync at least this long is a stall: counted in facts and in election forensics. */
  readonly stallThreshold: Milliseconds;
  /** A stall threatens leadership from this fraction of the election timeout (warning). */
  readonly stallWarningFraction: number;
  /** From this fraction of the election timeout a stall is critical. */
  readonly stallCriticalFraction: number;
  /** Elections per day strictly above this: `frequent_elections` warning. */
  readonly electionsPerDayWarning: number;
  /** Elections per day strictly above this: `frequent_elections` critical. */
  readonly electionsPerDayCritical: number;
  /** A rate per day is never extrapolated from less history than this (one early election ≠ thousands a day). */
  readonly electionRateMinHistory: Seconds;
  /** Election forensics look for stalls this long before each election. */
  readonly forensicsLookback: Seconds;
  /** etcd's device busy at least this fraction of the window: `disk_saturated`. */
  readonly diskBusyFraction: number;
  /** Average requests in flight on etcd's device at least this: `disk_saturated`. */
  readonly diskQueueDepth: number;
  /** Peer round-trip p99 strictly above this: `peer_rtt_high`. */
  readonly peerRttP99: Milliseconds;
  /** DB size at least this fraction of the backend quota: `db_near_quota` warning. */
  readonly dbQuotaFraction: number;
  /** DB size at least this fraction of the backend quota: `db_near_quota` critical. */
  readonly dbQuotaCriticalFraction: number;
  /** At least this fraction of the allocated DB free (not in use): `db_fragmented`. */
  readonly dbFragmentedFraction: number;
  /** …and at least this many MiB allocated: smaller databases are not worth a defragmentation. */
  readonly dbFragmentedMinMiB: number;
  /** The tuning recommendation is the smallest election timeout predicted to stay strictly under this rate. */
  readonly targetElectionsPerDay: number;
  /** A recommended election timeout strictly above this only hides the disk problem: tuning is "temporary". */
  readonly maxTuningElection: Milliseconds;
  /**
   * Where, inside a histogram bucket (lo, hi], the election model places a stall: 0 = lower edge,
   * 0.5 = midpoint, 1 = upper edge. The calibration knob of the model (docs/election-model.md).
   */
  readonly stallRepresentative: number;
  /** Hysteresis: a finding stays active until its rule has been silent this long; severity falls only after it. */
  readonly clearAfter: Seconds;
}

export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze({
  /** etcd FAQ: "p99 duration [of wal_fsync_duration_seconds] should be less than 10ms"; fio's etcd check uses the same line. */
  walFsyncP99: ms(10),
  /** etcd FAQ: "p99 duration [of backend_commit_duration_seconds] should be less than 25ms". */
  backendCommitP99: ms(25),
  /** The probe imitates etcd's WAL writes (preallocated file, ~2300 B + fdatasync), so it is held to the WAL's 10 ms. */
  probeP99: ms(10),
  /** 5 minutes: the window the etcd runbooks and mixin compute p99s over (`rate(…[5m])`); long enough for a stable p99 of a few thousand fsyncs. */
  window: seconds(300),
  /**
   * 200: the p99 of fewer observations is their slowest one or two, so a single hiccup — an agent's own
   * start-up, a busy CPU — would read as a slow disk. A healthy etcd makes 200 WAL fsyncs in a few
   * minutes, the probe in 20 s; stalls long enough to threaten leadership have their own rule, which
   * needs no count.
   */
  minTailObservations: 200,
  /**
   * 100 ms: one default heartbeat interval (etcd tuning guide) and 10× the WAL target. A leader stuck
   * this long in fdatasync sends its next heartbeat late; etcd itself logs "failed to send out heartbeat
   * on time" at two intervals. Shorter blips are "slow disk", not "stall".
   */
  stallThreshold: ms(100),
  /**
   * 50%: by the election model, a silence of s + heartbeat ≥ election timeout can start an election;
   * with heartbeat = election/10, half the timeout leaves less than 2× headroom — the warning line.
   */
  stallWarningFraction: 0.5,
  /** 100%: a stall as long as the election timeout makes an election likely on any draw (model: P ≥ 1 − (1 − hb/et)^(n−1)). */
  stallCriticalFraction: 1,
  /** More than one election a day: a healthy cluster with a healthy disk sees well under one per week. */
  electionsPerDayWarning: 1,
  /** More than one an hour on average (the etcd-mixin pages at ≥ 4 in 15 min; we want to be earlier but not noisy). */
  electionsPerDayCritical: 24,
  /** One hour: one election in the agent's first minutes reads as 24/day (warning), not 8640/day. */
  electionRateMinHistory: seconds(3600),
  /** One minute before each election, as the forensics of the issue ask; longer than any election timeout etcd accepts (50 s). */
  forensicsLookback: seconds(60),
  /** 90% of the window busy (iostat %util): the device has no idle time left for etcd's fsyncs. */
  diskBusyFraction: 0.9,
  /**
   * 4 requests in flight on average (iostat aqu-sz): an fdatasync queued behind them waits ~4 service
   * times, which on a 2–3 ms network volume alone exceeds the 10 ms WAL target.
   */
  diskQueueDepth: 4,
  /**
   * 50 ms: half the default heartbeat interval. etcd's tuning guide wants the heartbeat ≈ the average
   * RTT and the election timeout ≥ 10× RTT; an RTT p99 beyond 50 ms eats the default timeouts' margin.
   */
  peerRttP99: ms(50),
  /** 80%: the usual operating line (keep the DB under 80% of --quota-backend-bytes; compact and defragment before). */
  dbQuotaFraction: 0.8,
  /** 95%: at 100% etcd raises the NOSPACE alarm and refuses writes. */
  dbQuotaCriticalFraction: 0.95,
  /** 45 %: OpenShift's defragmentation controller's maxFragmentedPercentage. */
  dbFragmentedFraction: 0.45,
  /** 100 MiB: the same controller's minDefragBytes. */
  dbFragmentedMinMiB: 100,
  /** 0.05/day ≈ one election in 20 days: "well under one per week" (issue 4). */
  targetElectionsPerDay: 0.05,
  /**
   * 2000 ms: twice etcd's default. Needing more means tolerating fdatasync stalls beyond ~1.8 s —
   * longer than the 1 s etcd itself logs as "slow fdatasync" — so the disk, not the timeout, is the
   * remedy; the mean fail-over detection would also double (1.5 s → 3 s and up).
   */
  maxTuningElection: ms(2000),
  /**
   * 0.5 = the bucket's midpoint, for predicted rates only (the top bucket is narrowed by the histogram's
   * sum first); recommendations assume the upper edge. Calibrated on the scenario grid: docs/election-model.md.
   */
  stallRepresentative: 0.5,
  /** 2 minutes: longer than a few evaluation intervals, shorter than the analysis window. */
  clearAfter: seconds(120),
});

/** How a threshold is written on the command line: a duration (`10ms`, `5m`), a fraction in [0, 1], or a plain number. */
export type ThresholdKind = 'milliseconds' | 'seconds' | 'fraction' | 'number';

/**
 * One line of help per threshold, for the flag table (`--wal-fsync-p99` …). `satisfies` makes a new
 * field without help a compile error.
 */
export const THRESHOLD_HELP = {
  walFsyncP99: { kind: 'milliseconds', help: "etcd WAL fsync p99 target (etcd FAQ: < 10 ms)" },
  backendCommitP99: { kind: 'milliseconds', help: 'etcd backend commit p99 target (etcd FAQ: < 25 ms)' },
  probeP99: { kind: 'milliseconds', help: "probe fdatasync p99 target (the WAL's 10 ms)" },
  window: { kind: 'seconds', help: 'analysis window for percentiles, stalls and disk rates' },
  minTailObservations: { kind: 'number', help: 'the p99 rules judge a window only from this many observations on' },
  stallThreshold: { kind: 'milliseconds', help: 'one fdatasync at least this long is a stall' },
  stallWarningFraction: { kind: 'fraction', help: 'stalls from this fraction of the election timeout threaten leadership (warning)' },
  stallCriticalFraction: { kind: 'number', help: 'stalls from this multiple of the election timeout are critical (1 = the timeout itself)' },
  electionsPerDayWarning: { kind: 'number', help: 'elections per day above this: warning' },
  electionsPerDayCritical: { kind: 'number', help: 'elections per day above this: critical' },
  electionRateMinHistory: { kind: 'seconds', help: 'least history an election rate is computed over' },
  forensicsLookback: { kind: 'seconds', help: 'how far before an election to look for stalls' },
  diskBusyFraction: { kind: 'fraction', help: "etcd's device busy at least this fraction: saturated" },
  diskQueueDepth: { kind: 'number', help: "average requests in flight on etcd's device at least this: saturated" },
  peerRttP99: { kind: 'milliseconds', help: 'peer round-trip p99 above this: high' },
  dbQuotaFraction: { kind: 'fraction', help: 'DB size at this fraction of the quota: warning' },
  dbQuotaCriticalFraction: { kind: 'fraction', help: 'DB size at this fraction of the quota: critical' },
  dbFragmentedFraction: { kind: 'fraction', help: 'this fraction of the allocated DB free (not in use): fragmented' },
  dbFragmentedMinMiB: { kind: 'number', help: 'a DB is called fragmented only from this size in MiB' },
  targetElectionsPerDay: { kind: 'number', help: 'elections per day the tuning recommendation must stay under' },
  maxTuningElection: { kind: 'milliseconds', help: 'election timeouts needed above this make tuning "temporary": fix the disk' },
  stallRepresentative: { kind: 'fraction', help: "election model, predicted rates: a stall's place in its bucket (0 lower edge, 0.5 midpoint, 1 upper edge); recommendations always assume the upper edge" },
  clearAfter: { kind: 'seconds', help: 'a finding clears after its rule has been silent this long' },
} as const satisfies Record<keyof Thresholds, { readonly kind: ThresholdKind; readonly help: string }>;

/** Problems with a set of thresholds, one sentence each; empty when they are usable. */
export function thresholdProblems(th: Thresholds): string[] {
  const problems: string[] = [];
  for (const [key, { kind }] of Object.entries(THRESHOLD_HELP) as Array<[keyof Thresholds, { kind: ThresholdKind }]>) {
    const v = th[key];
    if (!Number.isFinite(v)) problems.push(`${key} must be a finite number`);
    else if (kind === 'fraction' && !(v >= 0 && v <= 1)) problems.push(`${key} must be within [0, 1]`);
    else if (v < 0) problems.push(`${key} must not be negative`);
  }
  if (!(th.window > 0)) problems.push('window must be positive');
  if (!(th.stallCriticalFraction > 0)) problems.push('stallCriticalFraction must be positive');
  if (th.stallWarningFraction > th.stallCriticalFraction) problems.push('stallWarningFraction must not exceed stallCriticalFraction');
  if (th.electionsPerDayWarning > th.electionsPerDayCritical) problems.push('electionsPerDayWarning must not exceed electionsPerDayCritical');
  if (th.dbQuotaFraction > th.dbQuotaCriticalFraction) problems.push('dbQuotaFraction must not exceed dbQuotaCriticalFraction');
  if (!(th.targetElectionsPerDay > 0)) problems.push('targetElectionsPerDay must be positive');
  return problems;
}

/** The length from which one fdatasync threatens leadership: the warning fraction of the election timeout. */
export function stallWarningLimit(th: Thresholds, electionTimeout: Milliseconds): Seconds {
  return seconds((th.stallWarningFraction * electionTimeout) / 1000);
}
