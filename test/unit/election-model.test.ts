import t from 'tap';
import fc from 'fast-check';
import {
  bucketRanges,
  candidateSettings,
  DEFAULT_MEMBERS,
  ETCD_MAX_ELECTION,
  expectedElections,
  freshDrawElections,
  KNOWN_PROFILES,
  pCampaign,
  predictElectionsInWindow,
  shortestDraw,
  type StallGroup,
  failoverDetection,
  pElection,
  longestStalls,
  predictElectionsPerDay,
  recommendSettings,
  representativeStall,
  topBucketMean,
  worstCaseElectionsPerDay,
  type RecommendInput,
} from '../../src/analysis/election-model.js';
import type { HistogramSnapshot } from '../../src/lib/histogram.js';
import { tuningRemedy } from '../../src/analysis/recommendation.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import type { EtcdSettings, HistogramWindow } from '../../src/model/diagnosis.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import { ms, seconds } from '../../src/lib/units.js';

/**
 * A histogram on the given edges from `{ le: count-in-that-bucket }` (non-cumulative); key Infinity for
 * +Inf. The sum puts every observation at its bucket's midpoint (+Inf: 1.5 × its lower edge) unless given.
 */
function hist(edges: readonly number[], perBucket: Record<number, number>, sum?: number): HistogramSnapshot {
  let c = 0;
  let mid = 0;
  let lo = 0;
  const buckets = [...edges, Infinity].map((le) => {
    const k = perBucket[le] ?? 0;
    c += k;
    mid += k * (le === Infinity ? 1.5 * lo : (lo + le) / 2);
    lo = le;
    return { le, count: c };
  });
  return { buckets, sum: sum ?? mid, count: c };
}
const wal = (perBucket: Record<number, number>, window = 300, sum?: number): HistogramWindow => ({
  histogram: hist(ETCD_DISK_BUCKETS, perBucket, sum),
  window: seconds(window),
});
const near = (a: number, b: number, eps = 1e-9): boolean => Math.abs(a - b) <= eps * Math.max(1, Math.abs(b));
const settings = (hb: number, et: number): EtcdSettings => ({
  heartbeat: { value: ms(hb), origin: 'manifest' },
  election: { value: ms(et), origin: 'manifest' },
});
const input = (over: Partial<RecommendInput> & Pick<RecommendInput, 'stalls'>): RecommendInput => ({
  stallSource: 'etcd_wal_fsync',
  settings: settings(100, 1000),
  members: 3,
  targetElectionsPerDay: DEFAULT_THRESHOLDS.targetElectionsPerDay,
  maxTuningElection: DEFAULT_THRESHOLDS.maxTuningElection,
  stallRepresentative: 1,
  ...over,
});

