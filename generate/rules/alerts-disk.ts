// The alerts about etcd's disk: its latency as etcd's own histograms show it, the stalls the agent
// judges against the election timeout, the agent's disk remedy, and the device's busy time.
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { COMMIT_TARGET, EDGE, millis, PROBE_TARGET, RULE, WAL_TARGET } from '../rule-names.js';
import { alert } from './alert.js';
import type { AlertRule } from './model.js';
import { asMemberPod, diskRemedy, finding, m, tsel, withQuery } from './promql.js';
import { TAIL } from './recording.js';

const ONE_NODE = tsel('cluster', 'node');

/** More than TAIL of the observations over the edge above the target: the p99 is above the target for certain. */
const tailOver = (share: string): string => asMemberPod(`${share} > ${TAIL}`);

export function walFsyncSlow(): AlertRule {
  const [edge, target] = [millis(EDGE.walAbove), millis(WAL_TARGET)];
  return alert({
    comment: ['── disk latency as etcd sees it: raw histograms, independent of the agent\'s diagnosis ───────'],
    alert: 'EtcdWalFsyncSlow',
    expr: tailOver(RULE.walShareOver16ms),
    for: '10m',
    severity: 'warning',
    summary: `etcd's WAL fsync p99 on {{ $labels.node }} is above ${edge} ms (target < ${target} ms).`,
    description: [
      `{{ $value | humanizePercentage }} of etcd's WAL fsyncs on {{ $labels.node }} took longer than ${edge} ms`,
      'over the last 5 minutes (counted from etcd\'s buckets, no interpolation), so their p99 is above',
      `etcd's ${target} ms target for certain${withQuery(RULE.walP99 + ONE_NODE)}`,
      `(interpolated p99 {{ . | first | value | humanizeDuration }}){{ end }}${withQuery(RULE.probeShareOver10ms + ONE_NODE)};`,
      `the agent's probe on the same filesystem sees {{ . | first | value | humanizePercentage }} of its fdatasyncs over ${millis(EDGE.probeWal)} ms{{ end }}.`,
      'Every write to etcd waits for this fsync, and a leader stuck in it sends no heartbeats.',
      "Recommendation: give etcd's WAL a low-latency disk of its own (a dedicated volume at etcd's data dir,",
      'or at least --wal-dir on one; a local-SSD/NVMe flavor) and meanwhile run etcd with ionice -c2 -n0.',
    ],
  });
}

export function backendCommitSlow(): AlertRule {
  const [edge, target] = [millis(EDGE.commitAbove), millis(COMMIT_TARGET)];
  return alert({
    alert: 'EtcdBackendCommitSlow',
    expr: tailOver(RULE.commitShareOver32ms),
    for: '10m',
    severity: 'warning',
    summary: `etcd's backend commit p99 on {{ $labels.node }} is above ${edge} ms (target < ${target} ms).`,
    description: [
      `{{ $value | humanizePercentage }} of etcd's backend commits on {{ $labels.node }} took longer than ${edge} ms`,
      "over the last 5 minutes (counted from etcd's buckets, no interpolation), so their p99 is above",
      `etcd's ${target} ms target for certain${withQuery(RULE.commitP99 + ONE_NODE)}`,
      `(interpolated p99 {{ . | first | value | humanizeDuration }}){{ end }}${withQuery(`max(${m('etcdDbSize')}${ONE_NODE})`)};`,
      'the database is {{ . | first | value | humanize1024 }}B{{ end }}.',
      "Slow commits hold etcd's backend lock: reads and the apply loop queue behind them.",
      "Recommendation: a low-latency disk for etcd's data dir (a dedicated volume, a local-SSD/NVMe flavor),",
      'ionice -c2 -n0 for etcd meanwhile; if the disk is fast, compact and defragment (etcdctl defrag, one member at a time).',
    ],
  });
}

/** A stall alert's text from `timeout`, the words naming etcd's election timeout: its running value and the longest probe fdatasync of the last 15 minutes. */
function stallFigures(timeout: string): string[] {
  return [
    `${timeout}${withQuery(`max(${m('etcdElectionTimeout')}${ONE_NODE})`)}`,
    `({{ . | first | value | humanizeDuration }}){{ end }}${withQuery(`max(max_over_time(${m('probeFdatasyncMax')}${ONE_NODE}[15m]))`)};`,
    'the longest probe fdatasync in the last 15 minutes took {{ . | first | value | humanizeDuration }}{{ end }}.',
  ];
}

