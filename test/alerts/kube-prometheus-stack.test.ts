// Our rules beside kube-prometheus-stack's default etcd alerts, which are the etcd mixin's at its
// defaults (job=~".*etcd.*"). The mixin is rendered from etcd's own Go module by
// scripts/etcd-mixin.mjs (pinned in tools/etcd-server/versions.json), not copied into the repository.
//
// promtool evaluates both rule files on one set of series shaped as the two scrapes label them
// (kube-prometheus-stack's kube-etcd ServiceMonitor; our ServiceMonitor), and says which alerts fire
// with which labels; a real Alertmanager, given those label sets and deploy/prometheus/
// alertmanager.example.yml, says which it inhibits. So the inhibit rules are checked against labels
// the rules really produce, not against labels we assumed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import YAML from 'yaml';
import { etcdMixinAlertsPath, etcdMixinPin } from '../../scripts/etcd-mixin.mjs';
import { ETCD_DISK_BUCKETS, SCRAPE_JOB } from '../../src/export/prometheus/contract.js';
import { freePort } from '../../harness/etcd-cluster.js';
import { PROMTOOLS, type Promtool } from '../helpers/promtool.js';
import { Cleanups, spawnGroup, tail, waitUntil } from '../../harness/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OUR_RULES = join(ROOT, 'deploy/prometheus/etcd-latency-agent.rules.yaml');
const ALERTMANAGER_CONFIG = join(ROOT, 'deploy/prometheus/alertmanager.example.yml');
const MIXIN_RULES = etcdMixinAlertsPath();
const MIXIN = `the etcd mixin of go.etcd.io/etcd/v3@v${etcdMixinPin().version}`;

const missing = existsSync(MIXIN_RULES)
  ? undefined
  : `${MIXIN} is not rendered (${MIXIN_RULES}): node scripts/etcd-mixin.mjs needs Go and jsonnet`;
if (missing && process.env['CI']) throw new Error(missing);

type Labels = Record<string, string>;
interface Series {
  series: string;
  values: string;
}
interface Fired {
  alertname: string;
  labels: Labels;
}

const MINUTES = 90;
const NODES = [1, 2, 3] as const;
type Node = (typeof NODES)[number];

// ── the two scrapes, labelled as their ServiceMonitors label them ───────────────────────────────────
/** kube-prometheus-stack's kubeEtcd: a Service in kube-system over the static pods, job from its jobLabel. */
const etcdTarget = (cluster: string, n: Node): Labels => ({
  cluster,
  job: 'kube-etcd',
  namespace: 'kube-system',
  service: 'kube-prometheus-stack-kube-etcd',
  endpoint: 'http-metrics',
  pod: `etcd-cp-${n}`,
  instance: `10.0.0.${n}:2381`,
});
/** deploy/agent/servicemonitor.yaml: job set, node copied from the pod. */
const agentTarget = (cluster: string, n: Node, job: string): Labels => ({
  cluster,
  job,
  namespace: 'etcd-latency-agent',
  service: 'etcd-latency-agent',
  endpoint: 'metrics',
  pod: `etcd-latency-agent-x${n}`,
  container: 'agent',
  instance: `10.0.0.${n}:9379`,
  node: `cp-${n}`,
});

const selector = (name: string, labels: Labels): string =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
const series = (name: string, labels: Labels, values: string): Series => ({ series: selector(name, labels), values });
const constant = (v: number): string => `${v}x${MINUTES}`;
const perMinute = (n: number): string => `0+${n}x${MINUTES}`;
const pattern = (unit: number[]): string => Array.from({ length: MINUTES + 1 }, (_, i) => unit[i % unit.length]).join(' ');

/** A cumulative histogram of `perMin` observations a minute, `slow` of them above `slowAbove` seconds. */
function histogram(name: string, labels: Labels, perMin: number, slow = 0, slowAbove = Infinity): Series[] {
  return [...ETCD_DISK_BUCKETS, Infinity].map((le) =>
    series(`${name}_bucket`, { ...labels, le: le === Infinity ? '+Inf' : String(le) }, perMinute(le < slowAbove * 2 ? perMin - slow : perMin)),
  );
}