t.test('pElection: the shortest of a fresh term\'s draws (d ticks of [E, 2E)) campaigns when d·hb < s + (φ + ψ)·hb', async (t) => {
  // 100/1000: E = 10 ticks. Two followers: P(shortest ≥ 10 + i) = ((10 − i)/10)². A draw d campaigns
  // with P(φ + ψ > d − s/hb): 1 at or below 0, ½ one tick above, 0 two ticks above.
  const cases: Array<[string, number, number, number, number, number]> = [
    // name, stall, hb, et, n, expected
    ['no stall: no election', 0, 100, 1000, 3, 0],
    ['stall of E − 2 ticks: no draw loses to it, even with both phases against it', 800, 100, 1000, 3, 0],
    ['stall of E − 1 ticks: the shortest draw (10) half the time: 0.19 × ½', 900, 100, 1000, 3, 0.095],
    ['half a tick more, one follower: ⅞ of draw 10 and ⅛ of draw 11, each 1/10', 950, 100, 1000, 2, 0.1],
    ['stall = et, one follower: draw 10 always, 11 half the time', 1000, 100, 1000, 2, 0.15],
    ['stall = et, two followers: 0.19 + ½ × 0.17', 1000, 100, 1000, 3, 0.275],
    ['1.5 s stall on defaults, three members: 1 − 0.4² + ½ × (0.4² − 0.3²)', 1500, 100, 1000, 3, 0.875],
    ['five members: 1 − 0.5⁴ + ½ × (0.5⁴ − 0.4⁴)', 1400, 100, 1000, 5, 0.95595],
    ['1.8 s: only a shortest draw of 19 (0.01) can miss, half the time', 1800, 100, 1000, 3, 0.995],
    ['stall = 2E − 1 ticks: every draw loses', 1900, 100, 1000, 3, 1],
    ['a stall far beyond 2 × et: certain', 60_000, 100, 1000, 3, 1],
    ['et not a multiple of hb: etcd counts whole ticks (1050/100 is 10 ticks)', 1000, 100, 1050, 3, 0.275],
    ['n = 1: a single member never changes leader', 60_000, 100, 1000, 1, 0],
    ['n = 0 (nonsense): 0', 5000, 100, 1000, 0, 0],
    ['et = 0 (nonsense): 0', 5000, 100, 0, 3, 0],
    ['hb = 0 (nonsense): 0', 5000, 0, 1000, 3, 0],
    ['NaN stall: 0', Number.NaN, 100, 1000, 3, 0],
    ['250/2500 tolerates a 1.5 s stall (6 ticks of 10)', 1500, 250, 2500, 3, 0],
    ['250/2500 and a 2.048 s stall: 8.19 ticks, draw 10 loses only to both phases near a tick', 2048, 250, 2500, 3, (0.19 * 0.192 ** 2) / 2],
  ];
  for (const [name, s, hb, et, n, want] of cases) {
    const got = pElection(ms(s), ms(hb), ms(et), n);
    t.ok(near(got, want, 1e-6), `${name}: got ${got}, want ${want}`);
  }
});

t.test('pElection is a probability, rises with the stall and the members, falls with the timeout', async (t) => {
  const arb = fc.record({
    s: fc.integer({ min: 0, max: 100_000 }),
    ds: fc.integer({ min: 0, max: 10_000 }),
    hb: fc.integer({ min: 1, max: 5000 }),
    etOverHb: fc.integer({ min: 0, max: 50_000 }),
    det: fc.integer({ min: 0, max: 10_000 }),
    n: fc.integer({ min: 1, max: 9 }),
  });
  fc.assert(
    fc.property(arb, ({ s, ds, hb, etOverHb, det, n }) => {
      const et = hb + etOverHb;
      const p = pElection(ms(s), ms(hb), ms(et), n);
      return (
        p >= 0 &&
        p <= 1 &&
        pElection(ms(s + ds), ms(hb), ms(et), n) >= p - 1e-12 &&
        pElection(ms(s), ms(hb), ms(et + det), n) <= p + 1e-12 &&
        pElection(ms(s), ms(hb), ms(et), n + 1) >= p - 1e-12
      );
    }),
  );
  t.pass('properties hold');
});

t.test('representativeStall places a stall inside its bucket by the calibration position', async (t) => {
  const cases: Array<[string, number, number, number, number]> = [
    ['upper edge (conservative)', 1.024, 2.048, 1, 2.048],
    ['midpoint', 1.024, 2.048, 0.5, 1.536],
    ['lower edge (optimistic)', 1.024, 2.048, 0, 1.024],
    ['first bucket starts at 0', 0, 0.001, 0.5, 0.0005],
    ['+Inf bucket is read as (lo, 2·lo]: upper', 8.192, Infinity, 1, 16.384],
    ['+Inf bucket midpoint', 8.192, Infinity, 0.5, 12.288],
    ['position above 1 is clamped to the upper edge', 1.024, 2.048, 3, 2.048],
    ['negative position is clamped to the lower edge', 1.024, 2.048, -1, 1.024],
    ['NaN position means the conservative default', 1.024, 2.048, Number.NaN, 2.048],
  ];
  for (const [name, lo, hi, pos, want] of cases) t.ok(near(representativeStall(lo, hi, pos), want), name);
});

