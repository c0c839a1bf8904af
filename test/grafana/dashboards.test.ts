// The dashboards in grafana/: exactly what generate/dashboards generates, valid as Grafana
// dashboards (the required fields and enum values of @grafana/schema's types, checked at run time on
// the committed JSON), with unique panel ids, and reading only series that exist: the agent's metric
// contract, etcd's own families, node_exporter's, Prometheus's, or a recording rule of
// deploy/prometheus/etcd-latency-agent.rules.yaml. Every expression is parsed by the real promtool.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import {
  defaultDashboard,
  MappingType,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  type AnnotationQuery,
  type Dashboard,
  type DashboardLink,
  type FieldConfigSource,
  type GridPos,
  type Panel,
  type RowPanel,
  type Threshold,
  type ThresholdsConfig,
  type VariableModel,
} from '@grafana/schema';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { SCHEMA_VERSION } from '../../generate/dashboards/builder.js';
import { dashboardQueries, dashboards, dashboardText, DASHBOARD_SPECS, withPanelTables } from '../../generate/dashboards/index.js';
import { contractSeries, etcdSeries, KUBE_STATE_METRICS_SERIES, NODE_EXPORTER_SERIES, PROMETHEUS_SERIES, recordedNames } from '../../generate/dashboards/known-metrics.js';
import { metricNames, substituteVariables } from '../../generate/dashboards/promql.js';
import { RULE } from '../../generate/rule-names.js';
import { writeDashboards } from '../../generate/dashboards/write.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GRAFANA = join(ROOT, 'grafana');
const RULES_FILE = join(ROOT, 'deploy/prometheus/etcd-latency-agent.rules.yaml');

// ───────────────────────────────────────────── required fields, tied to the schema's types

/** The keys of T that are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** A list that must name every required key of T (and nothing else): a new required field in @grafana/schema fails the type check. */
function required<T>() {
  return <const L extends readonly RequiredKeys<T>[]>(list: L & ([Exclude<RequiredKeys<T>, L[number]>] extends [never] ? unknown : never)) => list;
}

const REQUIRED = {
  dashboard: required<Dashboard>()(['schemaVersion']),
  panel: required<Panel>()(['type']),
  row: required<RowPanel>()(['collapsed', 'id', 'panels', 'type']),
  gridPos: required<GridPos>()(['h', 'w', 'x', 'y']),
  fieldConfig: required<FieldConfigSource>()(['defaults', 'overrides']),
  thresholds: required<ThresholdsConfig>()(['mode', 'steps']),
  threshold: required<Threshold>()(['color', 'value']),
  variable: required<VariableModel>()(['name', 'type']),
  annotation: required<AnnotationQuery>()(['enable', 'iconColor', 'name']),
  link: required<DashboardLink>()(['asDropdown', 'icon', 'includeVars', 'keepTime', 'tags', 'targetBlank', 'title', 'tooltip', 'type']),
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems of one object against a required-key list, as "where: missing key". */
function missing(where: string, v: unknown, keys: readonly string[]): string[] {
  if (!isObject(v)) return [`${where}: not an object`];
  return keys.filter((k) => !(k in v) || v[k] === undefined).map((k) => `${where}: missing ${k}`);
}

function committed(): Map<string, string> {
  return new Map(
    readdirSync(GRAFANA)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => [f, readFileSync(join(GRAFANA, f), 'utf8')]),
  );
}

const parsed = () => new Map([...committed()].map(([f, text]) => [f, JSON.parse(text) as Json]));

/** Every panel of a dashboard, rows' nested panels included. */
function allPanels(d: Json): Json[] {
  const top = (d['panels'] as Json[] | undefined) ?? [];
  return top.flatMap((p) => [p, ...(((p['type'] === 'row' ? p['panels'] : []) as Json[] | undefined) ?? [])]);
}

/** Every PromQL expression in a dashboard's JSON: panel targets and annotation queries. */
function expressions(d: Json): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of allPanels(d)) {
    for (const target of (p['targets'] as Json[] | undefined) ?? []) {
      out.push({ where: `${String(p['title'])} [${String(target['refId'])}]`, expr: String(target['expr']) });
    }
  }
  for (const a of ((d['annotations'] as Json | undefined)?.['list'] as Json[] | undefined) ?? []) {
    const target = a['target'] as Json | undefined;
    if (typeof target?.['expr'] === 'string') out.push({ where: `annotation ${String(a['name'])}`, expr: target['expr'] });
  }
  return out;
}

