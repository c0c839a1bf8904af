import t from 'tap';
import type { HistogramSnapshot } from '../../src/lib/histogram.js';
import { FINDING_CODES, RULES, runRules, type Rule } from '../../src/analysis/rules/index.js';
import { maintenanceCoincides } from '../../src/analysis/rules/maintenance.js';
import { DEFAULT_THRESHOLDS, THRESHOLD_HELP, thresholdProblems, type Thresholds } from '../../src/analysis/thresholds.js';
import type { DiskWindow, ElectionEvent, Evidence, Fact, HistogramWindow, MaintenanceEvent, ProbePoint, RawFinding, Severity, StallEvent } from '../../src/model/diagnosis.js';
import { ETCD_DISK_BUCKETS, ETCD_PEER_RTT_BUCKETS } from '../../src/export/prometheus/contract.js';
import { ms, seconds } from '../../src/lib/units.js';
import { PROBE_BUCKETS } from '../../src/sources/fsync-probe.js';
import type { PeerAnswer } from '../../src/model/member-settings.js';

const NOW = new Date('2025-03-01T12:00:00Z');
// The p99 tables use small histograms with exact edges; the minimum count has its own cases.
const TH: Thresholds = { ...DEFAULT_THRESHOLDS, minTailObservations: 0 };
const ago = (s: number): Date => new Date(NOW.getTime() - s * 1000);

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
const win = (edges: readonly number[]) => (perBucket: Record<number, number>, window = 300): HistogramWindow => ({
  histogram: hist(edges, perBucket),
  window: seconds(window),
});
const wal = win(ETCD_DISK_BUCKETS);
const probe = win(PROBE_BUCKETS);
/** Peer RTT window with an exact mean (sum / count). */
const rtt = (perBucket: Record<number, number>, mean: number): HistogramWindow => {
  const h = hist(ETCD_PEER_RTT_BUCKETS, perBucket);
  return { histogram: { ...h, sum: mean * h.count }, window: seconds(300) };
};

const settings = (hb: number, et: number) => ({
  heartbeat: { value: ms(hb), origin: 'manifest' as const },
  election: { value: ms(et), origin: 'manifest' as const },
});

/** A healthy node: etcd up with a leader, default settings known, 3 members, no data windows. */
function ev(over: Partial<Evidence> = {}): Evidence {
  return {
    now: NOW,
    probePoints: [],
    elections: [],
    electionHistory: seconds(86_400),
    candidates: [],
    stalls: [],
    maintenance: [],
    settings: settings(100, 1000),
    members: 3,
    etcdReachable: true,
    hasLeader: true,
    topWriters: [],
    ...over,
  };
}
const points = (...p: Array<[agoSeconds: number, maxSeconds: number]>): ProbePoint[] => p.map(([a, m]) => ({ at: ago(a), max: seconds(m) }));
const disk = (over: Partial<DiskWindow> = {}): DiskWindow => ({
  device: 'vda',
  window: seconds(300),
  busyFraction: 0.2,
  queueDepth: 0.5,
  sharedWith: [],
  ...over,
});
const election = (agoSeconds: number, termFrom = 4, termTo = termFrom + 1, extra: Partial<ElectionEvent> = {}): ElectionEvent => ({
  at: ago(agoSeconds),
  termFrom,
  termTo,
  ...extra,
});

const fact = (f: RawFinding | undefined, name: string): Fact['value'] | undefined => f?.facts.find((x) => x.name === name)?.value;

interface Case {
  name: string;
  ev: Evidence;
  th?: Partial<Thresholds>;
  /** undefined: the rule stays silent. */
  severity?: RawFinding['severity'];
  facts?: Record<string, Fact['value']>;
  summary?: RegExp;
  remedy?: RegExp;
}

/** The assertions a table needs (a subtest's `t` has them). */
type Assert = Pick<typeof t, 'equal' | 'ok' | 'match'>;

function table(t: Assert, code: keyof typeof RULES, cases: Case[]): void {
  const rule: Rule = RULES[code];
  for (const c of cases) {
    const f = rule(c.ev, { ...TH, ...c.th });
    if (c.severity === undefined) {
      t.equal(f, undefined, `${c.name}: silent`);
      continue;
    }
    t.equal(f?.code, code, `${c.name}: fires ${code}`);
    t.equal(f?.severity, c.severity, `${c.name}: ${c.severity}`);
    for (const [name, want] of Object.entries(c.facts ?? {})) {
      const got = fact(f, name);
      if (typeof want === 'number' && typeof got === 'number') t.ok(Math.abs(got - want) < 1e-9, `${c.name}: ${name} = ${want} (got ${got})`);
      else t.equal(got, want, `${c.name}: ${name}`);
    }
    if (c.summary) t.match(f?.summary, c.summary, `${c.name}: summary`);
    if (c.remedy) t.match(f?.remedy, c.remedy, `${c.name}: remedy`);
  }
}

const peer = (member: string, hb?: number, et?: number, id = `id-${member}`): PeerAnswer => ({
  url: `http://${member}:9379`,
  ok: true,
  settings: { schemaVersion: 1, member, memberId: id, ...(hb !== undefined ? { heartbeatMs: ms(hb) } : {}), ...(et !== undefined ? { electionMs: ms(et) } : {}) },
});
const self = { name: 'm0', id: 'id-m0' };

