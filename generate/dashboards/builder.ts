// A small builder for the Grafana dashboards in grafana/: panel specs in, dashboard JSON out (as
// Grafana 10.4 reads it, schemaVersion 39, which current Grafana migrates forward). The types are
// @grafana/schema's, imported as types only, so the compiled agent does not depend on the package at
// run time; panel options are checked against the option *keys* of each panel plugin's schema (a
// misspelt option is a compile error).
//
// Each query also carries what the live test (test/grafana/live-queries.test.ts) may expect of it: data
// on any running agent, data only on a multi-member cluster, or only while a fault is present. That
// expectation never reaches the JSON.
import type {
  AnnotationQuery,
  Dashboard,
  DashboardLink,
  DataSourceRef,
  DataTransformerConfig,
  FieldConfigSource,
  MappingType,
  Panel,
  RowPanel,
  Threshold,
  ThresholdsConfig,
  ThresholdsMode,
  ValueMapping,
  VariableModel,
} from '@grafana/schema';
import type { Options as BarChartOptions } from '@grafana/schema/dist/esm/raw/composable/barchart/panelcfg/x/BarChartPanelCfg_types.gen';
import type { Options as HeatmapOptions } from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type {
  FieldConfig as StateTimelineFieldConfig,
  Options as StateTimelineOptions,
} from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type { FieldConfig as TableFieldConfig, Options as TableOptions } from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type { Options as TextOptions } from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type {
  FieldConfig as TimeSeriesFieldConfig,
  Options as TimeSeriesOptions,
} from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/**
 * Grafana 10.4's dashboard schema version: SCS's central Grafana runs 10.4, which does not know the
 * later versions; current Grafana (@grafana/schema 13 describes 42) migrates 39 forward when it loads.
 */
export const SCHEMA_VERSION = 39;

/** Every query goes to the data source chosen in the `datasource` variable. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Only the keys of a plugin's option type: enough to catch a misspelt option, without its enums. */
type Keys<T> = { [K in keyof T]?: unknown };

/**
 * When a query returns data:
 * - `always`: on any running agent with a reachable etcd member (a healthy single member is enough);
 * - `cluster`: on a cluster of two or more members (peer round-trip);
 * - `fault`: only while the agent diagnoses a problem (findings, recommendations, stalls, elections);
 * - `kube-state-metrics`: where kube-state-metrics is scraped too (kube-prometheus-stack ships it; the
 *   live test has none, and says which queries it could not check);
 * - `io-accounting`: where the kernel counts I/O per cgroup for etcd's device (cgroup v2; v1 once a
 *   throttle rule exists for the device — the live test's scenarios set one);
 * - `candidates`: where the agents probe candidate filesystems (--candidate-dir; the live test's
 *   scenarios give each agent one).
 */
export type Expect = 'always' | 'cluster' | 'fault' | 'kube-state-metrics' | 'io-accounting' | 'candidates';

export interface Query {
  readonly expr: string;
  readonly legend?: string;
  /** An instant query (tables, stats of the current value); range otherwise. */
  readonly instant?: boolean;
  readonly format?: 'time_series' | 'table' | 'heatmap';
  readonly expect: Expect;
}

export type Step = readonly [color: string, value: number | null];

interface BaseSpec {
  readonly title: string;
  /** What the panel shows and what a bad value means. */
  readonly description: string;
  readonly w: number;
  readonly h: number;
  readonly queries: readonly Query[];
  readonly links?: readonly PanelLink[];
}

export interface PanelLink {
  readonly title: string;
  readonly url: string;
}

export interface TimeSeriesSpec extends BaseSpec {
  readonly kind: 'timeseries';
  readonly unit: string;
  /** Threshold steps after the base (green): drawn as dashed lines. */
  readonly thresholds?: readonly Step[];
  readonly min?: number;
  readonly max?: number;
  readonly log?: boolean;
  readonly decimals?: number;
  readonly bars?: boolean;
  /** Per-series overrides: legend regex → unit / axis placement / fill below to. */
  readonly overrides?: FieldConfigSource['overrides'];
}

