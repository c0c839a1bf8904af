// GET /api/v1/history: the last hour as time series for the status page's charts, cut from
// AgentState.history. Pure: the time is passed in, nothing is sampled.
//
// The hour is split into fixed buckets aligned to multiples of the step (so successive requests agree
// on every complete bucket); a point is stamped at its bucket's end. For each bucket:
// - probe / WAL fsync / backend commit p99: the quantile of the increase of the cumulative histogram
//   between the snapshots that frame the bucket (the last one at or before each edge);
// - probe max: the worst fdatasync of the probe rounds counted in that increase (and the probe p99 is
//   capped at it: interpolation inside a histogram bucket can overshoot);
// - disk busy: the fraction of the time etcd's device was busy (diskstats io_ticks), the busiest of the
//   device and its whole disks, as the diagnosis takes it.
// A bucket without data (no snapshots around it, no observation in it) is null: a gap in the chart.
import { histogramDelta, quantile, type HistogramSnapshot } from '../../lib/histogram.js';
import type { ElectionEvent, MaintenanceEvent, ProbePoint, StallEvent } from '../../model/diagnosis.js';
import type { DiskPoint, History, TotalsPoint } from '../../state/state.js';
import { toJson } from './json.js';

export const HISTORY_SCHEMA_VERSION = 1;
export const HISTORY_SPAN_SECONDS = 3600;
export const HISTORY_STEP_SECONDS = 10;

export interface HistorySeries {
  /** Seconds; null where the bucket has no data. */
  readonly probeP99: readonly (number | null)[];
  readonly probeMax: readonly (number | null)[];
  readonly walFsyncP99: readonly (number | null)[];
  readonly backendCommitP99: readonly (number | null)[];
  /** Fraction of the bucket etcd's device was busy, 0..1. */
  readonly diskBusy: readonly (number | null)[];
}

export interface HistoryDocument {
  readonly schemaVersion: number;
  readonly now: Date;
  /** Start of the first bucket and end of the last one. */
  readonly from: Date;
  readonly to: Date;
  readonly stepSeconds: number;
  /** End of each bucket, Unix seconds. */
  readonly t: readonly number[];
  readonly series: HistorySeries;
  /** etcd's device (from the latest diskstats sample) and the whole disks under it. */
  readonly device: string | null;
  readonly disks: readonly string[];
  /** Elections seen inside [from, now]. */
  readonly elections: ReadonlyArray<Pick<ElectionEvent, 'at' | 'termFrom' | 'termTo'>>;
  /** Stalls that threatened leadership inside [from, now], one entry per probe round or etcd scrape that saw any. */
  readonly stalls: readonly StallEvent[];
  /** etcd's maintenance seen at the scrapes inside [from, now]. */
  readonly maintenance: readonly MaintenanceEvent[];
}

export interface HistoryOptions {
  readonly spanSeconds?: number;
  readonly stepSeconds?: number;
  /** When the agent started: buckets that end before it are left out (a young agent's charts start with it). */
  readonly since?: Date;
}

type HistoryInput = Pick<History, 'totals' | 'probePoints' | 'disk' | 'elections' | 'stalls' | 'maintenance'>;
type Timed = { readonly at: Date };

/**
 * The bucket edges: multiples of the step, the last one at or before `now`; span/step buckets, or
 * fewer when `since` is later than the span's start (at least one).
 */
export function bucketEdges(now: Date, spanSeconds: number, stepSeconds: number, since?: Date): number[] {
  const stepMs = stepSeconds * 1000;
  const last = Math.floor(now.getTime() / stepMs) * stepMs;
  let n = Math.max(1, Math.round(spanSeconds / stepSeconds));
  if (since) n = Math.max(1, Math.min(n, Math.ceil((last - since.getTime()) / stepMs)));
  return Array.from({ length: n + 1 }, (_, i) => last - (n - i) * stepMs);
}

/**
 * For each bucket [edges[i], edges[i+1]]: the entry that opens it (the last one at or before its start,
 * else the first one inside it) and the one that closes it (the last one at or before its end).
 * `entries` are oldest first, as TimeRing keeps them.
 */
export function frames<T extends Timed>(entries: readonly T[], edges: readonly number[]): Array<{ start?: T; end?: T }> {
  const lastAtOrBefore: Array<T | undefined> = [];
  let j = -1;
  for (const edge of edges) {
    while (j + 1 < entries.length && entries[j + 1]!.at.getTime() <= edge) j++;
    lastAtOrBefore.push(j >= 0 ? entries[j] : undefined);
  }
  return edges.slice(1).map((edge, i) => {
    const end = lastAtOrBefore[i + 1];
    // Nothing before the bucket: history begins inside it (or later), with the oldest entry.
    const first = entries[0];
    const start = lastAtOrBefore[i] ?? (first && first.at.getTime() <= edge ? first : undefined);
    return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
  });
}

