// The candidate filesystems (--candidate-dir): what the election model says of each from the
// fdatasyncs measured there, with the cluster's settings and size; and the finding for those that
// could not be measured.
import t from 'tap';
import { assessCandidate } from '../../src/analysis/candidates.js';
import { candidateUnusable } from '../../src/analysis/rules/candidates.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { emptyHistogram, observe } from '../../src/lib/histogram.js';
import { ms, seconds } from '../../src/lib/units.js';
import type { CandidateEvidence, Evidence } from '../../src/model/diagnosis.js';
import { PROBE_BUCKETS } from '../../src/sources/fsync-probe.js';

const TH = DEFAULT_THRESHOLDS;
const settings = (hb: number, et: number) => ({ heartbeat: { value: ms(hb), origin: 'manifest' as const }, election: { value: ms(et), origin: 'manifest' as const } });
const ev = (over: Partial<Evidence> = {}): Evidence => ({
  now: new Date('2026-12-06T12:00:00Z'),
  probePoints: [],
  elections: [],
  electionHistory: seconds(86_400),
  etcdReachable: true,
  topWriters: [],
  candidates: [],
  stalls: [],
  maintenance: [],
  settings: settings(100, 1000),
  members: 3,
  ...over,
});
/** `n` fdatasyncs of `base` seconds over ten minutes, every `every`-th one `stall` seconds instead. */
const measured = (n: number, base: number, stall?: number, every = 50): CandidateEvidence => ({
  dir: '/mnt/c',
  measured: {
    histogram: observe(emptyHistogram(PROBE_BUCKETS), Array.from({ length: n }, (_, i) => (stall !== undefined && i % every === 0 ? stall : base))),
    window: seconds(600),
  },
});

t.test('each verdict from what was measured there', async (t) => {
  const cases: Array<{ name: string; c: CandidateEvidence; e?: Partial<Evidence>; verdict: string; needs?: boolean }> = [
    { name: 'a local SSD: 1000 fdatasyncs of 0.6 ms', c: measured(1000, 0.0006), verdict: 'fits' },
    { name: 'a slow volume: p99 30 ms, no stall', c: measured(1000, 0.002, 0.03, 20), verdict: 'slow' },
    { name: 'a volume with 1.5 s stalls at 100/1000', c: measured(1000, 0.002, 1.5), verdict: 'needs_tuning', needs: true },
    { name: 'the same stalls at 250/2500', c: measured(1000, 0.002, 1.5), e: { settings: settings(250, 2500) }, verdict: 'slow' },
    { name: 'stalls beyond the highest bucket (over 16 s)', c: measured(1000, 0.002, 30), verdict: 'unfit' },
    { name: 'fewer fdatasyncs than a p99 needs', c: measured(150, 0.0006), verdict: 'measuring' },
    { name: 'nothing measured yet', c: { dir: '/mnt/c' }, verdict: 'measuring' },
    { name: 'its last round failed', c: { ...measured(1000, 0.0006), problem: { reason: 'not_found', message: 'gone' } }, verdict: 'unusable' },
  ];
  for (const c of cases) {
    const a = assessCandidate(c.c, ev(c.e), TH);
    t.equal(a.verdict, c.verdict, c.name);
    t.equal(a.needs !== undefined, c.needs === true, `${c.name}: settings it would need ${c.needs ? 'given' : 'not given'}`);
    if (a.verdict === 'needs_tuning') t.ok(a.needs!.election > 1000 && a.needs!.electionsPerDay < TH.targetElectionsPerDay, `${c.name}: needs ${a.needs!.heartbeat}/${a.needs!.election}`);
  }
});

t.test('the prediction at the running settings is for this cluster: its size and settings', async (t) => {
  const c = measured(1000, 0.002, 1.5);
  const three = assessCandidate(c, ev(), TH).atRunning!;
  const five = assessCandidate(c, ev({ members: 5 }), TH).atRunning!;
  t.same([three.heartbeat, three.election], [100, 1000]);
  t.ok(five.electionsPerDay > three.electionsPerDay, `more followers, more chances one campaigns (${three.electionsPerDay.toFixed(1)} → ${five.electionsPerDay.toFixed(1)}/day)`);
  const unknown = assessCandidate(c, ev({ settings: undefined }), TH).atRunning!;
  t.same([unknown.heartbeat, unknown.election], [100, 1000], "unknown settings: etcd's defaults");
});

t.test('candidates that could not be measured are one info finding, each with its reason and remedy', async (t) => {
  t.equal(candidateUnusable(ev({ candidates: [measured(1000, 0.001)] }), TH), undefined, 'silent while every candidate is measured');
  const f = candidateUnusable(
    ev({
      candidates: [
        measured(1000, 0.001),
        { dir: '/var/lib/etcd-next', problem: { reason: 'on_etcd_filesystem', message: "candidate /var/lib/etcd-next is on etcd's own filesystem" } },
        { dir: '/mnt/gone', problem: { reason: 'not_found', message: 'candidate probe in /mnt/gone: ENOENT' } },
      ],
    }),
    TH,
  )!;
  t.equal(f.severity, 'info');
  t.match(f.summary, /2 candidate filesystems could not be measured: \/var\/lib\/etcd-next \(on etcd filesystem\), \/mnt\/gone \(not found\)/);
  t.same(f.facts.map((x) => x.value), ["candidate /var/lib/etcd-next is on etcd's own filesystem", 'candidate probe in /mnt/gone: ENOENT']);
  t.match(f.remedy, /filesystem etcd would move to[^]*mount the volume/);
});