t.test('bucketRanges turns cumulative buckets into per-bucket counts', async (t) => {
  const h: HistogramSnapshot = {
    buckets: [
      { le: 0.001, count: 2 },
      { le: 0.002, count: 5 },
      { le: 0.004, count: 4 }, // not monotonic: treated as 5, like histogram_quantile
      { le: Infinity, count: 9 },
    ],
    sum: 0,
    count: 9,
  };
  t.same(bucketRanges(h), [
    { lo: 0, hi: 0.001, count: 2 },
    { lo: 0.001, hi: 0.002, count: 3 },
    { lo: 0.002, hi: 0.004, count: 0 },
    { lo: 0.004, hi: Infinity, count: 4 },
  ]);
});

t.test('topBucketMean narrows the longest stalls by the histogram sum', async (t) => {
  // 2990 fast fsyncs in (1, 2] ms add between 2.99 and 5.98 s to the sum; the rest is the top bucket's.
  const cases: Array<[string, HistogramSnapshot, { lo: number; hi: number } | undefined]> = [
    ['ten 1.5 s stalls beside 2990 fsyncs of 1.5 ms: 1.35–1.65 s', hist(ETCD_DISK_BUCKETS, { 0.002: 2990, 2.048: 10 }, 2990 * 0.0015 + 15), { lo: 1.3505, hi: 1.6495 }],
    ['stalls alone: the sum is exact', hist(ETCD_DISK_BUCKETS, { 2.048: 4 }, 4 * 1.2), { lo: 1.2, hi: 1.2 }],
    ['the bucket still bounds it: what the sum allows is cut at its lower edge', hist(ETCD_DISK_BUCKETS, { 0.002: 1000, 2.048: 1 }, 3), { lo: 1.024, hi: 2 }],
    ['a sum too large for the buckets: nothing', hist(ETCD_DISK_BUCKETS, { 0.002: 10, 2.048: 1 }, 3), undefined],
    ['+Inf has no upper edge: the sum alone says 20 s', hist(ETCD_DISK_BUCKETS, { [Infinity]: 2 }, 40), { lo: 20, hi: 20 }],
    ['a sum below what the buckets hold (a reset inside the window): nothing', hist(ETCD_DISK_BUCKETS, { 0.002: 10, 2.048: 1 }, 0.5), undefined],
    ['no sum: nothing', hist(ETCD_DISK_BUCKETS, { 2.048: 1 }, 0), undefined],
    ['empty: nothing', hist(ETCD_DISK_BUCKETS, {}), undefined],
  ];
  for (const [name, h, want] of cases) {
    const got = topBucketMean(h)?.mean;
    if (want === undefined) t.equal(got, undefined, name);
    else t.ok(got && near(got.lo, want.lo, 1e-6) && near(got.hi, want.hi, 1e-6), `${name}: got ${JSON.stringify(got)}`);
  }
});

t.test('longestStalls: upper edges, and for +Inf what the sum allows the longest one', async (t) => {
  t.same(longestStalls(hist(ETCD_DISK_BUCKETS, { 0.002: 5, 2.048: 2 })), [{ stall: 0.002, count: 5 }, { stall: 2.048, count: 2 }], 'finite buckets: their upper edges');
  // three stalls above 8.192 s summing to 60 s: the longest is at most 60 − 2 × 8.192
  const inf = longestStalls(hist(ETCD_DISK_BUCKETS, { [Infinity]: 3 }, 60));
  t.ok(near(inf[0]!.stall, 60 - 2 * 8.192), `+Inf: ${inf[0]!.stall}`);
  t.equal(longestStalls(hist(ETCD_DISK_BUCKETS, { [Infinity]: 3 }, 0))[0]!.stall, 16.384, '+Inf without a usable sum: the next power of two');
});

