// /api/v1/history: the last hour in fixed buckets, cut from AgentState.history. Pure, so checked
// against hand-made histories with known answers.
import t from 'tap';
import { emptyHistogram, observe, type HistogramSnapshot } from '../../src/lib/histogram.js';
import type { ElectionEvent, MaintenanceEvent, ProbePoint, StallEvent } from '../../src/model/diagnosis.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import { bucketEdges, frames, historyDocument, historyJson } from '../../src/export/api/history-json.js';
import { TimeRing } from '../../src/lib/time-ring.js';
import type { DiskSample } from '../../src/sources/diskstats.js';
import type { DiskPoint, History, TotalsPoint } from '../../src/state/state.js';
import { deviceName, seconds } from '../../src/lib/units.js';
import { PROBE_BUCKETS } from '../../src/sources/fsync-probe.js';
import type { DeviceStats } from '../../src/host/proc-diskstats.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const at = (s: number): Date => new Date(T0 + s * 1000);

function emptyHistory(): History {
  return {
    totals: new TimeRing<TotalsPoint>(3_600_000, 1000),
    probePoints: new TimeRing<ProbePoint>(3_600_000, 20_000),
    disk: new TimeRing<DiskPoint>(3_600_000, 20_000),
    elections: new TimeRing<ElectionEvent>(86_400_000, 100),
    stalls: new TimeRing<StallEvent>(3_600_000, 100),
    maintenance: new TimeRing<MaintenanceEvent>(3_600_000, 100),
  };
}

const stats = (device: string, ioTime: number): DeviceStats => ({
  device: deviceName(device),
  writesCompleted: 0,
  writeTime: seconds(0),
  ioTime: seconds(ioTime),
  weightedIoTime: seconds(0),
  inFlight: 0,
});
const diskSample = (s: readonly DeviceStats[]): DiskSample => ({
  path: '/var/lib/etcd',
  mountPoint: '/',
  fsType: 'ext4',
  device: deviceName('vda1'),
  disks: [deviceName('vda')],
  sharedWith: ['/'],
  stats: s,
});

t.test('bucket edges are multiples of the step, end at or before now, and start no earlier than the agent', async (t) => {
  const edges = bucketEdges(at(3605), 3600, 10);
  t.equal(edges.length, 361);
  t.equal(edges[360], T0 + 3600_000, 'the last edge is the step boundary at or before now');
  t.equal(edges[0], T0);
  t.ok(edges.every((e) => e % 10_000 === 0));
  t.same(bucketEdges(at(3605), 3600, 10, at(3571)), [T0 + 3570_000, T0 + 3580_000, T0 + 3590_000, T0 + 3600_000], 'a young agent: the bucket it started in, and on');
  t.equal(bucketEdges(at(3605), 3600, 10, at(3603)).length, 2, 'at least one bucket');
  t.equal(bucketEdges(at(3605), 60, 10, at(0)).length, 7, 'an old agent: the span');
});

t.test('frames: the entries at or before each edge, or the first inside a bucket history begins in', async (t) => {
  const e = [at(3), at(12), at(14), at(31)].map((d) => ({ at: d }));
  const f = frames(e, [0, 10, 20, 30, 40].map((s) => T0 + s * 1000));
  t.same(f.map((x) => [x.start?.at.getTime(), x.end?.at.getTime()].map((v) => (v === undefined ? null : (v - T0) / 1000))), [
    [3, 3], // history begins inside: start = end, no interval
    [3, 14],
    [14, 14], // nothing in (20, 30]: start = end
    [14, 31],
  ]);
  t.same(frames([], [T0, T0 + 10_000]), [{}]);
});

t.test('probe p99 per bucket is the quantile of the cumulative histogram increase; max is the worst round', async (t) => {
  const h = emptyHistory();
  let probe: HistogramSnapshot = emptyHistogram(PROBE_BUCKETS);
  let wal: HistogramSnapshot = emptyHistogram(ETCD_DISK_BUCKETS);
  // Every 5 s: 100 fast probe writes; in (20, 30] 100 slow ones (30 ms) too. WAL: 50 fsyncs of ~1.5 ms.
  for (let s = 0; s <= 40; s += 5) {
    if (s > 0) {
      probe = observe(probe, Array.from({ length: 100 }, () => 0.0008));
      if (s > 20 && s <= 30) probe = observe(probe, Array.from({ length: 100 }, () => 0.03));
      wal = observe(wal, Array.from({ length: 50 }, () => 0.0015));
      h.probePoints.push({ at: at(s), max: seconds(s > 20 && s <= 30 ? 0.03 : 0.0008) });
    }
    h.totals.push({ at: at(s), probe, walFsync: wal });
  }
  const doc = historyDocument(h, at(41), { spanSeconds: 40, stepSeconds: 10 });
  t.same(doc.t, [10, 20, 30, 40].map((s) => (T0 + s * 1000) / 1000), 'bucket ends, Unix seconds');
  const p = doc.series.probeP99;
  t.ok(p[0]! > 0.0005 && p[0]! <= 0.001, `fast bucket p99 in the 1 ms bucket: ${p[0]}`);
  t.ok(p[2]! > 0.025 && p[2]! <= 0.032, `slow bucket p99 in the 32 ms bucket: ${p[2]}`);
  t.same(doc.series.probeMax, [0.0008, 0.0008, 0.03, 0.0008]);
  t.ok(doc.series.walFsyncP99.every((v) => v !== null && v > 0.001 && v <= 0.002), 'WAL fsync p99 in the 2 ms bucket');
  t.same(doc.series.backendCommitP99, [null, null, null, null], 'no backend commit histogram: no data');
  t.same(doc.series.diskBusy, [null, null, null, null]);
  t.equal(doc.device, null);
});

