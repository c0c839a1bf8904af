// The metric contract: every metric the agent exports, defined once. The registry renders from
// it, docs/metrics.md is generated from it, and the dashboard and alert-rule tests check their
// queries against it, so a rename cannot silently break a panel.

import { PROBE_BUCKETS } from '../../sources/fsync-probe.js';

export const PREFIX = 'etcd_latency_agent_';

/**
 * The job label of the agents' targets. It must not contain "etcd": kube-prometheus-stack's default
 * etcd rules (the etcd mixin's) select `job=~".*etcd.*"`, so a job named etcd-latency-agent made one
 * agent down page "etcd cluster has insufficient members" while every member was fine.
 */
export const SCRAPE_JOB = 'latency-agent';

export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
}

/** etcd's own disk histogram buckets (WAL fsync, backend commit): 1 ms × 2^k, k = 0..13. */
export const ETCD_DISK_BUCKETS: readonly number[] = Array.from({ length: 14 }, (_, k) => 0.001 * 2 ** k);
/** etcd's peer round-trip buckets: 0.1 ms × 2^k, k = 0..15. */
export const ETCD_PEER_RTT_BUCKETS: readonly number[] = Array.from({ length: 16 }, (_, k) => 0.0001 * 2 ** k);

const spec = (type: MetricType, name: string, help: string, labels: readonly string[] = [], buckets?: readonly number[]): MetricSpec => ({
  name: PREFIX + name,
  type,
  help,
  labels,
  ...(buckets ? { buckets } : {}),
});

