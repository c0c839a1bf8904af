// What the rules share: the rule signature and small helpers to cut evidence and word facts.
import { fmtRatio, fmtSeconds } from '../../lib/format.js';
import { fractionAbove, observations, quantile, type FractionAbove } from '../../lib/histogram.js';
import type { Thresholds } from '../thresholds.js';
import type { Evidence, Fact, HistogramWindow, ProbePoint, RawFinding } from '../../model/diagnosis.js';
import { msToSeconds, type Milliseconds, type Seconds } from '../../lib/units.js';

/** A rule looks at one evaluation's evidence and either fires (a finding without `since`) or stays silent. */
export type Rule = (ev: Evidence, th: Thresholds) => RawFinding | undefined;

/** Probe points in (now − window, now]. */
export function pointsIn(points: readonly ProbePoint[], now: Date, window: Seconds): ProbePoint[] {
  const end = now.getTime();
  const start = end - window * 1000;
  return points.filter((p) => p.at.getTime() > start && p.at.getTime() <= end);
}

/** Probe points in [from, to]. */
export function pointsBetween(points: readonly ProbePoint[], from: number, to: number): ProbePoint[] {
  return points.filter((p) => p.at.getTime() >= from && p.at.getTime() <= to);
}

export function maxOf(points: readonly ProbePoint[]): number | undefined {
  return points.length === 0 ? undefined : Math.max(...points.map((p) => p.max));
}

/** Latency percentiles of a window and the share of observations over a target, with how it was computed. */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly observations: number;
  readonly over: FractionAbove;
}

/**
 * The window's summary when its p99 is over the target, judged only from `minObservations` on: the
 * p99 of a handful of observations is their slowest, not a property of the disk.
 */
export function slowTail(w: HistogramWindow | undefined, target: Seconds, minObservations: number): LatencySummary | undefined {
  const s = latencySummary(w, target);
  return s !== undefined && s.observations >= minObservations && exceeds(s.p99, target) ? s : undefined;
}

export function latencySummary(w: HistogramWindow | undefined, target: Seconds): LatencySummary | undefined {
  if (!w) return undefined;
  const n = observations(w.histogram);
  if (!(n > 0)) return undefined;
  const p50 = quantile(w.histogram, 0.5);
  const p99 = quantile(w.histogram, 0.99);
  const over = fractionAbove(w.histogram, target);
  if (p50 === undefined || p99 === undefined || over === undefined) return undefined;
  return { p50, p99, observations: n, over };
}

/** "exact" when the buckets determine the share, "interpolated" otherwise. */
export const method = (f: FractionAbove): 'exact' | 'interpolated' => (f.exact ? 'exact' : 'interpolated');

/** The facts of a latency window, named `<prefix>_p50`, `<prefix>_p99`, `<prefix>_share_over_target`… */
export function latencyFacts(prefix: string, s: LatencySummary, target: Seconds, window: Seconds): Fact[] {
  return [
    { name: `${prefix}_p50`, value: s.p50, unit: 'seconds', window },
    { name: `${prefix}_p99`, value: s.p99, unit: 'seconds', window },
    { name: `${prefix}_target_p99`, value: target, unit: 'seconds' },
    { name: `${prefix}_observations`, value: s.observations, unit: 'count', window },
    { name: `${prefix}_share_over_target`, value: s.over.value, unit: 'ratio', window },
    { name: `${prefix}_share_over_target_method`, value: method(s.over) },
    { name: `${prefix}_share_over_target_lower`, value: s.over.lower, unit: 'ratio', window },
    { name: `${prefix}_share_over_target_upper`, value: s.over.upper, unit: 'ratio', window },
  ];
}

/** "12% of fsyncs took longer than 10 ms (exact)" / "(interpolated; between 9% and 15%)". */
export function shareWords(over: FractionAbove, target: Seconds, what: string): string {
  const bounds = over.exact ? 'exact' : `interpolated; between ${fmtRatio(over.lower)} and ${fmtRatio(over.upper)}`;
  return `${fmtRatio(over.value)} of ${what} took longer than ${fmtSeconds(target)} (${bounds})`;
}

/**
 * value > limit, ignoring floating-point noise: a p99 interpolated to 0.010000000000000002 is "exactly
 * 10 ms", which is not over a 10 ms target.
 */
export function exceeds(value: number, limit: number): boolean {
  return value > limit + 1e-9 * Math.max(1, Math.abs(limit));
}

/** value ≥ limit, with the same tolerance. */
export function reaches(value: number, limit: number): boolean {
  return value >= limit - 1e-9 * Math.max(1, Math.abs(limit));
}

/** True when some evidence says the disk under etcd is slow: WAL, probe or saturation over the thresholds. */
export function diskLooksSlow(ev: Evidence, th: Thresholds): boolean {
  const over = (w: HistogramWindow | undefined, target: Milliseconds): boolean => slowTail(w, msToSeconds(target), th.minTailObservations) !== undefined;
  if (over(ev.walFsync, th.walFsyncP99) || over(ev.probe, th.probeP99) || over(ev.backendCommit, th.backendCommitP99)) return true;
  return ev.disk !== undefined && (reaches(ev.disk.busyFraction, th.diskBusyFraction) || reaches(ev.disk.queueDepth, th.diskQueueDepth));
}