/** The chain of `expectedElections` stepped stall by stall over every draw: the reference it must equal. */
function stepByStep(stalls: readonly StallGroup[], hb: number, et: number, n: number, steps: number): number {
  const E = Math.floor(et / hb);
  const fresh = shortestDraw(E, n - 1);
  const total = stalls.reduce((a, g) => a + g.count, 0);
  const q = fresh.map((_, i) => stalls.reduce((a, g) => a + (g.count / total) * pCampaign(E + i, ms(g.stall * 1000), ms(hb)), 0));
  let p = [...fresh];
  let elections = 0;
  for (let t = 0; t < steps; t++) {
    const r = p.reduce((a, x, i) => a + x * q[i]!, 0);
    elections += r;
    p = p.map((x, i) => x * (1 - q[i]!) + r * fresh[i]!);
  }
  return elections;
}
/** P(a fresh term's shortest draw of two followers is E + i ticks), for the tables. */
const shortest = (E: number, i: number): number => ((E - i) / E) ** 2 - ((E - i - 1) / E) ** 2;

t.test('expectedElections: a term lasts until a stall beats its shortest draw, then a fresh term begins', async (t) => {
  const cases: Array<[string, StallGroup[], number, number, number, number, number]> = [
    // name, stalls (s, count), hb, et, n, scale, expected
    ['no stalls', [], 100, 1000, 3, 1, 0],
    ['stalls no draw loses to (0.8 s at 100/1000) count for nothing', [{ stall: 0.8, count: 1000 }], 100, 1000, 3, 1, 0],
    ['one stall: its fresh-term probability', [{ stall: 1.5, count: 1 }], 100, 1000, 3, 1, 0.875],
    ['stalls beyond 2E ticks: every one elects', [{ stall: 2.5, count: 9 }], 100, 1000, 3, 1, 9],
    ['… and scaled, every one of the day\'s', [{ stall: 2.5, count: 9 }], 100, 1000, 3, 288, 9 * 288],
    // 1.5 s at 100/1000: a shortest draw of 17 or more ticks (0.3² = 0.09) outlasts every such stall;
    // the others end within a few. Elections before such a term: geometric, 0.91 / 0.09.
    ['many 1.5 s stalls: the cluster settles after 0.91/0.09 elections', [{ stall: 1.5, count: 10 }], 100, 1000, 3, 288, 0.91 / 0.09],
    ['1.2 s at 100/1000: draws of 14+ (0.36) outlast them', [{ stall: 1.2, count: 14 }], 100, 1000, 3, 100, 0.64 / 0.36],
    ['single member: never', [{ stall: 2.5, count: 9 }], 100, 1000, 1, 1, 0],
    ['a scale that is not positive: nothing', [{ stall: 2.5, count: 9 }], 100, 1000, 3, 0, 0],
  ];
  for (const [name, stalls, hb, et, n, scale, want] of cases) {
    const got = expectedElections(stalls, ms(hb), ms(et), n, scale);
    t.ok(near(got, want, 1e-6), `${name}: got ${got}, want ${want}`);
  }
  const two = [{ stall: 1.2, count: 1 }];
  const p1 = pElection(ms(1200), ms(100), ms(1000), 3);
  const surviveThenElect = shortestDraw(10, 2).reduce((a, w, i) => {
    const q = pCampaign(10 + i, ms(1200), ms(100));
    return a + w * (1 - q) * q;
  }, 0);
  t.ok(near(expectedElections(two, ms(100), ms(1000), 3, 2), p1 + p1 * p1 + surviveThenElect), 'two stalls: the first, then the second against a fresh or a surviving term');
});

t.test('expectedElections equals the chain stepped stall by stall, never exceeds the fresh-draw bound, and grows with the stalls', async (t) => {
  const arb = fc.record({
    groups: fc.array(fc.record({ stall: fc.double({ min: 0, max: 6, noNaN: true }), count: fc.integer({ min: 1, max: 5 }) }), { maxLength: 4 }),
    hb: fc.constantFrom(100, 150, 200, 250, 300),
    ticks: fc.integer({ min: 5, max: 12 }),
    n: fc.integer({ min: 2, max: 5 }),
    steps: fc.integer({ min: 1, max: 60 }),
  });
  fc.assert(
    fc.property(arb, ({ groups, hb, ticks, n, steps }) => {
      const et = hb * ticks;
      const total = groups.reduce((a, g) => a + g.count, 0);
      const got = expectedElections(groups, ms(hb), ms(et), n, steps / Math.max(1, total));
      const relevant = groups.filter((g) => pCampaign(ticks, ms(g.stall * 1000), ms(hb)) > 0);
      const relevantSteps = (steps / Math.max(1, total)) * relevant.reduce((a, g) => a + g.count, 0);
      const reference = relevant.length === 0 || !Number.isInteger(relevantSteps) ? got : stepByStep(relevant, hb, et, n, relevantSteps);
      const bound = (freshDrawElections(groups, ms(hb), ms(et), n) * steps) / Math.max(1, total);
      const more = expectedElections(groups, ms(hb), ms(et), n, (steps + 1) / Math.max(1, total));
      return near(got, reference, 1e-9) && got <= bound + 1e-9 && more >= got - 1e-12;
    }),
  );
  t.pass('properties hold');
});

