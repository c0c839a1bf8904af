import t from 'tap';
import { diagnose, verdictOf } from '../../src/analysis/diagnose.js';
import type { HistogramSnapshot } from '../../src/lib/histogram.js';
import { activeFindings, EMPTY_TRACKER, track, type FindingTracker } from '../../src/analysis/hysteresis.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import type { DiskWindow, Evidence, HistogramWindow, ProbePoint, RawFinding, Severity } from '../../src/model/diagnosis.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import { ms, seconds } from '../../src/lib/units.js';
import { PROBE_BUCKETS } from '../../src/sources/fsync-probe.js';

const T0 = new Date('2025-03-01T12:00:00Z');
const TH = DEFAULT_THRESHOLDS;
const at = (s: number): Date => new Date(T0.getTime() + s * 1000);

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
const wal = (perBucket: Record<number, number>): HistogramWindow => ({ histogram: hist(ETCD_DISK_BUCKETS, perBucket), window: seconds(300) });
const probe = (perBucket: Record<number, number>): HistogramWindow => ({ histogram: hist(PROBE_BUCKETS, perBucket), window: seconds(300) });
const disk = (over: Partial<DiskWindow> = {}): DiskWindow => ({ device: 'vda', window: seconds(300), busyFraction: 0.2, queueDepth: 0.5, sharedWith: [], ...over });
/** One probe round per second for the last `n` seconds before `now`, each with the given max. */
const rounds = (now: Date, n: number, max: number): ProbePoint[] =>
  Array.from({ length: n }, (_, i) => ({ at: new Date(now.getTime() - (n - i) * 1000), max: seconds(max) }));

function ev(over: Partial<Evidence> = {}): Evidence {
  return {
    now: T0,
    probePoints: [],
    elections: [],
    electionHistory: seconds(86_400),
    candidates: [],
    stalls: [],
    maintenance: [],
    settings: { heartbeat: { value: ms(100), origin: 'manifest' }, election: { value: ms(1000), origin: 'manifest' } },
    members: 3,
    etcdReachable: true,
    hasLeader: true,
    topWriters: [],
    ...over,
  };
}
/** A healthy node: fast WAL, backend and probe, dedicated disk. */
const healthy = (now = T0): Evidence =>
  ev({
    now,
    walFsync: wal({ 0.001: 2000, 0.002: 900, 0.004: 100 }),
    backendCommit: wal({ 0.004: 500, 0.008: 20 }),
    probe: probe({ 0.001: 2500, 0.002: 500 }),
    probePoints: rounds(now, 300, 0.0015),
    disk: disk(),
  });

t.test('verdict: critical → at_risk, warning → degraded, else healthy; unknown without evidence', async (t) => {
  const f = (severity: Severity) => ({ code: 'x', severity, summary: '', facts: [], remedy: '', since: T0 });
  const cases: Array<[string, Evidence, Severity[], string]> = [
    ['no probe, no etcd: unknown', ev({ etcdReachable: false }), ['critical'], 'unknown'],
    ['probe points only: known', ev({ etcdReachable: false, probePoints: rounds(T0, 3, 0.001) }), ['critical'], 'at_risk'],
    ['etcd metrics only (API down): known', ev({ etcdReachable: false, walFsync: wal({ 0.001: 1 }) }), [], 'healthy'],
    ['a critical finding', ev(), ['info', 'critical', 'warning'], 'at_risk'],
    ['a warning finding', ev(), ['info', 'warning'], 'degraded'],
    ['info only', ev(), ['info'], 'healthy'],
    ['nothing', ev(), [], 'healthy'],
  ];
  for (const [name, e, sev, want] of cases) t.equal(verdictOf(e, sev.map(f)), want, name);
});

t.test('diagnose: a healthy node is healthy, with no recommendation', async (t) => {
  const { diagnosis } = diagnose(healthy(), TH);
  t.equal(diagnosis.verdict, 'healthy');
  t.same(diagnosis.findings, []);
  t.equal(diagnosis.tuning, undefined, 'no tuning when the model predicts the current settings meet the target');
  t.equal(diagnosis.disk, undefined);
  t.equal(diagnosis.current?.electionsPerDay, 0, 'current prediction given when settings and stalls are known');
  t.equal(diagnosis.at, T0);
});