/** etcd as kube-prometheus-stack scrapes it: three members, a leader, fsyncs and commits in 1–2 ms. */
function etcdMember(cluster: string, n: Node, disk: { slow: boolean; elections: boolean; peerFailuresTo?: string }): Series[] {
  const l = etcdTarget(cluster, n);
  return [
    series('up', l, constant(1)),
    series('etcd_server_has_leader', l, constant(1)),
    series('etcd_server_leader_changes_seen_total', l, disk.elections ? perMinute(1) : constant(1)),
    series('grpc_server_handled_total', { ...l, grpc_code: 'OK', grpc_method: 'Range', grpc_service: 'etcdserverpb.KV', grpc_type: 'unary' }, perMinute(600)),
    // 20 of 600 fsyncs a minute in (2.048 s, 4.096 s]: p99 about 3.5 s; 20 commits in (0.256 s, 0.512 s].
    ...histogram('etcd_disk_wal_fsync_duration_seconds', l, 600, disk.slow ? 20 : 0, 2.048),
    ...histogram('etcd_disk_backend_commit_duration_seconds', l, 600, disk.slow ? 20 : 0, 0.256),
    series('etcd_network_peer_sent_failures_total', { ...l, To: disk.peerFailuresTo ?? 'c1' }, disk.peerFailuresTo ? perMinute(60) : constant(0)),
  ];
}

/** What an agent exports that our rules read, when it is up; etcd's families re-exported with member. */
function agentSeries(cluster: string, n: Node, job: string, o: { up: string; slow?: boolean; elections?: boolean; stallsCritical?: boolean }): Series[] {
  const l = agentTarget(cluster, n, job);
  if (o.up === constant(0)) return [series('up', l, o.up)];
  const member = { ...l, member: `cp-${n}` };
  return [
    series('up', l, o.up),
    series('etcd_latency_agent_etcd_elections_total', l, o.elections ? perMinute(1) : constant(0)),
    ...histogram('etcd_latency_agent_etcd_wal_fsync_duration_seconds', member, 600, o.slow ? 20 : 0, 2.048),
    ...histogram('etcd_latency_agent_etcd_backend_commit_duration_seconds', member, 600, o.slow ? 20 : 0, 0.256),
    series('etcd_latency_agent_finding', { ...l, code: 'stalls_threaten_leadership', severity: 'critical' }, constant(o.stallsCritical ? 1 : 0)),
  ];
}

const MIXIN_ALERTS: string[] = missing
  ? []
  : [...new Set((JSON.parse(readFileSync(MIXIN_RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> }).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))))];
const OUR_ALERTS: string[] = [
  ...new Set((YAML.parse(readFileSync(OUR_RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> }).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])))),
];

/** Parses promtool's `Labels:{a="b", …}` (Go-quoted values). */
function parseLabels(text: string): Labels {
  const labels: Labels = {};
  for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = JSON.parse(`"${m[2]!}"`) as string;
  return labels;
}

/**
 * Which alerts fire at `evalMinute`, with their labels, by both rule files on `input`: promtool is asked
 * to expect none of them, and its report of what it got instead is the answer.
 */
function firing(promtool: Promtool, input: Series[], evalMinute: number): Fired[] {
  const dir = mkdtempSync(join(tmpdir(), 'kps-collision-'));
  try {
    const names = [...MIXIN_ALERTS, ...OUR_ALERTS];
    const doc = {
      rule_files: [MIXIN_RULES, OUR_RULES],
      evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: input, alert_rule_test: names.map((alertname) => ({ eval_time: `${evalMinute}m`, alertname, exp_alerts: [] })) }],
    };
    writeFileSync(join(dir, 'test.yaml'), YAML.stringify(doc));
    const r = spawnSync(promtool.bin, ['test', 'rules', join(dir, 'test.yaml')], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status === 0) return [];
    const fired: Fired[] = [];
    for (const block of out.split(/\n\s*alertname: /).slice(1)) {
      const alertname = /^(\S+?),/.exec(block)?.[1];
      const got = block.split('got:')[1] ?? '';
      for (const m of got.matchAll(/Labels:\{([^\n]*)\}\n/g)) fired.push({ alertname: alertname!, labels: parseLabels(m[1]!) });
    }
    if (fired.length === 0) throw new Error(`${promtool.label} failed without naming an alert:\n${out}`);
    return fired;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const names = (fired: Fired[], from: string[]): string[] => [...new Set(fired.filter((f) => from.includes(f.alertname)).map((f) => `${f.alertname}/${f.labels['severity']}`))].sort();

/** Agents down (cp-1), flapping (cp-2) and restarting (cp-3) beside an etcd that is fine. */
function agentsInTrouble(job: string): Series[] {
  const cluster = 'scs-a';
  return [
    ...NODES.flatMap((n) => etcdMember(cluster, n, { slow: false, elections: false })),
    ...agentSeries(cluster, 1, job, { up: constant(0) }),
    ...agentSeries(cluster, 2, job, { up: pattern([1, 0]) }),
    ...agentSeries(cluster, 3, job, { up: pattern([...Array<number>(17).fill(1), 0, 0, 0]) }),
  ];
}

const runnable = PROMTOOLS.filter((p) => !p.missing);
const skip = missing ?? (runnable.length === 0 ? 'no promtool' : false);

