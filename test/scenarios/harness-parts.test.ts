// The scenario harness's own pieces that need no cluster: reading strace's logs, the per-member
// strace wrapper, the Prometheus configuration and rule files, histogram extraction, the clean-up
// registry. Fast; the scenarios themselves are in scenarios.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { quantile } from '../../src/lib/histogram.js';
import { countBetween, etcdStraceLog, etcdStraceWrap, readStraceLog, STRACE_BIN, straceArgs } from './faults.js';
import { histogramOf, parseFamilies, valueOf, windowQuantiles } from './observe.js';
import { Cleanups, alive, spawnGroup } from '../../harness/processes.js';
import { collectRuleFiles, prometheusConfig, PROMTOOL_BIN, targetOf } from './prometheus.js';
import { renderResult, type ScenarioResult } from './report.js';
import { SCENARIOS } from './scenarios.js';
import { gridPoints, predictsElections, summarize, withinFactorTwo, type GridRow } from './grid.js';

const tmp = (t: { teardown(fn: () => void): void }, prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
};

t.test('readStraceLog: finished calls, delayed ones, and calls split by another thread', async (t) => {
  const dir = tmp(t, 'strace-log-');
  const file = join(dir, 's.log');
  writeFileSync(
    file,
    [
      '100 1700000000.001000 fdatasync(9)           = 0',
      '101 1700000000.500000 fdatasync(11 <unfinished ...>',
      '100 1700000000.600000 fdatasync(9)           = 0 (DELAYED)',
      '101 1700000002.000000 <... fdatasync resumed>) = 0 (DELAYED)',
      '102 1700000003.000000 fdatasync(12 <unfinished ...>', // still running when read: not counted
      '100 1700000004.000000 +++ exited with 0 +++',
      '',
    ].join('\n'),
  );
  const log = readStraceLog(file);
  t.same(log.calls, [1700000000001, 1700000000600, 1700000000500]);
  t.same(log.delayed, [{ at: 1700000000600, fd: 9 }, { at: 1700000000500, fd: 11 }], 'a resumed call is timed (and its fd taken) at its entry');
  t.equal(countBetween(log.delayed.map((d) => d.at), 1700000000550, 1700000001000), 1);
  t.same(readStraceLog(join(dir, 'absent.log')), { calls: [], delayed: [] }, 'no log: nothing');
});

t.test('straceArgs: the injection expression of the issue', async (t) => {
  const args = straceArgs({ stallMs: 1500, every: 15, first: 20 }, '/x/log');
  t.ok(args.includes('inject=fdatasync:delay_enter=1500ms:when=20+15'));
  t.ok(args.includes('trace=fdatasync'));
  t.same(args.slice(args.indexOf('-o'), args.indexOf('-o') + 2), ['-o', '/x/log']);
});

t.test('etcdStraceWrap: each member under strace with its own FIRST and log', { skip: existsSync(STRACE_BIN) ? false : 'needs strace' }, async (t) => {
  const dir = tmp(t, 'strace-wrap-');
  const wrap = etcdStraceWrap(dir, { stallMs: 10, every: 2 }, new Map([['m0', 1], ['m1', 3]]));
  const script = readFileSync(wrap[1]!, 'utf8');
  t.match(script, /m0\) first=1 ;;/);
  t.match(script, /m1\) first=3 ;;/);
  // Run a command that fdatasyncs 4 times under the wrapper as member m1: calls 3 (and 5…) are delayed.
  const py = 'import os\nfd=os.open(os.environ["F"],os.O_WRONLY|os.O_CREAT)\nfor i in range(4):\n  os.write(fd,b"x"); os.fdatasync(fd)\n';
  const r = spawnSync(wrap[0]!, [wrap[1]!, 'python3', '-c', py, '--name=m1'], { env: { ...process.env, F: join(dir, 'f') }, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const log = readStraceLog(etcdStraceLog(dir, 'm1'));
  t.equal(log.calls.length, 4);
  t.equal(log.delayed.length, 1, 'the 3rd call of the thread is delayed, the 5th never comes');
  const untraced = spawnSync(wrap[0]!, [wrap[1]!, 'python3', '-c', py, '--name=m2'], { env: { ...process.env, F: join(dir, 'g') }, encoding: 'utf8' });
  t.equal(untraced.status, 0, untraced.stderr);
  t.notOk(existsSync(etcdStraceLog(dir, 'm2')), 'a member the map does not name runs untraced: no strace log');
});

const exposition = `# HELP etcd_disk_wal_fsync_duration_seconds x
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 5
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 9
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 10
etcd_disk_wal_fsync_duration_seconds_sum 0.5
etcd_disk_wal_fsync_duration_seconds_count 10
# TYPE etcd_server_is_leader gauge
etcd_server_is_leader 1
# TYPE etcd_latency_agent_source_up gauge
etcd_latency_agent_source_up{source="etcd_api"} 0
etcd_latency_agent_source_up{source="fsync_probe"} 1
`;

