// etcd's maintenance between two scrapes of its /metrics, from the counts and sums of the histograms it
// keeps per kind of work (defragmentation, compaction, snapshots). Pure: two samples in, events out.
import { MAINTENANCE_KINDS, type MaintenanceEvent } from '../model/diagnosis.js';
import type { EtcdMetricsSample } from '../sources/etcd-metrics.js';
import { seconds } from '../lib/units.js';

/**
 * What completed in (from, at], one event per kind that did, and a defragmentation running at `at`.
 * A count below the previous one is a restarted etcd: its counts began again, and all of the new
 * count is recent. A kind missing from either sample says nothing.
 */
export function maintenanceBetween(prev: EtcdMetricsSample, cur: EtcdMetricsSample, from: Date, at: Date): MaintenanceEvent[] {
  const out: MaintenanceEvent[] = [];
  for (const kind of MAINTENANCE_KINDS) {
    const p = prev.maintenance?.[kind];
    const c = cur.maintenance?.[kind];
    if (!p || !c) continue;
    const restarted = c.count < p.count;
    const count = restarted ? c.count : c.count - p.count;
    const spent = restarted ? c.seconds : c.seconds - p.seconds;
    if (count > 0) out.push({ kind, from, at, count, seconds: seconds(Math.max(0, spent)) });
  }
  if (cur.defragInflight) out.push({ kind: 'defrag', from, at, count: 0, seconds: seconds(0), running: true });
  return out;
}