/** The metric a `label_values(metric{…}, label)` variable query reads. */
function variableMetric(v: Json): string | undefined {
  const q = v['query'];
  const text = typeof q === 'string' ? q : isObject(q) ? String(q['query']) : '';
  return /^label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(text)?.[1];
}

const LIVE_VARIABLES = { datasource: 'prom', cluster: '.*', node: '.*', __rate_interval: '1m', __interval: '15s', __range: '1h' };

// ───────────────────────────────────────────── the tests

t.test('the committed grafana/*.json are exactly what generate/dashboards generates (npm run generate)', async (t) => {
  const generated = dashboards();
  const files = committed();
  t.same([...files.keys()].sort(), [...generated.keys()].sort(), 'one file per generated dashboard, no others');
  for (const [file, d] of generated) t.equal(files.get(file), dashboardText(d), `grafana/${file} is up to date`);
});

t.test("docs/dashboards.md's panel tables are the generator's (npm run generate)", async (t) => {
  const doc = readFileSync(join(ROOT, 'docs/dashboards.md'), 'utf8');
  t.equal(doc, withPanelTables(doc));
  for (const spec of DASHBOARD_SPECS) t.ok(doc.includes(`grafana/${spec.file}`), `the doc names grafana/${spec.file}`);
});

t.test('the generator writes the files and --check notices a hand edit', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'dashboards-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.ok(writeDashboards(root, true).length > 0, 'a check names the files when they are missing');
  t.ok(writeDashboards(root, false).length > 0, 'writing them');
  t.same(writeDashboards(root, true), [], 'then the check is clean');
  const file = join(root, 'grafana', DASHBOARD_SPECS[0]!.file);
  writeFileSync(file, readFileSync(file, 'utf8').replace('"refresh": "1m"', '"refresh": "5s"'));
  t.same(writeDashboards(root, true), [`grafana/${DASHBOARD_SPECS[0]!.file}`], 'the check names the edited file');
});

t.test('every dashboard has the required fields and valid enum values of @grafana/schema', async (t) => {
  t.equal(SCHEMA_VERSION, 39, "schemaVersion is Grafana 10.4's, the Grafana SCS's central monitoring runs");
  t.ok(SCHEMA_VERSION <= defaultDashboard.schemaVersion!, `current Grafana (schemaVersion ${defaultDashboard.schemaVersion}) migrates it forward`);
  const thresholdModes = new Set<string>(Object.values(ThresholdsMode));
  const mappingTypes = new Set<string>(Object.values(MappingType));
  const hides = new Set<unknown>(Object.values(VariableHide).filter((v) => typeof v === 'number'));
  const refreshes = new Set<unknown>(Object.values(VariableRefresh).filter((v) => typeof v === 'number'));
  const uids = new Set<string>();
  for (const [file, d] of parsed()) {
    const problems: string[] = [...missing(file, d, REQUIRED.dashboard)];
    t.equal(d['schemaVersion'], SCHEMA_VERSION, `${file}: schemaVersion`);
    t.match(d['uid'], /^[a-zA-Z0-9_-]{8,40}$/, `${file}: a uid of 8 to 40 characters`);
    t.notOk(uids.has(String(d['uid'])), `${file}: its uid is unique`);
    uids.add(String(d['uid']));
    t.match(d['title'], /^etcd latency — /, `${file}: titled`);
    t.ok(String(d['description'] ?? '').length > 40, `${file}: described`);

    for (const [i, l] of ((d['links'] as Json[] | undefined) ?? []).entries()) problems.push(...missing(`${file} link ${i}`, l, REQUIRED.link));
    for (const v of ((d['templating'] as Json | undefined)?.['list'] as Json[] | undefined) ?? []) {
      problems.push(...missing(`${file} variable ${String(v['name'])}`, v, REQUIRED.variable));
      if (v['hide'] !== undefined && !hides.has(v['hide'])) problems.push(`${file} variable ${String(v['name'])}: hide ${String(v['hide'])}`);
      if (v['refresh'] !== undefined && !refreshes.has(v['refresh'])) problems.push(`${file} variable ${String(v['name'])}: refresh ${String(v['refresh'])}`);
    }
    for (const a of ((d['annotations'] as Json | undefined)?.['list'] as Json[] | undefined) ?? []) {
      problems.push(...missing(`${file} annotation ${String(a['name'])}`, a, REQUIRED.annotation));
    }

    for (const p of allPanels(d)) {
      const where = `${file} panel ${String(p['id'])} "${String(p['title'])}"`;
      problems.push(...missing(where, p, p['type'] === 'row' ? REQUIRED.row : REQUIRED.panel));
      problems.push(...missing(`${where} gridPos`, p['gridPos'], REQUIRED.gridPos));
      if (p['type'] === 'row') continue;
      if (p['type'] !== 'text') {
        problems.push(...missing(`${where} fieldConfig`, p['fieldConfig'], REQUIRED.fieldConfig));
        const defaults = (p['fieldConfig'] as Json | undefined)?.['defaults'] as Json | undefined;
        const th = defaults?.['thresholds'];
        if (th !== undefined) {
          problems.push(...missing(`${where} thresholds`, th, REQUIRED.thresholds));
          const steps = ((th as Json)['steps'] as Json[] | undefined) ?? [];
          if (!thresholdModes.has(String((th as Json)['mode']))) problems.push(`${where}: threshold mode ${String((th as Json)['mode'])}`);
          steps.forEach((s, i) => problems.push(...missing(`${where} threshold ${i}`, s, REQUIRED.threshold)));
          if (steps[0]?.['value'] !== null) problems.push(`${where}: the first threshold step must be the base (null)`);
          const values = steps.slice(1).map((s) => Number(s['value']));
          if (values.some((v, i) => i > 0 && v < values[i - 1]!)) problems.push(`${where}: threshold steps not sorted`);
        }
        const mappings = [
          ...(((defaults?.['mappings'] as Json[] | undefined) ?? []) as Json[]),
          ...(((p['fieldConfig'] as Json)['overrides'] as Json[]) ?? []).flatMap((o) =>
            ((o['properties'] as Json[]) ?? []).filter((pr) => pr['id'] === 'mappings').flatMap((pr) => pr['value'] as Json[]),
          ),
        ];
        for (const mp of mappings) if (!mappingTypes.has(String(mp['type']))) problems.push(`${where}: mapping type ${String(mp['type'])}`);
        const targets = (p['targets'] as Json[] | undefined) ?? [];
        if (targets.length === 0) problems.push(`${where}: no queries`);
        const refIds = targets.map((q) => String(q['refId']));
        if (new Set(refIds).size !== refIds.length) problems.push(`${where}: duplicate refIds`);
        for (const q of targets) {
          if ((q['datasource'] as Json | undefined)?.['uid'] !== '${datasource}') problems.push(`${where}: a query not on the datasource variable`);
        }
      }
      if (String(p['description'] ?? '').length < 40) problems.push(`${where}: no description of what a bad value means`);
      if (p['type'] === 'timeseries' && !defaultsOf(p)['unit']) problems.push(`${where}: no unit`);
    }
    t.same(problems, [], `${file}: no schema problems`);
  }
});

