import t from 'tap';
import {
  accumulate,
  accumulateCounter,
  counterDelta,
  emptyHistogram,
  fractionAbove,
  histogramDelta,
  isReset,
  maxBucketUpperBound,
  observe,
  observations,
  quantile,
  rebucket,
  type FractionAbove,
  type HistogramSnapshot,
} from '../../src/lib/histogram.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';

/** A histogram from per-bucket (non-cumulative) counts on the given finite edges; the last count is the +Inf bucket. */
function hist(edges: readonly number[], perBucket: readonly number[], sum = 0): HistogramSnapshot {
  if (perBucket.length !== edges.length + 1) throw new Error('one count per finite edge, plus +Inf');
  let c = 0;
  const buckets = [...edges, Infinity].map((le, i) => ({ le, count: (c += perBucket[i]!) }));
  return { buckets, sum, count: c };
}

const EDGES = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032];
/** Equal, or within 1e-12 for finite numbers (interpolation is floating-point arithmetic). */
const near = (got: number | undefined, want: number | undefined): boolean =>
  got === want || (got !== undefined && want !== undefined && Math.abs(got - want) < 1e-12);

t.test('quantile follows histogram_quantile', async (t) => {
  const h = hist(EDGES, [10, 20, 30, 20, 10, 5, 5]); // 100 observations
  const cases: Array<[string, HistogramSnapshot, number, number | undefined]> = [
    ['median in the 4 ms bucket', h, 0.5, 0.002 + 0.002 * (20 / 30)],
    ['rank exactly on an edge', h, 0.3, 0.002],
    ['first bucket interpolates from 0', h, 0.05, 0.0005],
    ['p90: 16 ms edge', h, 0.9, 0.016],
    ['p95 at the top of the 32 ms bucket', h, 0.95, 0.032],
    ['p99 in +Inf → highest finite le', h, 0.99, 0.032],
    ['q = 1 in +Inf', h, 1, 0.032],
    ['q = 0 → 0 when the first bucket holds observations', h, 0, 0],
    ['q = 0 → lower edge of the first non-empty bucket', hist(EDGES, [0, 0, 4, 0, 0, 0, 0]), 0, 0.002],
    ['empty window', hist(EDGES, [0, 0, 0, 0, 0, 0, 0]), 0.99, undefined],
    ['all in +Inf', hist(EDGES, [0, 0, 0, 0, 0, 0, 7]), 0.5, 0.032],
    ['single finite bucket + Inf', hist([0.5], [4, 0]), 0.5, 0.25],
    ['only a +Inf bucket (fewer than 2)', { buckets: [{ le: Infinity, count: 3 }], sum: 1, count: 3 }, 0.5, undefined],
    ['no +Inf bucket', { buckets: [{ le: 1, count: 3 }, { le: 2, count: 3 }], sum: 1, count: 3 }, 0.5, undefined],
    ['q < 0', h, -0.1, undefined],
    ['q > 1', h, 1.1, undefined],
    ['q NaN', h, NaN, undefined],
    ['non-monotonic counts are made monotonic', { buckets: [{ le: 1, count: 4 }, { le: 2, count: 3 }, { le: Infinity, count: 4 }], sum: 0, count: 4 }, 0.5, 0.5],
  ];
  for (const [name, hh, q, want] of cases) {
    const got = quantile(hh, q);
    t.ok(near(got, want), `${name}: got ${got}, want ${want}`);
  }
});