t.test('diagnose: nothing known at all is unknown, and says etcd is unreachable', async (t) => {
  const { diagnosis } = diagnose(ev({ etcdReachable: false, settings: undefined, members: undefined }), TH);
  t.equal(diagnosis.verdict, 'unknown');
  t.same(diagnosis.findings.map((f) => f.code), ['etcd_unreachable', 'settings_unknown'], 'most severe first');
  t.equal(diagnosis.current, undefined);
  t.equal(diagnosis.tuning, undefined);
});

t.test('diagnose: the seed case (hb 100 / et 1000, 1.5 s stalls every ~15th fsync)', async (t) => {
  // strace delays etcd's own fdatasyncs: etcd's WAL histogram shows the stalls, the probe does not.
  const e = ev({
    ...healthy(),
    walFsync: wal({ 0.001: 1500, 0.002: 1160, 2.048: 190 }),
    disk: disk({ sharedWith: ['/', '/var/lib/containerd'] }),
    elections: [{ at: at(-120), termFrom: 7, termTo: 8 }],
  });
  const { diagnosis: d } = diagnose(e, TH);
  t.equal(d.verdict, 'at_risk');
  const codes = d.findings.map((f) => f.code);
  t.ok(codes.includes('stalls_threaten_leadership'), 'stalls threaten leadership');
  t.ok(codes.includes('wal_fsync_slow'), 'WAL fsync slow');
  t.equal(d.findings[0]?.severity, 'critical', 'most severe first');
  t.ok(d.current && d.current.electionsPerDay > 1000, `current settings predicted far over the target (${d.current?.electionsPerDay}/day)`);

  const tuning = d.tuning;
  t.ok(tuning, 'tuning recommended');
  if (!tuning) return;
  t.ok(tuning.recommended.election > 1500 + 100, `recommended election ${tuning.recommended.election} ms > 1.5 s stall + margin`);
  t.ok(tuning.recommended.election >= 5 * tuning.recommended.heartbeat, 'within etcd\'s 5× rule');
  t.ok(tuning.recommended.electionsPerDay < TH.targetElectionsPerDay, 'recommended predicted under the target');
  t.equal(tuning.temporary, true, 'temporary: the disk is the primary remedy');
  t.equal(tuning.stallSource, 'etcd_wal_fsync', "fed etcd's own WAL stalls, not the (healthy) probe");
  t.ok(tuning.addedFailoverDetection > 0, 'the cost is stated');
  t.same(d.current, tuning.current, 'the diagnosis current prediction is the tuning one');

  const diskRec = d.disk;
  t.ok(diskRec, 'disk recommendation present');
  t.same(diskRec?.remedies, ['separate_disk', 'dedicated_wal_dir', 'ionice']);
  t.match(diskRec?.summary, /shared with \/, \/var\/lib\/containerd/);
  t.ok(diskRec?.reasons.some((r) => r.startsWith('stalls_threaten_leadership:')), 'reasons name the evidence');

  const stalls = d.findings.find((f) => f.code === 'stalls_threaten_leadership');
  t.match(stalls?.remedy, new RegExp(`--election-timeout=${tuning.recommended.election}`), 'the remedy carries the recommended numbers');
});