/** Both levels come from the agent's finding, which knows the running --election-timeout. */
export function stallsThreatenLeadership(): AlertRule[] {
  return [
    alert({
      comment: [
        '── stalls against the election timeout: the agent\'s judgement (it knows the running',
        '--election-timeout; a stall ≥ 50 % of it is a warning, ≥ 100 % critical) ────────────────────',
      ],
      alert: 'EtcdDiskStallsThreatenLeadership',
      expr: asMemberPod(`max without (severity) (${finding('stalls_threaten_leadership')}) == 1`),
      for: '10m',
      severity: 'warning',
      summary: "fdatasync stalls on {{ $labels.node }} reach half of etcd's election timeout, again and again.",
      description: [
        "For 10 minutes the agent on {{ $labels.node }} has seen fdatasync stalls of at least half of etcd's",
        ...stallFigures('election timeout'),
        'A leader stalled that long sends no heartbeats and its followers start an election; a follower\'s stalls',
        'start none while it follows (the agent stays at warning on a follower: its finding says which it is).',
        'Recommendation: fix the disk under etcd (its own disk or --wal-dir on one, a local-SSD flavor;',
        'ionice -c2 -n0 meanwhile) and keep leadership off this member until then (EtcdLeaderOnStallingDisk);',
        'if elections already happen and every member stalls, apply the stop-gap tuning of EtcdTuningRecommended.',
      ],
    }),
    alert({
      alert: 'EtcdDiskStallsThreatenLeadership',
      expr: asMemberPod(`${finding('stalls_threaten_leadership', 'severity="critical"')} == 1`),
      for: '10m',
      severity: 'critical',
      summary: "fdatasync stalls on {{ $labels.node }} last as long as etcd's election timeout.",
      description: [
        "For 10 minutes the agent on {{ $labels.node }} has seen fdatasync stalls as long as etcd's election",
        ...stallFigures('timeout'),
        'While this member leads, each such stall very likely costs a leader election.',
        'Recommendation: fix the disk under etcd now (its own disk or --wal-dir on one, a local-SSD flavor;',
        'ionice -c2 -n0 meanwhile) and apply the stop-gap tuning of EtcdTuningRecommended until then.',
      ],
    }),
  ];
}

export function separateDiskRecommended(): AlertRule {
  return alert({
    alert: 'EtcdSeparateDiskRecommended',
    expr: `max without (remedy) (${diskRemedy('separate_disk')}) == 1`,
    for: '15m',
    severity: 'warning',
    summary: 'Give etcd on {{ $labels.node }} a disk of its own.',
    description: [
      `etcd's disk on {{ $labels.node }} is slow and shared${withQuery(m('diskInfo') + ONE_NODE)}:`,
      `device {{ . | first | label "device" }} (mounted at {{ . | first | label "mountpoint" }}) also holds {{ . | first | label "shared_with" }}{{ end }}${withQuery(RULE.probeP99 + ONE_NODE)};`,
      `the probe's fdatasync p99 is {{ . | first | value | humanizeDuration }} (target < ${millis(PROBE_TARGET)} ms){{ end }}.`,
      'Recommendation: mount a dedicated volume at etcd\'s data dir (or at least at --wal-dir), or move the control',
      "plane to a local-SSD flavor; meanwhile run etcd with ionice -c2 -n0 so its fsyncs are served before the neighbours' writes.",
    ],
  });
}

export function deviceSaturated(): AlertRule {
  return alert({
    comment: ["── etcd's device, from diskstats (the agent's own counters for the device it resolved) ───────"],
    alert: 'EtcdDeviceSaturated',
    expr: `${RULE.diskBusy} >= ${DEFAULT_THRESHOLDS.diskBusyFraction}`,
    for: '15m',
    severity: 'warning',
    summary: "etcd's device {{ $labels.device }} on {{ $labels.node }} is busy {{ $value | humanizePercentage }} of the time.",
    description: [
      "etcd's device {{ $labels.device }} on {{ $labels.node }} was busy {{ $value | humanizePercentage }} of the",
      `last 5 minutes${withQuery(RULE.diskQueueDepth + tsel('cluster', 'node', 'device'))},`,
      "with {{ . | first | value | printf \"%.1f\" }} requests in flight on average{{ end }}. etcd's fsyncs queue",
      'behind the other I/O on it.',
      "Recommendation: find what else writes to it (iotop, the agent's disk_shared finding) and move it off,",
      'or give etcd its own disk (or --wal-dir on one); meanwhile run etcd with ionice -c2 -n0.',
    ],
  });
}
