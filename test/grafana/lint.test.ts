// The dashboards against Grafana's dashboard-linter rules, with the exclusions grafana/.lint gives
// reasons for. The linter itself (github.com/grafana/dashboard-linter) is a Go module the module proxy
// here does not serve, so its rules are implemented below from their documented intent, one check per
// rule name; the .lint file is in the linter's own format, so the real linter can read it elsewhere.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import YAML from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const GRAFANA = join(ROOT, 'grafana');

type Json = Record<string, unknown>;
interface Exclusion {
  reason: string;
  entries?: Array<{ dashboard: string; panel?: string }>;
}

const LINT = YAML.parse(readFileSync(join(GRAFANA, '.lint'), 'utf8')) as { exclusions: Record<string, Exclusion> };
const dashboards = readdirSync(GRAFANA)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(GRAFANA, f), 'utf8')) as Json);

const panelsOf = (d: Json): Json[] =>
  ((d['panels'] as Json[] | undefined) ?? []).flatMap((p) => [p, ...((p['type'] === 'row' ? (p['panels'] as Json[] | undefined) : undefined) ?? [])]);
const dataPanels = (d: Json) => panelsOf(d).filter((p) => p['type'] !== 'row' && p['type'] !== 'text');
const exprsOf = (p: Json): string[] => ((p['targets'] as Json[] | undefined) ?? []).map((x) => String(x['expr']));
const annotationsOf = (d: Json): Json[] => (((d['annotations'] as Json | undefined)?.['list'] as Json[] | undefined) ?? []).filter((a) => a['builtIn'] !== 1);
const variablesOf = (d: Json): Json[] => ((d['templating'] as Json | undefined)?.['list'] as Json[] | undefined) ?? [];

interface Problem {
  readonly rule: string;
  readonly dashboard: string;
  readonly panel?: string;
  readonly message: string;
}

