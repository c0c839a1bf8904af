// What both dashboards share: selectors, metric names from the contract, the variables, the
// elections annotation and the panels that appear on both.
import type { DashboardLink, FieldConfigSource, VariableModel } from '@grafana/schema';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { METRICS, type MetricKey } from '../../src/export/prometheus/contract.js';
import { datasourceVariable, labelVariable, valueMap, type AnnotationSpec, type BarChartSpec, type Query, type Step, type TableSpec, type StatSpec } from './builder.js';

/** A metric's name from the contract (the series name for a counter or gauge, the family for a histogram). */
export const m = (key: MetricKey): string => METRICS[key].name;
export const bucket = (key: MetricKey): string => `${m(key)}_bucket`;

/** The selector every query starts from: the chosen cluster(s) and node(s). */
export function sel(...extra: string[]): string {
  return `{${['cluster=~"$cluster"', 'node=~"$node"', ...extra].join(', ')}}`;
}

export const RATE = '$__rate_interval';

/** etcd's targets and the agent's thresholds, in the units the panels use. */
export const WAL_TARGET = DEFAULT_THRESHOLDS.walFsyncP99 / 1000;
export const COMMIT_TARGET = DEFAULT_THRESHOLDS.backendCommitP99 / 1000;
export const PROBE_TARGET = DEFAULT_THRESHOLDS.probeP99 / 1000;
export const PEER_RTT_LIMIT = DEFAULT_THRESHOLDS.peerRttP99 / 1000;
export const BUSY_LIMIT = DEFAULT_THRESHOLDS.diskBusyFraction;
export const QUEUE_LIMIT = DEFAULT_THRESHOLDS.diskQueueDepth;
export const ELECTIONS_WARNING = DEFAULT_THRESHOLDS.electionsPerDayWarning;
export const ELECTIONS_CRITICAL = DEFAULT_THRESHOLDS.electionsPerDayCritical;

export const over = (value: number, color = 'red'): Step[] => [[color, value]];

/** p-quantile per node from a histogram's buckets over Grafana's rate interval (interpolated: the panels say so). */
export function quantile(q: number, key: MetricKey, by = 'cluster, node'): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${bucket(key)}${sel()}[${RATE}])))`;
}

export const TAGS = ['etcd', 'etcd-latency-agent'];

export const OVERVIEW_UID = 'etcd-latency-overview';
export const NODE_UID = 'etcd-latency-node';
export const FLEET_UID = 'etcd-latency-fleet';

export function variables(nodeMulti: boolean): VariableModel[] {
  return [
    datasourceVariable(),
    labelVariable({
      name: 'cluster',
      label: 'Cluster',
      description: 'The cluster label your Prometheus adds (external or target label; a central Thanos keeps it). Without one, the variable is empty and the panels show the series that have no cluster label.',
      metric: m('buildInfo'),
      // One cluster by default (Grafana selects the first when none is saved); several on the overview.
      multi: nodeMulti,
      includeAll: false,
    }),
    labelVariable({
      name: 'node',
      label: 'Node',
      description: 'Control-plane node (the node label the ServiceMonitor copies from the pod).',
      metric: m('buildInfo'),
      filter: 'cluster=~"$cluster"',
      multi: nodeMulti,
      includeAll: nodeMulti,
    }),
  ];
}

export function links(): DashboardLink[] {
  return [
    {
      title: 'etcd latency',
      type: 'dashboards',
      tags: ['etcd-latency-agent'],
      asDropdown: false,
      icon: 'external link',
      includeVars: true,
      keepTime: true,
      targetBlank: false,
      tooltip: '',
      url: '',
    },
  ];
}

/** Elections as annotations on every time-series panel: each agent counts the raft term increases it saw. */
export function electionsAnnotation(perNode: boolean): AnnotationSpec {
  const filter = perNode ? sel() : '{cluster=~"$cluster"}';
  return {
    name: 'Leader elections',
    expr: `max by (cluster) (increase(${m('etcdElections')}${filter}[1m])) > 0`,
    iconColor: 'red',
    step: '30s',
    titleFormat: 'Leader election',
    textFormat: 'etcd elected a leader (raft term increase counted by the agents)',
    tagKeys: 'cluster',
    expect: 'fault',
  };
}

const WARN_SHARE = `${Math.round(DEFAULT_THRESHOLDS.stallWarningFraction * 100)} %`;

/**
 * Stalls that threaten leadership as annotations: a minute in which some fdatasync on a node reached
 * the warning share of its election timeout (the probe's or etcd's WAL; the larger count of the two).
 */
export function stallsAnnotation(perNode: boolean): AnnotationSpec {
  const filter = perNode ? sel('kind="stall"') : '{cluster=~"$cluster", kind="stall"}';
  return {
    name: 'Stalls threatening leadership',
    expr: `max by (cluster, node) (increase(${m('leadershipEvents')}${filter}[1m])) > 0`,
    iconColor: 'orange',
    step: '30s',
    titleFormat: 'Stall threatening leadership',
    textFormat: `an fdatasync on {{node}} reached ${WARN_SHARE} of the election timeout (the probe or etcd's WAL fsync)`,
    tagKeys: 'cluster,node',
    expect: 'fault',
  };
}

