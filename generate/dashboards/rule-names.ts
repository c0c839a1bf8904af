// Names of the recording rules in deploy/prometheus/etcd-latency-agent.rules.yaml that the dashboards
// read, so a panel shows exactly the series an alert is computed from. test/alerts/ checks that each
// name is recorded there; test/grafana/ that every series a panel reads exists.

const node = (metric: string, op: string) => `node:${metric}:${op}`;
const WAL = 'etcd_latency_agent_etcd_wal_fsync_duration_seconds';
const COMMIT = 'etcd_latency_agent_etcd_backend_commit_duration_seconds';
const PROBE = 'etcd_latency_agent_probe_fdatasync_duration_seconds';

export const RULE = {
  walShareOver8ms: node(WAL, 'share_over_8ms_5m'),
  walShareOver16ms: node(WAL, 'share_over_16ms_5m'),
  walShareOver10msEstimate: node(WAL, 'share_over_10ms_estimate_5m'),
  walP99: node(WAL, 'p99_5m'),
  commitShareOver16ms: node(COMMIT, 'share_over_16ms_5m'),
  commitShareOver32ms: node(COMMIT, 'share_over_32ms_5m'),
  commitShareOver25msEstimate: node(COMMIT, 'share_over_25ms_estimate_5m'),
  commitP99: node(COMMIT, 'p99_5m'),
  probeShareOver10ms: node(PROBE, 'share_over_10ms_5m'),
  probeShareOver25ms: node(PROBE, 'share_over_25ms_5m'),
  probeP99: node(PROBE, 'p99_5m'),
  electionsIncrease1h: 'cluster:etcd_latency_agent_etcd_elections:increase1h',
  electionsIncrease1d: 'cluster:etcd_latency_agent_etcd_elections:increase1d',
} as const;
