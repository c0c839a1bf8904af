// The one quantile of raw samples in this repository: nearest rank, as fio reports its percentiles, so
// the agent's `bench`, the benchmark figures and fio's own numbers can be set side by side.
// (Histogram quantiles, interpolated inside a bucket as Prometheus does, are histogram.ts's.)

/**
 * The ⌈q·n⌉-th smallest of `sorted` (ascending), for q in (0, 1]: q = 1 is the maximum, and no value
 * is interpolated, so the result is always one of the samples. NaN when there is no sample.
 */
export function nearestRank(sorted: readonly number[], q: number): number {
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside (0, 1]`);
  if (sorted.length === 0) return NaN;
  // q·n in binary floating point can land just above a whole number (0.07 × 100 = 7.000000000000001),
  // whose ceiling would skip a rank; the relative error of one product is at most one epsilon.
  const rank = Math.max(1, Math.ceil(q * sorted.length * (1 - Number.EPSILON)));
  return sorted[rank - 1]!;
}

/** nearestRank of samples in any order. */
export function sampleQuantile(values: readonly number[], q: number): number {
  return nearestRank([...values].sort((a, b) => a - b), q);
}