t.test('the probe max covers the rounds of the histogram increase, and caps the interpolated p99', async (t) => {
  const h = emptyHistory();
  let probe = emptyHistogram(PROBE_BUCKETS);
  h.totals.push({ at: at(0), probe });
  // Snapshots lag the bucket edges (as they do: at most every 5 s, on a probe round).
  for (const [s, v] of [[7, 0.04], [13, 0.035], [19, 0.001]] as const) {
    probe = observe(probe, [v]);
    h.probePoints.push({ at: at(s), max: seconds(v) });
    if (s !== 19) h.totals.push({ at: at(s), probe });
  }
  const doc = historyDocument(h, at(20), { spanSeconds: 20, stepSeconds: 10 });
  // Bucket (0, 10]: snapshots 0 → 7: the 40 ms round. Bucket (10, 20]: snapshots 7 → 13: the 35 ms round
  // (the round at 19 s has no snapshot yet, so it is in neither the increase nor the max).
  t.same(doc.series.probeMax, [0.04, 0.035]);
  t.same(doc.series.probeP99, [0.04, 0.035], 'p99 interpolated in the 32–64 ms bucket (~63 ms) is capped at the max');
});

t.test('an empty increase, a missing family and a bucket with no snapshot are gaps (null), not zeros', async (t) => {
  const h = emptyHistory();
  const probe = observe(emptyHistogram(PROBE_BUCKETS), [0.001]);
  h.totals.push({ at: at(5), probe });
  h.totals.push({ at: at(15), probe }); // nothing new
  h.totals.push({ at: at(45), probe: observe(probe, [0.002]) });
  const doc = historyDocument(h, at(50), { spanSeconds: 50, stepSeconds: 10 });
  t.same(doc.series.probeP99.map((v) => v !== null), [false, false, false, false, true]);
  t.same(doc.series.walFsyncP99, [null, null, null, null, null]);
});

t.test('disk busy: io_ticks increase over the time between samples, the busiest of device and disks, clamped to 0..1', async (t) => {
  const h = emptyHistory();
  h.disk.push({ at: at(0), sample: diskSample([stats('vda1', 100), stats('vda', 100)]) });
  h.disk.push({ at: at(10), sample: diskSample([stats('vda1', 102), stats('vda', 105)]) }); // vda busy 50%
  h.disk.push({ at: at(20), sample: diskSample([stats('vda1', 120), stats('vda', 105)]) }); // more than the window: 100%
  const doc = historyDocument(h, at(20), { spanSeconds: 20, stepSeconds: 10 });
  t.same(doc.series.diskBusy, [0.5, 1]);
  t.equal(doc.device, 'vda1');
  t.same(doc.disks, ['vda']);
});

t.test('elections inside the span are listed without their forensics; the JSON has ISO times', async (t) => {
  const h = emptyHistory();
  h.elections.push({ at: at(-100), termFrom: 1, termTo: 2 });
  h.elections.push({ at: at(25), termFrom: 2, termTo: 3, walFsyncBefore: emptyHistogram([0.001]), diskBusyBefore: 0.5 });
  const json = JSON.parse(historyJson(h, at(30), { spanSeconds: 30, stepSeconds: 10 })) as { elections: unknown[]; from: string; schemaVersion: number };
  t.same(json.elections, [{ at: at(25).toISOString(), termFrom: 2, termTo: 3 }]);
  t.equal(json.from, at(0).toISOString());
  t.equal(json.schemaVersion, 1);
});

t.test('stalls inside the span are listed with their evidence, later and earlier ones are not', async (t) => {
  const h = emptyHistory();
  const stall = (s: number, source: StallEvent['source']): StallEvent => ({ at: at(s), source, count: 2, longest: seconds(1.2), limit: seconds(0.5), role: 'leader' });
  h.stalls.push(stall(-5, 'probe'));
  h.stalls.push(stall(12, 'probe'));
  h.stalls.push(stall(14, 'etcd_wal_fsync'));
  h.stalls.push(stall(40, 'probe'));
  const json = JSON.parse(historyJson(h, at(30), { spanSeconds: 30, stepSeconds: 10 })) as { stalls: unknown[] };
  t.same(json.stalls, [
    { at: at(12).toISOString(), source: 'probe', count: 2, longest: 1.2, limit: 0.5, role: 'leader' },
    { at: at(14).toISOString(), source: 'etcd_wal_fsync', count: 2, longest: 1.2, limit: 0.5, role: 'leader' },
  ]);
});

t.test('an hour of 5 s snapshots: 360 buckets, every one with data', async (t) => {
  const h = emptyHistory();
  let probe = emptyHistogram(PROBE_BUCKETS);
  for (let s = 0; s <= 3600; s += 5) {
    probe = observe(probe, [0.001, 0.002]);
    h.totals.push({ at: at(s), probe });
  }
  const doc = historyDocument(h, at(3600));
  t.equal(doc.t.length, 360);
  t.equal(doc.stepSeconds, 10);
  t.ok(doc.series.probeP99.every((v) => v !== null));
});
