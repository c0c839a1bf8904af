// deploy/prometheus/: the rules file is clean for promtool, its unit tests (deploy/prometheus/tests/)
// pass, every alert carries what an operator needs (for:, severity, summary, description with figures,
// a runbook that exists), every series it reads exists, the thresholds are the agent's defaults and the
// exactness claims hold (alerts on bucket edges of etcd's histograms), and the Alertmanager example is
// valid and routes by severity.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import { contractSeries, etcdSeries, NODE_EXPORTER_SERIES, PROMETHEUS_SERIES, recordedNames } from '../../generate/dashboards/known-metrics.js';
import { metricNames } from '../../generate/dashboards/promql.js';
import { RULE } from '../../generate/rule-names.js';
import { PROMTOOLS } from '../helpers/promtool.js';
import { PROBE_BUCKETS } from '../../src/sources/fsync-probe.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = join(ROOT, 'deploy/prometheus');
const RULES_FILE = join(DIR, 'etcd-latency-agent.rules.yaml');
const TESTS_DIR = join(DIR, 'tests');
const ALERTMANAGER = join(DIR, 'alertmanager.example.yml');
const RUNBOOK_PREFIX = 'https://github.com/etcd-latency-agent/etcd-latency-agent/blob/main/docs/runbooks/';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RulesFile {
  groups: Array<{ name: string; interval?: string; rules: Rule[] }>;
}

const text = readFileSync(RULES_FILE, 'utf8');
const rules = YAML.parse(text) as RulesFile;
const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));
const alertNames = [...new Set(alerts.map((a) => a.alert!))];

/** The list, by name: every one must exist. */
const REQUIRED_ALERTS = [
  'EtcdWalFsyncSlow',
  'EtcdBackendCommitSlow',
  'EtcdDiskStallsThreatenLeadership',
  'EtcdFrequentLeaderElections',
  'EtcdTuningRecommended',
  'EtcdSeparateDiskRecommended',
  'EtcdDeviceSaturated',
  'EtcdLatencyAgentDown',
  'EtcdLatencyAgentSourceDown',
];

/** Where each tool comes from (Debian), for a clear message when it is missing. */
const PACKAGE_OF: Record<string, string> = { promtool: 'prometheus', amtool: 'prometheus-alertmanager' };

function run(file: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(file, args, { encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(`${file} is not installed: apt-get install ${PACKAGE_OF[file] ?? file} (scripts/ensure-test-deps.mjs installs it for npm test)`);
  }
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const durationSeconds = (d: string): number => {
  const m = /^(\d+)([smhd])$/.exec(d);
  if (!m) throw new Error(`unsupported duration ${d}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
};

/** Go-template `query` strings in an annotation: the PromQL inside printf's raw strings, %s filled in. */
function templateQueries(annotation: string): string[] {
  return [...annotation.matchAll(/query \(printf `([^`]*)`/g)].map((m) => m[1]!.replace(/%s/g, 'x'));
}

t.test('the rules file: only groups: at top level, promtool check rules clean (all lints fatal), for Prometheus 2.42 and 3', async (t) => {
  t.same(Object.keys(YAML.parse(text) as object), ['groups'], 'a plain rules file that scripts/gen-deploy.mjs can embed');
  for (const p of PROMTOOLS) {
    await t.test(p.label, { skip: p.missing ?? false }, async (t) => {
      const r = run(p.bin, ['check', 'rules', '--lint=all', '--lint-fatal', RULES_FILE]);
      t.equal(r.status, 0, r.out);
      t.match(r.out, /SUCCESS: \d+ rules found/);
      t.notMatch(r.out, /warning|WARNING/, 'no warnings');
    });
  }
});

t.test('promtool test rules: every alert fires on the bad series, stays silent on healthy ones and on a single spike, on Prometheus 2.42 and 3', async (t) => {
  const files = readdirSync(TESTS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(TESTS_DIR, f));
  t.ok(files.length >= 4, 'test files');
  for (const p of PROMTOOLS) {
    await t.test(p.label, { skip: p.missing ?? false }, async (t) => {
      const r = run(p.bin, ['test', 'rules', ...files]);
      t.equal(r.status, 0, r.out);
      t.notMatch(r.out, /FAILED/);
    });
  }

  // Each alert (and each severity of it) has a test where it fires and one where it must be silent.
  const fires = new Set<string>();
  const silent = new Set<string>();
  for (const f of files) {
    const doc = YAML.parse(readFileSync(f, 'utf8')) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: Array<{ exp_labels?: Record<string, string> }> }> }>;
    };
    t.same(doc.rule_files, ['../etcd-latency-agent.rules.yaml'], `${f}: tests the real rules file`);
    for (const test of doc.tests) {
      for (const a of test.alert_rule_test ?? []) {
        if (!a.exp_alerts || a.exp_alerts.length === 0) silent.add(a.alertname);
        for (const e of a.exp_alerts ?? []) fires.add(`${a.alertname}/${e.exp_labels?.['severity'] ?? '?'}`);
      }
    }
  }
  for (const a of alerts) {
    t.ok(fires.has(`${a.alert}/${a.labels?.['severity']}`), `${a.alert} (${a.labels?.['severity']}) fires in a test`);
    t.ok(silent.has(a.alert!), `${a.alert} is expected silent at some point (healthy series, single spike, before for: elapses)`);
  }
});