t.test('diagnose: disk recommendation chosen from the evidence', async (t) => {
  const slowWal = wal({ 0.002: 900, 0.064: 100 }); // p99 ≈ 60 ms, no stall
  const cases: Array<{ name: string; ev: Evidence; remedies?: string[]; reason?: RegExp }> = [
    { name: 'fast disk, shared: no recommendation (info only)', ev: ev({ ...healthy(), disk: disk({ sharedWith: ['/'] }) }) },
    {
      name: 'shared and slow: separate disk, dedicated WAL dir, ionice',
      ev: ev({ ...healthy(), walFsync: slowWal, disk: disk({ sharedWith: ['/var/log'] }) }),
      remedies: ['separate_disk', 'dedicated_wal_dir', 'ionice'],
      reason: /shared with \/var\/log/,
    },
    {
      name: 'noisy neighbour writing to a device not shared by path: separate disk',
      ev: ev({ ...healthy(), walFsync: slowWal, disk: disk(), topWriters: [{ pid: 9, command: 'backup-agent', bytesPerSecond: 80e6 }] }),
      remedies: ['separate_disk', 'dedicated_wal_dir', 'ionice'],
      reason: /backup-agent/,
    },
    {
      name: 'dedicated but slow: faster storage (local SSD), ionice',
      ev: ev({ ...healthy(), walFsync: slowWal, disk: disk() }),
      remedies: ['faster_storage', 'ionice'],
      reason: /not shared/,
    },
    {
      name: 'slow probe, device unknown: dedicated WAL dir, faster storage, ionice',
      ev: ev({ ...healthy(), probe: probe({ 0.002: 500, 0.032: 500 }), disk: undefined }),
      remedies: ['dedicated_wal_dir', 'faster_storage', 'ionice'],
      reason: /unknown/,
    },
    {
      name: 'saturated disk alone is enough',
      ev: ev({ ...healthy(), disk: disk({ busyFraction: 0.97, sharedWith: ['/'] }) }),
      remedies: ['separate_disk', 'dedicated_wal_dir', 'ionice'],
      reason: /disk_saturated/,
    },
  ];
  for (const c of cases) {
    const { diagnosis } = diagnose(c.ev, TH);
    if (!c.remedies) {
      t.equal(diagnosis.disk, undefined, c.name);
      continue;
    }
    t.same(diagnosis.disk?.remedies, c.remedies, c.name);
    if (c.reason) t.match(diagnosis.disk?.reasons.join('\n'), c.reason, `${c.name}: reason`);
  }
});

t.test('diagnose: slow WAL without leadership-threatening stalls gives no tuning', async (t) => {
  const { diagnosis } = diagnose(ev({ ...healthy(), walFsync: wal({ 0.002: 900, 0.064: 100 }) }), TH);
  t.equal(diagnosis.verdict, 'degraded');
  t.equal(diagnosis.tuning, undefined, 'tuning is not the remedy for 60 ms fsyncs');
  t.ok(diagnosis.disk, 'the disk is');
});

t.test('diagnose: unknown settings still predict with etcd defaults, but give no "current"', async (t) => {
  const { diagnosis } = diagnose(ev({ ...healthy(), settings: undefined, walFsync: wal({ 0.002: 2000, 2.048: 10 }) }), TH);
  t.equal(diagnosis.current, undefined);
  t.ok(diagnosis.tuning, 'tuning from the defaults');
  t.match(diagnosis.tuning?.reasons.join('\n'), /current settings unknown/);
  t.ok(diagnosis.findings.some((f) => f.code === 'settings_unknown' && f.severity === 'info'));
});

t.test('diagnose is pure: the same evidence and tracker give the same result', async (t) => {
  const e = ev({ ...healthy(), walFsync: wal({ 0.002: 2000, 2.048: 10 }) });
  const a = diagnose(e, TH);
  const b = diagnose(e, TH);
  t.same(a, b);
  const c = diagnose(e, TH, a.tracker);
  t.same(c.diagnosis.findings, a.diagnosis.findings, 'a second evaluation at the same time keeps since');
});

// ─── hysteresis ──────────────────────────────────────────────────────────────────────────────

const raw = (code: string, severity: Severity = 'warning', summary = code): RawFinding => ({ code, severity, summary, facts: [], remedy: 'r' });
const CLEAR = seconds(120);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof Date)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