t.test('histogramOf / valueOf / windowQuantiles on Prometheus text', async (t) => {
  const s = parseFamilies(exposition, ['etcd_disk_wal_fsync_duration_seconds', 'etcd_server_is_leader', 'etcd_latency_agent_source_up']);
  const h = histogramOf(s, 'etcd_disk_wal_fsync_duration_seconds')!;
  t.same(h.buckets.map((b) => b.count), [5, 9, 10]);
  t.equal(h.count, 10);
  t.equal(quantile(h, 0.5), 0.001);
  t.equal(valueOf(s, 'etcd_server_is_leader'), 1);
  t.equal(valueOf(s, 'etcd_latency_agent_source_up', { source: 'etcd_api' }), 0);
  const before = { buckets: [{ le: 0.001, count: 5 }, { le: 0.002, count: 5 }, { le: Infinity, count: 5 }], sum: 0.1, count: 5 };
  const w = windowQuantiles(before, h)!;
  t.equal(w.count, 5, 'only what happened in between');
  t.equal(w.maxBound, Infinity, 'one observation above the last finite edge');
});

t.test('prometheusConfig: 1 s scrapes of every target, accepted by promtool', { skip: existsSync(PROMTOOL_BIN) ? false : 'needs promtool' }, async (t) => {
  const dir = tmp(t, 'prom-config-');
  const text = prometheusConfig(
    {
      'latency-agent': [targetOf('http://127.0.0.1:9379/metrics', { node: 'm0' })],
      etcd: [targetOf('http://127.0.0.1:2381/metrics', { node: 'm0' })],
    },
    [],
  );
  const cfg = JSON.parse(text) as { global: Record<string, string>; scrape_configs: Array<{ job_name: string }> };
  t.equal(cfg.global['scrape_interval'], '1s');
  t.equal(cfg.global['evaluation_interval'], '1s');
  t.same(cfg.scrape_configs.map((c) => c.job_name), ['latency-agent', 'etcd']);
  writeFileSync(join(dir, 'p.yml'), text);
  execFileSync(PROMTOOL_BIN, ['check', 'config', join(dir, 'p.yml')], { stdio: 'ignore' });
});

t.test('collectRuleFiles: plain rule files, PrometheusRule objects unwrapped, invalid ones reported', { skip: existsSync(PROMTOOL_BIN) ? false : 'needs promtool' }, async (t) => {
  const rules = tmp(t, 'rules-src-');
  const out = tmp(t, 'rules-out-');
  const rule = '    rules:\n      - alert: Up\n        expr: up == 0\n        for: 1m\n';
  writeFileSync(join(rules, 'a.rules.yaml'), `groups:\n  - name: a\n${rule}`);
  writeFileSync(join(rules, 'b.rules.yaml'), `apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: b\nspec:\n  groups:\n    - name: b\n  ${rule.replace(/\n(?=.)/g, '\n  ')}`);
  writeFileSync(join(rules, 'c.rules.yaml'), 'groups:\n  - name: c\n    rules:\n      - alert: Broken\n        expr: up ==\n');
  writeFileSync(join(rules, 'ignored.yaml'), 'groups: []\n');
  const r = collectRuleFiles(out, rules);
  t.equal(r.loaded.length, 2, JSON.stringify(r));
  t.ok(r.loaded.some((f) => f.endsWith('a.rules.yaml')), 'a plain file is used as it is');
  t.ok(r.loaded.some((f) => f.startsWith(out) && f.endsWith('b.rules.json')), 'a PrometheusRule is unwrapped');
  t.equal(r.rejected.length, 1);
  t.match(r.rejected[0]!.file, /c\.rules\.yaml$/);
  t.same(collectRuleFiles(out, join(rules, 'absent')), { loaded: [], rejected: [] }, 'no directory: no rules');
});

t.test('Cleanups: newest first, a process group is gone after run()', async (t) => {
  const dir = tmp(t, 'cleanups-');
  const order: string[] = [];
  const c = new Cleanups();
  c.add('first', () => void order.push('first'), () => undefined);
  const g = spawnGroup('sleeper', '/bin/sh', ['-c', 'sleep 300 & sleep 300'], { logFile: join(dir, 'log') });
  c.add('sleeper', () => g.stop({ graceMs: 2000 }), () => g.killSync());
  const remove = c.add('removed', () => void order.push('removed'), () => undefined);
  remove();
  c.add('last', () => void order.push('last'), () => undefined);
  t.ok(alive(g.pgid));
  t.same(await c.run(), []);
  t.same(order, ['last', 'first']);
  t.notOk(alive(g.pgid), 'the group leader is gone');
});