/** Every rule: what it finds wrong in one dashboard. */
const RULES: Record<string, (d: Json, title: string) => Problem[]> = {
  'template-datasource-rule': (d, title) => {
    const ds = variablesOf(d).find((v) => v['type'] === 'datasource');
    return ds?.['name'] === 'datasource' && ds['query'] === 'prometheus'
      ? []
      : [{ rule: 'template-datasource-rule', dashboard: title, message: 'a datasource variable named datasource, of Prometheus data sources' }];
  },
  'template-job-rule': (d, title) => (variablesOf(d).some((v) => v['name'] === 'job') ? [] : [{ rule: 'template-job-rule', dashboard: title, message: 'no job variable' }]),
  'template-instance-rule': (d, title) =>
    variablesOf(d).some((v) => v['name'] === 'instance') ? [] : [{ rule: 'template-instance-rule', dashboard: title, message: 'no instance variable' }],
  'template-on-time-change-reload-rule': (d, title) =>
    variablesOf(d)
      .filter((v) => v['type'] === 'query' && v['refresh'] !== 2)
      .map((v) => ({ rule: 'template-on-time-change-reload-rule', dashboard: title, message: `$${String(v['name'])} is not refreshed on time range change` })),
  'template-label-promql-rule': (d, title) =>
    variablesOf(d)
      .filter((v) => v['type'] === 'query' && !/^label_values\([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?, *[a-z_]+\)$/.test(String((v['query'] as Json)['query'])))
      .map((v) => ({ rule: 'template-label-promql-rule', dashboard: title, message: `$${String(v['name'])} is not a label_values() query` })),
  'target-job-rule': (d, title) =>
    dataPanels(d).flatMap((p) =>
      exprsOf(p).filter((e) => !e.includes('job=~"$job"')).map(() => ({ rule: 'target-job-rule', dashboard: title, panel: String(p['title']), message: 'no job=~"$job"' })),
    ),
  'target-instance-rule': (d, title) =>
    dataPanels(d).flatMap((p) =>
      exprsOf(p)
        .filter((e) => !e.includes('instance=~"$instance"'))
        .map(() => ({ rule: 'target-instance-rule', dashboard: title, panel: String(p['title']), message: 'no instance=~"$instance"' })),
    ),
  'target-rate-interval-rule': (d, title) => {
    const windows = (e: string) => [...e.matchAll(/\b(rate|irate|increase)\([^[]*\[([^\]]+)\]/g)].map((m) => m[2]!).filter((w) => w !== '$__rate_interval');
    return [
      ...dataPanels(d).flatMap((p) =>
        exprsOf(p).flatMap(windows).map((w) => ({ rule: 'target-rate-interval-rule', dashboard: title, panel: String(p['title']), message: `a [${w}] window` })),
      ),
      ...annotationsOf(d).flatMap((a) =>
        windows(String((a['target'] as Json | undefined)?.['expr'] ?? '')).map((w) => ({
          rule: 'target-rate-interval-rule',
          dashboard: title,
          panel: `annotation: ${String(a['name'])}`,
          message: `a [${w}] window`,
        })),
      ),
    ];
  },
  'panel-datasource-rule': (d, title) =>
    dataPanels(d)
      .filter((p) => (p['datasource'] as Json | undefined)?.['uid'] !== '${datasource}')
      .map((p) => ({ rule: 'panel-datasource-rule', dashboard: title, panel: String(p['title']), message: 'not the $datasource variable' })),
  'panel-title-description-rule': (d, title) =>
    panelsOf(d)
      .filter((p) => p['type'] !== 'row' && (!String(p['title'] ?? '').trim() || !String(p['description'] ?? '').trim()))
      .map((p) => ({ rule: 'panel-title-description-rule', dashboard: title, panel: String(p['title']), message: 'a title and a description' })),
  'panel-units-rule': (d, title) =>
    dataPanels(d)
      .filter((p) => !String(((p['fieldConfig'] as Json | undefined)?.['defaults'] as Json | undefined)?.['unit'] ?? '').trim())
      .map((p) => ({ rule: 'panel-units-rule', dashboard: title, panel: String(p['title']), message: 'no unit' })),
  'panel-no-targets-rule': (d, title) =>
    dataPanels(d)
      .filter((p) => exprsOf(p).length === 0)
      .map((p) => ({ rule: 'panel-no-targets-rule', dashboard: title, panel: String(p['title']), message: 'no query' })),
  'uneditable-dashboard': (d, title) => (d['editable'] === false ? [] : [{ rule: 'uneditable-dashboard', dashboard: title, message: 'editable' }]),
};

function excluded(p: Problem): boolean {
  const ex = LINT.exclusions[p.rule];
  if (ex === undefined) return false;
  return ex.entries === undefined || ex.entries.some((e) => e.dashboard === p.dashboard && (e.panel === undefined || e.panel === p.panel));
}

const problems = dashboards.flatMap((d) => Object.values(RULES).flatMap((rule) => rule(d, String(d['title']))));

t.test('every dashboard passes every dashboard-linter rule but the exclusions grafana/.lint gives a reason for', async (t) => {
  t.same(problems.filter((p) => !excluded(p)), [], 'no problem outside the exclusions');
  t.ok(dashboards.length >= 3, `${dashboards.length} dashboards`);
});

t.test('every exclusion in grafana/.lint names a rule, gives a reason, and is needed', async (t) => {
  for (const [rule, ex] of Object.entries(LINT.exclusions)) {
    t.ok(rule in RULES, `${rule} is a rule`);
    t.ok(ex.reason.trim().length > 20, `${rule}: a reason`);
    for (const e of ex.entries ?? [{ dashboard: '(any)' }]) {
      const needed = problems.some((p) => p.rule === rule && (ex.entries === undefined || (e.dashboard === p.dashboard && (e.panel === undefined || e.panel === p.panel))));
      t.ok(needed, `${rule} ${e.dashboard}${e.panel ? ` / ${e.panel}` : ''}: some dashboard needs it`);
    }
  }
});

t.test('the rules can fail: an editable dashboard with a panel without unit or description is reported', async (t) => {
  const bad: Json = { title: 'bad', editable: true, panels: [{ type: 'timeseries', title: 'x', datasource: { uid: 'prom' }, targets: [{ expr: 'rate(x[5m])' }], fieldConfig: { defaults: {} } }] };
  const found = Object.values(RULES).flatMap((rule) => rule(bad, 'bad')).map((p) => p.rule);
  for (const rule of ['uneditable-dashboard', 'panel-units-rule', 'panel-title-description-rule', 'panel-datasource-rule', 'target-rate-interval-rule', 'template-datasource-rule']) {
    t.ok(found.includes(rule), `${rule} reports it`);
  }
});