/** p99 of the increase of one cumulative histogram between two totals snapshots. */
function p99Between(start: TotalsPoint | undefined, end: TotalsPoint | undefined, key: 'probe' | 'walFsync' | 'backendCommit'): number | null {
  if (!start || !end || start === end) return null;
  const a: HistogramSnapshot | undefined = start[key];
  const b: HistogramSnapshot | undefined = end[key];
  if (!a || !b) return null;
  const d = histogramDelta(a, b);
  if (!(d.count > 0)) return null;
  const q = quantile(d, 0.99);
  return q === undefined ? null : round(q, 1e6);
}

/** Busy fraction of the busiest of etcd's device and its disks between two diskstats samples. */
function busyBetween(start: DiskPoint | undefined, end: DiskPoint | undefined): number | null {
  if (!start || !end || start === end) return null;
  const dt = (end.at.getTime() - start.at.getTime()) / 1000;
  if (!(dt > 0)) return null;
  let busiest: number | null = null;
  for (const cur of end.sample.stats) {
    const prev = start.sample.stats.find((s) => s.device === cur.device);
    if (!prev) continue;
    const busy = Math.min(1, Math.max(0, (cur.ioTime - prev.ioTime) / dt));
    if (busiest === null || busy > busiest) busiest = busy;
  }
  return busiest === null ? null : round(busiest, 1e4);
}

/**
 * The worst probe round between each bucket's framing snapshots: (start, end], the very rounds whose
 * fdatasyncs make up that bucket's histogram increase (a round and its snapshot share one time).
 */
function probeMaxes(points: readonly ProbePoint[], buckets: ReadonlyArray<{ start?: TotalsPoint; end?: TotalsPoint }>): Array<number | null> {
  let j = 0;
  return buckets.map(({ start, end }) => {
    if (!start || !end || start === end) return null;
    const from = start.at.getTime();
    const to = end.at.getTime();
    while (j < points.length && points[j]!.at.getTime() <= from) j++;
    let max: number | null = null;
    for (let k = j; k < points.length && points[k]!.at.getTime() <= to; k++) max = Math.max(max ?? 0, points[k]!.max);
    return max === null ? null : round(max, 1e6);
  });
}

const round = (v: number, per: number): number => Math.round(v * per) / per;

const until = <T extends Timed>(now: Date, events: readonly T[]): T[] => events.filter((e) => e.at.getTime() <= now.getTime());

export function historyDocument(h: HistoryInput, now: Date, opts: HistoryOptions = {}): HistoryDocument {
  const span = opts.spanSeconds ?? HISTORY_SPAN_SECONDS;
  const step = opts.stepSeconds ?? HISTORY_STEP_SECONDS;
  const edges = bucketEdges(now, span, step, opts.since);
  const totals = frames(h.totals.all(), edges);
  const disk = frames(h.disk.all(), edges);
  const probeMax = probeMaxes(h.probePoints.all(), totals);
  const from = new Date(edges[0]!);
  const latestDisk = h.disk.latest()?.sample;
  return {
    schemaVersion: HISTORY_SCHEMA_VERSION,
    now,
    from,
    to: new Date(edges[edges.length - 1]!),
    stepSeconds: step,
    t: edges.slice(1).map((e) => e / 1000),
    series: {
      // A quantile interpolated inside a histogram bucket can overshoot the real maximum: cap it there.
      probeP99: totals.map((f, i) => {
        const p99 = p99Between(f.start, f.end, 'probe');
        const max = probeMax[i];
        return p99 !== null && max !== null && max !== undefined ? Math.min(p99, max) : p99;
      }),
      probeMax,
      walFsyncP99: totals.map((f) => p99Between(f.start, f.end, 'walFsync')),
      backendCommitP99: totals.map((f) => p99Between(f.start, f.end, 'backendCommit')),
      diskBusy: disk.map((f) => busyBetween(f.start, f.end)),
    },
    device: latestDisk?.device ?? null,
    disks: latestDisk?.disks ?? [],
    elections: until(now, h.elections.since(from)).map((e) => ({ at: e.at, termFrom: e.termFrom, termTo: e.termTo })),
    stalls: until(now, h.stalls.since(from)),
    maintenance: until(now, h.maintenance.since(from)),
  };
}

export function historyJson(h: HistoryInput, now: Date, opts: HistoryOptions = {}): string {
  return toJson(historyDocument(h, now, opts));
}