t.test("agents down, flapping or restarting beside a healthy etcd fire none of kube-prometheus-stack's etcd alerts", { skip }, async (t) => {
  t.ok(MIXIN_ALERTS.includes('etcdInsufficientMembers') && MIXIN_ALERTS.length >= 10, `${MIXIN}: ${MIXIN_ALERTS.length} alerts`);
  for (const promtool of runnable) {
    for (const minute of [5, 25, 60, 89]) {
      const fired = firing(promtool, agentsInTrouble(SCRAPE_JOB), minute);
      t.same(names(fired, MIXIN_ALERTS), [], `${promtool.label}, at ${minute} m: no etcd alert of theirs`);
      t.same(
        fired.filter((f) => f.alertname === 'EtcdLatencyAgentDown').map((f) => f.labels['node']),
        ['cp-1'],
        `${promtool.label}, at ${minute} m: ours says the agent on cp-1 is down; the flapping and restarting ones stay under its 5 m`,
      );
    }
  }
});

t.test('with the job named etcd-latency-agent, the same agents page etcdInsufficientMembers (what the job name prevents)', { skip }, async (t) => {
  for (const promtool of runnable) {
    const fired = names(firing(promtool, agentsInTrouble('etcd-latency-agent'), 25), MIXIN_ALERTS);
    t.ok(fired.includes('etcdInsufficientMembers/critical'), `${promtool.label}: ${fired.join(', ')}`);
    t.ok(fired.includes('etcdMembersDown/warning'), promtool.label);
  }
});

/** A slow disk under etcd on cp-1 of `cluster`: its fsyncs and commits, elections, its peers' sends to it failing. */
function slowDisk(cluster: string, agentOnCp1: 'up' | 'down'): Series[] {
  return [
    ...etcdMember(cluster, 1, { slow: true, elections: true }),
    ...etcdMember(cluster, 2, { slow: false, elections: true, peerFailuresTo: 'c1' }),
    ...etcdMember(cluster, 3, { slow: false, elections: true, peerFailuresTo: 'c1' }),
    ...agentSeries(cluster, 1, SCRAPE_JOB, agentOnCp1 === 'up' ? { up: constant(1), slow: true, elections: true, stallsCritical: true } : { up: constant(0) }),
    ...agentSeries(cluster, 2, SCRAPE_JOB, { up: constant(1), elections: true }),
    ...agentSeries(cluster, 3, SCRAPE_JOB, { up: constant(1), elections: true }),
  ];
}

// ── a real Alertmanager with the example configuration ─────────────────────────────────────────────
interface AmAlert {
  labels: Labels;
  fingerprint: string;
  status: { state: string; inhibitedBy: string[] | null };
}