t.test('fractionAbove: exact on edges, interpolated with bounds inside a bucket', async (t) => {
  // etcd's disk buckets: 10 ms and 25 ms are not edges.
  const h = hist(ETCD_DISK_BUCKETS, [50, 20, 10, 10, 4, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0]); // 100
  const F = (value: number, exact: boolean, lower: number, upper: number): FractionAbove => ({ value, exact, lower, upper });
  const cases: Array<[string, HistogramSnapshot, number, FractionAbove | undefined]> = [
    ['8 ms edge: exact', h, 0.008, F(0.1, true, 0.1, 0.1)],
    ['16 ms edge: exact', h, 0.016, F(0.06, true, 0.06, 0.06)],
    ['32 ms edge: exact', h, 0.032, F(0.02, true, 0.02, 0.02)],
    ['1 ms (first edge)', h, 0.001, F(0.5, true, 0.5, 0.5)],
    ['10 ms interpolated in (8, 16]', h, 0.01, F(0.06 + 0.04 * 0.75, false, 0.06, 0.1)],
    ['25 ms interpolated in (16, 32]', h, 0.025, F(0.02 + 0.04 * (7 / 16), false, 0.02, 0.06)],
    ['0.5 ms inside the first bucket, from 0', h, 0.0005, F(0.5 + 0.5 * 0.5, false, 0.5, 1)],
    ['inside an empty bucket: exact', h, 0.1, F(0, true, 0, 0)],
    ['threshold 0', h, 0, F(1, false, 0.5, 1)],
    ['negative threshold: all above', h, -1, F(1, true, 1, 1)],
    ['+Inf threshold', h, Infinity, F(0, true, 0, 0)],
    ['empty window', hist(EDGES, [0, 0, 0, 0, 0, 0, 0]), 0.01, undefined],
    ['NaN threshold', h, NaN, undefined],
    ['all in +Inf: above the top edge → conservative upper bound', hist(EDGES, [0, 0, 0, 0, 0, 0, 5]), 0.1, F(1, false, 0, 1)],
    ['all in +Inf: on the top edge → exact 1', hist(EDGES, [0, 0, 0, 0, 0, 0, 5]), 0.032, F(1, true, 1, 1)],
    ['all in +Inf: below the top edge → exact 1', hist(EDGES, [0, 0, 0, 0, 0, 0, 5]), 0.01, F(1, true, 1, 1)],
    ['single bucket + Inf, inside', hist([1], [4, 0]), 0.25, F(0.75, false, 0, 1)],
    ['single bucket + Inf, above', hist([1], [4, 0]), 2, F(0, true, 0, 0)],
  ];
  for (const [name, hh, threshold, want] of cases) {
    const got = fractionAbove(hh, threshold);
    if (want === undefined || got === undefined) {
      t.equal(got, want, name);
      continue;
    }
    t.equal(got.exact, want.exact, `${name}: exact`);
    t.ok(near(got.value, want.value), `${name}: value: got ${got.value}, want ${want.value}`);
    t.ok(near(got.lower, want.lower), `${name}: lower: got ${got.lower}, want ${want.lower}`);
    t.ok(near(got.upper, want.upper), `${name}: upper: got ${got.upper}, want ${want.upper}`);
    t.ok(got.lower <= got.value && got.value <= got.upper, `${name}: lower ≤ value ≤ upper`);
  }
});

t.test('maxBucketUpperBound: smallest le holding every observation', async (t) => {
  const cases: Array<[string, HistogramSnapshot, number | undefined]> = [
    ['max in the 16 ms bucket', hist(EDGES, [1, 2, 0, 0, 3, 0, 0]), 0.016],
    ['all in the first bucket', hist(EDGES, [4, 0, 0, 0, 0, 0, 0]), 0.001],
    ['some in +Inf', hist(EDGES, [4, 0, 0, 0, 0, 0, 1]), Infinity],
    ['empty', hist(EDGES, [0, 0, 0, 0, 0, 0, 0]), undefined],
    ['no buckets', { buckets: [], sum: 0, count: 0 }, undefined],
  ];
  for (const [name, h, want] of cases) t.equal(maxBucketUpperBound(h), want, name);
});