export interface StatSpec extends BaseSpec {
  readonly kind: 'stat';
  readonly unit: string;
  readonly thresholds?: readonly Step[];
  readonly mappings?: readonly ValueMapping[];
  readonly decimals?: number;
  readonly textMode?: 'auto' | 'value' | 'value_and_name' | 'name';
  readonly colorMode?: 'value' | 'background' | 'none';
}

export interface TableSpec extends BaseSpec {
  readonly kind: 'table';
  /** Columns to hide (labels nobody needs here). */
  readonly hide?: readonly string[];
  /** Column renames; "Value #A" is query A's value column when several queries are merged. */
  readonly rename?: Readonly<Record<string, string>>;
  readonly order?: readonly string[];
  readonly overrides?: FieldConfigSource['overrides'];
  /** The value columns' unit; 'none' where every value is mapped to words or hidden. */
  readonly unit: string;
  readonly mappings?: readonly ValueMapping[];
  readonly thresholds?: readonly Step[];
  readonly sortBy?: { readonly displayName: string; readonly desc: boolean };
}

export interface HeatmapSpec extends BaseSpec {
  readonly kind: 'heatmap';
  readonly unit: string;
}

export interface StateTimelineSpec extends BaseSpec {
  readonly kind: 'state-timeline';
  readonly mappings: readonly ValueMapping[];
  readonly thresholds?: readonly Step[];
}

/**
 * Bars per category: instant table queries that share a label column (the categories), merged into
 * one table and summed per category.
 */
export interface BarChartSpec extends BaseSpec {
  readonly kind: 'barchart';
  readonly unit: string;
  /** The label whose values name the bars, in the order their text sorts, and its title in the panel. */
  readonly xLabel: string;
  readonly xTitle: string;
  /** The value columns, summed per category and renamed: "Value #A" is query A's; these names are the legend's. */
  readonly rename: Readonly<Record<string, string>>;
}

export interface TextSpec {
  readonly kind: 'text';
  readonly title: string;
  readonly description: string;
  readonly w: number;
  readonly h: number;
  readonly markdown: string;
}

export type PanelSpec = TimeSeriesSpec | StatSpec | TableSpec | HeatmapSpec | StateTimelineSpec | BarChartSpec | TextSpec;

export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

export interface AnnotationSpec {
  readonly name: string;
  readonly expr: string;
  readonly iconColor: string;
  readonly titleFormat: string;
  readonly textFormat: string;
  readonly tagKeys: string;
  readonly step: string;
  readonly expect: Expect;
}

export interface DashboardSpec {
  /** File name under grafana/. */
  readonly file: string;
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables: readonly VariableModel[];
  readonly annotations: readonly AnnotationSpec[];
  readonly links: readonly DashboardLink[];
  readonly rows: readonly RowSpec[];
  readonly time?: { readonly from: string; readonly to: string };
}

// ───────────────────────────────────────────── small pieces

const ABSOLUTE = 'absolute' as ThresholdsMode;
const VALUE_MAP = 'value' as MappingType.ValueToText;

export function thresholds(steps: readonly Step[] = [], base = 'green'): ThresholdsConfig {
  const out: Threshold[] = [{ color: base, value: null }, ...steps.map(([color, value]) => ({ color, value }))];
  return { mode: ABSOLUTE, steps: out };
}

/** Value → text and colour (state timelines, verdicts). */
export function valueMap(entries: Readonly<Record<string, readonly [text: string, color: string]>>): ValueMapping {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  Object.entries(entries).forEach(([value, [text, color]], index) => {
    options[value] = { text, color, index };
  });
  return { type: VALUE_MAP, options };
}

function targets(queries: readonly Query[]): Array<Record<string, unknown>> {
  return queries.map((q, i) => {
    const t: Record<string, unknown> = {
      datasource: DATASOURCE,
      editorMode: 'code',
      expr: q.expr,
      refId: String.fromCharCode(65 + i),
      range: !q.instant,
      instant: Boolean(q.instant),
      legendFormat: q.legend ?? '__auto',
    };
    if (q.format) t['format'] = q.format;
    return t;
  });
}

function panelLinks(links: readonly PanelLink[] | undefined): Array<{ title: string; url: string }> | undefined {
  return links?.map((l) => ({ title: l.title, url: l.url }));
}

