// Histogram math on cumulative Prometheus buckets. Pure: no I/O, no clock.
//
// Conventions (the same as Prometheus' histogram_quantile):
// - buckets are cumulative, in ascending `le`, and the last one is le = +Inf;
// - the number of observations is the +Inf bucket's count;
// - the first bucket spans (0, le₀] when le₀ > 0 (durations are never negative);
// - inside a finite bucket, observations are assumed evenly spread (linear interpolation).

/** One cumulative bucket: `count` observations were ≤ `le` seconds. The last bucket has le = +Inf. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** A histogram as Prometheus exposes it: cumulative buckets in ascending `le`, ending with +Inf. */
export interface HistogramSnapshot {
  readonly buckets: readonly Bucket[];
  readonly sum: number;
  readonly count: number;
}

/** An estimate of the fraction of observations above a threshold, with the bounds the buckets prove. */
export interface FractionAbove {
  /** Best estimate, in [0, 1]: exact, linearly interpolated inside a finite bucket, or `upper` in the +Inf bucket. */
  readonly value: number;
  /** True when the buckets determine the fraction exactly (threshold on a bucket edge, or its bucket is empty). */
  readonly exact: boolean;
  /** The fraction is certainly ≥ lower and ≤ upper (lower === upper when exact). */
  readonly lower: number;
  readonly upper: number;
}

/** A histogram with every bucket at 0, on the given finite edges (+Inf is added). */
export function emptyHistogram(edges: readonly number[]): HistogramSnapshot {
  const buckets = edges.filter((le) => le !== Infinity).map((le) => ({ le, count: 0 }));
  buckets.push({ le: Infinity, count: 0 });
  return { buckets, sum: 0, count: 0 };
}

/**
 * Adds observations (seconds) to a histogram, as a Prometheus client does: each value counts in every
 * bucket whose `le` is ≥ it, and in sum and count. NaN values are ignored.
 */
export function observe(h: HistogramSnapshot, values: readonly number[]): HistogramSnapshot {
  const counts = h.buckets.map((b) => b.count);
  let sum = h.sum;
  let count = h.count;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    sum += v;
    count++;
    // First bucket that holds v; cumulative, so it and all above it grow.
    let i = 0;
    while (i < counts.length && h.buckets[i]!.le < v) i++;
    for (; i < counts.length; i++) counts[i]!++;
  }
  return { buckets: h.buckets.map((b, i) => ({ le: b.le, count: counts[i]! })), sum, count };
}

/** Number of observations: the +Inf bucket's count (falls back to `count` when +Inf is missing). */
export function observations(h: HistogramSnapshot): number {
  const last = h.buckets[h.buckets.length - 1];
  return last !== undefined && last.le === Infinity ? last.count : h.count;
}

function sameLayout(a: HistogramSnapshot, b: HistogramSnapshot): boolean {
  if (a.buckets.length !== b.buckets.length) return false;
  for (let i = 0; i < a.buckets.length; i++) if (a.buckets[i]!.le !== b.buckets[i]!.le) return false;
  return true;
}

/** True when `cur` cannot follow `prev` without a counter reset: a count went down or the bucket layout changed. */
export function isReset(prev: HistogramSnapshot, cur: HistogramSnapshot): boolean {
  if (!sameLayout(prev, cur)) return true;
  // The sum of durations only grows too: an etcd restarted between two scrapes that has since made as
  // many observations as before (so no count went down) shows itself by a smaller sum. Missing this
  // made the re-exported _sum go backwards (found by the soak, bench/soak.ts).
  if (cur.count < prev.count || cur.sum < prev.sum) return true;
  for (let i = 0; i < cur.buckets.length; i++) if (cur.buckets[i]!.count < prev.buckets[i]!.count) return true;
  return false;
}

/**
 * The observations made between two scrapes: cur − prev, bucket by bucket. When a count went down
 * (etcd restarted and its counters began again at 0) or the bucket layout changed, everything in
 * `cur` happened since the reset, so the delta is `cur` itself.
 */
