// From the processes source's sample to the diagnosis: the agent's state keeps the latest top
// writers, the evidence takes them while they are within the analysis window, and with a slow disk a
// neighbour writing to etcd's device turns the disk recommendation into a separate disk.
import t from 'tap';
import { diagnose } from '../../src/analysis/diagnose.js';
import { emptyHistogram, observe } from '../../src/lib/histogram.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import type { TopWriter } from '../../src/model/diagnosis.js';
import { collectEvidence } from '../../src/analysis/evidence.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import type { DiskSample } from '../../src/sources/diskstats.js';
import type { EtcdMetricsSample } from '../../src/sources/etcd-metrics.js';
import type { ProcessesSample } from '../../src/sources/processes.js';
import type { CgroupIoSample } from '../../src/sources/cgroup-writers.js';
import { AgentState } from '../../src/state/state.js';
import { bytes, deviceName, seconds } from '../../src/lib/units.js';

const T0 = Date.parse('2026-11-26T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const ETCD: TopWriter = { pid: 812, command: 'etcd', bytesPerSecond: 2e6 };
const BACKUP: TopWriter = { pid: 4242, command: 'backup-agent', bytesPerSecond: 80e6 };

const scrape = (walValues: number[]): { ok: true; value: EtcdMetricsSample } => ({
  ok: true,
  value: { walFsync: observe(emptyHistogram(ETCD_DISK_BUCKETS), walValues), peerRoundTrip: new Map(), hasLeader: true, bodyBytes: bytes(1) },
});
/** etcd's device, dedicated (shared with no busy path) and moderately busy. */
const diskAt = (s: number): { ok: true; value: DiskSample } => ({
  ok: true,
  value: {
    path: '/var/lib/etcd', mountPoint: '/var/lib/etcd', fsType: 'ext4', device: deviceName('vdb'), disks: [deviceName('vdb')], sharedWith: [],
    stats: [{ device: deviceName('vdb'), writesCompleted: s * 100, writeTime: seconds(s * 0.5), ioTime: seconds(s * 0.3), weightedIoTime: seconds(s * 0.6), inFlight: 0 }],
  },
});
const writers = (list: TopWriter[]): { ok: true; value: ProcessesSample } => ({ ok: true, value: { writers: list, readable: 200, denied: 0, exited: 0 } });

/** Five minutes of a slow WAL (p99 ≈ 60 ms) on a dedicated device; top writers recorded at `writersAt`. */
function slowNode(writersAt: number): AgentState {
  const state = new AgentState(at(0), new Set(['etcd_metrics', 'diskstats', 'processes']));
  const values: number[] = [];
  for (let s = 0; s <= 600; s += 5) {
    values.push(...Array.from({ length: 90 }, () => 0.002), ...Array.from({ length: 10 }, () => 0.06));
    state.record('etcd_metrics', scrape(values), at(s), seconds(0));
    state.record('diskstats', diskAt(s), at(s), seconds(0));
  }
  state.record('processes', writers([ETCD, BACKUP]), at(writersAt), seconds(0));
  return state;
}

t.test('the evidence carries the top writers while they are within the analysis window, and none after', async (t) => {
  const state = slowNode(590);
  t.same(collectEvidence(state, at(600), DEFAULT_THRESHOLDS).topWriters, [ETCD, BACKUP]);
  t.same(collectEvidence(state, at(590 + DEFAULT_THRESHOLDS.window + 1), DEFAULT_THRESHOLDS).topWriters, [], 'older than the window: not evidence');
});

t.test('a failed round keeps the last top writers: one missed /proc scan does not hide a neighbour', async (t) => {
  const state = slowNode(590);
  state.record('processes', { ok: false, reason: 'permission', message: 'denied' }, at(600), seconds(0));
  t.same(collectEvidence(state, at(600), DEFAULT_THRESHOLDS).topWriters, [ETCD, BACKUP]);
});

t.test('slow disk + a neighbour on its device: the disk recommendation is separate_disk and names the writer, not etcd', async (t) => {
  const { diagnosis } = diagnose(collectEvidence(slowNode(595), at(600), DEFAULT_THRESHOLDS), DEFAULT_THRESHOLDS);
  t.ok(diagnosis.findings.some((f) => f.code === 'wal_fsync_slow'), 'the WAL is slow');
  t.same(diagnosis.disk?.remedies, ['separate_disk', 'dedicated_wal_dir', 'ionice']);
  t.match(diagnosis.disk?.summary, /written to by backup-agent \(pid 4242, /);
  t.notMatch(diagnosis.disk?.summary, /etcd \(pid 812/, 'etcd is not its own neighbour');
  const shared = diagnosis.findings.find((f) => f.code === 'disk_shared');
  t.match(shared?.facts, [{ name: 'device' }, { name: 'shared_with' }, { name: 'disk_slow', value: 'yes' }, { name: 'top_writer_1', value: 'backup-agent (pid 4242)' }]);
});

t.test('slow disk with etcd its only writer: faster storage, not a separate disk', async (t) => {
  const state = slowNode(595);
  state.record('processes', writers([ETCD]), at(600), seconds(0));
  const { diagnosis } = diagnose(collectEvidence(state, at(600), DEFAULT_THRESHOLDS), DEFAULT_THRESHOLDS);
  t.same(diagnosis.disk?.remedies, ['faster_storage', 'ionice']);
});

t.test('without the processes source, the cgroup writers are the evidence: the finding names the pod and the service, not etcd\'s pod', async (t) => {
  const state = new AgentState(at(0), new Set(['etcd_metrics', 'diskstats', 'cgroup_io']));
  const values: number[] = [];
  for (let s = 0; s <= 600; s += 5) {
    values.push(...Array.from({ length: 90 }, () => 0.002), ...Array.from({ length: 10 }, () => 0.06));
    state.record('etcd_metrics', scrape(values), at(s), seconds(0));
    state.record('diskstats', diskAt(s), at(s), seconds(0));
  }
  const etcdPod = { kind: 'pod', namespace: 'kube-system', pod: 'etcd-node1', podUid: 'u1', container: 'etcd', containerId: 'c1', name: 'kube-system/etcd-node1 etcd', etcd: true, bytesPerSecond: 3e6 } as const;
  const logs = { kind: 'service', unit: 'containerd.service', name: 'containerd.service', etcd: false, bytesPerSecond: 40e6 } as const;
  const cgroupIo: CgroupIoSample = { hierarchy: 'v1', root: '/sys/fs/cgroup/blkio', devices: ['254:0'], accounting: true, writers: [logs, etcdPod], window: seconds(10), cgroups: 40 };
  state.record('cgroup_io', { ok: true, value: cgroupIo }, at(595), seconds(0));
  const ev = collectEvidence(state, at(600), DEFAULT_THRESHOLDS);
  t.same(ev.topWriters, [{ command: 'containerd.service', bytesPerSecond: 40e6 }, { command: 'kube-system/etcd-node1 etcd', bytesPerSecond: 3e6, etcd: true }]);
  const { diagnosis } = diagnose(ev, DEFAULT_THRESHOLDS);
  t.same(diagnosis.disk?.remedies, ['separate_disk', 'dedicated_wal_dir', 'ionice']);
  t.match(diagnosis.disk?.summary, /written to by containerd\.service \(38\.1 MiB\/s\)/);
  t.notMatch(diagnosis.disk?.summary, /etcd-node1/, "etcd's own pod is not a neighbour");
  const shared = diagnosis.findings.find((f) => f.code === 'disk_shared');
  t.match(shared?.facts, [{ name: 'device' }, { name: 'shared_with' }, { name: 'disk_slow' }, { name: 'top_writer_1', value: 'containerd.service' }]);
});
