// What the agent exports about itself: prom-client's default collectors, trimmed to what an
// operator checks the agent's own cost with, and cheap enough to run on every scrape.
import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Left out: the event-loop lag gauges (their collector asked Node's delay histogram for a standard
 * deviation and three percentiles on every scrape, a quarter of a /metrics request's CPU), the
 * per-heap-space and GC-duration series and the handle counts by type (about 60 series nobody
 * reads, a fifth of the body), and prom-client's Linux memory collector, replaced below.
 * Unregistered collectors are never asked for values; prom-client offers no way not to create them,
 * so two keep a little background work: the event-loop delay histogram and the GC observer.
 */
const KEPT_DEFAULT_METRICS: ReadonlySet<string> = new Set([
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_open_fds',
  'process_max_fds',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_version_info',
]);

export function registerSelfMetrics(registry: Registry): void {
  // 1 s: the delay histogram behind the dropped event-loop gauges cannot be switched off, only slowed.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  for (const { name } of registry.getMetricsAsArray()) if (!KEPT_DEFAULT_METRICS.has(name)) registry.removeSingleMetric(name);
  // prom-client reads and parses all of /proc/self/status for this (and VmSize, VmData) on every
  // scrape, the costliest of its collectors in the agent's profile (0.2 ms of a 2 ms scrape);
  // libuv reads the one number from /proc/self/stat. It is what prom-client exports off Linux.
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
}