export function histogramDelta(prev: HistogramSnapshot, cur: HistogramSnapshot): HistogramSnapshot {
  if (isReset(prev, cur)) return cur;
  return {
    buckets: cur.buckets.map((b, i) => ({ le: b.le, count: b.count - prev.buckets[i]!.count })),
    sum: cur.sum - prev.sum,
    count: cur.count - prev.count,
  };
}

/** Cumulative counts made non-decreasing (Prometheus does the same before interpolating). */
function monotonicCounts(h: HistogramSnapshot): number[] {
  const out: number[] = [];
  let max = 0;
  for (const b of h.buckets) {
    if (b.count > max) max = b.count;
    out.push(max);
  }
  return out;
}

function validForMath(h: HistogramSnapshot): boolean {
  const n = h.buckets.length;
  return n >= 2 && h.buckets[n - 1]!.le === Infinity;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) with Prometheus' histogram_quantile semantics: find the bucket holding
 * rank q × observations and interpolate linearly inside it; when that bucket is +Inf, the answer is
 * the highest finite `le`. Undefined for an empty histogram, fewer than two buckets, no +Inf bucket,
 * or q outside [0, 1]. q = 0 gives the lower edge of the first non-empty bucket (where Prometheus
 * may answer NaN).
 */
export function quantile(h: HistogramSnapshot, q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) return undefined;
  if (!validForMath(h)) return undefined;
  const counts = monotonicCounts(h);
  const n = counts.length;
  const total = counts[n - 1]!;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  // First finite bucket whose cumulative count reaches the rank (strictly above 0 for q = 0).
  let b = 0;
  while (b < n - 1 && (rank === 0 ? counts[b]! <= 0 : counts[b]! < rank)) b++;
  if (b === n - 1) return h.buckets[n - 2]!.le;
  const end = h.buckets[b]!.le;
  if (b === 0 && end <= 0) return end;
  const start = b === 0 ? 0 : h.buckets[b - 1]!.le;
  const below = b === 0 ? 0 : counts[b - 1]!;
  const inBucket = counts[b]! - below;
  if (inBucket <= 0) return start;
  return start + (end - start) * ((rank - below) / inBucket);
}

/**
 * The fraction of observations strictly above `threshold` (seconds). Exact when the threshold is a
 * bucket edge (etcd's 8, 16, 32 ms…), otherwise interpolated linearly inside the bucket that
 * contains it, with the bounds the two edges prove. Above the highest finite edge nothing can be
 * interpolated: the estimate is the upper bound (everything in +Inf), which is conservative.
 * Undefined for an empty or malformed histogram, or a NaN threshold.
 */
export function fractionAbove(h: HistogramSnapshot, threshold: number): FractionAbove | undefined {
  if (Number.isNaN(threshold) || !validForMath(h)) return undefined;
  const counts = monotonicCounts(h);
  const n = counts.length;
  const total = counts[n - 1]!;
  if (!(total > 0)) return undefined;
  const above = (cumulative: number): number => (total - cumulative) / total;
  const exact = (value: number): FractionAbove => ({ value, exact: true, lower: value, upper: value });

  // The first bucket whose upper edge is ≥ threshold.
  let b = 0;
  while (b < n && h.buckets[b]!.le < threshold) b++;
  const bucket = h.buckets[b]!; // b < n always: the last edge is +Inf
  if (bucket.le === threshold) return exact(above(counts[b]!));

  const belowCount = b === 0 ? 0 : counts[b - 1]!;
  const inBucket = counts[b]! - belowCount;
  const upper = above(belowCount); // all of the bucket above the threshold
  const lower = above(counts[b]!); // none of it
  if (inBucket <= 0) return exact(upper);

  if (b === 0) {
    if (bucket.le <= 0) return { value: upper, exact: false, lower, upper }; // (-Inf, le₀]: nothing to interpolate on
    if (threshold < 0) return exact(1); // durations are ≥ 0: all of them are above a negative threshold
  }
  if (bucket.le === Infinity) return { value: upper, exact: false, lower, upper };
  const start = b === 0 ? 0 : h.buckets[b - 1]!.le;
  const share = (bucket.le - threshold) / (bucket.le - start); // part of the bucket above the threshold
  return { value: (total - counts[b]! + inBucket * share) / total, exact: false, lower, upper };
}

