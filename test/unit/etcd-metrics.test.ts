import { readFileSync } from 'node:fs';
import t from 'tap';
import { ETCD_DISK_BUCKETS, ETCD_PEER_RTT_BUCKETS } from '../../src/export/prometheus/contract.js';
import { quantile } from '../../src/lib/histogram.js';
import { extractEtcdMetrics, isEmptyEtcdSample } from '../../src/sources/etcd-metrics.js';
import { parsePromText, parsePromValue, type PromTextStats, type Sample } from '../../src/host/prom-text.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/etcd/${name}`, import.meta.url), 'utf8');
const SINGLE = fixture('metrics-3.4-single.txt');
const MEMBER = fixture('metrics-3.4-cluster-member.txt');

const DISK_LES = [...ETCD_DISK_BUCKETS, Infinity];
const RTT_LES = [...ETCD_PEER_RTT_BUCKETS, Infinity];

t.test('parsePromValue', async (t) => {
  const cases: Array<[string, number | undefined]> = [
    ['1', 1], ['-2.5', -2.5], ['2.147483648e+09', 2147483648], ['1e-3', 0.001], ['.5', 0.5], ['5.', 5], ['+3', 3],
    ['NaN', NaN], ['+Inf', Infinity], ['-Inf', -Infinity], ['Inf', Infinity], ['inf', Infinity],
    ['', undefined], ['0x10', undefined], ['1x', undefined], ['1_000', undefined], ['Infinityx', undefined], ['e3', undefined], ['.', undefined],
  ];
  for (const [text, want] of cases) t.same(parsePromValue(text), want, JSON.stringify(text));
});

t.test('parsePromText: table of lines', async (t) => {
  const W = new Set(['foo', 'h', 'x_total']);
  type Want = Array<Pick<Sample, 'name' | 'labels' | 'value'> & { timestamp?: number }>;
  const cases: Array<[string, string, Want]> = [
    ['plain value', 'foo 1\n', [{ name: 'foo', labels: {}, value: 1 }]],
    ['labels', 'foo{a="1",b="two"} 3\n', [{ name: 'foo', labels: { a: '1', b: 'two' }, value: 3 }]],
    ['escapes \\\\ \\" \\n', 'foo{a="x\\\\y\\"z\\nw"} 1\n', [{ name: 'foo', labels: { a: 'x\\y"z\nw' }, value: 1 }]],
    ['comma and brace inside a value', 'foo{a="1,2}3"} 1\n', [{ name: 'foo', labels: { a: '1,2}3' }, value: 1 }]],
    ['empty label value', 'foo{a=""} 1\n', [{ name: 'foo', labels: { a: '' }, value: 1 }]],
    ['trailing comma', 'foo{a="1",} 2\n', [{ name: 'foo', labels: { a: '1' }, value: 2 }]],
    ['empty braces', 'foo{} 2\n', [{ name: 'foo', labels: {}, value: 2 }]],
    ['blanks everywhere', '  foo\t{ a = "1" ,\tb="2" }   7   \n', [{ name: 'foo', labels: { a: '1', b: '2' }, value: 7 }]],
    ['value right after }', 'foo{a="1"}7\n', [{ name: 'foo', labels: { a: '1' }, value: 7 }]],
    ['NaN', 'foo NaN\n', [{ name: 'foo', labels: {}, value: NaN }]],
    ['+Inf / -Inf', 'foo +Inf\nfoo -Inf\n', [{ name: 'foo', labels: {}, value: Infinity }, { name: 'foo', labels: {}, value: -Infinity }]],
    ['timestamp', 'foo 1 1700000000000\n', [{ name: 'foo', labels: {}, value: 1, timestamp: 1700000000000 }]],
    ['negative timestamp', 'foo 1 -5\n', [{ name: 'foo', labels: {}, value: 1, timestamp: -5 }]],
    ['CRLF', 'foo 1\r\nx_total 2\r\n', [{ name: 'foo', labels: {}, value: 1 }, { name: 'x_total', labels: {}, value: 2 }]],
    ['comments and blank lines', '# HELP foo help\n# TYPE foo gauge\n\n   \n# any comment\nfoo 4\n', [{ name: 'foo', labels: {}, value: 4 }]],
    [
      'histogram series collected under the family',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\nh_sum 4.5\nh_count 3\n',
      [
        { name: 'h_bucket', labels: { le: '1' }, value: 2 },
        { name: 'h_bucket', labels: { le: '+Inf' }, value: 3 },
        { name: 'h_sum', labels: {}, value: 4.5 },
        { name: 'h_count', labels: {}, value: 3 },
      ],
    ],
    ['unwanted families skipped', 'bar 1\nfoo_extra 2\nfoox 3\nh_total 4\nx 5\nfoo 9\n', [{ name: 'foo', labels: {}, value: 9 }]],
    ['a suffix only joins a histogram/summary family', '# TYPE x_total counter\nx_total_count 6\nx_total 7\n', [{ name: 'x_total', labels: {}, value: 7 }]],
    ['…or a family without TYPE', 'x_total_count 6\n', [{ name: 'x_total_count', labels: {}, value: 6 }]],
    ['summary series', '# TYPE foo summary\nfoo{quantile="0.5"} 1\nfoo_sum 2\nfoo_count 3\n', [
      { name: 'foo', labels: { quantile: '0.5' }, value: 1 }, { name: 'foo_sum', labels: {}, value: 2 }, { name: 'foo_count', labels: {}, value: 3 },
    ]],
    ['__proto__ label is an own property', 'foo{__proto__="p"} 1\n', [{ name: 'foo', labels: { ['__proto__']: 'p' }, value: 1 }]],
    ['no final newline: the cut line is dropped', 'foo 1\nfoo 2', [{ name: 'foo', labels: {}, value: 1 }]],
    ['empty body', '', []],
  ];
  for (const [name, body, want] of cases) {
    const got = [...parsePromText(body, W).values()].flat();
    t.same(got.map((s) => ({ ...s, labels: { ...s.labels } })), want, name);
    if (name.startsWith('__proto__')) t.ok(Object.hasOwn(got[0]!.labels, '__proto__'), '__proto__ is own');
  }
});

