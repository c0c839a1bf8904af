// "etcd latency — cluster overview": the four panels operators already know (disk I/O time, leader
// elections per day, WAL fsync, backend commit), and beside them what they lack: the probe's
// fdatasync per node, peer round-trip, running vs recommended settings with predicted elections, the
// active findings, and elections as annotations.
import type { DashboardSpec, RowSpec } from './builder.js';
import {
  BUSY_LIMIT,
  COMMIT_TARGET,
  ELECTIONS_CRITICAL,
  ELECTIONS_WARNING,
  OVERVIEW_UID,
  PEER_RTT_LIMIT,
  PROBE_TARGET,
  RATE,
  TAGS,
  WAL_TARGET,
  bucket,
  diskRecommendationTable,
  electionsAnnotation,
  eventsByHourPanel,
  maintenanceAnnotation,
  stallsAnnotation,
  findingsTable,
  links,
  m,
  over,
  quantile,
  sel,
  tuningTable,
  variables,
  verdictStat,
} from './common.js';
import { RULE } from '../rule-names.js';

const INTERPOLATED =
  'Quantiles are interpolated inside etcd\'s power-of-two buckets (1, 2, 4, 8, 16, 32 ms …): a p99 drawn between 8 and 16 ms is only known to lie in that bucket.';

const now: RowSpec = {
  title: 'Now',
  panels: [
    verdictStat(8, 7),
    {
      kind: 'stat',
      title: 'Leader elections in the last 24 hours',
      description:
        'Raft term increases in the last 24 hours, counted by the agents from the etcd API (works without etcd /metrics); the largest count ' +
        'among the members. A healthy cluster sees well under one a week: 2 or more in a day raise EtcdFrequentLeaderElections (warning), ' +
        '3 in an hour make it critical.',
      w: 4,
      h: 7,
      unit: 'short',
      decimals: 0,
      queries: [{ expr: `max by (cluster) (round(increase(${m('etcdElections')}${sel()}[1d])))`, legend: '{{cluster}}', instant: true, expect: 'always' }],
      thresholds: [
        ['orange', 2],
        ['red', 3],
      ],
      textMode: 'value',
    },
    findingsTable(12, 7, false),
  ],
};