t.test('hysteresis: a finding is active at once, kept while silent < clearAfter, cleared at clearAfter', async (t) => {
  let tr = track(EMPTY_TRACKER, [raw('a')], at(0), CLEAR);
  t.same(activeFindings(tr).map((f) => [f.code, f.since]), [['a', at(0)]], 'active at once, since = now');
  tr = track(tr, [], at(60), CLEAR);
  t.equal(activeFindings(tr).length, 1, 'silent 60 s: still active');
  tr = track(tr, [], at(119), CLEAR);
  t.equal(activeFindings(tr).length, 1, 'silent 119 s: still active');
  const cleared = track(tr, [], at(120), CLEAR);
  t.equal(activeFindings(cleared).length, 0, 'silent exactly clearAfter: cleared');
  const refired = track(tr, [raw('a', 'warning', 'new figures')], at(119), CLEAR);
  t.same(activeFindings(refired).map((f) => [f.since, f.summary]), [[at(0), 'new figures']], 'fires again before clearAfter: since kept, figures updated');
  const again = track(cleared, [raw('a')], at(200), CLEAR);
  t.same(activeFindings(again)[0]?.since, at(200), 'after clearing, a new since');
});

t.test('hysteresis: severity rises at once and falls only after clearAfter', async (t) => {
  let tr = track(EMPTY_TRACKER, [raw('a', 'warning')], at(0), CLEAR);
  tr = track(tr, [raw('a', 'critical')], at(10), CLEAR);
  t.equal(activeFindings(tr)[0]?.severity, 'critical', 'rises at once');
  tr = track(tr, [raw('a', 'warning')], at(20), CLEAR);
  t.equal(activeFindings(tr)[0]?.severity, 'critical', 'held 10 s after');
  tr = track(tr, [raw('a', 'warning')], at(129), CLEAR);
  t.equal(activeFindings(tr)[0]?.severity, 'critical', 'held until clearAfter after the last critical');
  tr = track(tr, [raw('a', 'critical')], at(100), CLEAR); // a critical again refreshes the hold
  tr = track(tr, [raw('a', 'warning')], at(219), CLEAR);
  t.equal(activeFindings(tr)[0]?.severity, 'critical', 'hold restarted by the newer critical');
  tr = track(tr, [raw('a', 'warning')], at(220), CLEAR);
  t.equal(activeFindings(tr)[0]?.severity, 'warning', 'falls clearAfter after the last critical');
  t.same(activeFindings(tr)[0]?.since, at(0), 'since kept through severity changes');
});

t.test('hysteresis: trackers are immutable and time going backwards does not clear anything', async (t) => {
  const prev = deepFreeze(track(EMPTY_TRACKER, [raw('a'), raw('b', 'critical')], at(0), CLEAR));
  const snapshot = JSON.stringify(prev);
  const next = track(prev, [raw('a', 'info')], at(500), CLEAR);
  t.equal(JSON.stringify(prev), snapshot, 'previous tracker unchanged');
  t.not(next, prev);
  const back = track(prev, [], at(-50), CLEAR);
  t.equal(activeFindings(back).length, 2, 'a clock step backwards counts as no time elapsed');
  t.same(activeFindings(prev).map((f) => f.code), ['b', 'a'], 'most severe first');
  const dup = track(EMPTY_TRACKER, [raw('a', 'info'), raw('a', 'warning')], at(0), CLEAR);
  t.equal(activeFindings(dup).length, 1, 'one finding per code');
});

/** Counts raise/clear transitions of one code over a sequence of diagnoses. */
function transitions(seq: readonly Evidence[], code: string): { raised: number; cleared: number; rawFlips: number } {
  let tracker: FindingTracker | undefined;
  let active = false;
  let rawActive = false;
  let raised = 0;
  let cleared = 0;
  let rawFlips = 0;
  for (const e of seq) {
    const r = diagnose(e, TH, tracker);
    tracker = r.tracker;
    const now = r.diagnosis.findings.some((f) => f.code === code);
    if (now && !active) raised++;
    if (!now && active) cleared++;
    active = now;
    const rawNow = diagnose(e, TH).diagnosis.findings.some((f) => f.code === code); // no memory: the rule alone
    if (rawNow !== rawActive) rawFlips++;
    rawActive = rawNow;
  }
  return { raised, cleared, rawFlips };
}