t.test('parsePromText: malformed lines are skipped, the next line still parsed', async (t) => {
  const bad = [
    'foo', 'foo ', 'foo 1x', 'foo 0x10', 'foo{a="1"', 'foo{a="1} 1', 'foo{a=1} 1', 'foo{a"1"} 1', 'foo{1a="1"} 1', 'foo{a="\\t"} 1',
    'foo{a="1",a="2"} 1', 'foo{a="1" b="2"} 1', 'foo 1 2.5', 'foo 1 2 3', 'foo 1 abc', 'foo-bar 1', 'foo{a="1"}} 1', 'foo{a="x\\', 'foo{,} 1',
  ];
  for (const line of bad) {
    const stats: PromTextStats = { lines: 0, malformed: 0 };
    const got = parsePromText(`${line}\nfoo 42\n`, new Set(['foo']), stats);
    t.same(got.get('foo')?.map((s) => s.value), [42], JSON.stringify(line));
    t.equal(stats.malformed, 1, `${JSON.stringify(line)} counted as malformed`);
  }
  t.doesNotThrow(() => parsePromText('\u0000\uffff{{{"\\\n}}}}', new Set(['foo'])), 'binary junk does not throw');
});

t.test('parsePromText: linear on large and adversarial inputs', async (t) => {
  // 200k unwanted lines and one line with a 1 MB label full of escapes: a quadratic parser would hit the test timeout.
  const unwanted = 'go_gc_duration_seconds{quantile="0.5"} 1.2e-05\n'.repeat(200_000);
  const escaped = `foo{a="${'\\"'.repeat(500_000)}"} 1\n`;
  const got = parsePromText(unwanted + escaped + 'foo 2\n', new Set(['foo']));
  const values = got.get('foo')!;
  t.equal(values.length, 2);
  t.equal(values[0]!.labels['a']!.length, 500_000);
  const noNewline = 'x'.repeat(5_000_000);
  t.same([...parsePromText(noNewline, new Set(['foo'])).keys()], [], 'one 5 MB line without a newline');
});

