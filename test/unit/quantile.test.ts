import t from 'tap';
import { nearestRank, sampleQuantile } from '../../src/lib/quantile.js';

/** 1, 2, …, n: the k-th smallest is k, so a case's expected value is its rank. */
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

t.test('nearestRank is the ⌈q·n⌉-th smallest sample', async (t) => {
  const cases: Array<[name: string, sorted: number[], q: number, want: number]> = [
    ['n=1, median', [7], 0.5, 7],
    ['n=1, p99', [7], 0.99, 7],
    ['n=1, max', [7], 1, 7],
    ['q=1 is the maximum', [1, 2, 3, 40], 1, 40],
    ['even n, median: the lower middle, not their mean', [1, 2, 3, 4], 0.5, 2],
    ['odd n, median', [1, 2, 3, 4, 5], 0.5, 3],
    ['n=100, p99: the 99th', upTo(100), 0.99, 99],
    ['n=1000, p99: the 990th', upTo(1000), 0.99, 990],
    ['n=1000, p99.9: the 999th', upTo(1000), 0.999, 999],
    ['n=10, p99 rounds up to the maximum', upTo(10), 0.99, 10],
    ['a tiny q is the minimum', upTo(10), 0.001, 1],
    ['q·n that floating point puts above a whole number (0.07 × 100)', upTo(100), 0.07, 7],
    ['repeated values', [1, 1, 1, 5], 0.75, 1],
  ];
  for (const [name, sorted, q, want] of cases) t.equal(nearestRank(sorted, q), want, name);
});

t.test('no sample has no quantile: NaN', async (t) => {
  t.ok(Number.isNaN(nearestRank([], 0.5)));
  t.ok(Number.isNaN(sampleQuantile([], 1)));
});

t.test('q outside (0, 1] is a caller error', async (t) => {
  for (const q of [0, -0.5, 1.01, 99, NaN]) t.throws(() => nearestRank([1, 2, 3], q), RangeError, String(q));
});

t.test('sampleQuantile sorts a copy first', async (t) => {
  const values = [5, 1, 4, 2, 3];
  t.equal(sampleQuantile(values, 0.5), 3);
  t.equal(sampleQuantile(values, 1), 5);
  t.same(values, [5, 1, 4, 2, 3], 'the input is left as it was');
});