t.test('predictElectionsPerDay: a day of stalls like the window\'s, from a fresh term', async (t) => {
  const pinned = wal({ 0.002: 2990, 2.048: 10 }, 300, 2990 * 0.0015 + 15);
  const unpinned = wal({ 0.002: 2990, 2.048: 10 }, 300, 1);
  const cases: Array<[string, HistogramWindow, number, number, number, number, number]> = [
    // name, window, hb, et, n, representative, expected per day
    ['empty window: nothing predicted', wal({}), 100, 1000, 3, 0.5, 0],
    ['window of length 0: nothing predicted', { ...pinned, window: seconds(0) }, 100, 1000, 3, 0.5, 0],
    ['only fast fsyncs: no election', wal({ 0.002: 3000, 0.008: 20 }), 100, 1000, 3, 1, 0],
    ['1.5 s stalls (the midpoint of what the sum allows): a term of 17+ ticks (0.09) outlasts them', pinned, 100, 1000, 3, 0.5, 0.91 / 0.09],
    // 16.495 ticks: draws 17 and 18 lose with ⅞-ish and ⅛-ish, only 19 (0.01) never does
    ['the upper end of that range, 1.6495 s: only a term of 19 ticks outlasts them', pinned, 100, 1000, 3, 1, 0.99 / 0.01],
    ['a sum that does not fit the buckets: the bucket midpoint, 1.536 s: 18+ ticks outlast it', unpinned, 100, 1000, 3, 0.5, 0.96 / 0.04],
    ['the same stalls over twice the window: the same settled count', { ...pinned, window: seconds(600) }, 100, 1000, 3, 0.5, 0.91 / 0.09],
    ['single member: never', pinned, 100, 1000, 1, 0.5, 0],
    ['2 s / 200 ms tolerates stalls of 1.5 s', pinned, 200, 2000, 3, 0.5, 0],
    ['2.5 s stalls at 100/1000: every one of the day\'s elects', wal({ 4.096: 10 }, 300, 25), 100, 1000, 3, 0.5, 2880],
    // 20 s at 2000/15000: 10 ticks of E = 7; draws of 12 and 13 (4/49) outlast it
    ['one 20 s stall in +Inf, known from the sum', wal({ [Infinity]: 1 }, 300, 20), 2000, 15_000, 3, 0.5, (45 / 49) / (4 / 49)],
  ];
  for (const [name, w, hb, et, n, rep, want] of cases) {
    const got = predictElectionsPerDay(w, ms(hb), ms(et), n, rep);
    t.ok(near(got, want, 1e-6), `${name}: got ${got}, want ${want}`);
  }
  t.ok(near(predictElectionsInWindow(wal({ 4.096: 10 }, 300, 25), ms(100), ms(1000), 3), 10), 'in the window: its own ten certain stalls');
  t.ok(near(predictElectionsInWindow(pinned, ms(100), ms(1000), 3, 0.5), expectedElections([{ stall: 1.5, count: 10 }], ms(100), ms(1000), 3)), 'in the window: ten 1.5 s stalls from a fresh term');
});