t.test('extract from a real single etcd 3.4 member', async (t) => {
  const s = extractEtcdMetrics(SINGLE);
  t.ok(s.walFsync && s.backendCommit, 'disk histograms present');
  t.same(s.walFsync!.buckets.map((b) => b.le), DISK_LES, 'WAL fsync: etcd buckets 1 ms … 8.192 s + Inf');
  t.same(s.backendCommit!.buckets.map((b) => b.le), DISK_LES, 'backend commit: same buckets');
  t.equal(s.walFsync!.count, 305);
  t.equal(s.walFsync!.buckets.at(-1)!.count, 305, '+Inf = count');
  t.ok(Math.abs(s.walFsync!.sum - 0.29528027300000037) < 1e-15, 'sum');
  t.equal(s.walFsync!.buckets[0]!.count, 242, 'le=0.001');
  t.equal(s.backendCommit!.count, 80);
  t.ok(quantile(s.walFsync!, 0.99)! > 0, 'a quantile can be computed');
  t.equal(s.peerRoundTrip.size, 0, 'no peers');
  t.equal(s.hasLeader, true);
  t.equal(s.isLeader, true);
  t.equal(s.leaderChanges, 1);
  t.equal(s.heartbeatSendFailures, 0);
  t.equal(s.slowApplies, 0);
  t.equal(s.proposalsFailed, 0);
  t.equal(s.proposalsPending, 0);
  t.equal(s.dbSize, 49152);
  t.equal(s.dbSizeInUse, 49152);
  t.equal(s.quotaBackend, 2147483648);
  t.equal(s.bodyBytes, Buffer.byteLength(SINGLE));
  t.notOk(isEmptyEtcdSample(s));
});

t.test('extract from a real 3-member cluster member (follower)', async (t) => {
  const s = extractEtcdMetrics(MEMBER);
  t.same([...s.peerRoundTrip.keys()].sort(), ['95f7b1f46600f0ef', 'ccb6882114c48aca'], 'peer RTT keyed by To');
  for (const [peer, h] of s.peerRoundTrip) {
    t.same(h.buckets.map((b) => b.le), RTT_LES, `${peer}: etcd RTT buckets 0.1 ms … 3.2768 s + Inf`);
    t.equal(h.count, 2, `${peer}: count`);
  }
  t.equal(s.peerRoundTrip.get('95f7b1f46600f0ef')!.buckets[1]!.count, 1, 'le=0.0002 of one peer');
  t.same(s.walFsync!.buckets.map((b) => b.le), DISK_LES);
  t.equal(s.walFsync!.count, 307);
  t.equal(s.backendCommit!.count, 81);
  t.equal(s.hasLeader, true);
  t.equal(s.isLeader, false);
  t.equal(s.leaderChanges, 1);
  t.equal(s.dbSize, 53248);
  t.equal(s.dbSizeInUse, 49152);
  t.equal(s.quotaBackend, 2147483648);
});

