// etcd's maintenance between two scrapes: the increase of its per-kind histograms' counts and sums,
// with etcd's compaction durations in milliseconds, a restart, and a defragmentation still running.
import t from 'tap';
import { extractEtcdMetrics, type EtcdMetricsSample } from '../../src/sources/etcd-metrics.js';
import { maintenanceBetween } from '../../src/state/maintenance.js';

const T0 = Date.parse('2026-12-06T02:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

/** A /metrics body with the maintenance families as etcd writes them (counts and sums only: what the agent reads). */
function body(m: { defrag?: [number, number]; compactionMs?: [number, number]; snap?: [number, number]; backup?: [number, number]; inflight?: number }): EtcdMetricsSample {
  const hist = (name: string, [count, sum]: [number, number]) =>
    `# TYPE ${name} histogram\n${name}_bucket{le="+Inf"} ${count}\n${name}_sum ${sum}\n${name}_count ${count}\n`;
  return extractEtcdMetrics(
    (m.defrag ? hist('etcd_disk_backend_defrag_duration_seconds', m.defrag) : '') +
      (m.compactionMs ? hist('etcd_debugging_mvcc_db_compaction_total_duration_milliseconds', m.compactionMs) : '') +
      (m.snap ? hist('etcd_debugging_snap_save_total_duration_seconds', m.snap) : '') +
      (m.backup ? hist('etcd_disk_backend_snapshot_duration_seconds', m.backup) : '') +
      (m.inflight !== undefined ? `# TYPE etcd_disk_defrag_inflight gauge\netcd_disk_defrag_inflight ${m.inflight}\n` : ''),
  );
}

t.test('each kind that completed between the scrapes is one event with its count and time; compaction milliseconds become seconds', async (t) => {
  const prev = body({ defrag: [1, 12], compactionMs: [10, 500], snap: [2, 0.2], backup: [0, 0], inflight: 0 });
  const cur = body({ defrag: [2, 54], compactionMs: [12, 1700], snap: [2, 0.2], backup: [1, 3.5], inflight: 0 });
  t.same(maintenanceBetween(prev, cur, at(0), at(5)), [
    { kind: 'defrag', from: at(0), at: at(5), count: 1, seconds: 42 },
    { kind: 'compaction', from: at(0), at: at(5), count: 2, seconds: 1.2 },
    { kind: 'db_snapshot', from: at(0), at: at(5), count: 1, seconds: 3.5 },
  ]);
});

t.test('a defragmentation running at the scrape is an event of its own', async (t) => {
  const prev = body({ defrag: [1, 12], inflight: 0 });
  const cur = body({ defrag: [1, 12], inflight: 1 });
  t.same(maintenanceBetween(prev, cur, at(0), at(5)), [{ kind: 'defrag', from: at(0), at: at(5), count: 0, seconds: 0, running: true }]);
});

t.test('after an etcd restart the counts begin again: all of the new count is recent', async (t) => {
  const prev = body({ compactionMs: [40, 9000] });
  const cur = body({ compactionMs: [1, 300] });
  t.same(maintenanceBetween(prev, cur, at(0), at(5)), [{ kind: 'compaction', from: at(0), at: at(5), count: 1, seconds: 0.3 }]);
});

t.test('nothing new, or a family missing from either scrape: no event', async (t) => {
  t.same(maintenanceBetween(body({ defrag: [3, 9] }), body({ defrag: [3, 9] }), at(0), at(5)), []);
  t.same(maintenanceBetween(body({}), body({ defrag: [3, 9] }), at(0), at(5)), [], "no baseline: etcd's past is not news");
});