/**
 * etcd's maintenance as annotations: a minute in which a member completed a defragmentation, a
 * compaction, a raft snapshot or a DB snapshot (a backup), or was defragmenting. Beside the elections
 * and stalls, it shows which job they came with (the maintenance_coincides finding says it per member).
 */
export function maintenanceAnnotation(perNode: boolean): AnnotationSpec {
  const filter = perNode ? sel() : '{cluster=~"$cluster"}';
  return {
    name: "etcd's maintenance",
    expr:
      `sum by (cluster, node, kind) (increase(${m('etcdMaintenance')}${filter}[1m])) > 0 ` +
      `or label_replace(max by (cluster, node) (max_over_time(${m('etcdDefragInflight')}${filter}[1m])) > 0, "kind", "defrag (running)", "", "")`,
    iconColor: 'purple',
    step: '30s',
    titleFormat: "etcd's maintenance",
    textFormat: '{{kind}} on {{node}}',
    tagKeys: 'cluster,node,kind',
    expect: 'fault',
  };
}

/**
 * Elections and leadership-threatening stalls by the UTC hour of day they came in, over 7 days: a
 * nightly job (defragmentation, backups, compaction) shows as a tall bar at its hour. Each member's agent
 * counts every election (all see the term rise), so elections take the largest count of a cluster's
 * members; a stall may be counted by the probe and by etcd's WAL fsync, so stalls take the larger
 * count of the two per node, summed over the nodes shown.
 */
export function eventsByHourPanel(perNode: boolean, w: number, h: number): BarChartSpec {
  const inc = (kind: string) => `round(increase(${m('leadershipEvents')}${sel(`kind="${kind}"`)}[7d]))`;
  return {
    kind: 'barchart',
    title: perNode ? 'Elections and stalls by hour of day (UTC), last 7 days' : 'Elections and stalls by hour of day (UTC), last 7 days, all nodes shown',
    description:
      'Leader elections and stalls that threatened leadership (a single fdatasync reaching ' +
      `${WARN_SHARE} of the running election timeout), by the hour of day (UTC) the agent saw them, summed over the last 7 days. ` +
      'Bars that stand out at the same hour are a schedule: a defragmentation, compaction, snapshot or backup job. ' +
      'Elections are counted once per cluster (the most any member saw); stalls per node (the larger of the probe\'s and etcd\'s WAL fsync counts).',
    w,
    h,
    unit: 'short',
    xLabel: 'hour_utc',
    xTitle: 'hour (UTC)',
    rename: { 'Value #A': 'elections', 'Value #B': 'stalls threatening leadership' },
    queries: [
      { expr: `max by (cluster, hour_utc) (${inc('election')})`, expect: 'always' },
      { expr: `sum by (cluster, hour_utc) (max by (cluster, node, hour_utc) (${inc('stall')}))`, expect: 'always' },
    ],
  };
}

// ───────────────────────────────────────────── panels on both dashboards

export const VERDICT_MAPPINGS = [
  valueMap({
    '0': ['healthy', 'green'],
    '1': ['degraded', 'orange'],
    '2': ['at risk', 'red'],
    '3': ['unknown', 'text'],
  }),
];

/** The verdict as one number per node: 0 healthy, 1 degraded, 2 at risk, 3 unknown. */
export function verdictQuery(): Query {
  const v = (verdict: string) => `max by (cluster, node) (${m('verdict')}${sel(`verdict="${verdict}"`)})`;
  return { expr: `${v('degraded')} + 2 * ${v('at_risk')} + 3 * ${v('unknown')}`, legend: '{{cluster}} {{node}}', instant: true, expect: 'always' };
}

export function verdictStat(w: number, h: number): StatSpec {
  return {
    kind: 'stat',
    title: 'Verdict',
    description:
      "The agent's verdict on each node's etcd: healthy; degraded (a target is missed: slow WAL fsync or commit, a shared and slow disk); " +
      'at risk (stalls reach the election timeout, elections are frequent, no leader); unknown (the agent sees neither the disk nor etcd). ' +
      'The findings table says why.',
    w,
    h,
    unit: 'none',
    queries: [verdictQuery()],
    mappings: VERDICT_MAPPINGS,
    thresholds: [
      ['orange', 1],
      ['red', 2],
      ['text', 3],
    ],
    textMode: 'value_and_name',
  };
}

export const byName = (name: string, properties: Array<{ id: string; value?: unknown }>): FieldConfigSource['overrides'][number] => ({
  matcher: { id: 'byName', options: name },
  properties,
});

