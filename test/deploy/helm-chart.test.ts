// deploy/helm/etcd-latency-agent: the chart, linted and rendered by a real helm (built from helm's Go
// module by scripts/build-go-tools.mjs), renders the objects the kustomize tree renders — at its
// defaults those of the kube-prometheus-stack overlay, with the SCS values those of the SCS overlays —
// and each value changes what it says and nothing else.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { goToolPath } from '../../scripts/build-go-tools.mjs';
import { kustomize, modelClass, parseManifests, type K8sObject } from '../helpers/manifests.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHART = join(ROOT, 'deploy/helm/etcd-latency-agent');
const HELM = goToolPath('helm');
const missing = existsSync(HELM) ? undefined : `helm is not built (${HELM}): node scripts/build-go-tools.mjs helm needs Go`;
if (missing && process.env['CI']) throw new Error(missing);

// helm keeps caches and repositories in the user's home: a scratch home of its own.
const HELM_HOME = mkdtempSync(join(tmpdir(), 'helm-home-'));
t.teardown(() => rmSync(HELM_HOME, { recursive: true, force: true }));

function helm(args: string[]): { status: number | null; out: string; err: string } {
  const env = { ...process.env, HELM_CACHE_HOME: join(HELM_HOME, 'cache'), HELM_CONFIG_HOME: join(HELM_HOME, 'config'), HELM_DATA_HOME: join(HELM_HOME, 'data') };
  const r = spawnSync(HELM, args, { encoding: 'utf8', env });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function template(...args: string[]): K8sObject[] {
  const r = helm(['template', 'etcd-latency-agent', CHART, '--namespace', 'etcd-latency-agent', ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')}: ${r.err}`);
  return parseManifests(r.out);
}

const byId = (objects: K8sObject[]) => new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
const withoutNamespaces = (objects: K8sObject[]) => objects.filter((o) => o.kind !== 'Namespace');
const skip = missing ?? false;

t.test('helm lint --strict passes, with the default and with the SCS values', { skip }, async (t) => {
  for (const values of [[], ['-f', join(CHART, 'values-scs-workload.yaml')], ['-f', join(CHART, 'values-scs-observer.yaml')]]) {
    const r = helm(['lint', '--strict', CHART, ...values]);
    t.equal(r.status, 0, `${values.join(' ') || 'defaults'}: ${r.out}${r.err}`);
    t.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

t.test('at its defaults the chart renders the kube-prometheus-stack overlay, object for object, but for the Namespace (helm install --create-namespace makes it)', { skip }, async (t) => {
  const overlay = kustomize(join(ROOT, 'deploy/overlays/kube-prometheus-stack'));
  t.same(byId(template()), byId(withoutNamespaces(overlay)), 'the same objects, the same content');
  t.same(byId(template('--set', 'namespace.create=true')), byId(overlay), 'namespace.create=true adds the Namespace, labelled for Pod Security as in deploy/base');
});

t.test("with the SCS values the chart renders the SCS overlays: the workload cluster's agent part, the observer's monitoring part", { skip }, async (t) => {
  t.same(byId(template('-f', join(CHART, 'values-scs-workload.yaml'))), byId(withoutNamespaces(kustomize(join(ROOT, 'deploy/overlays/scs-workload')))), 'scs-workload');
  t.same(byId(template('-f', join(CHART, 'values-scs-observer.yaml'))), byId(withoutNamespaces(kustomize(join(ROOT, 'deploy/overlays/scs-observer')))), 'scs-observer');
});

type WithRules = K8sObject & { spec: { groups: Array<{ rules: Array<{ alert?: string; annotations?: Record<string, string> }> }> } };
const alertsOf = (o: K8sObject | undefined) => (o as WithRules).spec.groups.flatMap((g) => g.rules.filter((r) => r.alert));

t.test('each value changes what it names: image, namespace, selector labels, folder annotation, runbook prefix', { skip }, async (t) => {
  const defaults = byId(template());
  const set = byId(
    template(
      '--namespace', 'monitoring',
      '--set', 'image.repository=registry.example.org/etcd-latency-agent,image.tag=9.9.9',
      '--set', 'serviceMonitor.labels.release=my-release',
      '--set-string', 'monitoring.rules.labels.prometheus_rule=1',
      '--set', 'monitoring.dashboards.labels.grafana_dashboard=null,monitoring.dashboards.labels.dashboards=etcd',
      '--set', 'monitoring.dashboards.annotations.grafana_folder=Control plane',
      '--set', 'monitoring.runbookUrlPrefix=https://wiki.example.org/etcd/',
    ),
  );
  t.same([...set.keys()].sort(), [...defaults.keys()].sort(), 'the same objects');
  for (const o of set.values()) t.equal(o.metadata.namespace, 'monitoring', `${o.kind}/${o.metadata.name}: the release's namespace`);

  const ds = set.get('DaemonSet/etcd-latency-agent') as K8sObject & { spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } };
  t.equal(ds.spec.template.spec.containers.find((c) => c.name === 'agent')?.image, 'registry.example.org/etcd-latency-agent:9.9.9');
  t.same(set.get('ServiceMonitor/etcd-latency-agent')?.metadata.labels, { ...defaults.get('ServiceMonitor/etcd-latency-agent')?.metadata.labels, release: 'my-release' });
  t.same(set.get('PrometheusRule/etcd-latency-agent')?.metadata.labels, { 'app.kubernetes.io/name': 'etcd-latency-agent', release: 'kube-prometheus-stack', prometheus_rule: '1' });
  for (const [id, o] of set) {
    if (o.kind !== 'ConfigMap') continue;
    t.same(o.metadata.labels, { 'app.kubernetes.io/name': 'etcd-latency-agent', dashboards: 'etcd' }, `${id}: the sidecar's label, the default one removed by null`);
    t.same(o.metadata.annotations, { grafana_folder: 'Control plane' }, `${id}: the folder annotation`);
    t.same(o['data'], defaults.get(id)?.['data'], `${id}: the dashboard unchanged`);
  }
  const alerts = alertsOf(set.get('PrometheusRule/etcd-latency-agent'));
  t.ok(alerts.length >= 10, `${alerts.length} alerts`);
  for (const a of alerts) t.equal(a.annotations?.['runbook_url'], `https://wiki.example.org/etcd/runbooks/${a.alert}.md`, `${a.alert}: the runbook under the prefix`);
  const unlinked = (rs: ReturnType<typeof alertsOf>) => rs.map((r) => ({ ...r, annotations: { ...r.annotations, runbook_url: '' } }));
  t.same(unlinked(alerts), unlinked(alertsOf(defaults.get('PrometheusRule/etcd-latency-agent'))), 'the rules otherwise unchanged');
});

t.test('the two parts apart: agent.enabled, monitoring.enabled, serviceMonitor.enabled', { skip }, async (t) => {
  const ids = (...args: string[]) => [...byId(template(...args)).keys()].sort();
  t.same(ids('--set', 'monitoring.enabled=false'), ['DaemonSet/etcd-latency-agent', 'Service/etcd-latency-agent', 'ServiceAccount/etcd-latency-agent', 'ServiceMonitor/etcd-latency-agent']);
  const dashboards = readdirSync(join(ROOT, 'grafana')).filter((f) => f.endsWith('.json')).map((f) => `ConfigMap/etcd-latency-agent-dashboard-${f.replace(/\.json$/, '')}`);
  t.same(ids('--set', 'agent.enabled=false'), [...dashboards, 'PrometheusRule/etcd-latency-agent'].sort(), 'one ConfigMap per grafana/*.json and the rules');
  t.notOk(ids('--set', 'serviceMonitor.enabled=false').includes('ServiceMonitor/etcd-latency-agent'), 'no ServiceMonitor');
});

t.test('every object the chart renders validates against its Kubernetes / prometheus-operator schema', { skip }, async (t) => {
  for (const o of template('--set', 'namespace.create=true')) {
    const Model = await modelClass(o.apiVersion, o.kind);
    t.doesNotThrow(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`);
  }
});
