// Property-based test (fast-check) of how etcd's histograms and counters are kept monotonic across
// etcd restarts: whatever sequence of scrapes (etcd restarting between any two, scrapes missed), the
// re-exported totals never go backwards, bucket by bucket, in count and in sum. The soak found the
// case the table tests missed: a restart after which etcd had already made as many observations as
// before, so only the sum showed the reset.
import fc from 'fast-check';
import t from 'tap';
import { accumulate, accumulateCounter, emptyHistogram, isReset, observe, type HistogramSnapshot } from '../../src/lib/histogram.js';
import { seconds } from '../../src/lib/units.js';

const EDGES = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128];

/** One etcd process's life: the observations it makes, in order; scrapes happen after some of them. */
const life = fc.record({
  // Whether a scrape saw the fresh process before it observed anything (often it does not).
  scrapedAtStart: fc.boolean(),
  observations: fc.array(
    fc.record({ value: fc.oneof(fc.constantFrom(0.0005, 0.0015, 0.003, 0.006, 0.02, 0.5), fc.double({ min: 0, max: 2, noNaN: true })), scrapeAfter: fc.boolean() }),
    { maxLength: 15 },
  ),
});

t.test('accumulate: the re-exported histogram never decreases, whatever restarts happen between scrapes', async (t) => {
  fc.assert(
    fc.property(fc.array(life, { minLength: 1, maxLength: 5 }), (lives) => {
      // Scrapes of etcd's cumulative histogram: each life starts again from zero.
      const scrapes: HistogramSnapshot[] = [];
      for (const l of lives) {
        let h = emptyHistogram(EDGES);
        if (l.scrapedAtStart) scrapes.push(h);
        for (const o of l.observations) {
          h = observe(h, [seconds(o.value)]);
          if (o.scrapeAfter) scrapes.push(h);
        }
      }
      let total: HistogramSnapshot | undefined;
      let prev: HistogramSnapshot | undefined;
      for (const cur of scrapes) {
        const next = accumulate(total, prev, cur);
        if (total !== undefined) {
          if (next.count < total.count || next.sum < total.sum) return false;
          if (next.buckets.some((b, i) => b.count < total!.buckets[i]!.count)) return false;
        }
        total = next;
        prev = cur;
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass('monotonic');
});

t.test('a restart that only the sum reveals is a reset (the soak case)', async (t) => {
  const before = observe(emptyHistogram(EDGES), [seconds(0.02), seconds(0.007)]);
  const afterRestart = observe(emptyHistogram(EDGES), [seconds(0.009), seconds(0.006)]); // same buckets' counts, smaller sum
  t.ok(afterRestart.sum < before.sum && afterRestart.count === before.count);
  t.ok(isReset(before, afterRestart), 'recognised as a reset');
  const total = accumulate(before, before, afterRestart);
  t.equal(total.count, 4, 'all of the new life is added');
  t.ok(total.sum >= before.sum, 'the sum does not go backwards');
});

t.test('accumulateCounter: never decreases across resets', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.nat({ max: 1000 }), { maxLength: 8 }), { minLength: 1, maxLength: 5 }), (lives) => {
      let total: number | undefined;
      let prev: number | undefined;
      for (const l of lives) {
        let c = 0;
        for (const inc of [0, ...l]) {
          c += inc;
          const next = accumulateCounter(total, prev, c);
          if (total !== undefined && next < total) return false;
          total = next;
          prev = c;
        }
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass('monotonic');
});