t.test('every named scenario is valid, and a result renders', async (t) => {
  const names = SCENARIOS.map((s) => s.name);
  t.same(names, ['healthy', 'slow-disk', 'slow-disk-tuned', 'slow-follower', 'short-stalls', 'frozen-leader', 'member-down', 'noisy-shared', 'noisy-separate']);
  for (const s of SCENARIOS) t.ok(s.electionMs >= 5 * s.heartbeatMs, `${s.name}: etcd accepts hb ${s.heartbeatMs} / et ${s.electionMs}`);
  const r: ScenarioResult = {
    scenario: 'x',
    startedAt: '2026-01-01T00:00:00.000Z',
    settings: { heartbeatMs: 100, electionMs: 1000, members: 3 },
    fault: { kind: 'none', description: 'none' },
    expect: 'no elections',
    durationSeconds: 10,
    observed: { elections: 0, termBefore: 2, termAfter: 2, settled: true, stalls: 0, leaderTimeline: [], etcd: { walFsyncCount: 0, backendCommitCount: 0 }, members: [] },
    load: { rate: 10, attempted: 0, succeeded: 0, failed: 0, skipped: 0 },
    agents: [{ member: 'm0', elections: 0, observedTermIncrease: 0, electionsMatch: true, probe: { count: 0 }, findings: [], recommendation: { heartbeatMs: 100, electionMs: 1000 } }],
    alerts: [],
    alertsPending: [],
    ruleFiles: [],
    notes: [],
  };
  t.match(renderResult(r), /m0\s+—\s+—\s+—\s+0\s+yes/);
});

t.test('gridPoints: a point predicts elections when a run expects at least one more likely than not, and observed them when at least half its runs had any', async (t) => {
  t.equal(predictsElections(0.69), false, 'λ = 0.69: P(≥ 1) just under ½');
  t.equal(predictsElections(0.7), true, 'λ = 0.7: P(≥ 1) just over ½');
  const row = (stallMs: number, repeat: number, predictedElections: number | undefined, elections: number, error?: string): GridRow => ({
    heartbeatMs: 100,
    electionMs: 1000,
    stallMs,
    repeat,
    elections,
    ...(predictedElections !== undefined ? { predictedElections } : {}),
    ...(error ? { error } : {}),
  });
  const points = gridPoints([
    row(700, 1, 0, 0),
    row(700, 2, 0, 1), // an election the model did not expect
    row(1500, 1, 3.2, 4),
    row(1500, 2, 2.9, 0), // one run of two saw none: half did, so the point did
    row(2500, 1, 0.4, 0),
    row(2500, 2, 0.4, 0), // λ = 0.4 a run (0.8 pooled): not more likely than not in a run, and none came
    row(2800, 1, 0.9, 0),
    row(2800, 2, 0.9, 0), // λ = 0.9 a run: predicted, none came
    row(3000, 1, undefined, 2), // no prediction (agents without a diagnosis): not scored
    row(3000, 2, 9, 9, 'etcd did not start'), // failed: not scored
  ]);
  t.same(
    points.map((p) => [p.stallMs, p.predictedRuns, p.predicted, p.observed, p.runsMatching]),
    [
      [700, 2, false, true, 1],
      [1500, 2, true, true, 1],
      [2500, 2, false, false, 2],
      [2800, 2, true, false, 0],
      [3000, 0, false, false, 0],
    ],
  );
  t.match(summarize([row(700, 1, 0, 0), row(1500, 1, 3, 2)]), /predicted = observed in 2 of 2 points; 2 of 2 runs/);
});

t.test('gridPoints: the rate bar compares the pooled prediction with the leader changes, only where elections happened', async (t) => {
  const row = (stallMs: number, predictedElections: number, elections: number, leaderChanges: number): GridRow => ({
    heartbeatMs: 100,
    electionMs: 1000,
    stallMs,
    repeat: 1,
    elections,
    leaderChanges,
    predictedElections,
  });
  const points = gridPoints([
    row(700, 0.2, 0, 0), // nothing happened: no rate to judge
    row(1200, 1.8, 2, 1),
    row(1200, 1.7, 0, 0), // pooled 3.5 against 1 leader change: above ×2
    row(1800, 10, 19, 11), // term increases (3.4's split votes) do not count against it
    row(2500, 4, 0, 2), // 4 against 2: exactly ×2, within
    row(3000, 1, 0, 3), // 1 against 3: below ½
  ]);
  t.same(
    points.map((p) => [p.stallMs, p.observedLeaderChanges, p.rateWithinTwo]),
    [
      [700, 0, undefined],
      [1200, 1, false],
      [1800, 11, true],
      [2500, 2, true],
      [3000, 3, false],
    ],
  );
  t.equal(withinFactorTwo(1, 2), true, '½ is within');
  t.equal(withinFactorTwo(0.99, 2), false);
  t.match(summarize([row(1800, 10, 19, 11), row(1200, 3.5, 1, 1)]), /rate within ×2 of the leader changes: 1 of 2 points where elections happened/);
});