const legendTable = { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] } as const;
const tooltipMulti = { mode: 'multi', sort: 'desc' } as const;

function timeseriesPanel(p: TimeSeriesSpec): Panel {
  const custom = {
    drawStyle: p.bars ? 'bars' : 'line',
    lineWidth: 1,
    fillOpacity: p.bars ? 80 : 10,
    gradientMode: 'none',
    showPoints: 'never',
    spanNulls: false,
    ...(p.log ? {} : { axisSoftMin: p.min ?? 0 }),
    axisBorderShow: false,
    thresholdsStyle: { mode: p.thresholds && p.thresholds.length > 0 ? 'dashed' : 'off' },
    ...(p.log ? { scaleDistribution: { type: 'log', log: 10 } } : {}),
  } satisfies Keys<TimeSeriesFieldConfig>;
  const options = { legend: legendTable, tooltip: tooltipMulti } satisfies Keys<TimeSeriesOptions>;
  return {
    type: 'timeseries',
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        ...(p.min !== undefined ? { min: p.min } : {}),
        ...(p.max !== undefined ? { max: p.max } : {}),
        ...(p.decimals !== undefined ? { decimals: p.decimals } : {}),
        thresholds: thresholds(p.thresholds),
        color: { mode: 'palette-classic' as never },
        custom,
      },
      overrides: p.overrides ? [...p.overrides] : [],
    },
    options,
    targets: targets(p.queries),
    ...(p.links ? { links: panelLinks(p.links) as never } : {}),
  };
}

function statPanel(p: StatSpec): Panel {
  const options = {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    orientation: 'auto',
    textMode: p.textMode ?? 'value_and_name',
    colorMode: p.colorMode ?? 'background',
    graphMode: 'none',
    justifyMode: 'auto',
    wideLayout: true,
    showPercentChange: false,
    percentChangeColorMode: 'standard',
  } satisfies Keys<StatOptions>;
  return {
    type: 'stat',
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        ...(p.decimals !== undefined ? { decimals: p.decimals } : {}),
        thresholds: thresholds(p.thresholds),
        mappings: p.mappings ? [...p.mappings] : [],
        color: { mode: 'thresholds' as never },
      },
      overrides: [],
    },
    options,
    targets: targets(p.queries),
    ...(p.links ? { links: panelLinks(p.links) as never } : {}),
  };
}

function tablePanel(p: TableSpec): Panel {
  const transformations: DataTransformerConfig[] = [];
  if (p.queries.length > 1) transformations.push({ id: 'merge', options: {} });
  const excludeByName: Record<string, boolean> = { Time: true };
  for (const h of p.hide ?? []) excludeByName[h] = true;
  const indexByName: Record<string, number> = {};
  (p.order ?? []).forEach((name, i) => (indexByName[name] = i));
  transformations.push({ id: 'organize', options: { excludeByName, indexByName, renameByName: { ...(p.rename ?? {}) } } });
  const custom = { align: 'auto', cellOptions: { type: 'auto' }, filterable: false } satisfies Keys<TableFieldConfig>;
  const options = {
    showHeader: true,
    cellHeight: 'sm',
    frameIndex: 0,
    ...(p.sortBy ? { sortBy: [{ displayName: p.sortBy.displayName, desc: p.sortBy.desc }] } : {}),
  } satisfies Keys<TableOptions>;
  return {
    type: 'table',
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        thresholds: thresholds(p.thresholds),
        mappings: p.mappings ? [...p.mappings] : [],
        custom,
      },
      overrides: p.overrides ? [...p.overrides] : [],
    },
    options,
    transformations,
    targets: targets(p.queries.map((q) => ({ ...q, instant: true, format: 'table' }))),
    ...(p.links ? { links: panelLinks(p.links) as never } : {}),
  };
}

