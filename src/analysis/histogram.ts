// Histogram math on cumulative Prometheus buckets. Pure: no I/O, no clock.

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
