// Evidence is cut from state: windows are differences of cumulative totals, forensics look at the
// minute before each election, and absent sources leave their evidence absent.
import t from 'tap';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { emptyHistogram, observe, quantile } from '../../src/lib/histogram.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import { collectEvidence } from '../../src/analysis/evidence.js';
import type { EtcdMetricsSample } from '../../src/sources/etcd-metrics.js';
import type { EtcdApiSample } from '../../src/sources/etcd-api.js';
import { AgentState } from '../../src/state/state.js';
import { bytes, seconds, type Seconds } from '../../src/lib/units.js';

const T0 = Date.parse('2026-11-26T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const probeRound = (durations: number[]) => ({
  ok: true as const,
  value: { file: '/p', sameFilesystemAsEtcd: true, durations: durations.map((d) => seconds(d)) as Seconds[], writtenBytes: bytes(2300 * durations.length), freeBytes: bytes(1e10) },
});
const etcdScrape = (walValues: number[]): { ok: true; value: EtcdMetricsSample } => ({
  ok: true,
  value: { walFsync: observe(emptyHistogram(ETCD_DISK_BUCKETS), walValues), peerRoundTrip: new Map(), hasLeader: true, bodyBytes: bytes(1) },
});
const apiStatus = (term: number): { ok: true; value: EtcdApiSample } => ({
  ok: true,
  value: { endpoint: 'e', memberId: '1', memberName: 'm', leaderId: '2', raftTerm: term, raftIndex: 1, version: '3.4', dbSize: bytes(1), members: [], roundTrip: seconds(0.001) },
});

t.test('the probe window holds only the observations of the window', async (t) => {
  const state = new AgentState(at(0), new Set(['fsync_probe']));
  for (let s = 0; s <= 600; s += 5) state.record('fsync_probe', probeRound(s < 300 ? [1.0] : [0.001]), at(s), seconds(0));
  const ev = collectEvidence(state, at(600), DEFAULT_THRESHOLDS);
  t.ok(ev.probe, 'a probe window');
  t.ok(ev.probe!.window >= 295 && ev.probe!.window <= 300, `window ${ev.probe!.window} s`);
  t.ok(quantile(ev.probe!.histogram, 0.99)! < 0.01, 'the slow first half is outside the 5-minute window');
  t.equal(ev.walFsync, undefined, 'no etcd metrics, no etcd evidence');
  t.equal(ev.etcdReachable, false);
});

t.test("an election's forensics carry etcd's WAL fsync of the minute before it", async (t) => {
  const state = new AgentState(at(0), new Set(['etcd_metrics', 'etcd_api']));
  const wal: number[] = [];
  for (let s = 0; s <= 120; s += 5) {
    if (s === 90) wal.push(1.5); // a 1.5 s stall shortly before the election at 100 s
    wal.push(0.002);
    state.record('etcd_metrics', etcdScrape(wal), at(s), seconds(0));
    state.record('etcd_api', apiStatus(s < 100 ? 2 : 3), at(s), seconds(0));
  }
  const ev = collectEvidence(state, at(120), DEFAULT_THRESHOLDS);
  t.equal(ev.elections.length, 1, 'one election: term 2 → 3');
  const e = ev.elections[0]!;
  t.same([e.termFrom, e.termTo], [2, 3]);
  t.same([e.after, e.at], [at(95), at(100)], 'it came between the last look at term 2 and the first at term 3');
  t.ok(e.walFsyncBefore, 'WAL fsync before the election');
  const over1s = e.walFsyncBefore!.buckets.find((b) => b.le === 1.024)!;
  t.equal(e.walFsyncBefore!.count - over1s.count, 1, 'the 1.5 s stall is in the minute before');
  t.equal(ev.etcdReachable, true);
  t.equal(ev.hasLeader, true);
});

t.test('a source that failed last leaves its evidence out', async (t) => {
  const state = new AgentState(at(0), new Set(['etcd_metrics']));
  state.record('etcd_metrics', etcdScrape([0.002]), at(0), seconds(0));
  state.record('etcd_metrics', { ok: false, reason: 'unreachable', message: 'down' }, at(5), seconds(0));
  const ev = collectEvidence(state, at(10), DEFAULT_THRESHOLDS);
  t.equal(ev.etcdReachable, false);
  t.equal(ev.hasLeader, undefined, 'has_leader from a stale scrape is not evidence');
});

t.test("etcd's health reading: failed checks once each (/livez repeats readyz's), and none once the source fails", async (t) => {
  const state = new AgentState(at(0), new Set(['etcd_metrics', 'etcd_health']));
  state.record('etcd_metrics', etcdScrape([0.002]), at(0), seconds(0));
  state.record(
    'etcd_health',
    {
      ok: true,
      value: {
        endpoint: 'readyz',
        ready: false,
        live: false,
        checks: [
          { endpoint: 'readyz', name: 'serializable_read', ok: false },
          { endpoint: 'readyz', name: 'linearizable_read', ok: false },
          { endpoint: 'livez', name: 'serializable_read', ok: false },
          { endpoint: 'readyz', name: 'data_corruption', ok: true },
        ],
      },
    },
    at(5),
    seconds(0),
  );
  t.same(collectEvidence(state, at(5), DEFAULT_THRESHOLDS).health, { endpoint: 'readyz', ready: false, failedChecks: ['serializable_read', 'linearizable_read'] });
  state.record('etcd_health', { ok: false, reason: 'timeout', message: 'no answer' }, at(10), seconds(0));
  t.equal(collectEvidence(state, at(10), DEFAULT_THRESHOLDS).health, undefined, 'a failed sample is no reading');
});

t.test("the member's role: etcd_server_is_leader or the member status, the fresher wins, none older than a minute", async (t) => {
  const metrics = (isLeader: boolean): { ok: true; value: EtcdMetricsSample } => ({ ok: true, value: { ...etcdScrape([]).value, isLeader } });
  const api = (leaderId: string): { ok: true; value: EtcdApiSample } => ({ ok: true, value: { ...apiStatus(2).value, memberId: '1', leaderId } });
  const cases: Array<[string, (s: AgentState) => void, number, string | undefined]> = [
    ['nothing heard', () => undefined, 10, undefined],
    ['/metrics says leader', (s) => s.record('etcd_metrics', metrics(true), at(0), seconds(0)), 10, 'leader'],
    ['the member status names another leader', (s) => s.record('etcd_api', api('2'), at(0), seconds(0)), 10, 'follower'],
    ['the member status names itself', (s) => s.record('etcd_api', api('1'), at(0), seconds(0)), 10, 'leader'],
    ['no leader in the status (election under way): no answer', (s) => s.record('etcd_api', api('0'), at(0), seconds(0)), 10, undefined],
    [
      'the fresher answer wins: the status at 20 s over /metrics at 5 s',
      (s) => {
        s.record('etcd_metrics', metrics(true), at(5), seconds(0));
        s.record('etcd_api', api('2'), at(20), seconds(0));
      },
      30,
      'follower',
    ],
    ['the last answer counts 60 s', (s) => s.record('etcd_metrics', metrics(false), at(0), seconds(0)), 60, 'follower'],
    ['then no longer', (s) => s.record('etcd_metrics', metrics(false), at(0), seconds(0)), 61, undefined],
  ];
  for (const [name, feed, now, want] of cases) {
    const state = new AgentState(at(0), new Set(['etcd_metrics', 'etcd_api']));
    feed(state);
    t.equal(collectEvidence(state, at(now), DEFAULT_THRESHOLDS).role, want, name);
  }
});