export const METRICS = {
  buildInfo: spec('gauge', 'build_info', 'Always 1; labels carry the agent version and Node.js version.', ['version', 'nodejs']),

  sourceUp: spec('gauge', 'source_up', '1 if the last sample of the source succeeded, 0 if it failed.', ['source']),
  sourceErrors: spec('counter', 'source_errors_total', 'Failed samples of a source, by reason.', ['source', 'reason']),
  sourceLastSuccess: spec('gauge', 'source_last_success_timestamp_seconds', 'Unix time of the last successful sample of a source.', ['source']),
  sourceSampleDuration: spec('gauge', 'source_sample_duration_seconds', 'How long the last sample of a source took.', ['source']),

  probeFdatasync: spec(
    'histogram',
    'probe_fdatasync_duration_seconds',
    "Duration of the probe's fdatasync after a WAL-sized write to a preallocated file on etcd's filesystem.",
    [],
    PROBE_BUCKETS,
  ),
  probeFdatasyncMax: spec('gauge', 'probe_fdatasync_max_duration_seconds', 'Longest probe fdatasync of the last probe round.'),
  probeWrittenBytes: spec('counter', 'probe_written_bytes_total', 'Bytes written by the probe.'),
  probePaused: spec('gauge', 'probe_paused', '1 while the probe is not writing (free space below the floor, directory unusable); the reason is in source_errors_total.'),
  probeFilesystemFree: spec('gauge', 'probe_filesystem_free_bytes', 'Free bytes on the filesystem the probe writes to.'),
  probeInfo: spec('gauge', 'probe_info', "Always 1; names the probe file and whether it shares etcd's filesystem (same st_dev as the WAL dir).", ['path', 'same_filesystem_as_etcd']),

  candidateFdatasync: spec(
    'histogram',
    'candidate_fdatasync_duration_seconds',
    "Duration of the probe's fdatasync on a candidate filesystem (--candidate-dir), since the agent started: where etcd could move, timed as etcd's own is.",
    ['dir'],
    PROBE_BUCKETS,
  ),
  candidateInfo: spec(
    'gauge',
    'candidate_info',
    'Always 1 per candidate filesystem; verdict: fits, slow (p99 over etcd\'s target, no election predicted), needs_tuning, unfit, measuring (too few fdatasyncs yet), unusable (reason says why: on_etcd_filesystem, not_found, permission, read_only, no_space, other).',
    ['dir', 'verdict', 'reason'],
  ),
  candidatePredictedElectionsPerDay: spec(
    'gauge',
    'candidate_predicted_elections_per_day',
    "Elections per day the election model predicts if etcd ran on the candidate filesystem and this member led: at the running settings (current), and at the ones it would need (recommended, when the running ones miss the target there).",
    ['dir', 'settings'],
  ),
  candidateRecommendedHeartbeatInterval: spec('gauge', 'candidate_recommended_heartbeat_interval_seconds', 'Heartbeat interval etcd would need on the candidate filesystem; absent when the running one will do.', ['dir']),
  candidateRecommendedElectionTimeout: spec('gauge', 'candidate_recommended_election_timeout_seconds', 'Election timeout etcd would need on the candidate filesystem; absent when the running one will do.', ['dir']),

  diskIoTime: spec('counter', 'disk_io_time_seconds_total', 'Time the device was busy with I/O (diskstats field 10).', ['device']),
  diskWeightedIoTime: spec('counter', 'disk_io_weighted_time_seconds_total', 'Weighted time spent doing I/O; its rate is the average queue depth (diskstats field 11).', ['device']),
  diskWritesCompleted: spec('counter', 'disk_writes_completed_total', 'Writes completed by the device.', ['device']),
  diskWriteTime: spec('counter', 'disk_write_time_seconds_total', 'Time spent by all writes; divided by writes completed it is the write await.', ['device']),
  diskFlushRequests: spec('counter', 'disk_flush_requests_total', 'Flush requests completed (kernel 5.5+); absent on older kernels.', ['device']),
  diskFlushTime: spec('counter', 'disk_flush_time_seconds_total', 'Time spent by flush requests (kernel 5.5+): the device-level view of fsync.', ['device']),
  diskInfo: spec(
    'gauge',
    'disk_info',
    "Always 1; names the device holding etcd's data dir, its whole disk, and the busy paths that share that disk.",
    ['device', 'disk', 'mountpoint', 'fstype', 'shared_with', 'rotational', 'model'],
  ),

  cgroupWriteRate: spec(
    'gauge',
    'cgroup_write_bytes_per_second',
    "Bytes per second written to etcd's device by the busiest writers, from the kernel's cgroup I/O accounting: at most 5 (kind pod, service or cgroup) " +
      'and the rest summed (kind other); etcd itself included. Labels other than kind are empty where they do not apply; unknown names are "unknown". ' +
      "writer_* rather than namespace/pod/container, which are the agent's own target labels under a ServiceMonitor.",
    ['kind', 'writer_namespace', 'writer_pod', 'writer_container', 'unit', 'cgroup'],
  ),
  cgroupIoAccounting: spec(
    'gauge',
    'cgroup_io_accounting',
    "1 when the kernel counts I/O on etcd's device per cgroup, 0 when it does not (cgroup v1 blkio counts a device only once a throttle rule was set for it): " +
      'then cgroup_write_bytes_per_second is absent, not zero. hierarchy is v1 or v2.',
    ['hierarchy'],
  ),

  etcdWalFsync: spec('histogram', 'etcd_wal_fsync_duration_seconds', "etcd's WAL fsync duration (etcd_disk_wal_fsync_duration_seconds), kept monotonic across etcd restarts.", ['member'], ETCD_DISK_BUCKETS),
  etcdBackendCommit: spec('histogram', 'etcd_backend_commit_duration_seconds', "etcd's backend commit duration (etcd_disk_backend_commit_duration_seconds), kept monotonic across etcd restarts.", ['member'], ETCD_DISK_BUCKETS),
  etcdPeerRoundTrip: spec('histogram', 'etcd_peer_round_trip_time_seconds', "etcd's peer round-trip time (etcd_network_peer_round_trip_time_seconds), by peer id.", ['member', 'peer'], ETCD_PEER_RTT_BUCKETS),
  etcdLeaderChanges: spec('counter', 'etcd_leader_changes_seen_total', 'Leader changes seen by the member (etcd_server_leader_changes_seen_total), kept monotonic across etcd restarts.', ['member']),
  etcdHeartbeatFailures: spec('counter', 'etcd_heartbeat_send_failures_total', 'Heartbeats the leader failed to send on time (etcd_server_heartbeat_send_failures_total).', ['member']),
  etcdSlowApplies: spec('counter', 'etcd_slow_applies_total', 'Applies that took too long (etcd_server_slow_apply_total).', ['member']),
  etcdProposalsFailed: spec('counter', 'etcd_proposals_failed_total', 'Failed raft proposals (etcd_server_proposals_failed_total).', ['member']),
  etcdProposalsPending: spec('gauge', 'etcd_proposals_pending', 'Raft proposals pending (etcd_server_proposals_pending).', ['member']),
  etcdHasLeader: spec('gauge', 'etcd_has_leader', '1 if the member sees a leader (etcd_server_has_leader).', ['member']),
  etcdIsLeader: spec('gauge', 'etcd_is_leader', '1 if the member is the leader (etcd_server_is_leader).', ['member']),
  etcdDbSize: spec('gauge', 'etcd_db_size_bytes', 'Size of the backend database file (etcd_mvcc_db_total_size_in_bytes).', ['member']),
  etcdDbSizeInUse: spec('gauge', 'etcd_db_size_in_use_bytes', 'Logically used size of the backend database (etcd_mvcc_db_total_size_in_use_in_bytes).', ['member']),
  etcdQuotaBackend: spec('gauge', 'etcd_quota_backend_bytes', 'Backend quota (etcd_server_quota_backend_bytes).', ['member']),

  etcdMaintenance: spec(
    'counter',
    'etcd_maintenance_total',
    "etcd's maintenance completed since the agent started, by kind: defrag (etcd_disk_backend_defrag_duration_seconds), compaction (etcd_debugging_mvcc_db_compaction_total_duration_milliseconds), raft_snapshot (etcd_debugging_snap_save_total_duration_seconds), db_snapshot (etcd_disk_backend_snapshot_duration_seconds: a backup, or a snapshot sent to a member); kept monotonic across etcd restarts.",
    ['member', 'kind'],
  ),
  etcdMaintenanceSeconds: spec('counter', 'etcd_maintenance_seconds_total', "Time etcd spent in the maintenance of etcd_maintenance_total, by kind.", ['member', 'kind']),
  etcdDefragInflight: spec('gauge', 'etcd_defrag_inflight', '1 while etcd defragments its database (etcd_disk_defrag_inflight): the member blocks meanwhile.', ['member']),
  etcdReady: spec('gauge', 'etcd_ready', "1 when the member answers ready, 0 when not: /readyz (etcd 3.5.36+, 3.6), or /health where it has no /readyz; endpoint says which.", ['member', 'endpoint']),
  etcdHealthCheck: spec('gauge', 'etcd_health_check', '1 for each check of /readyz?verbose and /livez?verbose that passes, 0 for one that fails (etcd 3.5.36+, 3.6: e.g. linearizable_read, data_corruption).', ['member', 'endpoint', 'check']),

  etcdRaftTerm: spec('gauge', 'etcd_raft_term', 'Raft term reported by the member status (etcd API).', ['member']),
  etcdElections: spec('counter', 'etcd_elections_total', 'Elections counted by the agent from raft term increases seen through the etcd API; works without etcd /metrics.', ['member']),
  leadershipEvents: spec(
    'counter',
    'leadership_events_total',
    'Elections and stalls that threaten leadership, by the UTC hour of day (00–23) the agent saw them: kind="election" counts raft term increases (source raft_term); ' +
      'kind="stall" counts fdatasyncs that reached the stall warning fraction of the running election timeout, timed by the probe (source probe) or proven by ' +
      "etcd's WAL fsync buckets (source etcd_wal_fsync); one disk stall may be counted by both sources. Every hour exists from the start, at 0.",
    ['kind', 'source', 'hour_utc'],
  ),
  etcdRequestDuration: spec('gauge', 'etcd_request_duration_seconds', 'Round-trip of the last cheap request (maintenance status) to the member.', ['member']),
  etcdMemberInfo: spec('gauge', 'etcd_member_info', 'Always 1; the member the agent watches, its id, version and whether it is leader.', ['member', 'member_id', 'version', 'leader_id']),
  etcdMembers: spec('gauge', 'etcd_cluster_members', 'Number of members in the cluster (etcd API member list).'),

  etcdHeartbeatInterval: spec('gauge', 'etcd_heartbeat_interval_seconds', "etcd's running --heartbeat-interval; source says where the value was found.", ['source']),
  etcdElectionTimeout: spec('gauge', 'etcd_election_timeout_seconds', "etcd's running --election-timeout; source says where the value was found.", ['source']),
  etcdPreVote: spec('gauge', 'etcd_pre_vote', "1 when etcd runs with --pre-vote, 0 without; source says where it was found (default: the member's version's default, off in 3.4, on from 3.5).", ['source']),
  etcdConfigInfo: spec('gauge', 'etcd_config_info', "Always 1; etcd's data dir and WAL dir and where each was found.", ['data_dir', 'wal_dir', 'source']),

  verdict: spec('gauge', 'verdict', "1 for the current verdict on this node's etcd (healthy, degraded, at_risk, unknown), 0 for the others.", ['verdict']),
  finding: spec('gauge', 'finding', '1 per active finding of the diagnosis; code names it (see docs/findings.md).', ['code', 'severity']),
  predictedElectionsPerDay: spec(
    'gauge',
    'predicted_elections_per_day',
    'Elections per day the election model predicts from the observed fdatasync stalls if this member led (only a leader\'s stalls start elections; see predicted_elections_per_day_now), with the running settings (current) and the recommended ones.',
    ['settings'],
  ),
  predictedElectionsPerDayNow: spec(
    'gauge',
    'predicted_elections_per_day_now',
    "Elections per day this member's stalls are predicted to cause with the running settings and its role now (leader, follower, unknown): 0 while it follows, since a follower's stalls start no election; as settings=\"current\" while it leads or its role is unknown.",
    ['role'],
  ),
  failoverDetection: spec('gauge', 'failover_detection_seconds', 'Mean time for followers to notice a dead leader (1.5 × election timeout), current and recommended: the cost of tuning.', ['settings']),
  recommendedHeartbeatInterval: spec('gauge', 'recommended_heartbeat_interval_seconds', 'Heartbeat interval the agent recommends for the observed stalls; absent when no tuning is recommended.'),
  recommendedElectionTimeout: spec('gauge', 'recommended_election_timeout_seconds', 'Election timeout the agent recommends for the observed stalls; absent when no tuning is recommended.'),
  tuningTemporary: spec('gauge', 'tuning_temporary', '1 when the recommended tuning only hides a disk problem: fix the disk, tune meanwhile.'),
  diskRecommendation: spec('gauge', 'disk_recommendation', '1 per disk remedy the agent recommends (separate_disk, faster_storage, ionice, dedicated_wal_dir).', ['remedy']),
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;