t.test('every alert the issue asks for exists, with for:, severity, summary, description and a runbook that exists', async (t) => {
  for (const name of REQUIRED_ALERTS) t.ok(alertNames.includes(name), `${name} exists`);
  for (const a of alerts) {
    const where = `${a.alert} (${a.labels?.['severity']})`;
    t.ok(a.for && durationSeconds(a.for) >= 60, `${where}: for: at least 1m (${a.for})`);
    t.match(a.labels?.['severity'], /^(critical|warning|info)$/, `${where}: severity`);
    t.ok((a.annotations?.['summary'] ?? '').length > 20, `${where}: summary`);
    const description = a.annotations?.['description'] ?? '';
    t.ok(description.length > 150, `${where}: description`);
    t.match(description, /Recommendation:/, `${where}: the description says what to do`);
    t.match(description, /\{\{ *(\$value|with query)/, `${where}: the description carries figures`);
    t.equal(a.annotations?.['runbook_url'], `${RUNBOOK_PREFIX}${a.alert}.md`, `${where}: runbook_url`);
    const runbook = join(ROOT, 'docs/runbooks', `${a.alert}.md`);
    t.ok(existsSync(runbook), `docs/runbooks/${a.alert}.md exists`);
    if (existsSync(runbook)) {
      const body = readFileSync(runbook, 'utf8');
      t.match(body, new RegExp(`^# ${a.alert}`, 'm'), `${a.alert}.md: titled`);
      for (const section of ['Confirm', 'What to do', 'What the remedy costs']) t.match(body, new RegExp(`^## ${section}`, 'm'), `${a.alert}.md: ${section}`);
    }
  }
});

// The monitoring-mixins guidelines (monitoring.mixins.dev): CamelCase alert names; a summary that is a
// short templated sentence; the description with the details. etcd, fdatasync and etcd-latency-agent are
// names spelt in lower case, as the etcd mixin's .lint excuses for its own summaries.
const LOWER_CASE_NAMES = /^(etcd|etcd's|fdatasync|etcd-latency-agent)\b/;

t.test('alert annotations as the monitoring mixins write them: CamelCase names, a templated one-sentence summary in sentence case', async (t) => {
  for (const a of alerts) {
    const where = `${a.alert} (${a.labels?.['severity']})`;
    t.match(a.alert, /^[A-Z][a-zA-Z0-9]+$/, `${where}: CamelCase`);
    const summary = (a.annotations?.['summary'] ?? '').trim();
    t.match(summary, /\{\{.+\}\}/, `${where}: the summary is templated`);
    t.ok(/^[A-Z]/.test(summary) || LOWER_CASE_NAMES.test(summary), `${where}: the summary starts as a sentence: ${summary.slice(0, 40)}`);
    t.match(summary, /\.$/, `${where}: the summary ends with a period`);
    t.notMatch(summary, /\.\s+[A-Z]/, `${where}: one sentence`);
  }
});

t.test('every series a rule or an alert text reads exists: the contract, etcd, node_exporter, Prometheus or a recording rule', async (t) => {
  const recorded = recordedNames(text);
  const known = new Set([...contractSeries(), ...etcdSeries(), ...NODE_EXPORTER_SERIES, ...PROMETHEUS_SERIES, ...recorded]);
  const seenRecorded: string[] = [];
  for (const g of rules.groups) {
    for (const r of g.rules) {
      const where = r.record ?? `alert ${r.alert}`;
      const exprs = [r.expr, ...Object.values(r.annotations ?? {}).flatMap(templateQueries)];
      for (const expr of exprs) {
        for (const name of metricNames(expr)) t.ok(known.has(name), `${where}: ${name} exists`);
      }
      if (r.record) {
        // a recording rule reads only what exists before it in its group (rules run in order)
        for (const name of metricNames(r.expr)) if (recorded.has(name)) t.ok(seenRecorded.includes(name), `${where}: ${name} is recorded before it`);
        seenRecorded.push(r.record);
      }
    }
  }
  for (const name of Object.values(RULE)) t.ok(recorded.has(name), `the dashboards' recording rule ${name} exists`);
});

t.test("exactness: the alerts use bucket edges of etcd's histograms just above the agent's targets", async (t) => {
  const le = (name: string) => {
    const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.record === name);
    return Number(/le="([^"]+)"/.exec(rule?.expr ?? '')?.[1]);
  };
  const firstEdgeAbove = (target: number) => ETCD_DISK_BUCKETS.find((b) => b > target + 1e-12)!;
  const walTarget = DEFAULT_THRESHOLDS.walFsyncP99 / 1000;
  const commitTarget = DEFAULT_THRESHOLDS.backendCommitP99 / 1000;
  t.notOk(ETCD_DISK_BUCKETS.some((b) => Math.abs(b - walTarget) < 1e-12), '10 ms is no etcd bucket edge (hence the bracketing)');
  t.equal(le(RULE.walShareOver16ms), firstEdgeAbove(walTarget), 'WAL: the share over the first edge above 10 ms (16 ms)');
  t.equal(le(RULE.walShareOver8ms), ETCD_DISK_BUCKETS[ETCD_DISK_BUCKETS.indexOf(firstEdgeAbove(walTarget)) - 1], 'WAL: and over the edge below it (8 ms)');
  t.equal(le(RULE.commitShareOver32ms), firstEdgeAbove(commitTarget), 'commit: the share over the first edge above 25 ms (32 ms)');
  t.ok(PROBE_BUCKETS.includes(le(RULE.probeShareOver10ms)) && le(RULE.probeShareOver10ms) === DEFAULT_THRESHOLDS.probeP99 / 1000, 'probe: exactly 10 ms, a bucket edge');
  t.ok(PROBE_BUCKETS.includes(le(RULE.probeShareOver25ms)) && le(RULE.probeShareOver25ms) === commitTarget, 'probe: exactly 25 ms, a bucket edge');
  // Interpolation weights: the share of the (lo, hi] bucket above the target, linear.
  const weight = (name: string) => Number(/\+ ([0-9.]+) \*/.exec(rules.groups.flatMap((g) => g.rules).find((r) => r.record === name)?.expr ?? '')?.[1]);
  t.ok(Math.abs(weight(RULE.walShareOver10msEstimate) - (0.016 - walTarget) / (0.016 - 0.008)) < 1e-9, 'WAL estimate: 3/4 of the (8, 16] bucket is over 10 ms');
  t.ok(Math.abs(weight(RULE.commitShareOver25msEstimate) - (0.032 - commitTarget) / (0.032 - 0.016)) < 1e-9, 'commit estimate: 7/16 of the (16, 32] bucket is over 25 ms');
  const alert = (name: string, severity?: string) => alerts.find((a) => a.alert === name && (severity === undefined || a.labels?.['severity'] === severity))!;
  // The comparison sits inside label_replace(…, "pod", "etcd-$1", "node", "(.+)"): the member's pod name for Alertmanager.
  t.match(alert('EtcdWalFsyncSlow').expr, new RegExp(`${RULE.walShareOver16ms.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} > 0\\.01, "pod"`), 'WAL alert: more than 1 % over 16 ms ⇒ p99 > 16 ms');
  t.match(alert('EtcdBackendCommitSlow').expr, /share_over_32ms_5m > 0\.01, "pod"/, 'commit alert: more than 1 % over 32 ms ⇒ p99 > 32 ms');
});

t.test("thresholds are the agent's defaults, and every alert waits longer than its window (no single burst fires it)", async (t) => {
  const alert = (name: string, severity?: string) => alerts.find((a) => a.alert === name && (severity === undefined || a.labels?.['severity'] === severity))!;
  t.match(alert('EtcdDeviceSaturated').expr, new RegExp(`>= ${DEFAULT_THRESHOLDS.diskBusyFraction}$`), 'device busy fraction');
  // warning: more than 1 a day (≥ 2 in 24 h); critical: ≥ 3 in an hour, earlier than the mixin's 4 in 15 minutes
  t.match(alert('EtcdFrequentLeaderElections', 'warning').expr, /increase1d > 1\.5$/);
  t.ok(DEFAULT_THRESHOLDS.electionsPerDayWarning === 1, 'the agent warns above 1 election a day too');
  t.match(alert('EtcdFrequentLeaderElections', 'critical').expr, /increase1h > 2\.5$/);
  t.match(alert('EtcdDiskStallsThreatenLeadership', 'critical').expr, /severity="critical"/);
  // A finding raised by one stall lives for the analysis window plus the hysteresis.
  const findingLife = DEFAULT_THRESHOLDS.window + DEFAULT_THRESHOLDS.clearAfter;
  for (const name of ['EtcdDiskStallsThreatenLeadership', 'EtcdTuningRecommended', 'EtcdSeparateDiskRecommended']) {
    for (const a of alerts.filter((x) => x.alert === name)) {
      t.ok(durationSeconds(a.for!) > findingLife, `${name} (${a.labels?.['severity']}): for ${a.for} > a single stall's finding (${findingLife} s)`);
    }
  }
  for (const name of ['EtcdWalFsyncSlow', 'EtcdBackendCommitSlow', 'EtcdDeviceSaturated']) {
    t.ok(durationSeconds(alert(name).for!) > 300, `${name}: for ${alert(name).for} > its 5 m window`);
  }
});

t.test('the Alertmanager example: amtool check-config, and routing as SCS routes (Matrix rooms by severity, grouped by alertname/cluster/severity, repeated after 24 h)', async (t) => {
  const check = run('amtool', ['check-config', ALERTMANAGER]);
  t.equal(check.status, 0, check.out);
  t.match(check.out, /SUCCESS/);
  const route = (...labels: string[]) =>
    execFileSync('amtool', ['config', 'routes', 'test', `--config.file=${ALERTMANAGER}`, ...labels], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  for (const a of alerts) {
    const receiver = route(`alertname=${a.alert}`, `severity=${a.labels!['severity']!}`, 'cluster=prod', 'node=cp-1');
    t.equal(receiver, a.labels!['severity'] === 'critical' ? 'matrix-control-plane-critical' : 'matrix-control-plane', `${a.alert} (${a.labels!['severity']}) → ${receiver}`);
  }
  t.equal(route('alertname=etcdHighFsyncDurations', 'severity=critical'), 'matrix-control-plane-critical', "kube-prometheus-stack's etcd alerts reach the same rooms");
  t.equal(route('alertname=SomethingElse', 'severity=critical'), 'matrix-default', 'other alerts keep their own route');
  const config = YAML.parse(readFileSync(ALERTMANAGER, 'utf8')) as {
    route: { group_by: string[]; repeat_interval: string };
    receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }> }>;
    inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[] }>;
  };
  t.same(config.route.group_by, ['alertname', 'cluster', 'severity'], 'grouped by alertname, cluster and severity');
  t.equal(config.route.repeat_interval, '24h', 'repeated after 24 h');
  for (const r of config.receivers) {
    t.match(r.webhook_configs?.[0]?.url ?? '', /^https?:\/\/matrix-alertmanager-receiver[^/]*:12345\/alerts\/[a-z-]+$/, `${r.name}: matrix-alertmanager-receiver's webhook (/alerts/<room>)`);
  }
  t.ok(
    config.inhibit_rules.some((r) => r.source_matchers.join() === 'severity = "critical"' && r.target_matchers.join() === 'severity = "warning"'),
    'the critical level of an alert inhibits its warning',
  );
});