function defaultsOf(p: Json): Json {
  return ((p['fieldConfig'] as Json | undefined)?.['defaults'] as Json | undefined) ?? {};
}

t.test('panel ids are unique and panels sit on the grid without overlapping', async (t) => {
  for (const [file, d] of parsed()) {
    const panels = allPanels(d);
    const ids = panels.map((p) => p['id']);
    t.ok(ids.every((id) => Number.isInteger(id) && (id as number) > 0), `${file}: every panel has a positive integer id`);
    t.equal(new Set(ids).size, ids.length, `${file}: panel ids are unique`);
    const titles = panels.filter((p) => p['type'] !== 'row').map((p) => p['title']);
    t.equal(new Set(titles).size, titles.length, `${file}: panel titles are unique`);
    const boxes = panels.map((p) => p['gridPos'] as GridPos);
    for (const [i, b] of boxes.entries()) {
      t.ok(b.x >= 0 && b.w > 0 && b.x + b.w <= 24 && b.y >= 0 && b.h > 0, `${file}: panel ${String(ids[i])} fits the 24-column grid`);
      for (const [j, c] of boxes.entries()) {
        if (j <= i) continue;
        const overlap = b.x < c.x + c.w && c.x < b.x + b.w && b.y < c.y + c.h && c.y < b.y + b.h;
        if (overlap) t.fail(`${file}: panels ${String(ids[i])} and ${String(ids[j])} overlap`);
      }
    }
  }
});