/** What each version's real capture holds (test/fixtures/etcd/README.md says how they were taken). */
const VERSIONS: ReadonlyArray<{
  line: string;
  single: { wal: number; commit: number; db: number };
  member: { wal: number; commit: number; db: number; peers: string[] };
  /** Families of the releases' own lists that set this line apart from its neighbours. */
  has: string[];
  lacks: string[];
}> = [
  {
    line: '3.4',
    single: { wal: 305, commit: 80, db: 49152 },
    member: { wal: 307, commit: 81, db: 53248, peers: ['95f7b1f46600f0ef', 'ccb6882114c48aca'] },
    has: ['etcd_debugging_mvcc_db_total_size_in_bytes', 'etcd_debugging_mvcc_put_total'],
    lacks: ['etcd_disk_wal_write_duration_seconds', 'etcd_server_apply_duration_seconds', 'etcd_server_feature_enabled'],
  },
  {
    line: '3.5',
    single: { wal: 306, commit: 62, db: 61440 },
    member: { wal: 309, commit: 58, db: 49152, peers: ['9db990748b1e95db', 'cdebd0d78913f680'] },
    has: ['etcd_disk_wal_write_duration_seconds', 'etcd_server_apply_duration_seconds', 'etcd_debugging_mvcc_range_total'],
    lacks: ['etcd_debugging_mvcc_db_total_size_in_bytes', 'etcd_debugging_mvcc_put_total', 'etcd_server_feature_enabled'],
  },
  {
    line: '3.6',
    single: { wal: 306, commit: 71, db: 49152 },
    member: { wal: 309, commit: 64, db: 61440, peers: ['e9b0d24de887cba0', 'ee688ee2b7935f79'] },
    has: ['etcd_server_feature_enabled', 'etcd_server_range_duration_seconds', 'etcd_network_known_peers'],
    lacks: ['etcd_debugging_mvcc_db_total_size_in_bytes', 'etcd_debugging_mvcc_range_total', 'etcd_server_request_duration_seconds'],
  },
  {
    line: '3.7',
    single: { wal: 306, commit: 63, db: 49152 },
    member: { wal: 307, commit: 69, db: 57344, peers: ['2816d42d6b0c7e77', '31193208be6cce47'] },
    has: ['etcd_server_request_duration_seconds', 'etcd_server_feature_enabled'],
    lacks: ['etcd_debugging_mvcc_db_total_size_in_bytes', 'etcd_debugging_mvcc_range_total'],
  },
];

const typeLines = (body: string): Set<string> => new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));

for (const v of VERSIONS) {
  t.test(`etcd ${v.line}: every family the agent reads is found in a real member's /metrics, whatever the version renamed or added`, async (t) => {
    const single = fixture(`metrics-${v.line}-single.txt`);
    const member = fixture(`metrics-${v.line}-cluster-member.txt`);
    const families = typeLines(single);
    for (const f of v.has) t.ok(families.has(f), `${v.line} has ${f}`);
    for (const f of v.lacks) t.notOk(families.has(f), `${v.line} lacks ${f}`);

    const s = extractEtcdMetrics(single);
    t.same(s.walFsync?.buckets.map((b) => b.le), DISK_LES, 'WAL fsync buckets unchanged: 1 ms … 8.192 s');
    t.same([s.walFsync?.count, s.backendCommit?.count, s.dbSize], [v.single.wal, v.single.commit, v.single.db], 'WAL fsync and commit counts, DB size');
    t.same([s.hasLeader, s.isLeader, s.leaderChanges, s.slowApplies, s.heartbeatSendFailures], [true, true, 1, 0, 0]);
    t.same([s.dbSizeInUse, s.quotaBackend, s.proposalsPending, s.proposalsFailed], [49152, 2147483648, 0, 0]);
    t.equal(s.notes, undefined, 'nothing the agent reads is missing: no note');
    const none = { count: 0, seconds: 0 };
    t.same(s.maintenance, { defrag: none, compaction: none, raft_snapshot: none, db_snapshot: none }, 'every kind of maintenance is read, none done yet');
    t.equal(s.defragInflight, false, 'no defragmentation running');

    const m = extractEtcdMetrics(member);
    t.same([...m.peerRoundTrip.keys()].sort(), v.member.peers, 'peer RTT keyed by the peers\' ids');
    for (const h of m.peerRoundTrip.values()) t.same(h.buckets.map((b) => b.le), RTT_LES, 'peer RTT buckets unchanged: 0.1 ms … 3.2768 s');
    t.same([m.walFsync?.count, m.backendCommit?.count, m.dbSize, m.isLeader], [v.member.wal, v.member.commit, v.member.db, false]);
    t.equal(m.notes, undefined);
  });
}