t.test('a single spike does not raise and clear a finding every evaluation', async (t) => {
  // Every 10 s for 20 min. A WAL p99 that hovers around 10 ms: over on every other evaluation for
  // 5 minutes, then steadily fine. Without hysteresis the finding would flip at every evaluation.
  const seq: Evidence[] = [];
  for (let i = 0; i < 120; i++) {
    const now = at(i * 10);
    const over = i >= 30 && i < 60 && i % 2 === 0;
    seq.push(ev({ ...healthy(now), walFsync: over ? wal({ 0.004: 900, 0.032: 100 }) : wal({ 0.004: 990, 0.016: 10 }) }));
  }
  const r = transitions(seq, 'wal_fsync_slow');
  t.ok(r.rawFlips >= 20, `the rule alone flips ${r.rawFlips} times`);
  t.equal(r.raised, 1, 'raised once');
  t.equal(r.cleared, 1, 'cleared once, after the flicker ends');

  // One 600 ms probe stall: it stays in the 5-minute window, then clearAfter passes; one raise, one clear.
  const spike: Evidence[] = [];
  for (let i = 0; i < 120; i++) {
    const now = at(i * 10);
    const points = rounds(now, 300, 0.002).map((p) => (p.at.getTime() === at(100).getTime() ? { ...p, max: seconds(0.6) } : p));
    spike.push(ev({ ...healthy(now), probePoints: points }));
  }
  const s = transitions(spike, 'stalls_threaten_leadership');
  t.same({ raised: s.raised, cleared: s.cleared }, { raised: 1, cleared: 1 }, 'one spike: one raise, one clear');
});

t.test('hysteresis in diagnose: the verdict holds while a finding is held', async (t) => {
  const bad = ev({ ...healthy(at(0)), walFsync: wal({ 0.004: 900, 0.032: 100 }) });
  const r1 = diagnose(bad, TH);
  t.equal(r1.diagnosis.verdict, 'degraded');
  const r2 = diagnose(healthy(at(60)), TH, r1.tracker);
  t.equal(r2.diagnosis.verdict, 'degraded', 'held 60 s after the rule went silent');
  t.same(r2.diagnosis.findings.find((f) => f.code === 'wal_fsync_slow')?.since, at(0));
  const r3 = diagnose(healthy(at(120)), TH, r2.tracker);
  t.equal(r3.diagnosis.verdict, 'healthy', 'healthy after clearAfter');
});

t.test("leadership: a follower's stalls predict no election now, the same stalls on the leader or an unknown role do", async (t) => {
  const stalling = (role?: 'leader' | 'follower') => ev({ walFsync: wal({ 0.002: 2660, 2.048: 190 }), ...(role ? { role } : {}) });
  const ifLeader = diagnose(stalling('leader'), TH).diagnosis.current!.electionsPerDay;
  t.ok(ifLeader > TH.targetElectionsPerDay, `the model predicts elections if it leads (${ifLeader.toFixed(0)}/day)`);
  const cases: Array<[string, Evidence, string, number, Severity]> = [
    ['leader: now is what its stalls cause', stalling('leader'), 'leader', ifLeader, 'critical'],
    ['follower: none now, the same if it led', stalling('follower'), 'follower', 0, 'warning'],
    ['role unknown: the worst is assumed', stalling(), 'unknown', ifLeader, 'critical'],
  ];
  for (const [name, e, role, now, severity] of cases) {
    const d = diagnose(e, TH).diagnosis;
    t.same(d.leadership, { role, electionsPerDayNow: now, electionsPerDayIfLeader: ifLeader }, name);
    t.equal(d.findings.find((f) => f.code === 'stalls_threaten_leadership')?.severity, severity, `${name}: stalls finding ${severity}`);
    t.ok(d.tuning, `${name}: the tuning it would need to lead is still given`);
  }
  t.equal(diagnose(healthy(), TH).diagnosis.leadership?.electionsPerDayNow, 0, 'a healthy disk predicts none in any role');
  t.equal(diagnose(ev(), TH).diagnosis.leadership, undefined, 'no stall distribution, no leadership prediction');
});