t.test('template variables: datasource, cluster and node (the fleet: all clusters, no node), read from the agent', async (t) => {
  for (const [file, d] of parsed()) {
    const vars = ((d['templating'] as Json)['list'] as Json[]).map((v) => [String(v['name']), v] as const);
    const fleet = file === 'etcd-latency-fleet.json';
    t.same(
      vars.map(([n]) => n),
      fleet ? ['datasource', 'cluster'] : ['datasource', 'cluster', 'node'],
      `${file}: the variables`,
    );
    const byName = new Map(vars);
    t.equal(byName.get('datasource')?.['type'], 'datasource');
    t.equal(byName.get('datasource')?.['query'], 'prometheus');
    const cluster = byName.get('cluster')!;
    if (fleet) {
      t.same([cluster['includeAll'], cluster['current']], [true, { text: 'All', value: '$__all' }], `${file}: every cluster by default`);
    } else {
      // Grafana selects the first value when none is saved: one cluster, not All of them mixed.
      t.same([cluster['includeAll'], cluster['current']], [false, { text: '', value: '' }], `${file}: one cluster by default`);
    }
    for (const name of fleet ? ['cluster'] : ['cluster', 'node']) {
      const metric = variableMetric(byName.get(name)!);
      t.ok(metric && contractSeries().has(metric), `${file}: $${name} is read from an agent metric (${String(metric)})`);
    }
    for (const { where, expr } of expressions(d)) {
      t.ok(expr.includes('$cluster'), `${file} ${where}: filtered by $cluster`);
    }
  }
});

t.test("every series a panel or annotation reads exists: the contract, etcd's, node_exporter's, kube-state-metrics' or a recording rule", async (t) => {
  const known = new Set([
    ...contractSeries(),
    ...etcdSeries(),
    ...NODE_EXPORTER_SERIES,
    ...KUBE_STATE_METRICS_SERIES,
    ...PROMETHEUS_SERIES,
    ...recordedNames(readFileSync(RULES_FILE, 'utf8')),
  ]);
  let count = 0;
  for (const [file, d] of parsed()) {
    for (const { where, expr } of expressions(d)) {
      const names = metricNames(expr);
      t.ok(names.length > 0, `${file} ${where}: reads some series`);
      for (const name of names) {
        count++;
        t.ok(known.has(name), `${file} ${where}: ${name} exists`);
      }
    }
  }
  t.ok(count > 50, `${count} series references checked`);
  for (const name of Object.values(RULE)) t.ok(recordedNames(readFileSync(RULES_FILE, 'utf8')).has(name), `recording rule ${name} is in the rules file`);
});