t.test('a member without some family the agent reads: the rest is read, and a note names what is missing', async (t) => {
  const body = fixture('metrics-3.6-single.txt')
    .split('\n')
    .filter((l) => !/\betcd_server_slow_apply_total\b|\betcd_disk_backend_commit_duration_seconds/.test(l))
    .join('\n');
  const s = extractEtcdMetrics(body);
  t.equal(s.slowApplies, undefined, 'unknown, not 0');
  t.equal(s.backendCommit, undefined);
  t.equal(s.walFsync?.count, 306, 'the WAL histogram is still read');
  t.same(s.notes, ["etcd's /metrics has no etcd_disk_backend_commit_duration_seconds, etcd_server_slow_apply_total: what the agent reads from them is unknown"]);
  t.notOk(isEmptyEtcdSample(s));
  const legacyOnly = extractEtcdMetrics(fixture('metrics-3.4-single.txt').replace(/^etcd_mvcc_db_total_size_in_bytes .*$/m, ''));
  t.equal(legacyOnly.dbSize, 49152, 'the DB size under its pre-3.5 name');
  t.equal(legacyOnly.notes, undefined, 'which counts as present');
});

t.test('extract: fallbacks and odd shapes', async (t) => {
  const legacy = extractEtcdMetrics('etcd_debugging_mvcc_db_total_size_in_bytes 1024\n');
  t.equal(legacy.dbSize, 1024, 'legacy DB size name');
  const both = extractEtcdMetrics('etcd_debugging_mvcc_db_total_size_in_bytes 1\netcd_mvcc_db_total_size_in_bytes 2\n');
  t.equal(both.dbSize, 2, 'the current name wins');

  const noInf = extractEtcdMetrics(
    'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 1\netcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 2\n' +
      'etcd_disk_wal_fsync_duration_seconds_sum 0.1\netcd_disk_wal_fsync_duration_seconds_count 3\n',
  );
  t.same(noInf.walFsync?.buckets, [{ le: 0.001, count: 1 }, { le: 0.002, count: 2 }, { le: Infinity, count: 3 }], 'missing +Inf rebuilt from _count');

  const unordered = extractEtcdMetrics(
    'etcd_disk_backend_commit_duration_seconds_bucket{le="+Inf"} 5\netcd_disk_backend_commit_duration_seconds_bucket{le="0.001"} 2\n',
  );
  t.same(unordered.backendCommit?.buckets.map((b) => b.le), [0.001, Infinity], 'buckets sorted by le');
  t.equal(unordered.backendCommit?.count, 5, 'count from +Inf when _count is absent');

  const onlyBuckets = extractEtcdMetrics('etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 1\n');
  t.equal(onlyBuckets.walFsync, undefined, 'no +Inf and no _count: total unknown → absent');

  const flags = extractEtcdMetrics('etcd_server_has_leader 0\netcd_server_is_leader NaN\n');
  t.equal(flags.hasLeader, false);
  t.equal(flags.isLeader, undefined, 'NaN → unknown');
  t.notOk(isEmptyEtcdSample(flags));
});

t.test('extract: garbage and truncated bodies', async (t) => {
  for (const garbage of ['', 'hello world\n', '<html><body>502 Bad Gateway</body></html>\n', '\u0000\u0001\u0002', 'go_goroutines 42\n']) {
    t.ok(isEmptyEtcdSample(extractEtcdMetrics(garbage)), `no etcd family in ${JSON.stringify(garbage.slice(0, 20))}`);
  }

  // Cut in the middle of the WAL histogram: what came before survives, the half histogram is dropped.
  const cut = SINGLE.indexOf('etcd_disk_wal_fsync_duration_seconds_bucket{le="0.064"}') + 20;
  const truncated = extractEtcdMetrics(SINGLE.slice(0, cut));
  t.ok(truncated.backendCommit, 'backend commit (before the cut) present');
  t.equal(truncated.walFsync, undefined, 'half a histogram (no +Inf, no _count) is absent, not wrong');
  t.equal(truncated.hasLeader, undefined, 'families after the cut absent');

  // Cut inside the last number: "…quota_backend_bytes 2.14" must not read as 2.14.
  const quota = SINGLE.indexOf('etcd_server_quota_backend_bytes 2.147483648e+09');
  const inNumber = extractEtcdMetrics(SINGLE.slice(0, quota + 'etcd_server_quota_backend_bytes 2.14'.length));
  t.equal(inNumber.quotaBackend, undefined, 'an unterminated last line is not trusted');
});
