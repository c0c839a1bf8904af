// The dashboards and alert rules on live data: the scenario harness (test/scenarios/harness.ts) runs a
// real 3-member etcd cluster with one real agent per member and a real Prometheus that scrapes them
// every second and evaluates deploy/prometheus/*.rules.yaml; `slow-disk` delays every 15th fdatasync
// of etcd and of the agents' probes by 2 s (strace), `healthy` injects nothing. In both, etcd's data is
// on a loop device of the scenario's own and each member runs in a static pod's cgroup
// (test/scenarios/static-pods.ts), so the per-cgroup writer panel has real data; each agent also
// probes a candidate filesystem (--candidate-dir, in the scenario's directory on this machine's disk),
// so the node dashboard's candidate table has real data (in slow-disk the strace delays reach the
// candidate's fdatasyncs too, so the settings it would need are shown as well); and the harness
// compacts the keyspace halfway through, as kube-apiserver does every 5 minutes, so the maintenance
// annotation has something to mark.
//
// After each run the scenario's Prometheus data is reopened by a fresh Prometheus (the harness keeps
// the directory on request), and every query of both dashboards — Grafana's variables substituted as
// Grafana would — is run as a range query over the scenario, as the panel would run it:
// - slow-disk: every panel query and both annotations (elections, stalls) return data, and the
//   hour-of-day panels put the scenario's elections and stalls in the hour it ran;
// - healthy: every query that needs no fault returns data (docs/dashboards.md lists those that do);
// and the alerts, read from the ALERTS series Prometheus recorded (and the harness's own report):
// - slow-disk: EtcdFrequentLeaderElections fires (its for: is 1m; pending when its expression began to
//   hold in the last minute of the run); the alerts whose for: is longer than
//   the scenario (10–15 m) are at least pending — their expressions hold on the live data, and
//   deploy/prometheus/tests/ proves with promtool how for: turns them into firing alerts;
// - healthy: none fires.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { parseDuration } from '../../src/lib/units.js';
import { METRICS } from '../../src/export/prometheus/contract.js';
import { dashboardQueries, type QueryRef } from '../../generate/dashboards/index.js';
import { metricNames, substituteVariables } from '../../generate/dashboards/promql.js';
import { CLI } from '../../harness/agent-process.js';
import { ETCD_BIN } from '../../harness/etcd-cluster.js';
import { STRACE_BIN } from '../scenarios/faults.js';
import { OUTSIDE_POD_CGROUPS, runScenario } from '../scenarios/harness.js';
import { Cleanups } from '../../harness/processes.js';
import { PROMETHEUS_BIN, RULES_DIR, startPrometheus, type PrometheusServer } from '../scenarios/prometheus.js';
import type { ScenarioResult } from '../scenarios/report.js';
import { scenarioByName, withOverrides, type ScenarioSpec } from '../scenarios/scenarios.js';

// Two scenarios of about 1.5 minutes each, their start-up and teardown.
t.setTimeout(15 * 60_000);

const missing = [ETCD_BIN, PROMETHEUS_BIN, STRACE_BIN, CLI].filter((f) => !existsSync(f));
const skip = missing.length > 0 ? `needs ${missing.join(', ')} (npm test installs the Debian packages and builds the agent)` : false;

/** Expected alerts in slow-disk. */
const MUST_FIRE = ['EtcdFrequentLeaderElections'];
const MUST_BE_ACTIVE = [
  'EtcdWalFsyncSlow',
  'EtcdBackendCommitSlow',
  'EtcdDiskStallsThreatenLeadership',
  'EtcdFrequentLeaderElections',
  'EtcdTuningRecommended',
];