t.test('worstCaseElectionsPerDay puts every stall at its upper edge whatever the sum says, each meeting fresh draws', async (t) => {
  const pinned = wal({ 0.002: 2990, 2.048: 10 }, 300, 2990 * 0.0015 + 15);
  t.equal(worstCaseElectionsPerDay(pinned, ms(100), ms(1000), 3), 10 * 288, '2.048 s stalls at 100/1000: each certain');
  // 200/2000, 10.24 ticks: draw 10 always loses, 11 with 1 − 0.76²/2, 12 with 0.24²/2
  const at200 = shortest(10, 0) + shortest(10, 1) * (1 - 0.76 ** 2 / 2) + shortest(10, 2) * (0.24 ** 2 / 2);
  t.ok(near(worstCaseElectionsPerDay(pinned, ms(200), ms(2000), 3), 10 * 288 * at200), 'at 200/2000 the upper edge still can');
  t.ok(near(worstCaseElectionsPerDay(pinned, ms(250), ms(2500), 3), 10 * 288 * shortest(10, 0) * (0.192 ** 2 / 2)), '250/2500: a 2.048 s stall (8.19 ticks) beats a draw of 10 when both phases fall late in their ticks');
  t.equal(worstCaseElectionsPerDay(pinned, ms(300), ms(3000), 3), 0, '300/3000 tolerates anything up to 2.048 s (6.83 ticks of 10)');
  t.equal(worstCaseElectionsPerDay({ ...pinned, window: seconds(0) }, ms(100), ms(1000), 3), 0, 'no window: nothing');
});

t.test('failover detection is the mean of the uniform draw: 1.5 × election', async (t) => {
  t.equal(failoverDetection(ms(1000)), 1500);
  t.equal(failoverDetection(ms(2500)), 3750);
});

t.test('candidateSettings respects etcd and the RTT rules', async (t) => {
  const none = candidateSettings();
  t.same(none[0], { heartbeat: 100, election: 1000 }, 'without RTT the first candidate is etcd\'s default');
  t.same(none[none.length - 1], { heartbeat: 5000, election: 50_000 }, 'the last is etcd\'s maximum');
  for (const c of none) {
    t.ok(c.election >= 5 * c.heartbeat && c.election <= 10 * c.heartbeat, `${c.heartbeat}/${c.election}: 5× ≤ et/hb ≤ 10×`);
    t.ok(c.election <= ETCD_MAX_ELECTION, `${c.election} ≤ 50 s`);
  }
  t.same(candidateSettings(ms(150))[0], { heartbeat: 150, election: 1500 }, 'RTT 150 ms: et ≥ 1.5 s, hb ≥ 150 ms');
  t.same(candidateSettings(ms(333))[0], { heartbeat: 350, election: 3500 }, 'RTT 333 ms: et ≥ 3.33 s on the grid, hb ≥ RTT');
  for (const c of candidateSettings(ms(333))) t.ok(c.heartbeat >= 333 && c.election >= 3330, `${c.heartbeat}/${c.election} above the RTT rules`);
  t.same(candidateSettings(ms(6000)), [], 'an RTT beyond 5 s leaves nothing within 50 s');
});

t.test('recommendSettings: the seed case (hb 100 / et 1000, 1.5 s stalls every 15th fsync)', async (t) => {
  // 1.5 s every 15th fsync at a steady rate: ~190 stalls and ~2660 fast fsyncs in 5 minutes.
  const r = recommendSettings(input({ stalls: wal({ 0.002: 2660, 2.048: 190 }) }));
  // read as 1.536 s (the sum of midpoints): a term whose shortest draw is 18 ticks or more (0.2² = 0.04)
  // outlasts them, so a day of them is expected to cost 0.96 / 0.04 elections before the cluster settles
  t.ok(near(r.current.electionsPerDay, 0.96 / 0.04, 1e-6), `current predicted: ${r.current.electionsPerDay}`);
  t.equal(r.current.heartbeat, 100);
  t.equal(r.current.election, 1000);
  t.same({ hb: r.recommended.heartbeat, et: r.recommended.election }, { hb: 300, et: 3000 }, 'smallest grid timeout where 2.048 s + two ticks of phase stays under the shortest draw');
  t.ok(r.recommended.election >= 2048 + 2 * r.recommended.heartbeat, 'recommended election covers the longest stall the bucket allows plus both phases');
  t.ok(r.recommended.electionsPerDay < DEFAULT_THRESHOLDS.targetElectionsPerDay, 'recommended under the target');
  t.equal(r.meetsTarget, true);
  t.equal(r.temporary, true, '3 s is above maxTuningElection (2 s): the disk is primary');
  t.equal(r.addedFailoverDetection, 4500 - 1500, 'cost: 3 s more to detect a dead leader');
  t.equal(r.recommended.failoverDetection, 4500);
  t.equal(r.stallSource, 'etcd_wal_fsync');
  t.equal(r.members, 3);
  t.match(r.reasons.join('\n'), /WAL fsync histogram/);
  t.match(r.reasons.join('\n'), /above 2 s: tuning only hides/);
});