t.test('histogramDelta: window = cur − prev, or cur after a reset', async (t) => {
  const prev = hist(EDGES, [10, 5, 0, 0, 0, 0, 0], 0.02);
  const cur = hist(EDGES, [12, 5, 1, 0, 0, 0, 1], 1.5);
  const d = histogramDelta(prev, cur);
  t.same(d.buckets.map((b) => b.count), [2, 2, 3, 3, 3, 3, 4], 'cumulative delta');
  t.equal(d.count, 4);
  t.ok(near(d.sum, 1.48), `sum delta: got ${d.sum}`);

  const same = histogramDelta(cur, cur);
  t.equal(observations(same), 0, 'no change → empty window');
  t.equal(quantile(same, 0.99), undefined, 'empty window has no quantile');

  const restarted = hist(EDGES, [3, 0, 0, 0, 0, 0, 0], 0.001);
  t.equal(histogramDelta(cur, restarted), restarted, 'a count went down → delta is cur');
  t.ok(isReset(cur, restarted));

  // Only one bucket went down (count did not): still a reset.
  const oddReset = { ...cur, buckets: cur.buckets.map((b, i) => (i === 0 ? { le: b.le, count: 0 } : b)) };
  t.equal(histogramDelta(cur, oddReset), oddReset, 'one bucket decreased → reset');

  const otherLayout = hist([0.5, 1], [1, 1, 0]);
  t.equal(histogramDelta(cur, otherLayout), otherLayout, 'different bucket layout → treated as a reset');
  t.notOk(isReset(prev, cur));
});

t.test('accumulate keeps a monotonic histogram across restarts', async (t) => {
  const a = hist(EDGES, [10, 0, 0, 0, 0, 0, 0], 0.005);
  const b = hist(EDGES, [10, 5, 0, 0, 0, 0, 0], 0.015);
  const restarted = hist(EDGES, [2, 0, 0, 0, 0, 0, 1], 9);

  let total = accumulate(undefined, undefined, a);
  t.equal(total, a, 'first scrape: the total starts at etcd’s own counts');
  total = accumulate(total, a, b);
  t.same(total.buckets.map((x) => x.count), [10, 15, 15, 15, 15, 15, 15]);
  total = accumulate(total, b, restarted);
  t.same(total.buckets.map((x) => x.count), [12, 17, 17, 17, 17, 17, 18], 'restart: all of cur is added');
  t.equal(total.count, 18);
  t.ok(near(total.sum, 9.015), `sum: got ${total.sum}`);
  total = accumulate(total, restarted, restarted);
  t.equal(total.count, 18, 'no change → total unchanged');

  const noPrev = accumulate(hist(EDGES, [1, 0, 0, 0, 0, 0, 0]), undefined, a);
  t.equal(noPrev.count, 11, 'no previous scrape: cur is all new');

  // A delta on other edges is moved onto the total's edges without inventing observations.
  const coarse = hist([0.004, 0.016], [3, 1, 1], 1);
  const mixed = accumulate(emptyHistogram(EDGES), undefined, coarse);
  t.same(mixed.buckets.map((x) => x.le), [...EDGES, Infinity], 'the total keeps its layout');
  t.same(mixed.buckets.map((x) => x.count), [0, 0, 3, 3, 4, 4, 5]);
});

t.test('rebucket and observe', async (t) => {
  const h = hist([0.001, 0.004, 0.016], [1, 2, 3, 4]);
  t.same(rebucket(h, [0.002, 0.004, 0.1, Infinity]).buckets.map((b) => b.count), [1, 3, 6, 10]);

  const o = observe(emptyHistogram([0.001, 0.01, 0.1]), [0.0005, 0.001, 0.005, 0.5, NaN]);
  t.same(o.buckets.map((b) => b.count), [2, 3, 3, 4], 'a value on an edge counts in that bucket');
  t.equal(o.count, 4, 'NaN ignored');
  t.ok(near(o.sum, 0.5065), `sum: got ${o.sum}`);
  t.same(emptyHistogram([1, 2, Infinity]).buckets.map((b) => b.le), [1, 2, Infinity], '+Inf not doubled');
});

t.test('counters', async (t) => {
  const deltas: Array<[number, number, number]> = [
    [5, 8, 3], [8, 8, 0], [8, 2, 2] /* reset */, [0, 0, 0], [3, 0, 0] /* reset to 0 */,
  ];
  for (const [prev, cur, want] of deltas) t.equal(counterDelta(prev, cur), want, `${prev} → ${cur}`);

  let total = accumulateCounter(undefined, undefined, 4);
  t.equal(total, 4, 'first scrape');
  total = accumulateCounter(total, 4, 6);
  t.equal(total, 6);
  total = accumulateCounter(total, 6, 1);
  t.equal(total, 7, 'restart: +1');
  total = accumulateCounter(total, undefined, 2);
  t.equal(total, 9, 'no previous scrape: cur is all new');
});
