// Leadership events: the stalls of a probe round or of etcd's WAL fsync histogram that reach the
// warning fraction of the running election timeout, and elections from raft terms, counted by UTC hour
// of day for the hour-of-day panels.
import t from 'tap';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { stallEventOf, stallLimit } from '../../src/analysis/events.js';
import { emptyHistogram, observe } from '../../src/lib/histogram.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import type { EtcdMetricsSample } from '../../src/sources/etcd-metrics.js';
import type { EtcdApiSample } from '../../src/sources/etcd-api.js';
import { AgentState } from '../../src/state/state.js';
import { bytes, ms, seconds, type Seconds } from '../../src/lib/units.js';
import type { SourceName } from '../../src/sources/source.js';

const T0 = Date.parse('2026-11-26T02:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const zero = seconds(0);
const probeRound = (durations: number[]) => ({
  ok: true as const,
  value: { file: '/p', sameFilesystemAsEtcd: true, durations: durations.map((d) => seconds(d)) as Seconds[], writtenBytes: bytes(2300 * durations.length), freeBytes: bytes(1e10) },
});
const etcdScrape = (walValues: number[], isLeader?: boolean): { ok: true; value: EtcdMetricsSample } => ({
  ok: true,
  value: { walFsync: observe(emptyHistogram(ETCD_DISK_BUCKETS), walValues), peerRoundTrip: new Map(), hasLeader: true, bodyBytes: bytes(1), ...(isLeader === undefined ? {} : { isLeader }) },
});
const apiStatus = (term: number): { ok: true; value: EtcdApiSample } => ({
  ok: true,
  value: { endpoint: 'e', memberId: '1', memberName: 'm', leaderId: '2', raftTerm: term, raftIndex: 1, version: '3.5.21', dbSize: bytes(1), members: [], roundTrip: seconds(0.001) },
});
const config = (electionMs: number) => ({
  ok: true as const,
  value: { heartbeatInterval: { value: ms(electionMs / 10), origin: 'flag' as const }, electionTimeout: { value: ms(electionMs), origin: 'flag' as const } },
});

/** Records one sample and returns the stall event the analysis finds in it, as the agent does. */
function recordAndFind(state: AgentState, name: SourceName, outcome: Parameters<AgentState['record']>[1], when: Date) {
  const before = state.etcd.walFsync ? { walFsync: state.etcd.walFsync } : {};
  state.record(name, outcome as never, when, zero);
  const e = stallEventOf(state, name, before, when, DEFAULT_THRESHOLDS);
  if (e) state.recordStall(e);
  return e;
}

t.test('the stall limit is the warning fraction of the running election timeout, else of etcd default', async (t) => {
  const state = new AgentState(at(0), new Set(['etcd_config']));
  t.equal(stallLimit(state, DEFAULT_THRESHOLDS), 0.5, "etcd's default 1000 ms: 0.5 s");
  state.record('etcd_config', config(2500), at(1), zero);
  t.equal(stallLimit(state, DEFAULT_THRESHOLDS), 1.25, 'SCS 250/2500: 1.25 s');
});

t.test('probe rounds: each fdatasync at or over the limit counts, the longest is measured', async (t) => {
  const cases: Array<{ name: string; durations: number[]; count?: number; longest?: number }> = [
    { name: 'a fast round', durations: [0.002, 0.003] },
    { name: 'a slow round below the limit', durations: [0.3, 0.499] },
    { name: 'exactly the limit', durations: [0.5], count: 1, longest: 0.5 },
    { name: 'two stalls in one round', durations: [0.002, 0.7, 1.9], count: 2, longest: 1.9 },
  ];
  for (const c of cases) {
    const state = new AgentState(at(0), new Set(['fsync_probe']));
    const e = recordAndFind(state, 'fsync_probe', probeRound(c.durations), at(1));
    if (c.count === undefined) t.equal(e, undefined, `${c.name}: no event`);
    else t.match(e, { source: 'probe', count: c.count, longest: c.longest, limit: 0.5 }, `${c.name}: ${c.count} stall(s)`);
  }
});

t.test('a failed probe round holds no stall, even after a round that had one', async (t) => {
  const state = new AgentState(at(0), new Set(['fsync_probe']));
  t.ok(recordAndFind(state, 'fsync_probe', probeRound([1.2]), at(1)));
  t.equal(recordAndFind(state, 'fsync_probe', { ok: false, reason: 'other', message: 'EIO' }, at(2)), undefined);
});

t.test("etcd's WAL fsync: only the observations new since the last scrape, as far as the buckets prove", async (t) => {
  const state = new AgentState(at(0), new Set(['etcd_metrics']));
  const wal = [0.002, 1.5];
  t.equal(recordAndFind(state, 'etcd_metrics', etcdScrape(wal), at(0)), undefined, "the first scrape is a baseline: etcd's past is not news");
  t.equal(recordAndFind(state, 'etcd_metrics', etcdScrape(wal), at(5)), undefined, 'nothing new');
  wal.push(0.003, 0.6, 3);
  const e = recordAndFind(state, 'etcd_metrics', etcdScrape(wal, true), at(10));
  t.match(e, { source: 'etcd_wal_fsync', count: 2, longest: 2.048, limit: 0.5, role: 'leader' }, '0.6 s and 3 s: 3 s lies above the 2.048 s edge');
  wal.push(0.51);
  t.equal(recordAndFind(state, 'etcd_metrics', etcdScrape(wal), at(15)), undefined, '0.51 s shares the bucket (0.256, 0.512] with the limit: not proven');
});

t.test('events count in the UTC hour of day they were seen; elections count the terms they skip', async (t) => {
  const state = new AgentState(at(0), new Set(['fsync_probe', 'etcd_api', 'etcd_metrics']));
  t.same([...state.eventsByHour.keys()].sort(), ['etcd_wal_fsync', 'probe', 'raft_term'], 'a series per enabled source');
  t.ok([...state.eventsByHour.values()].every((h) => h.length === 24 && h.every((n) => n === 0)), 'every hour starts at 0');
  recordAndFind(state, 'fsync_probe', probeRound([0.9, 1.1]), at(0)); // 02:00 UTC
  recordAndFind(state, 'fsync_probe', probeRound([0.9]), at(3600)); // 03:00 UTC
  state.record('etcd_api', apiStatus(5), at(10), zero);
  state.record('etcd_api', apiStatus(7), at(20), zero); // two elections: term 5 → 7
  state.record('etcd_api', apiStatus(7), at(30), zero);
  t.same(state.eventsByHour.get('probe')!.slice(1, 5), [0, 2, 1, 0]);
  t.equal(state.eventsByHour.get('raft_term')![2], 2);
  t.equal(state.eventsByHour.get('raft_term')!.reduce((a, b) => a + b), 2);
  t.equal(state.history.stalls.all().length, 2, 'one stall event per round that had any');
});

t.test('a source that is off has no series', async (t) => {
  const state = new AgentState(at(0), new Set(['etcd_api']));
  t.same([...state.eventsByHour.keys()], ['raft_term']);
});