async function startAlertmanager(cleanups: Cleanups, dir: string): Promise<string> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'alertmanager.log');
  const am = spawnGroup('alertmanager', '/usr/bin/prometheus-alertmanager', [
    `--config.file=${ALERTMANAGER_CONFIG}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
  ], { logFile });
  cleanups.add('alertmanager', () => am.stop(), () => am.killSync());
  const ready = await waitUntil(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true, 20_000, 200);
  if (!ready) throw new Error(`Alertmanager did not become ready: ${tail(logFile)}`);
  return url;
}

function amtool(url: string, args: string[]): string {
  const r = spawnSync('amtool', [`--alertmanager.url=${url}`, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`amtool ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const key = (l: Labels): string => `${l['alertname']}/${l['severity']}${l['pod'] ? ` ${l['pod']}` : ''}${l['node'] ? ` ${l['node']}` : ''} ${l['cluster']}`;

t.test('a slow disk is paged once: the example inhibit rules mute the mixin alerts ours explain, and only those', { skip }, async (t) => {
  const minute = 40;
  const [first, ...others] = runnable;
  const withAgent = firing(first!, slowDisk('scs-a', 'up'), minute);
  const agentDown = firing(first!, slowDisk('scs-b', 'down'), minute);
  const sorted = (fired: Fired[]) => fired.map((f) => JSON.stringify({ ...f.labels, alertname: f.alertname })).sort();
  for (const other of others) {
    t.same(sorted(firing(other, slowDisk('scs-a', 'up'), minute)), sorted(withAgent), `${other.label} fires what ${first!.label} fires, with the same labels`);
    t.same(sorted(firing(other, slowDisk('scs-b', 'down'), minute)), sorted(agentDown), `${other.label}, the agent down: the same`);
  }
  // What each rule set says of the same disk problem, with the labels Alertmanager will compare.
  t.same(names(withAgent, MIXIN_ALERTS), [
    'etcdHighCommitDurations/warning',
    'etcdHighFsyncDurations/critical',
    'etcdHighFsyncDurations/warning',
    'etcdHighNumberOfLeaderChanges/warning',
  ]);
  // Their members-down alert has a peer-failure branch, but `or` keeps its up branch for the same pod:
  // the peers' failing sends to the stalled member do not raise it while every scrape succeeds.
  t.notOk(names(withAgent, MIXIN_ALERTS).includes('etcdMembersDown/warning'), 'etcdMembersDown stays silent: no member is down');
  t.same(names(withAgent, OUR_ALERTS), [
    'EtcdBackendCommitSlow/warning',
    'EtcdDiskStallsThreatenLeadership/critical',
    'EtcdDiskStallsThreatenLeadership/warning',
    'EtcdFrequentLeaderElections/critical',
    'EtcdFrequentLeaderElections/warning',
    'EtcdWalFsyncSlow/warning',
  ]);
  const fsync = withAgent.filter((f) => f.alertname === 'etcdHighFsyncDurations' || f.alertname === 'EtcdWalFsyncSlow');
  t.same([...new Set(fsync.map((f) => f.labels['pod']))], ['etcd-cp-1'], 'theirs and ours name the member by the same label: pod');

  const cleanups = new Cleanups();
  const dir = mkdtempSync(join(tmpdir(), 'kps-alertmanager-'));
  t.teardown(async () => {
    await cleanups.run();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await startAlertmanager(cleanups, dir);
  // kube-prometheus-stack's TargetDown (its general rules: by cluster, job, namespace, service) for the
  // agent that is down in scs-b; its rule is not in etcd's module, so this label set is written out.
  const targetDown: Labels = { alertname: 'TargetDown', severity: 'warning', cluster: 'scs-b', job: SCRAPE_JOB, namespace: 'etcd-latency-agent', service: 'etcd-latency-agent' };
  const posted = [...withAgent, ...agentDown].map((f) => ({ ...f.labels, alertname: f.alertname }));
  for (const labels of [...posted, targetDown]) amtool(url, ['alert', 'add', ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);

  // The inhibitor learns of source alerts asynchronously: wait until its answer is stable.
  let alerts: AmAlert[] = [];
  let previous = '';
  await waitUntil(async () => {
    alerts = JSON.parse(amtool(url, ['alert', 'query', '--active', '--inhibited', '-o', 'json'])) as AmAlert[];
    const now = JSON.stringify(alerts.map((a) => [a.fingerprint, a.status.state]).sort());
    const stable = alerts.length === posted.length + 1 && now === previous;
    previous = now;
    if (!stable) await sleep(500);
    return stable;
  }, 20_000);
  t.equal(alerts.length, posted.length + 1, 'Alertmanager holds every alert posted');

  const byFingerprint = new Map(alerts.map((a) => [a.fingerprint, a]));
  const notified = alerts.filter((a) => a.status.state === 'active').map((a) => key(a.labels)).sort();
  t.same(
    notified.filter((k) => k.endsWith('scs-a')),
    [
      'EtcdBackendCommitSlow/warning etcd-cp-1 cp-1 scs-a',
      'EtcdDiskStallsThreatenLeadership/critical etcd-cp-1 cp-1 scs-a',
      'EtcdFrequentLeaderElections/critical scs-a',
    ],
    'scs-a, the agent up: one critical page for the stalls with the remedy, one for the elections, one warning for the commits',
  );
  // Alertmanager names the first rule that mutes an alert: their warning may name their critical, which
  // ours mute in turn. Followed to the end, every chain ends at one of ours.
  const root = (a: AmAlert, seen = 0): AmAlert | undefined => {
    const by = byFingerprint.get(a.status.inhibitedBy?.[0] ?? '');
    return by === undefined || seen > 5 ? (seen === 0 ? undefined : a) : root(by, seen + 1);
  };
  for (const a of alerts.filter((x) => x.labels['cluster'] === 'scs-a' && MIXIN_ALERTS.includes(x.labels['alertname']!))) {
    const by = root(a)?.labels;
    t.ok(by !== undefined && OUR_ALERTS.includes(by['alertname']!), `${key(a.labels)}: muted by ours (${by ? key(by) : 'nothing'})`);
  }
  // Without the agent on the slow member, nothing of ours explains its disk: theirs page as without us.
  t.same(
    notified.filter((k) => k.endsWith('scs-b')),
    [
      'EtcdFrequentLeaderElections/critical scs-b',
      'EtcdLatencyAgentDown/warning etcd-latency-agent-x1 cp-1 scs-b',
      'etcdHighCommitDurations/warning etcd-cp-1 scs-b',
      'etcdHighFsyncDurations/critical etcd-cp-1 scs-b',
    ],
    "scs-b, the slow member's agent down: their fsync and commit alerts are not muted; the elections are the cluster's and ours still count them",
  );
  const muted = alerts.filter((a) => a.status.state !== 'active').map((a) => key(a.labels));
  t.ok(muted.some((k) => k.startsWith('TargetDown/warning') && k.endsWith('scs-b')), 'TargetDown for the agents says less than EtcdLatencyAgentDown: muted by it');
});