/** Observations strictly above `threshold` that the buckets prove (the lower bound), as a whole number. */
export function provenCountAbove(h: HistogramSnapshot, threshold: number): number | undefined {
  const f = fractionAbove(h, threshold);
  return f === undefined ? undefined : Math.round(f.lower * observations(h));
}

/**
 * The largest edge that some observation is proven to exceed: a conservative minimum of the longest
 * observation (it lies above this edge, in the next bucket). Undefined when every observation may lie
 * in the first bucket, or the histogram is empty.
 */
export function maxBucketLowerBound(h: HistogramSnapshot): number | undefined {
  const counts = monotonicCounts(h);
  const total = counts[counts.length - 1];
  if (total === undefined || !(total > 0)) return undefined;
  let edge: number | undefined;
  for (let i = 0; i < counts.length && counts[i]! < total; i++) edge = h.buckets[i]!.le;
  return edge;
}

/**
 * The smallest `le` that holds every observation: a conservative maximum (the true maximum is at
 * most this, and above the previous edge). Infinity when observations lie in the +Inf bucket;
 * undefined for an empty histogram.
 */
export function maxBucketUpperBound(h: HistogramSnapshot): number | undefined {
  if (h.buckets.length === 0) return undefined;
  const counts = monotonicCounts(h);
  const total = counts[counts.length - 1]!;
  if (!(total > 0)) return undefined;
  for (let i = 0; i < counts.length; i++) if (counts[i]! >= total) return h.buckets[i]!.le;
  return undefined; // unreachable: the last count is the total
}

/**
 * Moves a histogram onto other bucket edges without inventing observations: each target bucket gets
 * the cumulative count at the largest source edge ≤ its own (a lower bound that stays cumulative).
 * The +Inf bucket, the sum and the count are carried over exactly.
 */
export function rebucket(h: HistogramSnapshot, edges: readonly number[]): HistogramSnapshot {
  const counts = monotonicCounts(h);
  const total = observations(h);
  let j = 0;
  let cumulative = 0;
  const buckets = edges.map((le) => {
    if (le === Infinity) return { le, count: total };
    while (j < h.buckets.length && h.buckets[j]!.le <= le) cumulative = counts[j++]!;
    return { le, count: cumulative };
  });
  return { buckets, sum: h.sum, count: h.count };
}

function add(a: HistogramSnapshot, b: HistogramSnapshot): HistogramSnapshot {
  const d = sameLayout(a, b) ? b : rebucket(b, a.buckets.map((x) => x.le));
  return {
    buckets: a.buckets.map((x, i) => ({ le: x.le, count: x.count + d.buckets[i]!.count })),
    sum: a.sum + d.sum,
    count: a.count + d.count,
  };
}

/** The sum of several histograms (e.g. round trips to every peer), on the first one's edges. */
export function sumHistograms(hs: readonly HistogramSnapshot[]): HistogramSnapshot | undefined {
  return hs.length === 0 ? undefined : hs.slice(1).reduce(add, hs[0]!);
}

/**
 * Keeps a monotonic histogram across etcd restarts, for re-export as a Prometheus histogram:
 * - no total yet → the total starts as `cur` (etcd's own counts since it started);
 * - otherwise total + delta, where the delta is `cur − prev`, or all of `cur` after a counter reset
 *   or when there is no previous scrape to subtract.
 * The total keeps its own bucket layout; a delta on other edges is moved onto it with `rebucket`.
 */
export function accumulate(total: HistogramSnapshot | undefined, prev: HistogramSnapshot | undefined, cur: HistogramSnapshot): HistogramSnapshot {
  if (total === undefined) return cur;
  return add(total, prev === undefined ? cur : histogramDelta(prev, cur));
}

/** The increase of a counter between two scrapes; after a reset (cur < prev) the increase is `cur`. */
export function counterDelta(prev: number, cur: number): number {
  return cur < prev ? cur : cur - prev;
}

/** Keeps a monotonic counter across etcd restarts: the same rules as `accumulate`. */
export function accumulateCounter(total: number | undefined, prev: number | undefined, cur: number): number {
  if (total === undefined) return cur;
  return total + (prev === undefined ? cur : counterDelta(prev, cur));
}