function heatmapPanel(p: HeatmapSpec): Panel {
  const options = {
    calculate: false,
    cellGap: 1,
    color: { mode: 'scheme', scheme: 'Oranges', fill: 'dark', scale: 'exponential', exponent: 0.5, steps: 64, reverse: false },
    exemplars: { color: 'rgba(255,0,255,0.7)' },
    filterValues: { le: 1e-9 },
    legend: { show: true },
    rowsFrame: { layout: 'auto' },
    showValue: 'never',
    tooltip: { mode: 'single', yHistogram: true, showColorScale: true },
    yAxis: { axisPlacement: 'left', unit: p.unit, reverse: false },
  } satisfies Keys<HeatmapOptions>;
  return {
    type: 'heatmap',
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    fieldConfig: { defaults: { unit: p.unit, custom: { hideFrom: { legend: false, tooltip: false, viz: false } } }, overrides: [] },
    options,
    targets: targets(p.queries.map((q) => ({ ...q, format: 'heatmap' }))),
  };
}

function stateTimelinePanel(p: StateTimelineSpec): Panel {
  const custom = { fillOpacity: 80, lineWidth: 0 } satisfies Keys<StateTimelineFieldConfig>;
  const options = {
    mergeValues: true,
    showValue: 'never',
    alignValue: 'left',
    rowHeight: 0.9,
    legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
    tooltip: { mode: 'single', sort: 'none' },
  } satisfies Keys<StateTimelineOptions>;
  return {
    type: 'state-timeline',
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    fieldConfig: {
      // States, mapped to words: no unit of their own.
      defaults: { unit: 'none', mappings: [...p.mappings], thresholds: thresholds(p.thresholds), color: { mode: 'thresholds' as never }, custom },
      overrides: [],
    },
    options,
    targets: targets(p.queries),
  };
}

function barChartPanel(p: BarChartSpec): Panel {
  const transformations: DataTransformerConfig[] = [];
  if (p.queries.length > 1) transformations.push({ id: 'merge', options: {} });
  // The queries keep the cluster label (several clusters may be shown): their bars of one category are summed here.
  const fields: Record<string, unknown> = { [p.xLabel]: { operation: 'groupby' } };
  const renameByName: Record<string, string> = { [p.xLabel]: p.xTitle };
  for (const [value, name] of Object.entries(p.rename)) {
    fields[value] = { operation: 'aggregate', aggregations: ['sum'] };
    renameByName[`${value} (sum)`] = name;
  }
  transformations.push({ id: 'groupBy', options: { fields } });
  transformations.push({ id: 'organize', options: { excludeByName: {}, indexByName: {}, renameByName } });
  transformations.push({ id: 'sortBy', options: { sort: [{ field: p.xTitle, desc: false }] } });
  const options = {
    orientation: 'vertical',
    xField: p.xTitle,
    showValue: 'never',
    stacking: 'none',
    groupWidth: 0.8,
    barWidth: 0.9,
    fullHighlight: false,
    xTickLabelRotation: 0,
    legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
    tooltip: { mode: 'multi', sort: 'none' },
  } satisfies Keys<BarChartOptions>;
  return {
    type: 'barchart',
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    fieldConfig: { defaults: { unit: p.unit, decimals: 0, min: 0, color: { mode: 'palette-classic' as never } }, overrides: [] },
    options,
    transformations,
    targets: targets(p.queries.map((q) => ({ ...q, instant: true, format: 'table' }))),
  };
}

function textPanel(p: TextSpec): Panel {
  const options = { mode: 'markdown', content: p.markdown } satisfies Keys<TextOptions>;
  return { type: 'text', title: p.title, description: p.description, options };
}

function panelOf(p: PanelSpec): Panel {
  switch (p.kind) {
    case 'timeseries':
      return timeseriesPanel(p);
    case 'stat':
      return statPanel(p);
    case 'table':
      return tablePanel(p);
    case 'heatmap':
      return heatmapPanel(p);
    case 'state-timeline':
      return stateTimelinePanel(p);
    case 'barchart':
      return barChartPanel(p);
    case 'text':
      return textPanel(p);
  }
}

/**
 * Lays rows out on Grafana's 24-column grid, left to right, wrapping to a new line when a panel does
 * not fit; ids are 1, 2, 3 … in reading order (rows included), so they are unique and stable.
 */