t.test('timing_settings_differ: a peer agent says its member runs other settings than this one', async (t) => {
  table(t, 'timing_settings_differ', [
    { name: 'no peer agents', ev: ev({ self }) },
    { name: 'every peer runs the same', ev: ev({ self, peers: [peer('m1', 100, 1000), peer('m2', 100, 1000)] }) },
    { name: 'a peer whose agent does not know its settings is not compared', ev: ev({ self, peers: [peer('m1'), peer('m2', 100, 1000)] }) },
    { name: 'own settings unknown: nothing to compare (settings_unknown says so)', ev: ev({ self, settings: undefined, peers: [peer('m1', 250, 2500)] }) },
    { name: "an answer about this member (auto found its own address) is not another member's", ev: ev({ self, settings: settings(100, 1000), peers: [peer('m0', 250, 2500, 'id-m0')] }) },
    {
      name: 'one member differs: warning naming it, the majority pair as the remedy, rolled out one node at a time',
      ev: ev({ self, peers: [peer('m1', 100, 1000), peer('m2', 250, 2500)] }),
      severity: 'warning',
      facts: { members_differing: 'm2', members_compared: 3, members_settings: 'm0 (this member) 100/1000, m1 100/1000, m2 250/2500' },
      summary: /different heartbeat intervals or election timeouts \(ms\): m0 \(this member\) 100\/1000, m1 100\/1000, m2 250\/2500/,
      remedy: /--heartbeat-interval=100 --election-timeout=1000 on every member \(what most members run\)\. Roll it out one control-plane node at a time/,
    },
    {
      name: 'only the election timeout differs: still a difference',
      ev: ev({ self, peers: [peer('m1', 100, 1500)] }),
      severity: 'warning',
      remedy: /--heartbeat-interval=100 --election-timeout=1500 on every member \(the longest election timeout the members run\)/,
    },
    {
      name: 'stalls that call for tuning: the remedy is the tuning, not the majority',
      ev: ev({ self, walFsync: wal({ 0.002: 2660, 2.048: 190 }), peers: [peer('m1', 100, 1000), peer('m2', 250, 2500)] }),
      severity: 'warning',
      remedy: /on every member \(this diagnosis' tuning for the stalls measured here\)/,
    },
  ]);
});

t.test('peer_agents_unanswered: a peer agent that did not answer is named with its reason', async (t) => {
  const silent: PeerAnswer = { url: 'http://10.0.0.13:9379', ok: false, reason: 'unreachable', message: 'connect ECONNREFUSED 10.0.0.13:9379' };
  table(t, 'peer_agents_unanswered', [
    { name: 'no peer agents', ev: ev() },
    { name: 'all answered', ev: ev({ peers: [peer('m1', 100, 1000)] }) },
    {
      name: 'one of two silent: info with the URL and the reason',
      ev: ev({ peers: [peer('m1', 100, 1000), silent] }),
      severity: 'info',
      facts: { peer_agents_asked: 2, peer_agents_silent: 'http://10.0.0.13:9379', reasons: 'unreachable' },
      summary: /^1 of 2 peer agents did not answer.*http:\/\/10\.0\.0\.13:9379 \(unreachable: connect ECONNREFUSED/,
      remedy: /security group/,
    },
  ]);
});

t.test('wal_fsync_slow: etcd WAL fsync p99 over 10 ms, share over 10 ms from the buckets', async (t) => {
  table(t, 'wal_fsync_slow', [
    { name: 'no etcd metrics', ev: ev() },
    { name: 'empty window', ev: ev({ walFsync: wal({}) }) },
    { name: 'all fsyncs ≤ 8 ms', ev: ev({ walFsync: wal({ 0.002: 900, 0.008: 100 }) }) },
    // 74 ≤ 8 ms and 1 in (8, 16]: rank 74.25 sits a quarter into the bucket: p99 = 10 ms exactly.
    { name: 'p99 exactly 10 ms is not over', ev: ev({ walFsync: wal({ 0.004: 74, 0.016: 1 }) }) },
    {
      name: 'fewer observations than the minimum: not judged, however slow (their p99 is their slowest)',
      ev: ev({ walFsync: wal({ 0.004: 150, 0.032: 49 }) }),
      th: { minTailObservations: DEFAULT_THRESHOLDS.minTailObservations },
    },
    {
      name: 'the minimum reached: judged',
      ev: ev({ walFsync: wal({ 0.004: 150, 0.032: 50 }) }),
      th: { minTailObservations: DEFAULT_THRESHOLDS.minTailObservations },
      severity: 'warning',
      facts: { wal_fsync_observations: 200 },
    },
    {
      name: 'p99 just over 10 ms fires; share interpolated inside (8, 16] and bounded by the edges',
      ev: ev({ walFsync: wal({ 0.004: 73, 0.016: 1 }) }),
      severity: 'warning',
      facts: {
        wal_fsync_share_over_target_method: 'interpolated',
        wal_fsync_share_over_target_lower: 0,
        wal_fsync_share_over_target_upper: 1 / 74,
        wal_fsync_share_over_target: (1 * 0.75) / 74,
        wal_fsync_target_p99: 0.01,
        wal_fsync_observations: 74,
      },
      summary: /p99 is 10(\.\d)? ms .*target ≤ 10 ms.*interpolated; between 0% and 1\.4%/,
      remedy: /ionice -c2 -n0/,
    },
    {
      name: '(8, 16] empty: the share over 10 ms is exact',
      ev: ev({ walFsync: wal({ 0.002: 90, 0.064: 10 }) }),
      severity: 'warning',
      facts: { wal_fsync_share_over_target: 0.1, wal_fsync_share_over_target_method: 'exact', wal_fsync_p50: 0.001 * (1 + 50 / 90) },
      summary: /10% of fsyncs took longer than 10 ms \(exact\)/,
    },
  ]);
});

t.test('backend_commit_slow: backend commit p99 over 25 ms', async (t) => {
  table(t, 'backend_commit_slow', [
    { name: 'no backend window', ev: ev() },
    { name: 'p99 in (16, 32] but ≤ 25 ms (24 ms)', ev: ev({ backendCommit: wal({ 0.008: 98, 0.032: 2 }) }) },
    {
      name: 'p99 over 25 ms',
      ev: ev({ backendCommit: wal({ 0.008: 90, 0.064: 10 }) }),
      severity: 'warning',
      facts: { backend_commit_share_over_target: 0.1, backend_commit_share_over_target_method: 'exact', backend_commit_target_p99: 0.025 },
      remedy: /defragment/,
    },
  ]);
});

t.test('probe_fsync_slow: the probe sees a slow disk without etcd metrics', async (t) => {
  table(t, 'probe_fsync_slow', [
    { name: 'probe off', ev: ev() },
    { name: 'empty probe window', ev: ev({ probe: probe({}) }) },
    // 99 observations in (8, 10] and one above: rank 99 is the 10 ms edge itself.
    { name: 'p99 exactly 10 ms (a probe bucket edge) is not over', ev: ev({ probe: probe({ 0.01: 99, 0.016: 1 }) }) },
    {
      name: 'slow probe, etcd unreachable: still seen, exact share (10 ms is a probe edge)',
      ev: ev({ etcdReachable: false, probe: probe({ 0.002: 80, 0.016: 20 }), probePoints: points([10, 0.015], [400, 2]) }),
      severity: 'warning',
      facts: { probe_fsync_share_over_target: 0.2, probe_fsync_share_over_target_method: 'exact', probe_fsync_max: 0.015 },
      summary: /probe's fdatasync/,
    },
  ]);
});

t.test('stalls_threaten_leadership: stalls reaching 50% / 100% of the election timeout', async (t) => {
  table(t, 'stalls_threaten_leadership', [
    { name: 'no evidence', ev: ev() },
    { name: 'probe stall 499 ms: under 50% of 1 s', ev: ev({ probePoints: points([10, 0.499]) }) },
    {
      name: 'probe stall exactly 500 ms: warning',
      ev: ev({ probePoints: points([10, 0.5]) }),
      severity: 'warning',
      facts: { stalls_over_warning: 1, stalls_over_election_timeout: 0, longest_probe_stall: 0.5, election_probability_longest_probe_stall: 0 },
    },
    { name: 'stall 999 ms: still warning', ev: ev({ probePoints: points([10, 0.999]) }), severity: 'warning' },
    {
      name: 'stall exactly the election timeout: critical, with its election probability',
      ev: ev({ probePoints: points([10, 1.0], [20, 0.6], [30, 0.01]) }),
      severity: 'critical',
      facts: { stalls_over_warning: 2, stalls_over_election_timeout: 1, election_probability_longest_probe_stall: 0.275 },
      summary: /2 stalls in the last 5 min reached 50% of the election timeout \(≥ 500 ms of 1 s\), 1 of them ≥ 1 s/,
    },
    { name: 'stalls older than the window are ignored', ev: ev({ probePoints: points([301, 1.5]) }) },
    {
      name: 'WAL: 3 stalls in (512 ms, 1.024 s] are proven ≥ 500 ms but not ≥ 1 s (no interpolated inflation)',
      ev: ev({ walFsync: wal({ 0.002: 3000, 1.024: 3 }) }),
      severity: 'warning',
      facts: { wal_fsync_stalls_over_warning: 3, wal_fsync_stalls_over_election_timeout: 0, wal_fsync_longest_at_most: 1.024 },
    },
    {
      name: 'WAL: 1.5 s stalls (seed case) are critical, remedy carries the recommended numbers',
      ev: ev({ walFsync: wal({ 0.002: 2660, 2.048: 190 }) }),
      severity: 'critical',
      facts: { stalls_over_election_timeout: 190, wal_fsync_stalls_over_warning: 190 },
      remedy: /Fix the disk.*--heartbeat-interval=300 --election-timeout=3000/,
    },
    {
      name: 'the same 1.5 s stalls on a follower: warning only, keep leadership off it, tune only if it must lead',
      ev: ev({ role: 'follower', walFsync: wal({ 0.002: 2660, 2.048: 190 }) }),
      severity: 'warning',
      facts: { stalls_over_election_timeout: 190, role: 'follower' },
      summary: /this member follows, so they start no election while it does, but would if it led/,
      remedy: /Fix the disk.*This member follows.*etcdctl move-leader.*Tune only if this member must be able to lead: .*--heartbeat-interval=300 --election-timeout=3000/,
    },
    {
      name: 'the same stalls on the leader: critical, the tuning remedy as before',
      ev: ev({ role: 'leader', walFsync: wal({ 0.002: 2660, 2.048: 190 }) }),
      severity: 'critical',
      facts: { role: 'leader' },
      remedy: /^(?!.*move-leader).*--heartbeat-interval=300 --election-timeout=3000/,
    },
    {
      name: 'WAL stalls in +Inf: the longest is only bounded below',
      ev: ev({ walFsync: wal({ 0.002: 100, [Infinity]: 1 }) }),
      severity: 'critical',
      facts: { wal_fsync_longest_at_most: 'above the highest bucket' },
    },
    {
      name: 'settings unknown: etcd default 1 s assumed and said',
      ev: ev({ settings: undefined, probePoints: points([5, 0.7]) }),
      severity: 'warning',
      facts: { settings: 'unknown: etcd defaults assumed', election_timeout: 1 },
      summary: /etcd default assumed/,
    },
    { name: 'election timeout 4 s: a 1.5 s stall is under 50%', ev: ev({ settings: settings(400, 4000), probePoints: points([5, 1.5]) }) },
    {
      name: 'single member: never critical, says why',
      ev: ev({ members: 1, probePoints: points([5, 3]) }),
      severity: 'warning',
      summary: /single member/,
    },
    {
      name: 'custom fractions: warn from 30%',
      ev: ev({ probePoints: points([5, 0.35]) }),
      th: { stallWarningFraction: 0.3 },
      severity: 'warning',
    },
  ]);
});

t.test('frequent_elections: rate per hour / day over the retained history', async (t) => {
  table(t, 'frequent_elections', [
    { name: 'no elections', ev: ev() },
    { name: 'one in 24 h is 1/day: not over 1/day', ev: ev({ elections: [election(3600)] }) },
    {
      name: 'two in 24 h: warning',
      ev: ev({ elections: [election(7200), election(3600, 5)] }),
      severity: 'warning',
      facts: { elections: 2, elections_per_day: 2, elections_per_hour: 2 / 24, last_term: 6 },
    },
    {
      name: 'one in the first 10 minutes: rate over at least 1 h = 24/day, warning not critical',
      ev: ev({ electionHistory: seconds(600), elections: [election(60)] }),
      severity: 'warning',
      facts: { elections_per_day: 24, rate_history: 3600 },
      summary: /rate over at least 1 h/,
    },
    {
      name: 'two in the first 10 minutes: 48/day, critical',
      ev: ev({ electionHistory: seconds(600), elections: [election(120), election(60, 5)] }),
      severity: 'critical',
    },
    {
      name: 'a term jump of 3 counts 3 elections',
      ev: ev({ elections: [election(60, 5, 8)] }),
      severity: 'warning',
      facts: { elections: 3, elections_per_day: 3 },
    },
  ]);
});

t.test('election_forensics: the stall evidence of the minute before each election', async (t) => {
  table(t, 'election_forensics', [
    { name: 'no election', ev: ev() },
    { name: 'an election older than the window is not examined', ev: ev({ elections: [election(400)], probePoints: points([405, 2]) }) },
    {
      name: 'a 1.5 s probe stall 10 s before: explained, warning',
      ev: ev({ elections: [election(30)], probePoints: points([40, 1.5], [35, 0.003]) }),
      severity: 'warning',
      facts: { elections_examined: 1, elections_explained_by_stalls: 1, election_1_max_probe_fsync: 1.5, election_1_cause: 'explained', election_1_term: '4→5' },
    },
    {
      name: 'stall just below et − hb (899 ms): a stall, but not enough by itself',
      ev: ev({ elections: [election(30)], probePoints: points([40, 0.899]) }),
      severity: 'info',
      facts: { election_1_cause: 'stall_below_timeout', elections_explained_by_stalls: 0 },
      remedy: /other members' agents/,
    },
    {
      name: 'stall just above et − hb (901 ms): explained',
      ev: ev({ elections: [election(30)], probePoints: points([40, 0.901]) }),
      severity: 'warning',
      facts: { election_1_cause: 'explained' },
    },
    {
      name: 'only fast fsyncs before: no stall',
      ev: ev({ elections: [election(30)], probePoints: points([40, 0.004]) }),
      severity: 'info',
      facts: { election_1_cause: 'no_stall' },
    },
    {
      name: 'a stall 70 s before is outside the 60 s lookback',
      ev: ev({ elections: [election(30)], probePoints: points([100, 2]) }),
      severity: 'info',
      facts: { election_1_cause: 'no_data' },
    },
    {
      name: "no probe: etcd's WAL fsyncs of the minute before, a 1–2 s bucket proves the stall",
      ev: ev({ elections: [election(30, 4, 5, { walFsyncBefore: hist(ETCD_DISK_BUCKETS, { 0.002: 50, 2.048: 1 }), diskBusyBefore: 0.97 })] }),
      severity: 'warning',
      facts: {
        election_1_cause: 'explained',
        election_1_wal_fsync_max_at_least: 1.024,
        election_1_wal_fsync_max_at_most: 2.048,
        election_1_disk_busy: 0.97,
      },
    },
    {
      name: 'the probe saw nothing but etcd stalled (strace-injected): explained by the WAL',
      ev: ev({
        elections: [election(30, 4, 5, { walFsyncBefore: hist(ETCD_DISK_BUCKETS, { 0.002: 50, 2.048: 3 }) })],
        probePoints: points([40, 0.002], [35, 0.003]),
      }),
      severity: 'warning',
      facts: { election_1_cause: 'explained', election_1_max_probe_fsync: 0.003 },
    },
    {
      name: 'WAL worst in (512 ms, 1.024 s]: may explain it, the buckets cannot tell — warning, said so',
      ev: ev({ elections: [election(30, 4, 5, { walFsyncBefore: hist(ETCD_DISK_BUCKETS, { 0.002: 50, 1.024: 1 }) })] }),
      severity: 'warning',
      facts: { election_1_cause: 'possibly_explained', elections_possibly_explained_by_stalls: 1, elections_explained_by_stalls: 0 },
      summary: /may have been long enough/,
    },
    {
      name: 'WAL of the minute before all fast: no stall',
      ev: ev({ elections: [election(30, 4, 5, { walFsyncBefore: hist(ETCD_DISK_BUCKETS, { 0.004: 50 }) })] }),
      severity: 'info',
      facts: { election_1_cause: 'no_stall' },
    },
    {
      name: 'two elections, one explained: itemized oldest first',
      ev: ev({ elections: [election(200), election(30, 5)], probePoints: points([40, 1.2], [210, 0.002]) }),
      severity: 'warning',
      facts: { elections_examined: 2, election_1_cause: 'no_stall', election_2_cause: 'explained', election_2_term: '5→6' },
    },
  ]);
});

t.test('disk_saturated: busy ≥ 90% or queue depth ≥ 4', async (t) => {
  table(t, 'disk_saturated', [
    { name: 'no diskstats', ev: ev() },
    { name: 'busy 89%', ev: ev({ disk: disk({ busyFraction: 0.89 }) }) },
    { name: 'busy exactly 90%', ev: ev({ disk: disk({ busyFraction: 0.9 }) }), severity: 'warning', facts: { busy: 0.9, device: 'vda' } },
    { name: 'queue 3.9', ev: ev({ disk: disk({ queueDepth: 3.9 }) }) },
    {
      name: 'queue exactly 4, with awaits',
      ev: ev({ disk: disk({ queueDepth: 4, writeAwait: seconds(0.02), flushAwait: seconds(0.05) }) }),
      severity: 'warning',
      facts: { queue_depth: 4, write_await: 0.02, flush_await: 0.05 },
      summary: /4\.0 requests in flight/,
    },
    {
      name: 'top writers named in the remedy',
      ev: ev({ disk: disk({ busyFraction: 1 }), topWriters: [{ pid: 42, command: 'containerd', bytesPerSecond: 50 * 2 ** 20 }] }),
      severity: 'warning',
      remedy: /containerd \(pid 42, 50 MiB\/s\)/,
    },
  ]);
});

t.test('disk_shared: etcd shares its device with /, container storage, kubelet or logs', async (t) => {
  const slowWal = wal({ 0.002: 90, 0.064: 10 });
  table(t, 'disk_shared', [
    { name: 'no diskstats', ev: ev() },
    { name: 'dedicated device', ev: ev({ disk: disk() }) },
    {
      name: 'shared but fast: info',
      ev: ev({ disk: disk({ sharedWith: ['/', '/var/lib/containerd'] }) }),
      severity: 'info',
      facts: { shared_with: '/, /var/lib/containerd', disk_slow: 'no' },
    },
    {
      name: 'shared and etcd fsync slow: warning',
      ev: ev({ disk: disk({ sharedWith: ['/var/log'] }), walFsync: slowWal }),
      severity: 'warning',
      facts: { disk_slow: 'yes' },
      remedy: /own disk.*--wal-dir.*ionice -c2 -n0/,
    },
    {
      name: 'not shared by path but written by neighbours: fires with top writers',
      ev: ev({
        disk: disk(),
        topWriters: [
          { pid: 1, command: 'etcd', bytesPerSecond: 1e6 },
          { pid: 7, command: 'fluentd', bytesPerSecond: 2e6 },
        ],
      }),
      severity: 'info',
      facts: { top_writer_1: 'fluentd (pid 7)', top_writer_1_write_rate: 2e6 },
    },
    { name: 'etcd the only writer: not shared', ev: ev({ disk: disk(), topWriters: [{ pid: 1, command: 'etcd', bytesPerSecond: 1e6 }] }) },
  ]);
});

t.test('heartbeat_below_rtt: heartbeat under the mean peer RTT', async (t) => {
  table(t, 'heartbeat_below_rtt', [
    { name: 'no RTT', ev: ev() },
    { name: 'settings unknown', ev: ev({ settings: undefined, peerRoundTrip: rtt({ 0.2048: 100 }, 0.15) }) },
    { name: 'mean RTT exactly the heartbeat', ev: ev({ peerRoundTrip: rtt({ 0.2048: 100 }, 0.1) }) },
    {
      name: 'mean RTT 150 ms over a 100 ms heartbeat',
      ev: ev({ peerRoundTrip: rtt({ 0.2048: 100 }, 0.15) }),
      severity: 'warning',
      facts: { heartbeat_interval: 0.1, peer_rtt_mean: 0.15 },
      remedy: /--heartbeat-interval=150 --election-timeout=1500/,
    },
  ]);
});

t.test('election_timeout_invalid: < 5× heartbeat, < 10× RTT, > 50 s', async (t) => {
  table(t, 'election_timeout_invalid', [
    { name: 'defaults are valid', ev: ev() },
    { name: 'settings unknown', ev: ev({ settings: undefined }) },
    { name: 'exactly 5× heartbeat is allowed', ev: ev({ settings: settings(200, 1000) }) },
    {
      name: 'below 5× heartbeat',
      ev: ev({ settings: settings(300, 1000) }),
      severity: 'warning',
      summary: /below 5× the heartbeat/,
      remedy: /--heartbeat-interval=100 --election-timeout=1000/,
    },
    { name: 'above 50 s', ev: ev({ settings: settings(5000, 60_000) }), severity: 'warning', summary: /above etcd's maximum/ },
    { name: 'exactly 10× the mean RTT is allowed', ev: ev({ peerRoundTrip: rtt({ 0.2048: 10 }, 0.1) }) },
    {
      name: 'below 10× the mean RTT (120 ms)',
      ev: ev({ peerRoundTrip: rtt({ 0.2048: 10 }, 0.12) }),
      severity: 'warning',
      facts: { peer_rtt_mean: 0.12 },
      summary: /below 10× the mean peer RTT/,
      remedy: /--heartbeat-interval=125 --election-timeout=1250/,
    },
  ]);
});

t.test('settings_unknown: info when the timing settings are not known', async (t) => {
  table(t, 'settings_unknown', [
    { name: 'known', ev: ev() },
    { name: 'unknown', ev: ev({ settings: undefined }), severity: 'info', facts: { assumed_election_timeout: 1, assumed_heartbeat_interval: 0.1 } },
  ]);
});

t.test('probe_not_on_etcd_filesystem: info when the probe was asked for but its directory is not on etcd\'s filesystem', async (t) => {
  table(t, 'probe_not_on_etcd_filesystem', [
    { name: 'the probe runs', ev: ev() },
    {
      name: 'etcd on a disk of its own, the probe dir beside it on the root disk',
      ev: ev({ probeOff: { dir: '/var/lib/etcd-latency-agent', etcdDataDir: '/var/lib/etcd' } }),
      severity: 'info',
      facts: { probe_dir: '/var/lib/etcd-latency-agent', etcd_data_dir: '/var/lib/etcd' },
      summary: /the wrong disk/,
      remedy: /\/var\/lib\/etcd\/etcd-latency-agent/,
    },
  ]);
});

t.test('peer_rtt_high: peer round-trip p99 over the threshold', async (t) => {
  table(t, 'peer_rtt_high', [
    { name: 'no RTT', ev: ev() },
    { name: 'empty RTT window', ev: ev({ peerRoundTrip: rtt({}, 0) }) },
    { name: 'p99 low', ev: ev({ peerRoundTrip: rtt({ 0.0016: 100 }, 0.001) }) },
    // 98 fast, 1 in (25.6, 51.2] ms, 1 above: rank 99 ends the 51.2 ms bucket.
    {
      name: 'p99 exactly at the threshold is not over',
      ev: ev({ peerRoundTrip: rtt({ 0.0016: 98, 0.0512: 1, 0.1024: 1 }, 0.002) }),
      th: { peerRttP99: ms(51.2) },
    },
    {
      name: 'p99 51.2 ms over the default 50 ms',
      ev: ev({ peerRoundTrip: rtt({ 0.0016: 98, 0.0512: 1, 0.1024: 1 }, 0.002) }),
      severity: 'warning',
      facts: { peer_rtt_p99: 0.0512, peer_rtt_mean: 0.002, observations: 100 },
    },
  ]);
});

t.test('etcd_unreachable and no_leader: critical', async (t) => {
  table(t, 'etcd_unreachable', [
    { name: 'reachable', ev: ev() },
    { name: 'unreachable', ev: ev({ etcdReachable: false }), severity: 'critical' },
  ]);
  table(t, 'no_leader', [
    { name: 'leader known', ev: ev() },
    { name: 'leader unknown (no metric)', ev: ev({ hasLeader: undefined }) },
    { name: 'unreachable: etcd_unreachable says it, not no_leader', ev: ev({ etcdReachable: false, hasLeader: false }) },
    { name: 'no leader', ev: ev({ hasLeader: false }), severity: 'critical', facts: { members: 3 } },
  ]);
});

t.test("etcd_not_ready: etcd's own /readyz (or /health) says not ready, with what to do per failed check", async (t) => {
  const health = (ready: boolean, failedChecks: string[] = [], endpoint: 'readyz' | 'health' = 'readyz', reason?: string) => ({
    endpoint,
    ready,
    failedChecks,
    ...(reason ? { reason } : {}),
  });
  table(t, 'etcd_not_ready', [
    { name: 'no health reading (source off or down)', ev: ev() },
    { name: 'ready', ev: ev({ health: health(true) }) },
    { name: 'unreachable: etcd_unreachable says it', ev: ev({ etcdReachable: false, health: health(false, ['linearizable_read']) }) },
    {
      name: 'no quorum: linearizable_read failed',
      ev: ev({ health: health(false, ['linearizable_read']) }),
      severity: 'critical',
      summary: /\/readyz: linearizable_read failed/,
      remedy: /no leader or cannot reach a quorum/,
    },
    { name: 'corrupt member', ev: ev({ health: health(false, ['data_corruption']) }), severity: 'critical', remedy: /CORRUPT alarm/ },
    { name: 'a learner only: warning', ev: ev({ health: health(false, ['non_learner']) }), severity: 'warning', remedy: /member promote/ },
    { name: 'a check etcd adds later: the generic remedy', ev: ev({ health: health(false, ['defrag_in_progress']) }), severity: 'critical', remedy: /etcdctl alarm list/ },
    { name: "3.5's /health with its reason", ev: ev({ health: health(false, [], 'health', 'RAFT NO LEADER') }), severity: 'critical', summary: /\/health: RAFT NO LEADER/ },
  ]);
});

t.test('db_near_quota: DB size against the backend quota', async (t) => {
  const q = 2 * 2 ** 30;
  table(t, 'db_near_quota', [
    { name: 'unknown size', ev: ev({ quotaBackend: q }) },
    { name: 'unknown quota', ev: ev({ dbSize: q }) },
    { name: 'zero quota', ev: ev({ dbSize: 10, quotaBackend: 0 }) },
    { name: '79%', ev: ev({ dbSize: 0.79 * q, quotaBackend: q }) },
    { name: 'exactly 80%: warning', ev: ev({ dbSize: 0.8 * q, quotaBackend: q }), severity: 'warning', facts: { quota_used: 0.8, quota_backend: q } },
    { name: 'exactly 95%: critical', ev: ev({ dbSize: 0.95 * q, quotaBackend: q }), severity: 'critical', remedy: /defrag/ },
  ]);
});

t.test('db_fragmented: free pages of the allocated DB, from 45% and 100 MiB (OpenShift defrag controller)', async (t) => {
  const MiB = 2 ** 20;
  table(t, 'db_fragmented', [
    { name: 'in-use size unknown (etcd without the family)', ev: ev({ dbSize: 1024 * MiB }) },
    { name: 'allocated size unknown', ev: ev({ dbSizeInUse: 10 * MiB }) },
    { name: '44% free', ev: ev({ dbSize: 1000 * MiB, dbSizeInUse: 560 * MiB }) },
    { name: '90% free but 99 MiB: not worth it', ev: ev({ dbSize: 99 * MiB, dbSizeInUse: 9.9 * MiB }) },
    {
      name: 'exactly 45% free of 1000 MiB: info, the ordered procedure',
      ev: ev({ dbSize: 1000 * MiB, dbSizeInUse: 550 * MiB }),
      severity: 'info',
      facts: { db_free_fraction: 0.45, db_size_in_use: 550 * MiB, role: 'unknown' },
      summary: /45% of etcd's .* DB is free pages/,
      remedy: /followers first and the leader last, after moving leadership away \(etcdctl move-leader/,
    },
    {
      name: 'on the leader: defragment it last',
      ev: ev({ dbSize: 1000 * MiB, dbSizeInUse: 100 * MiB, role: 'leader' }),
      severity: 'info',
      remedy: /This member leads: defragment it last/,
    },
    { name: 'in use above allocated (scrape skew): nothing free', ev: ev({ dbSize: 200 * MiB, dbSizeInUse: 210 * MiB }) },
    { name: 'a lower size floor from its flag', ev: ev({ dbSize: 8 * MiB, dbSizeInUse: 1 * MiB }), th: { dbFragmentedMinMiB: 1 }, severity: 'info' },
  ]);
});

t.test('maintenance_coincides: stalls and elections during etcd\'s maintenance on this member', async (t) => {
  const stall = (s: number, source: StallEvent['source'] = 'probe', count = 1): StallEvent => ({ at: ago(s), source, count, longest: seconds(1.2), limit: seconds(0.5) });
  // A defragmentation that completed between the scrapes at 45 s and 40 s ago, after 20 s of work: it ran within [65 s, 40 s] ago.
  const defrag: MaintenanceEvent = { kind: 'defrag', from: ago(45), at: ago(40), count: 1, seconds: seconds(20) };
  const compaction: MaintenanceEvent = { kind: 'compaction', from: ago(205), at: ago(200), count: 2, seconds: seconds(0.4) };
  const cases: Array<{ name: string; e: Partial<Evidence>; severity?: Severity; summary?: RegExp; remedy?: RegExp }> = [
    { name: 'no maintenance: silent, whatever stalls', e: { stalls: [stall(50), stall(30)] } },
    { name: 'maintenance without stalls: silent', e: { maintenance: [defrag, compaction] } },
    { name: 'a stall long before the defragmentation: silent', e: { stalls: [stall(120)], maintenance: [defrag] } },
    {
      name: 'stalls during a defragmentation on a follower: info',
      e: { stalls: [stall(60), stall(58, 'etcd_wal_fsync', 3), stall(50)], maintenance: [defrag], role: 'follower' },
      severity: 'info',
      summary: /^3 stalls threatening leadership and 0 elections in the last 5 min came during etcd's defragmentation on this member$/,
      remedy: /followers first and the leader last, after moving leadership away \(etcdctl move-leader\)/,
    },
    { name: 'the same on the leader: warning', e: { stalls: [stall(60)], maintenance: [defrag], role: 'leader' }, severity: 'warning', summary: /which leads/ },
    {
      name: 'an election during a compaction (the higher term seen 1 s after it ended, the lower 0.5 s before): warning, with the compaction remedy',
      e: { elections: [{ at: ago(199), after: ago(200.5), termFrom: 4, termTo: 5 }], maintenance: [compaction] },
      severity: 'warning',
      summary: /0 stalls threatening leadership and 1 election in the last 5 min came during etcd's compaction/,
      remedy: /--etcd-compaction-interval/,
    },
    { name: 'a running defragmentation seen at a scrape', e: { stalls: [stall(3)], maintenance: [{ kind: 'defrag', from: ago(5), at: ago(0), count: 0, seconds: seconds(0), running: true }] }, severity: 'info' },
    { name: 'an election after the compaction ended (the lower term seen 4 s after its end): silent', e: { elections: [{ at: ago(195), after: ago(196), termFrom: 4, termTo: 5 }], maintenance: [compaction] } },
    { name: 'an election seen the instant after it without the look before: silent', e: { elections: [{ at: ago(199), termFrom: 4, termTo: 5 }], maintenance: [compaction] } },
    {
      name: 'an election seen 50 s later, etcd silent since before the compaction (a long --etcd-api-interval or a failed look): it may have come during it',
      e: { elections: [{ at: ago(150), after: ago(210), termFrom: 4, termTo: 5 }], maintenance: [compaction] },
      severity: 'warning',
    },
    { name: 'outside the window: silent', e: { stalls: [stall(400)], maintenance: [{ ...defrag, from: ago(405), at: ago(400) }] } },
  ];
  for (const c of cases) {
    const f = maintenanceCoincides(ev(c.e), TH);
    if (c.severity === undefined) {
      t.equal(f, undefined, c.name);
      continue;
    }
    t.equal(f?.severity, c.severity, c.name);
    if (c.summary) t.match(f?.summary, c.summary, `${c.name}: summary`);
    if (c.remedy) t.match(f?.remedy, c.remedy, `${c.name}: remedy`);
  }
});

t.test('every rule returns its own code, and runRules runs them all', async (t) => {
  const q = 2 ** 30;
  const everything = ev({
    etcdReachable: false,
    hasLeader: false,
    settings: settings(300, 1000),
    walFsync: wal({ 0.002: 100, 2.048: 10 }),
    backendCommit: wal({ 0.002: 90, 0.064: 10 }),
    probe: probe({ 0.002: 80, 0.016: 20 }),
    probePoints: points([40, 1.5]),
    peerRoundTrip: rtt({ 0.4096: 100 }, 0.35),
    disk: disk({ busyFraction: 1, sharedWith: ['/'] }),
    elections: [election(30), election(20, 5)],
    electionHistory: seconds(600),
    dbSize: q,
    dbSizeInUse: q / 4,
    quotaBackend: q,
    candidates: [{ dir: '/var/lib/etcd-next', problem: { reason: 'on_etcd_filesystem', message: "on etcd's own filesystem" } }],
    stalls: [{ at: ago(30), source: 'probe', count: 1, longest: seconds(1.5), limit: seconds(0.5) }],
    maintenance: [{ kind: 'defrag', from: ago(40), at: ago(25), count: 1, seconds: seconds(12) }],
    peers: [peer('m1', 100, 1000), { url: 'http://10.0.0.13:9379', ok: false, reason: 'unreachable', message: 'connect ECONNREFUSED' }],
  });
  const fired = runRules(everything, TH);
  const codes = new Set(fired.map((f) => f.code));
  for (const code of FINDING_CODES) {
    if (code === 'settings_unknown' || code === 'no_leader' || code === 'etcd_not_ready' || code === 'probe_not_on_etcd_filesystem') continue; // mutually exclusive with the evidence above
    t.ok(codes.has(code), `${code} fires on the worst evidence`);
  }
  t.ok(runRules(ev({ settings: undefined }), TH).some((f) => f.code === 'settings_unknown'));
  t.ok(runRules(ev({ probeOff: { dir: '/var/lib/etcd-latency-agent', etcdDataDir: '/var/lib/etcd' } }), TH).some((f) => f.code === 'probe_not_on_etcd_filesystem'));
  t.ok(runRules(ev({ hasLeader: false }), TH).some((f) => f.code === 'no_leader'));
  t.ok(runRules(ev({ health: { endpoint: 'readyz', ready: false, failedChecks: ['linearizable_read'] } }), TH).some((f) => f.code === 'etcd_not_ready'));
  for (const f of fired) {
    t.ok(/^[a-z][a-z0-9_]*$/.test(f.code), `${f.code} is snake_case`);
    t.ok(f.summary.length > 0 && f.remedy.length > 0, `${f.code} has a summary and a remedy`);
    t.notOk('since' in f, `${f.code}: no since (the tracker owns it)`);
    for (const x of f.facts) t.ok(typeof x.value === 'string' || Number.isFinite(x.value), `${f.code}.${x.name} is finite or text`);
  }
  t.same(runRules(ev(), TH), [], 'a healthy node with known settings raises nothing');
});

t.test('thresholds: documented defaults, help for every field, problems named', async (t) => {
  t.same(Object.keys(THRESHOLD_HELP).sort(), Object.keys(DEFAULT_THRESHOLDS).sort(), 'every threshold has help, and only thresholds');
  t.same(thresholdProblems(DEFAULT_THRESHOLDS), [], 'the defaults are usable');
  t.equal(DEFAULT_THRESHOLDS.walFsyncP99, 10);
  t.equal(DEFAULT_THRESHOLDS.backendCommitP99, 25);
  t.equal(DEFAULT_THRESHOLDS.window, 300);
  t.ok(DEFAULT_THRESHOLDS.targetElectionsPerDay < 1 / 7, 'target well under one per week');
  const cases: Array<[string, Partial<Thresholds>, RegExp]> = [
    ['fraction above 1', { diskBusyFraction: 1.2 }, /diskBusyFraction must be within \[0, 1\]/],
    ['negative duration', { clearAfter: seconds(-1) }, /clearAfter must not be negative/],
    ['NaN', { probeP99: ms(Number.NaN) }, /probeP99 must be a finite number/],
    ['zero window', { window: seconds(0) }, /window must be positive/],
    ['warning above critical', { electionsPerDayWarning: 30 }, /electionsPerDayWarning must not exceed/],
    ['zero target', { targetElectionsPerDay: 0 }, /targetElectionsPerDay must be positive/],
    ['stall warning above critical', { stallWarningFraction: 1, stallCriticalFraction: 0.8 }, /stallWarningFraction must not exceed/],
  ];
  for (const [name, over, want] of cases) t.match(thresholdProblems({ ...TH, ...over }).join('\n'), want, name);
  t.same(thresholdProblems({ ...TH, stallCriticalFraction: 1.5 }), [], 'critical beyond the timeout itself is allowed');
});
