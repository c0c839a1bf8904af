// The series a dashboard panel or an alert rule may read: the agent's (from the metric contract),
// etcd's own families (the ones the agent knows how to parse), node_exporter's disk and filesystem
// families, Prometheus's own `up` and `ALERTS`, and the recording rules of
// deploy/prometheus/etcd-latency-agent.rules.yaml. The tests check every expression against this.
import { ETCD_FAMILIES } from '../../src/sources/etcd-metrics.js';
import { METRICS } from '../../src/export/prometheus/contract.js';
import { seriesNames } from './promql.js';

/** Every series name the agent exports (histograms as _bucket, _sum, _count). */
export function contractSeries(): Set<string> {
  return new Set(Object.values(METRICS).flatMap((s) => seriesNames(s.name, s.type)));
}

const ETCD_HISTOGRAMS: ReadonlySet<string> = new Set([ETCD_FAMILIES.walFsync, ETCD_FAMILIES.backendCommit, ETCD_FAMILIES.peerRoundTrip]);

/** etcd's own series for the families the agent reads (scraped directly where Prometheus can reach etcd). */
export function etcdSeries(): Set<string> {
  return new Set(Object.values(ETCD_FAMILIES).flatMap((f) => seriesNames(f, ETCD_HISTOGRAMS.has(f) ? 'histogram' : 'gauge')));
}

/** node_exporter's per-device disk counters and filesystem gauges (collector/diskstats_linux.go, filesystem_common.go). */
export const NODE_EXPORTER_SERIES: ReadonlySet<string> = new Set([
  'node_disk_io_time_seconds_total',
  'node_disk_io_time_weighted_seconds_total',
  'node_disk_writes_completed_total',
  'node_disk_write_time_seconds_total',
  'node_disk_written_bytes_total',
  'node_disk_reads_completed_total',
  'node_disk_read_time_seconds_total',
  'node_disk_read_bytes_total',
  'node_disk_flush_requests_total',
  'node_disk_flush_requests_time_seconds_total',
  'node_disk_io_now',
  'node_filesystem_avail_bytes',
  'node_filesystem_size_bytes',
  'node_filesystem_free_bytes',
]);

/** kube-state-metrics' series (kube-prometheus-stack scrapes it): the control-plane nodes of a cluster. */
export const KUBE_STATE_METRICS_SERIES: ReadonlySet<string> = new Set(['kube_node_role']);

/** Prometheus's own series. */
export const PROMETHEUS_SERIES: ReadonlySet<string> = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);

/** Names recorded by a rules file's `record:` rules (the file's text, parsed loosely: one rule per line). */
export function recordedNames(rulesText: string): Set<string> {
  return new Set([...rulesText.matchAll(/^\s*-\s*record:\s*(\S+)\s*$/gm)].map((m) => m[1]!));
}
