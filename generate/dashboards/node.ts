// "etcd latency — node detail": one control-plane node: the probe's latency heatmap, etcd and the
// probe side by side, the device (I/O time, queue depth, write await, flush time, what shares it),
// etcd's configuration and where it came from, leadership, and the agent's own health.
import type { DashboardSpec, Query, RowSpec, TableSpec } from './builder.js';
import { valueMap } from './builder.js';
import {
  BUSY_LIMIT,
  COMMIT_TARGET,
  NODE_UID,
  PROBE_TARGET,
  QUEUE_LIMIT,
  RATE,
  TAGS,
  WAL_TARGET,
  bucket,
  byName,
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
import { SCRAPE_JOB } from '../../src/export/prometheus/contract.js';
import { RULE } from '../rule-names.js';

const UP_DOWN = [valueMap({ '0': ['down', 'red'], '1': ['up', 'green'] })];
const YES_NO = [valueMap({ '0': ['no', 'text'], '1': ['yes', 'green'] })];

/** Labels nobody needs in a table about one node (target labels of kube-prometheus-stack included). */
const TARGET_LABELS = ['__name__', 'job', 'instance', 'cluster', 'node', 'namespace', 'pod', 'container', 'endpoint', 'service', 'Value'];

const diagnosis: RowSpec = {
  title: 'Diagnosis',
  panels: [verdictStat(4, 7), findingsTable(8, 7, true), diskRecommendationTable(4, 7, true), tuningTable(8, 7)],
};

const probeVsEtcd: RowSpec = {
  title: 'The disk as etcd and the probe see it',
  panels: [
    {
      kind: 'heatmap',
      title: 'Probe fdatasync latency',
      description:
        "How long each of the probe's fdatasyncs took (WAL-sized write + fdatasync on a preallocated file on etcd's filesystem), as a heatmap " +
        "of the probe's histogram buckets: a healthy disk keeps everything under 10 ms; a band at hundreds of ms or seconds is stalls that " +
        'can cost elections.',
      w: 12,
      h: 9,
      unit: 's',
      queries: [{ expr: `sum by (cluster, le) (increase(${bucket('probeFdatasync')}${sel()}[${RATE}]))`, legend: '{{le}}', expect: 'always' }],
    },
    {
      kind: 'timeseries',
      title: 'etcd WAL fsync vs probe fdatasync (p99, p50)',
      description:
        "etcd's own WAL fsync and the agent's probe side by side. They should agree within a bucket: the probe imitates the WAL's write pattern " +
        'on the same filesystem. etcd slow but the probe fast points at etcd itself (CPU, a large DB); both slow is the disk. ' +
        'Dashed: the 10 ms target. etcd\'s quantiles are interpolated in power-of-two buckets; the probe has 10 ms and 25 ms edges.',
      w: 12,
      h: 9,
      unit: 's',
      log: true,
      thresholds: over(WAL_TARGET),
      queries: [
        { expr: quantile(0.99, 'etcdWalFsync'), legend: 'etcd WAL p99', expect: 'always' },
        { expr: quantile(0.99, 'probeFdatasync'), legend: 'probe p99', expect: 'always' },
        { expr: quantile(0.5, 'etcdWalFsync'), legend: 'etcd WAL p50', expect: 'always' },
        { expr: quantile(0.5, 'probeFdatasync'), legend: 'probe p50', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Longest fdatasync per probe round vs the election timeout',
      description:
        'The longest fdatasync of each probe round, against the running election timeout and half of it. A stall reaching half the election ' +
        'timeout threatens leadership (warning); one as long as the timeout very likely costs an election while this member leads.',
      w: 12,
      h: 8,
      unit: 's',
      log: true,
      queries: [
        { expr: `max by (cluster) (${m('probeFdatasyncMax')}${sel()})`, legend: 'longest fdatasync of the round', expect: 'always' },
        { expr: `max by (cluster) (${m('etcdElectionTimeout')}${sel()})`, legend: 'election timeout', expect: 'always' },
        { expr: `0.5 * max by (cluster) (${m('etcdElectionTimeout')}${sel()})`, legend: 'half the election timeout', expect: 'always' },
      ],
      overrides: [
        {
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
            { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
            { id: 'custom.fillOpacity', value: 0 },
          ],
        },
        {
          matcher: { id: 'byFrameRefID', options: 'C' },
          properties: [
            { id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } },
            { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
            { id: 'custom.fillOpacity', value: 0 },
          ],
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Share over 10 ms: probe (exact) and etcd WAL (between 8 and 16 ms)',
      description:
        "Share of fdatasyncs slower than 10 ms over the last 5 minutes: exact for the probe (10 ms is one of its bucket edges); for etcd's WAL " +
        'only bracketed by its 8 ms and 16 ms edges. Above 1 % (dashed) the p99 misses the 10 ms target.',
      w: 12,
      h: 8,
      unit: 'percentunit',
      thresholds: over(0.01),
      queries: [
        { expr: `${RULE.probeShareOver10ms}${sel()}`, legend: 'probe > 10 ms', expect: 'always' },
        { expr: `${RULE.walShareOver16ms}${sel()}`, legend: 'etcd WAL > 16 ms', expect: 'always' },
        { expr: `${RULE.walShareOver8ms}${sel()}`, legend: 'etcd WAL > 8 ms', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Backend commit (p99, p50)',
      description:
        "etcd's backend (bbolt) commit duration: p99 should stay under 25 ms (dashed). Slow commits with a fast WAL fsync point at a large or " +
        'fragmented database (compact and defragment) rather than at the disk.',
      w: 12,
      h: 8,
      unit: 's',
      log: true,
      thresholds: over(COMMIT_TARGET),
      queries: [
        { expr: quantile(0.99, 'etcdBackendCommit'), legend: 'p99', expect: 'always' },
        { expr: quantile(0.5, 'etcdBackendCommit'), legend: 'p50', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Probe fdatasync p99 (5 m) vs the 10 ms target',
      description:
        "The probe's fdatasync p99 over 5-minute windows, from the recording rule the alert texts quote; compare with the p99 over the panel's " +
        'interval beside it. Dashed: the 10 ms target.',
      w: 12,
      h: 8,
      unit: 's',
      log: true,
      thresholds: over(PROBE_TARGET),
      queries: [{ expr: `${RULE.probeP99}${sel()}`, legend: 'probe p99 (5 m)', expect: 'always' }],
    },
  ],
};

const device: RowSpec = {
  title: "etcd's device",
  panels: [
    {
      kind: 'timeseries',
      title: 'I/O time (ms busy per second)',
      description:
        "How many milliseconds per second etcd's device (and its whole disk) was busy (diskstats field 10). Near 1000 the device is saturated " +
        `(line at ${BUSY_LIMIT * 1000}); on devices that serve requests in parallel, read it with the queue depth.`,
      w: 8,
      h: 8,
      unit: 'ms',
      min: 0,
      max: 1000,
      thresholds: over(BUSY_LIMIT * 1000),
      queries: [{ expr: `rate(${m('diskIoTime')}${sel()}[${RATE}]) * 1000`, legend: '{{device}}', expect: 'always' }],
    },
    {
      kind: 'timeseries',
      title: 'Queue depth (requests in flight)',
      description:
        `Average requests in flight on the device (diskstats field 11, iostat's aqu-sz). From ${QUEUE_LIMIT} (dashed) an fsync waits behind ` +
        'several others: on a 2–3 ms network volume that alone exceeds the 10 ms WAL target.',
      w: 8,
      h: 8,
      unit: 'short',
      thresholds: over(QUEUE_LIMIT),
      queries: [{ expr: `rate(${m('diskWeightedIoTime')}${sel()}[${RATE}])`, legend: '{{device}}', expect: 'always' }],
    },
    {
      kind: 'timeseries',
      title: 'Write await',
      description:
        'Average time a write spent queued and served (write time / writes completed, iostat\'s w_await). Network volumes typically show ' +
        '1–3 ms; much more and etcd\'s WAL writes wait too.',
      w: 8,
      h: 8,
      unit: 's',
      thresholds: over(WAL_TARGET, 'orange'),
      queries: [
        {
          expr: `rate(${m('diskWriteTime')}${sel()}[${RATE}]) / rate(${m('diskWritesCompleted')}${sel()}[${RATE}])`,
          legend: '{{device}}',
          expect: 'always',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Flush time (device-level fsync)',
      description:
        'Average time of a flush request (flush time / flushes completed) and flushes per second: the device-level view of fsync (kernel 5.5 ' +
        'and later; empty on older kernels). A flush await near or above 10 ms (dashed) means every fdatasync pays it.',
      w: 12,
      h: 8,
      unit: 's',
      thresholds: over(WAL_TARGET, 'orange'),
      queries: [
        {
          expr: `rate(${m('diskFlushTime')}${sel()}[${RATE}]) / rate(${m('diskFlushRequests')}${sel()}[${RATE}])`,
          legend: '{{device}} flush await',
          expect: 'always',
        },
        { expr: `rate(${m('diskFlushRequests')}${sel()}[${RATE}])`, legend: '{{device}} flushes/s', expect: 'always' },
      ],
      overrides: [
        {
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'unit', value: 'ops' },
            { id: 'custom.axisPlacement', value: 'right' },
          ],
        },
      ],
    },
    {
      kind: 'table',
      unit: 'none',
      title: "What shares etcd's disk",
      description:
        "The device holding etcd's data dir, its whole disk, and the busy paths on the same disk (shared_with: /, /var/lib/containerd, " +
        '/var/lib/kubelet, /var/log). Anything listed competes with etcd\'s fsyncs: give etcd its own disk. The processes that write most to it ' +
        '(with hostPID) are in the agent\'s diagnosis, finding disk_shared: `etcd-latency-agent diagnose --from http://NODE:9379`; they are not ' +
        'exported as metrics (process names and pids would be unbounded label values).',
      w: 12,
      h: 8,
      queries: [{ expr: `${m('diskInfo')}${sel()}`, expect: 'always' }],
      hide: TARGET_LABELS,
      order: ['device', 'disk', 'mountpoint', 'fstype', 'shared_with', 'rotational', 'model'],
      rename: { shared_with: 'shared with' },
    },
    {
      kind: 'timeseries',
      title: "Who writes to etcd's disk (pods, services)",
      description:
        "Bytes per second written to etcd's device per pod container, system service or cgroup, from the kernel's cgroup I/O accounting " +
        "(the agent's cgroup_io source, no capability needed): the 5 busiest, etcd included, and the rest summed as other. A neighbour near " +
        "or above etcd's own rate competes with its fsyncs. accounting 0 means the kernel counts nothing per cgroup for this device " +
        '(cgroup v1 without a throttle rule for it): no figures, not no writers. cgroup v1 charges buffered writeback to the root cgroup (/).',
      w: 12,
      h: 8,
      unit: 'Bps',
      queries: [
        {
          expr: `label_join(${m('cgroupWriteRate')}${sel()}, "writer", " ", "kind", "writer_namespace", "writer_pod", "writer_container", "unit", "cgroup")`,
          legend: '{{writer}}',
          expect: 'io-accounting',
        },
        { expr: `${m('cgroupIoAccounting')}${sel()}`, legend: 'accounting ({{hierarchy}})', expect: 'always' },
      ],
      overrides: [
        {
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'unit', value: 'none' },
            { id: 'custom.axisPlacement', value: 'right' },
            { id: 'min', value: 0 },
            { id: 'max', value: 1 },
          ],
        },
      ],
    },
    candidatesTable(),
  ],
};

/** The candidate filesystems (--candidate-dir): would etcd keep its leader there, and at which settings. */
function candidatesTable(): TableSpec {
  const q = (expr: string, expect: Query['expect']): Query => ({ expr, expect });
  const seconds = (name: string) => byName(name, [{ id: 'unit', value: 's' }]);
  return {
    kind: 'table',
    unit: 'none',
    title: 'Candidate filesystems: would etcd keep its leader there?',
    description:
      "Filesystems etcd could move to (the agent's --candidate-dir: a new volume, the instance's local disk), probed like etcd's own at a low rate. " +
      'verdict: fits (no election predicted at the running settings, p99 within 10 ms), slow (no election, p99 over 10 ms), needs_tuning ' +
      '(the settings on the right would ride its stalls out), unfit (none within etcd\'s limits would), measuring (too few fdatasyncs yet), unusable ' +
      "(reason: on_etcd_filesystem, not_found, permission, read_only, no_space). p99 over the dashboard's time range; elections/day as the election " +
      'model predicts them if etcd ran there and this member led. Empty: no --candidate-dir.',
    w: 24,
    h: 6,
    queries: [
      q(`max by (cluster, dir, verdict, reason) (${m('candidateInfo')}${sel()})`, 'candidates'),
      q(`histogram_quantile(0.99, sum by (cluster, dir, le) (increase(${bucket('candidateFdatasync')}${sel()}[$__range])))`, 'candidates'),
      q(`max by (cluster, dir) (${m('candidatePredictedElectionsPerDay')}${sel('settings="current"')})`, 'candidates'),
      q(`max by (cluster, dir) (${m('candidateRecommendedHeartbeatInterval')}${sel()})`, 'fault'),
      q(`max by (cluster, dir) (${m('candidateRecommendedElectionTimeout')}${sel()})`, 'fault'),
      q(`max by (cluster, dir) (${m('candidatePredictedElectionsPerDay')}${sel('settings="recommended"')})`, 'fault'),
    ],
    hide: ['cluster', 'Value #A'],
    order: ['dir', 'verdict', 'reason'],
    rename: {
      'Value #B': 'p99 (time range)',
      'Value #C': 'elections/day (running settings)',
      'Value #D': 'heartbeat needed',
      'Value #E': 'election needed',
      'Value #F': 'elections/day (needed settings)',
    },
    overrides: [seconds('p99 (time range)'), seconds('heartbeat needed'), seconds('election needed')],
  };
}

const etcd: RowSpec = {
  title: 'etcd on this node',
  panels: [
    {
      kind: 'table',
      title: 'Heartbeat and election timeout, and where they were found',
      description:
        "etcd's running --heartbeat-interval and --election-timeout and the source of each: the static pod manifest, the etcd process's " +
        "command line or environment, or the agent's flags. All members must run the same values; etcd refuses an election timeout under 5 × " +
        'the heartbeat or over 50 s.',
      w: 8,
      h: 6,
      unit: 's',
      queries: [
        {
          expr:
            `label_replace(max by (cluster, source) (${m('etcdHeartbeatInterval')}${sel()}), "setting", "--heartbeat-interval", "", "")` +
            ` or label_replace(max by (cluster, source) (${m('etcdElectionTimeout')}${sel()}), "setting", "--election-timeout", "", "")`,
          expect: 'always',
        },
      ],
      order: ['setting', 'Value', 'source'],
      rename: { Value: 'value' },
    },
    {
      kind: 'table',
      unit: 'none',
      title: 'Data and WAL directory',
      description: "etcd's --data-dir and --wal-dir (empty: inside the data dir) and where they were found. A --wal-dir on its own disk takes the WAL's fsyncs off a shared device.",
      w: 8,
      h: 6,
      queries: [{ expr: `max by (cluster, data_dir, wal_dir, source) (${m('etcdConfigInfo')}${sel()})`, expect: 'always' }],
      hide: ['Value'],
      rename: { data_dir: 'data dir', wal_dir: 'WAL dir' },
    },
    {
      kind: 'table',
      unit: 'short',
      title: 'Member',
      description: 'The member the agent on this node watches: name, id, etcd version, the leader it sees (0: none), and the cluster size.',
      w: 8,
      h: 6,
      queries: [
        {
          // the value column is the cluster size (the info series is 1)
          expr: `max by (cluster, member, member_id, version, leader_id) (${m('etcdMemberInfo')}${sel()}) * on (cluster) group_left () max by (cluster) (${m('etcdMembers')}${sel()})`,
          expect: 'always',
        },
      ],
      order: ['member', 'member_id', 'version', 'leader_id', 'Value'],
      rename: { member_id: 'member id', leader_id: 'leader id', Value: 'members' },
    },
    {
      kind: 'state-timeline',
      title: 'Leadership',
      description:
        'Whether this member is the leader and whether it sees one. A leader that keeps changing, or gaps without a leader, are elections; ' +
        "a leader stuck in fdatasync still claims leadership while its followers already campaign.",
      w: 12,
      h: 6,
      mappings: YES_NO,
      queries: [
        { expr: `max by (cluster) (${m('etcdIsLeader')}${sel()})`, legend: 'is leader', expect: 'always' },
        { expr: `max by (cluster) (${m('etcdHasLeader')}${sel()})`, legend: 'sees a leader', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Raft term and elections',
      description:
        'The raft term the member reports (every election raises it) and the elections the agent counted from its increases per interval. ' +
        'A rising term is an election, whatever etcd\'s own leader-change counter says.',
      w: 12,
      h: 6,
      unit: 'short',
      decimals: 0,
      queries: [
        { expr: `max by (cluster) (${m('etcdRaftTerm')}${sel()})`, legend: 'raft term', expect: 'always' },
        { expr: `sum by (cluster) (increase(${m('etcdElections')}${sel()}[${RATE}]))`, legend: 'elections', expect: 'always' },
      ],
      overrides: [
        {
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'custom.drawStyle', value: 'bars' },
            { id: 'custom.axisPlacement', value: 'right' },
            { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
          ],
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Heartbeat send failures, slow applies, failed proposals (per minute)',
      description:
        'etcd logs "failed to send out heartbeat on time" when the leader misses two heartbeat intervals (heartbeat send failures): the leader ' +
        'was stalled. Slow applies and failed proposals are the client-visible cost of the same stalls and of elections.',
      w: 12,
      h: 7,
      unit: 'short',
      queries: [
        { expr: `sum by (cluster) (rate(${m('etcdHeartbeatFailures')}${sel()}[${RATE}])) * 60`, legend: 'heartbeat send failures', expect: 'always' },
        { expr: `sum by (cluster) (rate(${m('etcdSlowApplies')}${sel()}[${RATE}])) * 60`, legend: 'slow applies', expect: 'always' },
        { expr: `sum by (cluster) (rate(${m('etcdProposalsFailed')}${sel()}[${RATE}])) * 60`, legend: 'failed proposals', expect: 'always' },
        { expr: `max by (cluster) (${m('etcdProposalsPending')}${sel()})`, legend: 'proposals pending (now)', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Database size vs quota, and request round-trip',
      description:
        "etcd's database file size, the part in use, and the backend quota (at the quota etcd raises NOSPACE and refuses writes; a large, " +
        'fragmented database also commits slower: compact and defragment). On the right: the round-trip of the agent\'s cheap status request.',
      w: 12,
      h: 7,
      unit: 'bytes',
      queries: [
        { expr: `max by (cluster) (${m('etcdDbSize')}${sel()})`, legend: 'DB size', expect: 'always' },
        { expr: `max by (cluster) (${m('etcdDbSizeInUse')}${sel()})`, legend: 'DB in use', expect: 'always' },
        { expr: `max by (cluster) (${m('etcdQuotaBackend')}${sel()})`, legend: 'quota', expect: 'always' },
        { expr: `max by (cluster) (${m('etcdRequestDuration')}${sel()})`, legend: 'status round-trip', expect: 'always' },
      ],
      overrides: [
        {
          matcher: { id: 'byFrameRefID', options: 'D' },
          properties: [
            { id: 'unit', value: 's' },
            { id: 'custom.axisPlacement', value: 'right' },
          ],
        },
      ],
    },
    eventsByHourPanel(true, 24, 7),
  ],
};

const agent: RowSpec = {
  title: 'The agent',
  panels: [
    {
      kind: 'state-timeline',
      title: 'Sources',
      description:
        "Whether each of the agent's sources sampled successfully (fsync_probe, diskstats, etcd_metrics, etcd_health, etcd_api, etcd_config, processes) and whether " +
        'Prometheus could scrape the agent. A source down for 5 minutes raises EtcdLatencyAgentSourceDown; the errors panel says why.',
      w: 12,
      h: 7,
      mappings: UP_DOWN,
      thresholds: [['green', 1]],
      queries: [
        { expr: `max by (cluster, source) (${m('sourceUp')}${sel()})`, legend: '{{source}}', expect: 'always' },
        { expr: `max by (cluster) (up${sel(`job="${SCRAPE_JOB}"`)})`, legend: 'scrape', expect: 'always' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Source errors by reason',
      description:
        "Failed samples per interval by source and reason (timeout, unreachable, tls, http_status, no_space …). Empty is good; etcd_api timeouts during disk " +
        'stalls are expected (the status request waits on the same stalled etcd).',
      w: 12,
      h: 7,
      unit: 'short',
      bars: true,
      queries: [
        { expr: `sum by (cluster, source, reason) (increase(${m('sourceErrors')}${sel()}[${RATE}]))`, legend: '{{source}}: {{reason}}', expect: 'fault' },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Probe: free space and pauses',
      description:
        "Free space on the filesystem the probe writes to (etcd's), and whether the probe is paused (it stops writing below --probe-min-free " +
        'or when its directory is unusable: no probe data then).',
      w: 12,
      h: 7,
      unit: 'bytes',
      queries: [
        { expr: `max by (cluster) (${m('probeFilesystemFree')}${sel()})`, legend: 'free', expect: 'always' },
        { expr: `max by (cluster) (${m('probePaused')}${sel()})`, legend: 'paused', expect: 'always' },
      ],
      overrides: [
        {
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'unit', value: 'bool_yes_no' },
            { id: 'custom.axisPlacement', value: 'right' },
            { id: 'max', value: 1 },
          ],
        },
      ],
    },
    {
      kind: 'table',
      unit: 'none',
      title: 'Agent and probe',
      description:
        "The agent's version and Node.js, the probe's file, and whether it shares etcd's filesystem (same st_dev as the WAL dir): if not, the " +
        'probe measures another disk than etcd\'s.',
      w: 12,
      h: 7,
      queries: [
        { expr: `max by (cluster, version, nodejs) (${m('buildInfo')}${sel()})`, expect: 'always' },
        { expr: `max by (cluster, path, same_filesystem_as_etcd) (${m('probeInfo')}${sel()})`, expect: 'always' },
      ],
      hide: ['Value #A', 'Value #B'],
      rename: { nodejs: 'Node.js', path: 'probe file', same_filesystem_as_etcd: "on etcd's filesystem" },
    },
  ],
};

export const nodeDetail: DashboardSpec = {
  file: 'etcd-latency-node.json',
  uid: NODE_UID,
  title: 'etcd latency — node detail',
  description:
    "One control-plane node in detail: the probe's latency, etcd and the probe side by side, etcd's device, etcd's configuration and the " +
    'agent itself. Generated by generate/dashboards (docs/dashboards.md); do not edit the JSON by hand.',
  tags: TAGS,
  variables: variables(false),
  annotations: [electionsAnnotation(true), stallsAnnotation(true), maintenanceAnnotation(true)],
  links: links(),
  rows: [diagnosis, probeVsEtcd, device, etcd, agent],
};
