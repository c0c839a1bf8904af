// mixin/: the monitoring mixin (prometheusAlerts, prometheusRules, grafanaDashboards, _config) that
// scripts/gen-mixin.mjs writes from the shipped rules and dashboards. Evaluated with Debian's jsonnet:
// at the default _config it is exactly what is shipped; with another _config, the job selector, the
// cluster label, the runbook prefix and the thresholds change where they are used and the rules stay
// valid for promtool 2.42 and 3.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { PROMTOOLS } from '../helpers/promtool.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MIXIN = join(ROOT, 'mixin');
const RULES = join(ROOT, 'deploy/prometheus/etcd-latency-agent.rules.yaml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Groups {
  groups: Array<{ name: string; rules: Rule[] }>;
}

function jsonnet(expr: string): unknown {
  const r = spawnSync('jsonnet', ['-J', MIXIN, '-e', expr], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`jsonnet: ${r.error.message} (apt-get install jsonnet; scripts/ensure-test-deps.mjs installs it for npm test)`);
  if (r.status !== 0) throw new Error(`jsonnet -e '${expr}': ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

const shipped = YAML.parse(readFileSync(RULES, 'utf8')) as Groups;
const only = (kind: 'alert' | 'record') => shipped.groups.filter((g) => g.rules.every((r) => r[kind] !== undefined));

t.test('the committed mixin is what scripts/gen-mixin.mjs writes now', async (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-mixin.mjs'), '--check'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(readdirSync(MIXIN).sort(), ['alerts.libsonnet', 'config.libsonnet', 'dashboards.libsonnet', 'mixin.libsonnet', 'rules.libsonnet']);
});

t.test('at the default _config the mixin evaluates to exactly the shipped rules and dashboards', async (t) => {
  t.same(jsonnet('(import "mixin.libsonnet").prometheusAlerts'), { groups: only('alert') }, 'prometheusAlerts: the alert groups of the rules file');
  t.same(jsonnet('(import "mixin.libsonnet").prometheusRules'), { groups: only('record') }, 'prometheusRules: its recording-rule groups');
  const dashboards = jsonnet('(import "mixin.libsonnet").grafanaDashboards') as Record<string, unknown>;
  const files = readdirSync(join(ROOT, 'grafana')).filter((f) => f.endsWith('.json')).sort();
  t.same(Object.keys(dashboards).sort(), files, 'grafanaDashboards: one per grafana/*.json');
  for (const f of files) t.same(dashboards[f], JSON.parse(readFileSync(join(ROOT, 'grafana', f), 'utf8')), `${f}: the same dashboard`);
  const config = jsonnet('(import "mixin.libsonnet")._config') as Record<string, unknown>;
  for (const key of ['jobSelector', 'clusterLabel', 'runbookURLPrefix', 'walFsyncSlowShare', 'diskBusyFraction']) t.ok(key in config, `_config.${key}`);
});

const OVERRIDE = `(import "mixin.libsonnet") + { _config+:: {
  jobSelector: 'job="control-plane-agents"', clusterLabel: 'k8s_cluster', runbookURLPrefix: 'https://wiki.example.org/etcd/',
  diskBusyFraction: 0.8, electionsIn24hWarning: 3, walFsyncSlowShare: 0.02 } }`;

t.test('another _config changes the job selector, the cluster label, the runbooks and the thresholds wherever they are used', async (t) => {
  const alerts = jsonnet(`(${OVERRIDE}).prometheusAlerts`) as Groups;
  const rules = jsonnet(`(${OVERRIDE}).prometheusRules`) as Groups;
  const all = [...alerts.groups, ...rules.groups].flatMap((g) => g.rules);
  const alert = (name: string, severity = 'warning') => alerts.groups.flatMap((g) => g.rules).find((r) => r.alert === name && r.labels?.['severity'] === severity)!;
  t.notMatch(JSON.stringify(all), /job=\\"latency-agent\\"/, 'no trace of the default job');
  t.equal(alert('EtcdLatencyAgentDown').expr, 'up{job="control-plane-agents"} == 0', 'the agents-down alert uses the selector');
  for (const r of all) t.notMatch(r.expr, /(?<![\w$:.])cluster(?![\w:])/, `${r.alert ?? r.record}: no cluster label left in its expression`);
  t.ok(all.some((r) => r.expr.includes('by (k8s_cluster, job, node, instance, le)')), 'groupings keep the new label');
  t.match(alert('EtcdLatencyAgentDown').annotations?.['description'], /\$labels\.k8s_cluster/, 'alert texts read the new label');
  t.ok(all.some((r) => r.record === 'cluster:etcd_latency_agent_etcd_elections:increase1d'), 'recording rules keep their cluster: level prefix');
  t.match(alert('EtcdDeviceSaturated').expr, />= 0\.8$/);
  t.match(alert('EtcdFrequentLeaderElections').expr, /> 2\.5$/, '3 elections in 24 h: more than 2.5');
  t.match(alert('EtcdWalFsyncSlow').expr, /> 0\.02, "pod"/);
  for (const r of alerts.groups.flatMap((g) => g.rules)) t.equal(r.annotations?.['runbook_url'], `https://wiki.example.org/etcd/${r.alert}.md`, `${r.alert}: runbook`);
  const dashboards = JSON.stringify(jsonnet(`(${OVERRIDE}).grafanaDashboards`));
  t.match(dashboards, /by \(k8s_cluster, node\)/, 'dashboards group by the new label');
  t.match(dashboards, /k8s_cluster=~\\"\$cluster\\"/, 'and select on it with the $cluster variable');

  const dir = mkdtempSync(join(tmpdir(), 'mixin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, YAML.stringify({ groups: [...rules.groups, ...alerts.groups] }));
  for (const p of PROMTOOLS) {
    await t.test(`${p.label} accepts the rules of the other _config`, { skip: p.missing ?? false }, async (t) => {
      const r = spawnSync(p.bin, ['check', 'rules', file], { encoding: 'utf8' });
      t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });
  }
});