const known: RowSpec = {
  title: 'The four panels operators know',
  panels: [
    {
      kind: 'timeseries',
      title: "Disk I/O time of etcd's device (ms busy per second)",
      description:
        "How many milliseconds per second etcd's block device (the one holding its data dir, and its whole disk) was busy: diskstats field 10, " +
        `as iostat's %util × 10. Near 1000 the device is saturated and etcd's fsyncs queue behind other I/O (line at ${BUSY_LIMIT * 1000}, ` +
        'EtcdDeviceSaturated). On network volumes and SSDs that serve requests in parallel, busy does not mean full: read it with the queue depth and the latencies.',
      w: 12,
      h: 8,
      unit: 'ms',
      min: 0,
      max: 1000,
      thresholds: over(BUSY_LIMIT * 1000),
      queries: [{ expr: `rate(${m('diskIoTime')}${sel()}[${RATE}]) * 1000`, legend: '{{cluster}} {{node}} {{device}}', expect: 'always' }],
    },
    {
      kind: 'timeseries',
      title: 'Leader elections per day',
      description:
        'Leader elections in the 24 hours before each point, per member, counted by the agents from raft term increases (the red markers on ' +
        `every panel are the elections themselves). Above ${ELECTIONS_WARNING} a day is a warning, above ${ELECTIONS_CRITICAL} critical; ` +
        'a healthy cluster sees well under one a week. Each election stops writes for at least the election timeout.',
      w: 12,
      h: 8,
      unit: 'short',
      decimals: 0,
      thresholds: [
        ['orange', ELECTIONS_WARNING],
        ['red', ELECTIONS_CRITICAL],
      ],
      queries: [{ expr: `round(increase(${m('etcdElections')}${sel()}[1d]))`, legend: '{{cluster}} {{node}}', expect: 'always' }],
    },
    {
      kind: 'timeseries',
      title: 'WAL fsync duration (p50, p99)',
      description:
        `etcd's WAL fsync duration per member (etcd_disk_wal_fsync_duration_seconds, re-exported by the agent). etcd wants the p99 under 10 ms ` +
        '(dashed line); every write waits for this fsync, and a leader stuck in it sends no heartbeats. ' +
        INTERPOLATED,
      w: 12,
      h: 8,
      unit: 's',
      log: true,
      thresholds: over(WAL_TARGET),
      queries: [
        { expr: quantile(0.99, 'etcdWalFsync'), legend: '{{cluster}} {{node}} p99', expect: 'always' },
        { expr: quantile(0.5, 'etcdWalFsync'), legend: '{{cluster}} {{node}} p50', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'WAL fsync: share over 10 ms',
      description:
        "Share of etcd's WAL fsyncs slower than 10 ms over the last 5 minutes. 10 ms is not one of etcd's bucket edges, so two shares are " +
        'exact and bracket it: over 16 ms (at least this much is over 10 ms — what EtcdWalFsyncSlow alerts on above 1 %) and over 8 ms (at ' +
        'most this much); the middle line interpolates. Above 1 % (dashed) the p99 misses the 10 ms target.',
      w: 12,
      h: 8,
      unit: 'percentunit',
      thresholds: over(0.01),
      queries: [
        { expr: `${RULE.walShareOver16ms}${sel()}`, legend: '{{cluster}} {{node}} > 16 ms (exact, alerted on)', expect: 'always' },
        { expr: `${RULE.walShareOver10msEstimate}${sel()}`, legend: '{{cluster}} {{node}} > 10 ms (interpolated)', expect: 'always' },
        { expr: `${RULE.walShareOver8ms}${sel()}`, legend: '{{cluster}} {{node}} > 8 ms (exact)', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Backend commit duration (p50, p99)',
      description:
        "etcd's backend (bbolt) commit duration per member (etcd_disk_backend_commit_duration_seconds, re-exported by the agent). etcd wants " +
        'the p99 under 25 ms (dashed line); slow commits hold the backend lock, so reads and the apply loop queue behind them. ' +
        INTERPOLATED,
      w: 12,
      h: 8,
      unit: 's',
      log: true,
      thresholds: over(COMMIT_TARGET),
      queries: [
        { expr: quantile(0.99, 'etcdBackendCommit'), legend: '{{cluster}} {{node}} p99', expect: 'always' },
        { expr: quantile(0.5, 'etcdBackendCommit'), legend: '{{cluster}} {{node}} p50', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Backend commit: share over 25 ms',
      description:
        "Share of etcd's backend commits slower than 25 ms over the last 5 minutes, bracketed by the exact shares over etcd's bucket edges: " +
        'over 32 ms (at least — what EtcdBackendCommitSlow alerts on above 1 %) and over 16 ms (at most); the middle line interpolates. ' +
        'Above 1 % (dashed) the p99 misses the 25 ms target.',
      w: 12,
      h: 8,
      unit: 'percentunit',
      thresholds: over(0.01),
      queries: [
        { expr: `${RULE.commitShareOver32ms}${sel()}`, legend: '{{cluster}} {{node}} > 32 ms (exact, alerted on)', expect: 'always' },
        { expr: `${RULE.commitShareOver25msEstimate}${sel()}`, legend: '{{cluster}} {{node}} > 25 ms (interpolated)', expect: 'always' },
        { expr: `${RULE.commitShareOver16ms}${sel()}`, legend: '{{cluster}} {{node}} > 16 ms (exact)', expect: 'always' },
      ],
    },
  ],
};

const adds: RowSpec = {
  title: 'What the agent adds',
  panels: [
    {
      kind: 'timeseries',
      title: 'Probe fdatasync: p99 and longest per node',
      description:
        "The agent's probe imitates etcd's WAL on the same filesystem (WAL-sized writes to a preallocated file, each followed by fdatasync): " +
        'it measures the disk even when etcd is idle or its /metrics are unreachable. p99 over the interval, and the longest single fdatasync. ' +
        'p99 above 10 ms (dashed) misses the WAL target; a longest value near the election timeout (1 s by default) can cost an election.',
      w: 12,
      h: 8,
      unit: 's',
      log: true,
      thresholds: over(PROBE_TARGET),
      queries: [
        { expr: quantile(0.99, 'probeFdatasync'), legend: '{{cluster}} {{node}} p99', expect: 'always' },
        {
          expr: `max by (cluster, node) (max_over_time(${m('probeFdatasyncMax')}${sel()}[${RATE}]))`,
          legend: '{{cluster}} {{node}} longest',
          expect: 'always',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Probe fdatasync: share over 10 ms and 25 ms (exact)',
      description:
        "Share of the probe's fdatasyncs slower than 10 ms and 25 ms over the last 5 minutes. The probe's histogram has both as bucket edges, " +
        "so these shares are exact. Above 1 % (dashed) the disk misses etcd's 10 ms target for WAL fsync.",
      w: 12,
      h: 8,
      unit: 'percentunit',
      thresholds: over(0.01),
      queries: [
        { expr: `${RULE.probeShareOver10ms}${sel()}`, legend: '{{cluster}} {{node}} > 10 ms', expect: 'always' },
        { expr: `${RULE.probeShareOver25ms}${sel()}`, legend: '{{cluster}} {{node}} > 25 ms', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Peer round-trip p99',
      description:
        "etcd's round-trip time to each peer (etcd_network_peer_round_trip_time_seconds), p99 per member and peer id. etcd's tuning guide wants " +
        'the heartbeat interval near the average round-trip and the election timeout at least 10 × it; above 50 ms (dashed) the default ' +
        'settings lose their margin. Empty on a single member.',
      w: 12,
      h: 8,
      unit: 's',
      thresholds: over(PEER_RTT_LIMIT),
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (cluster, node, peer, le) (rate(${bucket('etcdPeerRoundTrip')}${sel()}[${RATE}])))`,
          legend: '{{cluster}} {{node}} → {{peer}}',
          expect: 'cluster',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Predicted elections per day: running vs recommended settings',
      description:
        "Elections per day the agent's election model predicts from the fdatasync stalls it observed: with the running heartbeat/election " +
        'settings, and with the recommended ones when it recommends tuning. Above 1 a day (dashed) stalls cost elections; the recommendation ' +
        'aims under 0.05 a day. The model: a leader stalled s ms is silent for s + heartbeat; a follower campaigns when its randomized ' +
        'timeout in [election, 2 × election) is shorter (docs/election-model.md). Only a leader\'s stalls start elections: "if it led" is what a ' +
        'member\'s disk would cost as leader, "now" what it costs in the role it has (0 while it follows).',
      w: 12,
      h: 8,
      unit: 'short',
      log: true,
      thresholds: [
        ['orange', ELECTIONS_WARNING],
        ['red', ELECTIONS_CRITICAL],
      ],
      queries: [
        { expr: `${m('predictedElectionsPerDay')}${sel()}`, legend: '{{cluster}} {{node}} {{settings}} if it led', expect: 'always' },
        { expr: `${m('predictedElectionsPerDayNow')}${sel()}`, legend: '{{cluster}} {{node}} now ({{role}})', expect: 'always' },
      ],
    },
    tuningTable(16, 7),
    diskRecommendationTable(8, 7, false),
    eventsByHourPanel(false, 24, 8),
  ],
};

export const overview: DashboardSpec = {
  file: 'etcd-latency-overview.json',
  uid: OVERVIEW_UID,
  title: 'etcd latency — cluster overview',
  description:
    "etcd's disk and election latency on every control-plane node, measured by etcd-latency-agent: the usual etcd panels, the agent's probe, " +
    'its findings and recommendations. Generated by generate/dashboards (docs/dashboards.md); do not edit the JSON by hand.',
  tags: TAGS,
  variables: variables(true),
  annotations: [electionsAnnotation(false), stallsAnnotation(false), maintenanceAnnotation(false)],
  links: links(),
  rows: [now, known, adds],
};