function layout(rows: readonly RowSpec[]): Array<Panel | RowPanel> {
  const out: Array<Panel | RowPanel> = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    out.push({ type: 'row', id: id++, title: row.title, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y } });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const spec of row.panels) {
      if (spec.w > 24) throw new Error(`panel "${spec.title}" is wider than the grid`);
      if (x + spec.w > 24) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      out.push({ ...panelOf(spec), id: id++, gridPos: { h: spec.h, w: spec.w, x, y } });
      x += spec.w;
      lineHeight = Math.max(lineHeight, spec.h);
    }
    y += lineHeight;
  }
  return out;
}

function annotation(a: AnnotationSpec): AnnotationQuery & Record<string, unknown> {
  return {
    name: a.name,
    datasource: DATASOURCE,
    enable: true,
    hide: false,
    iconColor: a.iconColor,
    // Grafana's Prometheus annotation support: the query in `target`, the event's text from labels.
    target: { refId: 'Anno', expr: a.expr, interval: a.step } as never,
    expr: a.expr,
    step: a.step,
    titleFormat: a.titleFormat,
    textFormat: a.textFormat,
    tagKeys: a.tagKeys,
    useValueForTime: false,
  };
}

/** Grafana's own "Annotations & Alerts" entry, which every dashboard carries. */
const BUILT_IN_ANNOTATION: AnnotationQuery = {
  builtIn: 1,
  datasource: { type: 'grafana', uid: '-- Grafana --' },
  enable: true,
  hide: true,
  iconColor: 'rgba(0, 211, 255, 1)',
  name: 'Annotations & Alerts',
  type: 'dashboard',
};

export function renderDashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [...spec.tags],
    // Generated from code: an edit in Grafana would be lost on the next deploy (dashboard-linter's uneditable-dashboard).
    editable: false,
    graphTooltip: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    refresh: '1m',
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: spec.time ? { ...spec.time } : { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    weekStart: '',
    links: [...spec.links],
    annotations: { list: [BUILT_IN_ANNOTATION, ...spec.annotations.map(annotation)] },
    templating: { list: [...spec.variables] },
    panels: layout(spec.rows),
  };
}

/** Every PromQL expression of a dashboard spec, with where it is and what the live test may expect. */
export interface QueryRef {
  readonly dashboard: string;
  /** Panel title, or "annotation: NAME", or "variable: NAME". */
  readonly where: string;
  readonly expr: string;
  readonly expect: Expect;
}

export function queriesOf(spec: DashboardSpec): QueryRef[] {
  const out: QueryRef[] = [];
  for (const row of spec.rows) {
    for (const p of row.panels) {
      if (p.kind === 'text') continue;
      p.queries.forEach((q, i) => out.push({ dashboard: spec.file, where: `${p.title} [${String.fromCharCode(65 + i)}]`, expr: q.expr, expect: q.expect }));
    }
  }
  for (const a of spec.annotations) out.push({ dashboard: spec.file, where: `annotation: ${a.name}`, expr: a.expr, expect: a.expect });
  return out;
}

// ───────────────────────────────────────────── template variables

export function datasourceVariable(): VariableModel {
  return {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: { text: 'default', value: 'default' },
    hide: 0,
    includeAll: false,
    multi: false,
    refresh: 1,
    regex: '',
    skipUrlSync: false,
    options: [],
  };
}

/** A label's values on the agent's build_info series (one per agent), filtered by `filter`. */
export function labelVariable(o: {
  name: string;
  label: string;
  description: string;
  metric: string;
  filter?: string;
  multi: boolean;
  includeAll: boolean;
}): VariableModel {
  const query = `label_values(${o.metric}${o.filter ? `{${o.filter}}` : ''}, ${o.name})`;
  return {
    name: o.name,
    label: o.label,
    description: o.description,
    type: 'query',
    datasource: DATASOURCE,
    query: { qryType: 1, query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: o.includeAll ? { text: 'All', value: '$__all' } : { text: '', value: '' },
    hide: 0,
    includeAll: o.includeAll,
    ...(o.includeAll ? { allValue: '.*' } : {}),
    multi: o.multi,
    refresh: 2,
    regex: '',
    sort: 1,
    skipUrlSync: false,
    options: [],
  };
}
