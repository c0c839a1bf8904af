// deploy/monitoring/generated/ (and the Helm chart's files/) embeds deploy/prometheus/etcd-latency-agent.rules.yaml
// (as a PrometheusRule) and grafana/*.json (as dashboard ConfigMaps). These tests check that what is
// committed is what scripts/gen-deploy.mjs produces now, and that the rendered objects carry exactly
// the source files; the generator itself is exercised on sample sources in a scratch copy of deploy/.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';

const ROOT = resolve(import.meta.dirname, '../..');
const GENERATOR = join(ROOT, 'scripts/gen-deploy.mjs');
const RULES = 'deploy/prometheus/etcd-latency-agent.rules.yaml';
const OUT = 'deploy/monitoring/generated';
const CHART_FILES = 'deploy/helm/etcd-latency-agent/files';
const OVERLAY = 'deploy/overlays/kube-prometheus-stack';
/** kubectl apply (client side) keeps the whole object in an annotation, limited to 256 KiB. */
const ANNOTATION_LIMIT = 262_144;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: { groups?: unknown };
}

function generator(root: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [GENERATOR, `--root=${root}`, ...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

function render(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return YAML.parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

function filesUnder(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(root, `${dir}/${e.name}`) : [`${dir}/${e.name}`],
  );
}

const dashboardSources = (root: string) =>
  existsSync(join(root, 'grafana')) ? readdirSync(join(root, 'grafana')).filter((f) => f.toLowerCase().endsWith('.json')).sort() : [];

/** The rendered objects embed exactly the sources in `root`; returns what was checked. */
function checkEmbedding(t: Test, root: string, objects: K8sObject[]): void {
  const rules = objects.filter((o) => o.kind === 'PrometheusRule');
  if (existsSync(join(root, RULES))) {
    t.equal(rules.length, 1, 'one PrometheusRule');
    const source = YAML.parse(readFileSync(join(root, RULES), 'utf8')) as { groups: unknown };
    t.ok(isDeepStrictEqual(rules[0]?.spec, { groups: source.groups }), `the PrometheusRule's spec.groups are exactly ${RULES}'s groups`);
    t.equal(rules[0]?.metadata.labels?.release, 'kube-prometheus-stack', "release label for the chart's default ruleSelector");
    t.doesNotThrow(() => new PrometheusRule(rules[0] as never).validate(), 'the PrometheusRule validates');
  } else {
    t.equal(rules.length, 0, 'no PrometheusRule without a rules file');
  }
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
  const sources = dashboardSources(root);
  t.equal(configMaps.length, sources.length, 'one dashboard ConfigMap per grafana/*.json');
  for (const file of sources) {
    const text = readFileSync(join(root, 'grafana', file), 'utf8');
    const cm = configMaps.find((c) => Object.values(c.data ?? {}).includes(text));
    t.ok(cm, `grafana/${file} is embedded byte for byte`);
    if (!cm) continue;
    t.equal(Object.keys(cm.data ?? {}).length, 1, `${cm.metadata.name}: one dashboard per ConfigMap`);
    t.match(cm.metadata.name, /^etcd-latency-agent-dashboard-[a-z0-9-]+$/, `${cm.metadata.name}: a stable name, no hash suffix`);
    t.doesNotThrow(() => new ConfigMap(cm as never).validate(), `${cm.metadata.name} validates`);
    t.ok(JSON.stringify(cm).length < ANNOTATION_LIMIT, `${cm.metadata.name}: small enough for client-side kubectl apply`);
  }
}

t.test('the committed generated/ is what scripts/gen-deploy.mjs produces now', async (t) => {
  const r = generator(ROOT, '--print');
  t.equal(r.status, 0, r.stderr);
  const planned = JSON.parse(r.stdout) as Record<string, string>;
  for (const [path, content] of Object.entries(planned)) {
    t.equal(existsSync(join(ROOT, path)) ? readFileSync(join(ROOT, path), 'utf8') : '(missing)', content, `${path} is up to date (run node scripts/gen-deploy.mjs)`);
  }
  t.same([...filesUnder(ROOT, OUT), ...filesUnder(ROOT, CHART_FILES)].sort(), Object.keys(planned).sort(), 'no stale generated files');
  const check = generator(ROOT, '--check');
  t.equal(check.status, 0, `gen-deploy --check: ${check.stderr}`);
});

// The rules file and the dashboards ship: without them these must fail, not skip.
t.test(`the PrometheusRule embeds ${RULES}`, async (t) => {
  t.ok(existsSync(join(ROOT, RULES)), `${RULES} exists`);
  checkEmbedding(t, ROOT, render(join(ROOT, OVERLAY)));
});

t.test('the dashboard ConfigMaps embed grafana/*.json', async (t) => {
  t.ok(dashboardSources(ROOT).length > 0, 'grafana/*.json exist');
  checkEmbedding(t, ROOT, render(join(ROOT, OVERLAY)));
});

// ---- the generator on sample sources, in a scratch copy of deploy/ -----------------------------

const SAMPLE_RULES = `# Sample rules: comments and block scalars survive the embedding.
groups:
  - name: etcd-latency-agent.sample
    rules:
      - alert: EtcdLatencyAgentDown
        expr: |
          up{job="latency-agent"} == 0
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "etcd-latency-agent is down on {{ $labels.node }}"
          runbook_url: https://example.invalid/runbooks/EtcdLatencyAgentDown.md
      - record: node:etcd_latency_agent_probe_fdatasync_duration_seconds:p99_5m
        expr: histogram_quantile(0.99, sum by (node, le) (rate(etcd_latency_agent_probe_fdatasync_duration_seconds_bucket[5m])))
`;

function scratch(t: Test): string {
  const root = mkdtempSync(join(tmpdir(), 'gen-deploy-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(ROOT, 'deploy'), join(root, 'deploy'), {
    recursive: true,
    filter: (src) => !relative(join(ROOT, 'deploy'), src).startsWith('prometheus') && !relative(ROOT, src).startsWith(OUT),
  });
  mkdirSync(join(root, 'deploy/prometheus'), { recursive: true });
  mkdirSync(join(root, 'grafana'), { recursive: true });
  return root;
}

t.test('the generator: without sources the overlay still renders, with sources it embeds them exactly', async (t) => {
  const root = scratch(t);
  t.equal(generator(root).status, 0, 'generates with no sources');
  checkEmbedding(t, root, render(join(root, OVERLAY)));

  writeFileSync(join(root, RULES), SAMPLE_RULES);
  writeFileSync(join(root, 'grafana/Cluster Overview.json'), JSON.stringify({ title: 'etcd latency — cluster overview', uid: 'a', panels: [] }, null, 2) + '\n');
  writeFileSync(join(root, 'grafana/node-detail.json'), '{"title":"etcd latency — node detail","uid":"b","panels":[]}');
  t.equal(generator(root, '--check').status, 1, '--check notices new sources');
  const r = generator(root);
  t.equal(r.status, 0, r.stderr);
  t.equal(generator(root, '--check').status, 0, 'then --check is clean');
  const objects = render(join(root, OVERLAY));
  checkEmbedding(t, root, objects);
  t.ok(readFileSync(join(root, OUT, 'prometheusrule.yaml'), 'utf8').includes('  # Sample rules: comments'), 'the rules file is embedded as text, comments included');
  t.ok(objects.some((o) => o.metadata.name === 'etcd-latency-agent-dashboard-cluster-overview'), 'file names become DNS names');

  writeFileSync(join(root, OUT, 'dashboards/node-detail.json'), '{}');
  const edited = generator(root, '--check');
  t.equal(edited.status, 1, '--check notices a hand edit');
  t.match(edited.stderr, /node-detail\.json/);

  rmSync(join(root, 'grafana/node-detail.json'));
  generator(root);
  t.notOk(existsSync(join(root, OUT, 'dashboards/node-detail.json')), 'a removed dashboard is removed from generated/');
  checkEmbedding(t, root, render(join(root, OVERLAY)));
});

t.test('the generator refuses sources it cannot embed faithfully', async (t) => {
  const root = scratch(t);
  writeFileSync(join(root, RULES), 'groups: []\nextra: 1\n');
  const extra = generator(root);
  t.equal(extra.status, 1);
  t.match(extra.stderr, /exactly one top-level key, groups:/);
  writeFileSync(join(root, RULES), 'groups: []\n');
  writeFileSync(join(root, 'grafana/broken.json'), '{"title": ');
  const broken = generator(root);
  t.equal(broken.status, 1);
  t.match(broken.stderr, /grafana\/broken\.json is not JSON/);
});