t.test('recommendSettings: table of stall distributions', async (t) => {
  const cases: Array<{
    name: string;
    in: RecommendInput;
    hb: number;
    et: number;
    meets: boolean;
    temporary: boolean;
    reason?: RegExp;
  }> = [
    {
      name: 'RTT 300 ms and 1–2 s stalls: the RTT minimum tolerates them, but the stalls alone need 2.5 s: temporary',
      in: input({ stalls: wal({ 0.002: 3000, 2.048: 5 }), peerRttMean: ms(300) }),
      hb: 300,
      et: 3000,
      meets: true,
      temporary: true,
      reason: /stalls need \(3 s\)/,
    },
    { name: 'healthy disk: the smallest valid pair', in: input({ stalls: wal({ 0.002: 3000 }) }), hb: 100, et: 1000, meets: true, temporary: false },
    {
      name: 'sub-second stalls (≤ 1.024 s): 1.5 s is enough and not temporary (at 125/1250 a draw of 10 ticks can lose to 8.2 and two late phases)',
      in: input({ stalls: wal({ 0.002: 3000, 1.024: 20 }) }),
      hb: 150,
      et: 1500,
      meets: true,
      temporary: false,
    },
    {
      name: 'the calibration moves the rates, not the choice: 1.5 s stalls pinned by the sum still get the upper edge',
      in: input({ stalls: wal({ 0.002: 3000, 2.048: 20 }, 300, 3000 * 0.0015 + 30), stallRepresentative: 0 }),
      hb: 300,
      et: 3000,
      meets: true,
      temporary: true,
      reason: /1\.43 s–1\.57 s on average by the histogram's sum/,
    },
    {
      name: 'stalls above the top bucket: ~12 s each by the sum, so the longest ≤ 22 s: 30 s, temporary',
      in: input({ stalls: wal({ 0.002: 3000, [Infinity]: 3 }) }),
      hb: 3000,
      et: 30_000,
      meets: true,
      temporary: true,
    },
    {
      name: 'stalls beyond anything etcd allows: the maximum, target missed, temporary',
      in: input({ stalls: { histogram: hist([0.001, 32.768], { 0.001: 100, [Infinity]: 5 }), window: seconds(300) } }),
      hb: 5000,
      et: 50_000,
      meets: false,
      temporary: true,
      reason: /no setting within etcd's limits/,
    },
    {
      name: 'RTT 300 ms forces et ≥ 3 s even with a healthy disk; not a disk problem, so not temporary',
      in: input({ stalls: wal({ 0.002: 3000 }), peerRttMean: ms(300) }),
      hb: 300,
      et: 3000,
      meets: true,
      temporary: false,
      reason: /mean peer RTT 300 ms/,
    },
    {
      name: 'unknown settings: etcd defaults assumed and said',
      in: input({ stalls: wal({ 0.002: 3000, 2.048: 5 }), settings: undefined }),
      hb: 300,
      et: 3000,
      meets: true,
      temporary: true,
      reason: /current settings unknown: etcd's defaults assumed/,
    },
    {
      name: 'unknown cluster size: 3 assumed and said',
      in: input({ stalls: wal({ 0.002: 3000, 2.048: 5 }), members: undefined }),
      hb: 300,
      et: 3000,
      meets: true,
      temporary: true,
      reason: /cluster size unknown: 3 members assumed/,
    },
    {
      name: 'probe fallback is named in the reasons',
      in: input({ stalls: wal({ 0.002: 3000 }), stallSource: 'probe' }),
      hb: 100,
      et: 1000,
      meets: true,
      temporary: false,
      reason: /probe's fdatasync histogram/,
    },
    {
      name: 'a rate exactly at the target is not under it: the next candidate',
      // one 1–2 s stall in 20 days = 0.05/day at P = 1 with 1000 ms; 1250/125 gives P ≈ 0.93
      in: input({ stalls: wal({ 0.002: 1000, 2.048: 1 }, 20 * 86_400) }),
      hb: 125,
      et: 1250,
      meets: true,
      temporary: false,
    },
  ];
  for (const c of cases) {
    const r = recommendSettings(c.in);
    t.same(
      { hb: r.recommended.heartbeat, et: r.recommended.election, meets: r.meetsTarget, temporary: r.temporary },
      { hb: c.hb, et: c.et, meets: c.meets, temporary: c.temporary },
      c.name,
    );
    if (c.meets) t.ok(r.recommended.electionsPerDay < r.targetElectionsPerDay, `${c.name}: under target`);
    if (c.reason) t.match(r.reasons.join('\n'), c.reason, `${c.name}: reason`);
    t.equal(r.addedFailoverDetection, r.recommended.failoverDetection - r.current.failoverDetection, `${c.name}: cost`);
  }
});