export function findingsTable(w: number, h: number, perNode: boolean): TableSpec {
  const labels = perNode ? 'cluster, code, severity' : 'cluster, node, code, severity';
  return {
    kind: 'table',
    unit: 'none',
    title: 'Active findings',
    description:
      "The agent's active findings (etcd_latency_agent_finding): the code names the problem (docs/findings.md), the severity how bad it is. " +
      'Empty is good. A finding clears only after its rule has been silent for 2 minutes, so a single stall shows here for about 7 minutes. ' +
      'The full text with figures and the remedy: `etcd-latency-agent diagnose --from http://NODE:9379`.',
    w,
    h,
    queries: [{ expr: `max by (${labels}) (${m('finding')}${sel()})`, expect: 'fault' }],
    hide: perNode ? ['Value', 'cluster'] : ['Value'],
    order: perNode ? ['severity', 'code'] : ['cluster', 'node', 'severity', 'code'],
    sortBy: { displayName: 'severity', desc: false },
    overrides: [
      byName('severity', [
        { id: 'mappings', value: [valueMap({ critical: ['critical', 'red'], warning: ['warning', 'orange'], info: ['info', 'blue'] })] },
        { id: 'custom.cellOptions', value: { type: 'color-text' } },
      ]),
      ...(perNode
        ? []
        : [
            byName('node', [
              {
                id: 'links',
                value: [{ title: 'Node detail', url: `/d/${NODE_UID}?\${__url_time_range}&\${datasource:queryparam}&var-cluster=\${__data.fields.cluster}&var-node=\${__value.raw}` }],
              },
            ]),
          ]),
    ],
  };
}

/** Running vs recommended settings, predicted elections and the fail-over cost, one row per node. */
export function tuningTable(w: number, h: number): TableSpec {
  const q = (key: MetricKey, expect: Query['expect'], extra: string[] = []): Query => ({
    expr: `max by (cluster, node) (${m(key)}${sel(...extra)})`,
    expect,
  });
  const seconds = (name: string) => byName(name, [{ id: 'unit', value: 's' }]);
  const perDay = (name: string) => byName(name, [{ id: 'unit', value: 'short' }, { id: 'decimals', value: 2 }]);
  return {
    kind: 'table',
    unit: 'none',
    title: 'Heartbeat and election timeout: running vs recommended',
    description:
      "etcd's running --heartbeat-interval and --election-timeout, what the agent's election model recommends for the fdatasync stalls it " +
      'observed (empty when the running settings already meet the target of 0.05 elections/day), the elections per day it predicts for each if the ' +
      'member led, what it predicts now for the role the member has (0 on a follower: its stalls start no election), ' +
      'and the cost: the mean time for followers to notice a dead leader (1.5 × election timeout). "Stop-gap" = 1 means the tuning only hides ' +
      'a disk problem (the needed timeout exceeds 2 s): fix the disk, tune meanwhile. All members must run the same values.',
    w,
    h,
    queries: [
      q('etcdHeartbeatInterval', 'always'),
      q('etcdElectionTimeout', 'always'),
      q('recommendedHeartbeatInterval', 'fault'),
      q('recommendedElectionTimeout', 'fault'),
      q('predictedElectionsPerDay', 'always', ['settings="current"']),
      q('predictedElectionsPerDay', 'fault', ['settings="recommended"']),
      q('failoverDetection', 'always', ['settings="current"']),
      q('failoverDetection', 'fault', ['settings="recommended"']),
      q('tuningTemporary', 'fault'),
      q('predictedElectionsPerDayNow', 'always'),
    ],
    rename: {
      'Value #A': 'heartbeat (running)',
      'Value #B': 'election (running)',
      'Value #C': 'heartbeat (recommended)',
      'Value #D': 'election (recommended)',
      'Value #E': 'elections/day (running)',
      'Value #F': 'elections/day (recommended)',
      'Value #G': 'fail-over detection (running)',
      'Value #H': 'fail-over detection (recommended)',
      'Value #I': 'stop-gap',
      'Value #J': 'elections/day now (its role)',
    },
    overrides: [
      seconds('heartbeat (running)'),
      seconds('election (running)'),
      seconds('heartbeat (recommended)'),
      seconds('election (recommended)'),
      perDay('elections/day (running)'),
      perDay('elections/day (recommended)'),
      perDay('elections/day now (its role)'),
      seconds('fail-over detection (running)'),
      seconds('fail-over detection (recommended)'),
      byName('stop-gap', [{ id: 'mappings', value: [valueMap({ '0': ['no', 'green'], '1': ['yes: fix the disk', 'orange'] })] }]),
    ],
  };
}

export function diskRecommendationTable(w: number, h: number, perNode: boolean): TableSpec {
  return {
    kind: 'table',
    unit: 'none',
    title: 'Disk remedies recommended',
    description:
      'The disk remedies the agent recommends while a finding says the disk under etcd is slow: separate_disk (etcd shares its device: give it ' +
      'its own), dedicated_wal_dir (at least --wal-dir on its own disk), faster_storage (a dedicated but slow device: local SSD/NVMe), ionice ' +
      '(run etcd with ionice -c2 -n0 meanwhile). Empty is good.',
    w,
    h,
    queries: [{ expr: `max by (${perNode ? 'cluster, remedy' : 'cluster, node, remedy'}) (${m('diskRecommendation')}${sel()})`, expect: 'fault' }],
    hide: ['Value'],
  };
}