t.test('every expression is valid PromQL (promtool parses them, Grafana variables substituted)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-promql-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rules = [...parsed()].flatMap(([file, d]) =>
    expressions(d).map(({ expr }, i) => ({ record: `dashboard:${file.replace(/\W/g, '_')}:q${i}`, expr: substituteVariables(expr, LIVE_VARIABLES) })),
  );
  const path = join(dir, 'dashboards.rules.yaml');
  writeFileSync(path, YAML.stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
  let out = '';
  try {
    out = execFileSync('promtool', ['check', 'rules', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    t.fail(`promtool rejects a dashboard query:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
  t.match(out, new RegExp(`SUCCESS: ${rules.length} rules found`), `${rules.length} expressions parse`);
});

t.test('the panels the issue names are there, with the 10 ms and 25 ms lines and elections as annotations', async (t) => {
  const byFile = parsed();
  const overview = byFile.get('etcd-latency-overview.json')!;
  const node = byFile.get('etcd-latency-node.json')!;
  const titles = (d: Json) => allPanels(d).map((p) => String(p['title']));
  for (const want of [/Disk I\/O time/, /Leader elections per day/, /WAL fsync duration/, /WAL fsync: share over 10 ms/, /Backend commit duration/, /Backend commit: share over 25 ms/, /Probe fdatasync: p99 and longest/, /Peer round-trip/, /running vs recommended/, /Predicted elections per day/, /Active findings/]) {
    t.ok(titles(overview).some((x) => want.test(x)), `overview: ${want.source}`);
  }
  for (const want of [/Probe fdatasync latency/, /etcd WAL fsync vs probe/, /I\/O time/, /Queue depth/, /Write await/, /Flush time/, /What shares etcd's disk/, /where they were found/, /Data and WAL directory/]) {
    t.ok(titles(node).some((x) => want.test(x)), `node detail: ${want.source}`);
  }
  const heatmap = allPanels(node).find((p) => p['type'] === 'heatmap');
  t.ok(heatmap, 'node detail: a heatmap');
  const steps = (p: Json) => (((defaultsOf(p)['thresholds'] as Json | undefined)?.['steps'] as Json[] | undefined) ?? []).map((s) => s['value']);
  const stepAt = (d: Json, title: RegExp, value: number) => {
    const p = allPanels(d).find((x) => title.test(String(x['title'])));
    return p !== undefined && steps(p).includes(value) && (defaultsOf(p)['custom'] as Json | undefined)?.['thresholdsStyle'] !== undefined;
  };
  t.ok(stepAt(overview, /WAL fsync duration/, DEFAULT_THRESHOLDS.walFsyncP99 / 1000), 'WAL fsync: a line at 10 ms');
  t.ok(stepAt(overview, /Backend commit duration/, DEFAULT_THRESHOLDS.backendCommitP99 / 1000), 'backend commit: a line at 25 ms');
  t.ok(stepAt(overview, /Probe fdatasync: p99/, DEFAULT_THRESHOLDS.probeP99 / 1000), 'probe: a line at 10 ms');
  t.ok(stepAt(node, /Backend commit/, 0.025), 'node detail: a line at 25 ms');
  for (const [file, d] of byFile) {
    if (!allPanels(d).some((p) => p['type'] === 'timeseries')) continue; // the fleet's table has no time axis to mark
    const list = ((d['annotations'] as Json)['list'] as Json[]).filter((a) => a['builtIn'] !== 1);
    const elections = list.find((a) => /election/i.test(String(a['name'])));
    t.ok(elections && String((elections['target'] as Json)['expr']).includes('etcd_latency_agent_etcd_elections_total'), `${file}: elections as annotations`);
    t.equal(elections?.['enable'], true, `${file}: shown by default`);
  }
});

/** The label lists of every `by (…)` and `without (…)` in an expression. */
function groupings(expr: string): Array<{ kind: 'by' | 'without' | 'on'; labels: string[] }> {
  return [...expr.matchAll(/\b(by|without|on)\s*\(([^)]*)\)/g)].map((m) => ({ kind: m[1] as 'by' | 'without' | 'on', labels: m[2]!.split(',').map((l) => l.trim()).filter(Boolean) }));
}

t.test('every aggregation keeps cluster: by (cluster, …), never without (cluster), joins on cluster', async (t) => {
  let count = 0;
  for (const [file, d] of parsed()) {
    for (const { where, expr } of expressions(d)) {
      for (const g of groupings(expr)) {
        count++;
        if (g.kind === 'without') t.notOk(g.labels.includes('cluster'), `${file} ${where}: without (${g.labels.join(', ')}) keeps cluster`);
        else t.ok(g.labels.includes('cluster'), `${file} ${where}: ${g.kind} (${g.labels.join(', ')}) keeps cluster`);
      }
      t.notMatch(expr, /\b(sum|max|min|avg|count)\s*\(/, `${file} ${where}: every aggregation names its grouping (by (cluster, …) before the parenthesis)`);
    }
  }
  t.ok(count > 40, `${count} groupings checked`);
  const groupingsOk = groupings('sum by (node, le) (x)');
  t.notOk(groupingsOk[0]!.labels.includes('cluster'), 'the check sees a grouping without cluster');
});

t.test('the fleet: one row per cluster, the riskiest first, each linking to its cluster overview', async (t) => {
  const fleet = parsed().get('etcd-latency-fleet.json')!;
  const tables = allPanels(fleet).filter((p) => p['type'] === 'table');
  t.equal(tables.length, 1, 'one table');
  const table = tables[0]!;
  for (const { where, expr } of expressions(fleet)) t.match(expr, /^(max|sum|count) by \(cluster\) /, `${where}: one value per cluster`);
  const renames = Object.values((((table['transformations'] as Json[]).find((x) => x['id'] === 'organize')!['options'] as Json)['renameByName']) as Json);
  for (const column of ['verdict', 'elections in 24 h', 'predicted elections/day (running, now)', 'predicted elections/day (recommended)', 'disk remedy', 'agents up', 'control-plane nodes']) {
    t.ok(renames.includes(column), `a column: ${column}`);
  }
  t.same((table['options'] as Json)['sortBy'], [{ displayName: 'verdict', desc: true }], 'sorted by the verdict, worst first');
  const overrides = (table['fieldConfig'] as Json)['overrides'] as Json[];
  const clusterLink = overrides.find((o) => (o['matcher'] as Json)['options'] === 'cluster');
  t.match(JSON.stringify(clusterLink), /\/d\/etcd-latency-overview\?.*var-cluster=\$\{__value\.raw\}/, 'the cluster name links to its overview');
});

t.test('the live expectations cover every query (test/grafana/live-queries.test.ts relies on them)', async (t) => {
  const queries = dashboardQueries();
  const inJson = [...parsed().values()].flatMap((d) => expressions(d).map((e) => e.expr));
  t.same(queries.map((q) => q.expr).sort(), inJson.sort(), 'the specs list exactly the JSON queries');
  t.ok(queries.filter((q) => q.expect === 'always').length > 30, 'most queries have data on any running agent');
});