t.test('recommendSettings names a profile operators know (etcd defaults, SCS, OpenShift "Slower") when one rides out the same stalls', async (t) => {
  const cases: Array<{ name: string; in: RecommendInput; profile: string | undefined }> = [
    { name: 'a healthy disk: etcd\'s defaults', in: input({ stalls: wal({ 0.002: 3000 }) }), profile: "etcd's defaults" },
    { name: 'stalls up to 1 s: the SCS cluster templates (250/2500)', in: input({ stalls: wal({ 0.002: 2660, 1.024: 190 }) }), profile: 'the SCS cluster templates' },
    { name: 'the seed case, stalls up to 2 s: no profile at 2.5 s is enough', in: input({ stalls: wal({ 0.002: 2660, 2.048: 190 }) }), profile: undefined },
    { name: 'RTT 300 ms: neither 250/2500 (heartbeat under the RTT) nor 500/2500 (timeout under 10 RTT) is allowed', in: input({ stalls: wal({ 0.002: 3000 }), peerRttMean: ms(300) }), profile: undefined },
  ];
  for (const c of cases) {
    const r = recommendSettings(c.in);
    t.equal(r.profile?.name, c.profile, c.name);
    const p = KNOWN_PROFILES.find((x) => x.name === c.profile);
    if (p && r.profile) {
      t.same([r.profile.heartbeat, r.profile.election], [p.heartbeat, p.election], `${c.name}: its values`);
      t.ok(r.profile.electionsPerDay < r.targetElectionsPerDay, `${c.name}: under the target too`);
      t.match(r.reasons.join('\n'), /a profile operators know fits too/, `${c.name}: said in the reasons`);
    }
  }
  const scs = recommendSettings(input({ stalls: wal({ 0.002: 2660, 1.024: 190 }) }));
  t.match(tuningRemedy(scs), /The SCS cluster templates \(250\/2500\) fit too: predicted/, 'the remedy names it with its rate');
  t.match(tuningRemedy(scs), /one control-plane node at a time: edit etcd's static pod manifest .* wait until the member is healthy again/, 'and says how to roll it out');
});

t.test('recommendSettings: n = 1 predicts no elections at all', async (t) => {
  const r = recommendSettings(input({ stalls: wal({ 0.002: 100, [Infinity]: 50 }), members: 1 }));
  t.equal(r.current.electionsPerDay, 0);
  t.equal(r.members, 1);
  t.same({ hb: r.recommended.heartbeat, et: r.recommended.election }, { hb: 100, et: 1000 });
});

t.test('DEFAULT_MEMBERS is a three-member control plane', async (t) => {
  t.equal(DEFAULT_MEMBERS, 3);
});