/** The alert rules as the scenario's Prometheus evaluated them: expression and `for:` of each alert. */
const ALERT_RULES = (YAML.parse(readFileSync(join(RULES_DIR, 'etcd-latency-agent.rules.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; expr: string; for?: string }> }> }).groups
  .flatMap((g) => g.rules)
  .filter((r): r is { alert: string; expr: string; for?: string } => r.alert !== undefined);

/** Rules are evaluated every second and the range queries step by 2 s: how far past `for:` an alert must be to be firing. */
const FIRING_MARGIN_S = 5;

interface Reopened {
  readonly result: ScenarioResult;
  readonly prom: PrometheusServer;
  readonly start: number;
  readonly end: number;
  /** Members' names (the node label of every agent series). */
  readonly nodes: string[];
}

/** Runs `spec` keeping its directory, then serves its Prometheus data again (read-only use). */
async function runAndReopen(t: Test, spec: ScenarioSpec): Promise<Reopened> {
  let dir: string | undefined;
  const log = (line: string) => {
    const kept = /^keeping (.+)$/.exec(line);
    if (kept) dir = kept[1];
    t.comment(`[${spec.name}] ${line}`);
  };
  const result = await runScenario(spec, { log, keepDir: true, candidates: true, compaction: true });
  if (!dir) throw new Error('the harness did not say where it kept the scenario directory');
  const kept = dir;
  t.teardown(() => rmSync(kept, { recursive: true, force: true }));
  const cleanups = new Cleanups();
  t.teardown(async () => {
    await cleanups.run();
  });
  // No scrape targets: only the recorded data, as it was when the scenario's Prometheus stopped.
  const prom = await startPrometheus(cleanups, join(kept, 'prometheus'), {});
  const last = await prom.query('max(timestamp(etcd_latency_agent_build_info))');
  const end = last[0]?.value;
  if (end === undefined || !Number.isFinite(end)) throw new Error("the scenario's Prometheus data has no agent series");
  // Over a range: a failed last scrape (an agent slowed by the fault) leaves staleness markers, and an
  // instant query at the end would miss that agent.
  const nodes = (await prom.query('count by (node) (last_over_time(etcd_latency_agent_build_info[10m]))')).map((r) => r.metric['node']!).sort();
  return { result, prom, start: Date.parse(result.startedAt) / 1000, end, nodes };
}

interface Series {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

async function queryRange(prom: PrometheusServer, expr: string, start: number, end: number): Promise<Series[]> {
  const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: '2' });
  const res = await fetch(`${prom.url}/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(20_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Series[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? res.status}`);
  return body.data!.result;
}

const finitePoints = (series: Series[]) => series.reduce((n, s) => n + s.values.filter(([, v]) => Number.isFinite(Number(v))).length, 0);

/** Grafana's variables as the panel would send them: "All" clusters; all nodes, or one on the node dashboard. */
function variablesFor(q: QueryRef, node: string): Record<string, string> {
  return {
    datasource: 'prometheus',
    cluster: '.*',
    node: q.dashboard === 'etcd-latency-node.json' ? node : '.*',
    // Grafana's $__rate_interval is max(4 × scrape interval, $__interval + scrape interval): at a 1 s
    // scrape and a short time range, a few seconds; 15 s keeps several samples in every window.
    __rate_interval: '15s',
    __interval: '2s',
    __range: '5m',
  };
}

/** Queries that read etcd's block device: empty when the data dir is on a filesystem without one (tmpfs). */
const readsDevice = (q: QueryRef) => metricNames(q.expr).some((n) => n.startsWith('etcd_latency_agent_disk_') && n !== 'etcd_latency_agent_disk_recommendation');

/** Runs every dashboard query over the scenario; returns the ones without data. */
async function emptyQueries(t: Test, r: Reopened, wanted: (q: QueryRef) => boolean): Promise<{ checked: QueryRef[]; empty: QueryRef[] }> {
  const hasDevice = (await r.prom.query('count(etcd_latency_agent_disk_info)')).length > 0;
  if (!hasDevice) t.comment("the agents found no block device under etcd's data dir (tmpfs?): the device panels are not checked");
  const podCgroups = !r.result.notes.some((n) => n.startsWith(OUTSIDE_POD_CGROUPS));
  if (!podCgroups) t.comment('etcd ran outside pod cgroups (no cgroup v1 blkio here): the per-cgroup writer queries are not checked');
  const checked: QueryRef[] = [];
  const empty: QueryRef[] = [];
  for (const q of dashboardQueries()) {
    if (!wanted(q) || (!hasDevice && readsDevice(q)) || (!podCgroups && q.expect === 'io-accounting')) continue;
    checked.push(q);
    const expr = substituteVariables(q.expr, variablesFor(q, r.nodes[0]!));
    const series = await queryRange(r.prom, expr, r.start, r.end);
    if (finitePoints(series) === 0) empty.push(q);
  }
  return { checked, empty };
}

/** No kube-state-metrics runs here: the queries that read it are named, not checked. */
function commentUnchecked(t: Test): void {
  const ksm = dashboardQueries().filter((q) => q.expect === 'kube-state-metrics');
  t.comment(`not checked, no kube-state-metrics here: ${ksm.map((q) => `${q.dashboard}: ${q.where}`).join('; ')}`);
}

/**
 * How long past its `for:` some rule of alert `name` had held by the end of the scenario (negative: not
 * long enough to fire; -Infinity: its expression never held), from the recorded data.
 */
async function pastFor(r: Reopened, name: string): Promise<number> {
  let best = -Infinity;
  for (const rule of ALERT_RULES.filter((a) => a.alert === name)) {
    const series = await queryRange(r.prom, rule.expr, r.start, r.end);
    const first = Math.min(...series.flatMap((x) => x.values.map(([ts]) => ts)));
    if (Number.isFinite(first)) best = Math.max(best, r.end - first - (parseDuration(rule.for ?? '0s') ?? 0) / 1000);
  }
  return best;
}

/** Alert names that were in `state` at any evaluation of the scenario, from the ALERTS series. */
async function alertsIn(r: Reopened, state: 'pending' | 'firing'): Promise<string[]> {
  const series = await queryRange(r.prom, `count by (alertname) (ALERTS{alertstate="${state}"})`, r.start, r.end);
  return series.map((s) => s.metric['alertname']!).sort();
}

t.test('slow-disk: every panel query returns data, and the expected alerts fire or are pending', { skip }, async (t) => {
  const spec = scenarioByName('slow-disk')!;
  // Long enough for EtcdFrequentLeaderElections (≥ 2 elections in a day, for 1m) to fire when the
  // elections come early. 2 s stalls as in test/scenarios/scenarios.test.ts: every leader stall elects.
  const stalls = spec.fault.kind === 'slow-disk' ? { fault: { ...spec.fault, stallMs: 2000 } } : {};
  // A loop device of its own, as healthy has: the harness turns the kernel's per-cgroup accounting on
  // only for a device it made.
  const r = await runAndReopen(t, withOverrides(spec, { measureSeconds: 75, storage: 'ram-disk', ...stalls }));
  t.ok(r.result.ruleFiles.length > 0, `the harness loaded the rules: ${r.result.ruleFiles.join(', ')}`);
  t.notOk(r.result.notes.some((n) => n.startsWith('rule file not loaded')), 'no rule file was rejected');
  t.ok(r.result.observed.elections >= 3, `the slow disk cost elections (${r.result.observed.elections})`);
  t.same(r.nodes, ['m0', 'm1', 'm2'], 'one agent per member, each with its node label');

  const { checked, empty } = await emptyQueries(t, r, (q) => q.expect !== 'kube-state-metrics');
  commentUnchecked(t);
  t.ok(checked.length > 60, `${checked.length} panel and annotation queries run`);
  t.same(
    empty.map((q) => `${q.dashboard}: ${q.where}`),
    [],
    'every query has data in slow-disk',
  );
  // The hour-of-day panels: the scenario's elections and stalls stand in the UTC hour(s) it ran, no other.
  const ranHours = [...new Set([r.start, r.end].map((s) => String(new Date(s * 1000).getUTCHours()).padStart(2, '0')))];
  for (const q of dashboardQueries().filter((q) => q.where.startsWith('Elections and stalls by hour of day'))) {
    const series = await queryRange(r.prom, substituteVariables(q.expr, variablesFor(q, r.nodes[0]!)), r.end - 2, r.end);
    const busy = series.filter((s) => Number(s.values.at(-1)?.[1]) > 0).map((s) => s.metric['hour_utc']!);
    t.ok(busy.length > 0 && busy.every((h) => ranHours.includes(h)), `${q.dashboard}: ${q.where}: events at hour(s) ${busy.join(', ') || 'none'} UTC, the scenario's`);
  }

  const firing = await alertsIn(r, 'firing');
  const pending = await alertsIn(r, 'pending');
  t.comment(`firing: ${firing.join(', ') || 'none'}; pending: ${pending.join(', ') || 'none'}; the harness saw fired: ${r.result.alerts.join(', ') || 'none'}`);
  // An alert whose expression began to hold in the window's last minute is rightly pending, not firing:
  // the elections came late in this run. deploy/prometheus/tests/ pins the for: arithmetic itself.
  for (const name of MUST_FIRE) {
    const past = await pastFor(r, name);
    if (past >= FIRING_MARGIN_S) t.ok(firing.includes(name), `${name} fired (its expression held ${past.toFixed(0)} s past its for:)`);
    else if (past >= 0) t.ok(firing.includes(name) || pending.includes(name), `${name} pending or firing (its expression held just about its for:)`);
    else t.ok(Number.isFinite(past) && pending.includes(name), `${name} is pending: its expression ${Number.isFinite(past) ? `held, ${(-past).toFixed(0)} s short of its for: (late elections)` : 'never held'}`);
  }
  for (const name of MUST_BE_ACTIVE) t.ok(firing.includes(name) || pending.includes(name), `${name} is pending or firing`);
  const shared = (await r.prom.query('count(etcd_latency_agent_disk_info{shared_with!=""})')).length > 0;
  if (shared) t.ok(firing.includes('EtcdSeparateDiskRecommended') || pending.includes('EtcdSeparateDiskRecommended'), 'EtcdSeparateDiskRecommended is pending or firing (etcd shares its disk here)');
  t.notOk(firing.includes('EtcdLatencyAgentDown'), 'the agents stayed scrapeable');
});

t.test('healthy: every query that needs no fault returns data, and no alert fires', { skip }, async (t) => {
  const spec = scenarioByName('healthy')!;
  // Longer than the 1m for: of the fastest alert, so a wrong one would have time to fire.
  const r = await runAndReopen(t, withOverrides(spec, { measureSeconds: 70 }));
  t.ok(r.result.ruleFiles.length > 0, 'the harness loaded the rules');
  t.equal(r.result.observed.elections, 0, 'no election in the window');

  const { checked, empty } = await emptyQueries(t, r, (q) => q.expect !== 'fault' && q.expect !== 'kube-state-metrics');
  t.ok(checked.length > 50, `${checked.length} queries that need no fault run`);
  t.same(
    empty.map((q) => `${q.dashboard}: ${q.where}`),
    [],
    'every query marked always/cluster has data on a healthy cluster',
  );
  if (!r.result.notes.some((n) => n.startsWith(OUTSIDE_POD_CGROUPS))) {
    const pods = await r.prom.query(`count by (writer_namespace, writer_pod, writer_container) (last_over_time(${METRICS.cgroupWriteRate.name}{kind="pod"}[10m]))`);
    t.same(
      pods.map((s) => `${s.metric['writer_namespace']}/${s.metric['writer_pod']} ${s.metric['writer_container']}`).sort(),
      ['kube-system/etcd-m0 etcd', 'kube-system/etcd-m1 etcd', 'kube-system/etcd-m2 etcd'],
      "the writers panel names each member's static pod and container, as on a kubeadm node",
    );
  }
  const faultOnly = await emptyQueries(t, r, (q) => q.expect === 'fault');
  t.comment(`queries that need a fault, empty in healthy: ${faultOnly.empty.length} of ${faultOnly.checked.length}`);

  const firing = await alertsIn(r, 'firing');
  const pending = await alertsIn(r, 'pending');
  t.comment(`pending at some point in healthy (the 5 m windows see this host's disk): ${pending.join(', ') || 'none'}`);
  t.same(firing, [], 'no alert fired');
  t.same(r.result.alerts, [], "and the harness's own report agrees");
});
