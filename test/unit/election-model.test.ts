import t from 'tap';
import fc from 'fast-check';
import {
  bucketRanges,
  candidateSettings,
  DEFAULT_MEMBERS,
  ETCD_MAX_ELECTION,
  failoverDetection,
  pElection,
  predictElectionsPerDay,
  recommendSettings,
  representativeStall,
  type RecommendInput,
} from '../../src/analysis/election-model.js';
import type { HistogramSnapshot } from '../../src/analysis/histogram.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import type { EtcdSettings, HistogramWindow } from '../../src/analysis/types.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/contract.js';
import { ms, seconds } from '../../src/units.js';

/** A histogram on the given edges from `{ le: count-in-that-bucket }` (non-cumulative); key Infinity for +Inf. */
function hist(edges: readonly number[], perBucket: Record<number, number>): HistogramSnapshot {
  let c = 0;
  let sum = 0;
  const buckets = [...edges, Infinity].map((le) => {
    const k = perBucket[le] ?? 0;
    c += k;
    sum += k * (le === Infinity ? edges[edges.length - 1]! : le);
    return { le, count: c };
  });
  return { buckets, sum, count: c };
}
const wal = (perBucket: Record<number, number>, window = 300): HistogramWindow => ({
  histogram: hist(ETCD_DISK_BUCKETS, perBucket),
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

t.test('pElection follows 1 − (1 − clamp((s + hb − et)/et, 0, 1))^(n−1)', async (t) => {
  const cases: Array<[string, number, number, number, number, number]> = [
    // name, stall, hb, et, n, expected
    ['no stall: no election', 0, 100, 1000, 3, 0],
    ['stall just below et − hb: no election', 899, 100, 1000, 3, 0],
    ['stall exactly et − hb: silence equals the shortest draw, no election', 900, 100, 1000, 3, 0],
    ['stall just above et − hb: a small chance', 910, 100, 1000, 2, 0.01],
    ['stall = et, two members: one follower, 10%', 1000, 100, 1000, 2, 0.1],
    ['stall = et, three members: 1 − 0.9²', 1000, 100, 1000, 3, 0.19],
    ['1.5 s stall on defaults, three members: 1 − 0.4²', 1500, 100, 1000, 3, 0.84],
    ['five members: 1 − 0.5⁴', 1400, 100, 1000, 5, 0.9375],
    ['silence = 2 × et: every draw is shorter', 1900, 100, 1000, 3, 1],
    ['silence beyond 2 × et is clamped to certainty', 60_000, 100, 1000, 3, 1],
    ['n = 1: a single member never changes leader', 60_000, 100, 1000, 1, 0],
    ['n = 0 (nonsense): 0', 5000, 100, 1000, 0, 0],
    ['et = 0 (nonsense): 0', 5000, 100, 0, 3, 0],
    ['NaN stall: 0', Number.NaN, 100, 1000, 3, 0],
    ['larger timeout tolerates the same stall', 1500, 250, 2500, 3, 0],
  ];
  for (const [name, s, hb, et, n, want] of cases) {
    const got = pElection(ms(s), ms(hb), ms(et), n);
    t.ok(near(got, want), `${name}: got ${got}, want ${want}`);
  }
});

t.test('pElection is a probability, rises with the stall and the members, falls with the timeout', async (t) => {
  const arb = fc.record({
    s: fc.integer({ min: 0, max: 100_000 }),
    ds: fc.integer({ min: 0, max: 10_000 }),
    hb: fc.integer({ min: 1, max: 5000 }),
    et: fc.integer({ min: 100, max: 50_000 }),
    det: fc.integer({ min: 0, max: 10_000 }),
    n: fc.integer({ min: 1, max: 9 }),
  });
  fc.assert(
    fc.property(arb, ({ s, ds, hb, et, det, n }) => {
      const p = pElection(ms(s), ms(hb), ms(et), n);
      return (
        p >= 0 &&
        p <= 1 &&
        pElection(ms(s + ds), ms(hb), ms(et), n) >= p &&
        pElection(ms(s), ms(hb), ms(et + det), n) <= p + 1e-12 &&
        pElection(ms(s), ms(hb), ms(et), n + 1) >= p
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

t.test('predictElectionsPerDay scales the window expected count to a day', async (t) => {
  const tenStalls = wal({ 0.002: 2990, 2.048: 10 });
  const cases: Array<[string, HistogramWindow, number, number, number, number, number]> = [
    // name, window, hb, et, n, representative, expected per day
    ['empty window: nothing predicted', wal({}), 100, 1000, 3, 1, 0],
    ['window of length 0: nothing predicted', { ...tenStalls, window: seconds(0) }, 100, 1000, 3, 1, 0],
    ['only fast fsyncs: no election', wal({ 0.002: 3000, 0.008: 20 }), 100, 1000, 3, 1, 0],
    ['ten 1–2 s stalls in 5 min at upper edge: each one certain', tenStalls, 100, 1000, 3, 1, 10 * 288],
    ['midpoint 1.536 s: P = 1 − 0.364² each', tenStalls, 100, 1000, 3, 0.5, 10 * 288 * (1 - 0.364 ** 2)],
    ['same stalls over twice the window: half the rate', { ...tenStalls, window: seconds(600) }, 100, 1000, 3, 1, 10 * 144],
    ['single member: never', tenStalls, 100, 1000, 1, 1, 0],
    ['2.5 s / 250 ms tolerates stalls ≤ 2.048 s', tenStalls, 250, 2500, 3, 1, 0],
    ['stalls in +Inf (> 8.192 s) are read as 16.384 s at the upper edge', wal({ [Infinity]: 1 }), 2000, 15_000, 3, 1, 288 * (1 - (1 - 3384 / 15_000) ** 2)],
  ];
  for (const [name, w, hb, et, n, rep, want] of cases) {
    const got = predictElectionsPerDay(w, ms(hb), ms(et), n, rep);
    t.ok(near(got, want), `${name}: got ${got}, want ${want}`);
  }
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
  t.ok(r.current.electionsPerDay > 10_000, `current predicted high: ${r.current.electionsPerDay}`);
  t.equal(r.current.heartbeat, 100);
  t.equal(r.current.election, 1000);
  t.same({ hb: r.recommended.heartbeat, et: r.recommended.election }, { hb: 250, et: 2500 }, 'smallest grid timeout tolerating 2.048 s + heartbeat');
  t.ok(r.recommended.election > 1500 + r.recommended.heartbeat, 'recommended election covers the 1.5 s stall plus a heartbeat');
  t.ok(r.recommended.electionsPerDay < DEFAULT_THRESHOLDS.targetElectionsPerDay, 'recommended under the target');
  t.equal(r.meetsTarget, true);
  t.equal(r.temporary, true, '2.5 s is above maxTuningElection (2 s): the disk is primary');
  t.equal(r.addedFailoverDetection, 3750 - 1500, 'cost: 2.25 s more to detect a dead leader');
  t.equal(r.recommended.failoverDetection, 3750);
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
      reason: /stalls need \(2\.5 s\)/,
    },
    { name: 'healthy disk: the smallest valid pair', in: input({ stalls: wal({ 0.002: 3000 }) }), hb: 100, et: 1000, meets: true, temporary: false },
    {
      name: 'sub-second stalls (≤ 1.024 s): 1.25 s is enough and not temporary',
      in: input({ stalls: wal({ 0.002: 3000, 1.024: 20 }) }),
      hb: 125,
      et: 1250,
      meets: true,
      temporary: false,
    },
    {
      name: 'midpoint calibration asks for less: 1.536 s + 175 ms < 1.75 s',
      in: input({ stalls: wal({ 0.002: 3000, 2.048: 20 }), stallRepresentative: 0.5 }),
      hb: 175,
      et: 1750,
      meets: true,
      temporary: false,
    },
    {
      name: 'stalls above the top bucket: 20 s, temporary',
      in: input({ stalls: wal({ 0.002: 3000, [Infinity]: 3 }) }),
      hb: 2000,
      et: 20_000,
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
      hb: 250,
      et: 2500,
      meets: true,
      temporary: true,
      reason: /current settings unknown: etcd's defaults assumed/,
    },
    {
      name: 'unknown cluster size: 3 assumed and said',
      in: input({ stalls: wal({ 0.002: 3000, 2.048: 5 }), members: undefined }),
      hb: 250,
      et: 2500,
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

t.test('recommendSettings: n = 1 predicts no elections at all', async (t) => {
  const r = recommendSettings(input({ stalls: wal({ 0.002: 100, [Infinity]: 50 }), members: 1 }));
  t.equal(r.current.electionsPerDay, 0);
  t.equal(r.members, 1);
  t.same({ hb: r.recommended.heartbeat, et: r.recommended.election }, { hb: 100, et: 1000 });
});

t.test('DEFAULT_MEMBERS is a three-member control plane', async (t) => {
  t.equal(DEFAULT_MEMBERS, 3);
});
