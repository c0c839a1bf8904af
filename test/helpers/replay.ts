// Real samples replayed into an AgentState, one input at a time: captured etcd /metrics bodies, this
// machine's diskstats, an etcd API status, a kubeadm-like config, probe rounds with a stall, failures.
// test/unit/metrics-render.test.ts renders after each step; test/unit/golden-metrics.test.ts after all.
import { readFileSync } from 'node:fs';
import { diagnose } from '../../src/analysis/diagnose.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { collectEvidence } from '../../src/analysis/evidence.js';
import { PREFIX } from '../../src/export/prometheus/contract.js';
import { extractEtcdMetrics } from '../../src/sources/etcd-metrics.js';
import { parseDiskstats } from '../../src/host/proc-diskstats.js';
import { failure, success, type Outcome } from '../../src/lib/outcome.js';
import { recordSample } from '../../src/commands/agent.js';
import type { SourceName } from '../../src/sources/source.js';
import type { AgentState } from '../../src/state/state.js';
import type { DeviceName } from '../../src/lib/units.js';
import { bytes, ms, seconds, type Seconds } from '../../src/lib/units.js';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
export const T0 = Date.parse('2026-11-26T12:00:00Z');
export const at = (s: number) => new Date(T0 + s * 1000);

/** The contract's lines of a body (prom-client's process_* and nodejs_* change between any two scrapes). */
export const contractLines = (body: string) =>
  body
    .split('\n')
    .filter((l) => l.startsWith(PREFIX) || l.startsWith(`# HELP ${PREFIX}`) || l.startsWith(`# TYPE ${PREFIX}`))
    .join('\n');

function diskSample(stats: Map<DeviceName, ReturnType<typeof parseDiskstats> extends Map<DeviceName, infer S> ? S : never>) {
  const vda = stats.get('vda' as DeviceName)!;
  return { path: '/var/lib/etcd', mountPoint: '/', fsType: 'ext4', device: vda.device, disks: [vda.device], sharedWith: ['/'], stats: [vda], rotational: true };
}

/** Each step changes one input: a source's record() (a success or a failure) or a new diagnosis. */
export function replaySteps(state: AgentState): [string, () => void][] {
  const diskstats = parseDiskstats(fixture('proc/diskstats.debian12.txt'));
  const later = new Map([...diskstats].map(([name, s]) => [name, { ...s, ioTime: seconds(s.ioTime + 1.5), writesCompleted: s.writesCompleted + 40 }]));
  const api = (raftTerm: number, leaderId: string) => ({
    endpoint: 'https://127.0.0.1:2379', memberId: '8e9e05c52164694d', memberName: 'm0', leaderId, raftTerm, raftIndex: 100 + raftTerm, version: '3.4.23',
    dbSize: bytes(20480), members: [], roundTrip: seconds(0.002),
  });
  const probe = (durations: number[]) => ({ file: '/var/lib/etcd-probe/probe', sameFilesystemAsEtcd: true, durations: durations.map(seconds), writtenBytes: bytes(durations.length * 2048), freeBytes: bytes(2 ** 30) });
  const cgroupIo = {
    hierarchy: 'v1', root: '/sys/fs/cgroup/blkio', devices: ['254:0'], accounting: true, window: seconds(10), cgroups: 42, rest: { cgroups: 3, bytesPerSecond: 2048 },
    writers: [
      { kind: 'pod', namespace: 'kube-system', pod: 'etcd-node1', podUid: 'u-1', container: 'etcd', containerId: 'c'.repeat(64), name: 'kube-system/etcd-node1 etcd', etcd: true, bytesPerSecond: 1_500_000 },
      { kind: 'service', unit: 'containerd.service', name: 'containerd.service', etcd: false, bytesPerSecond: 600_000 },
      { kind: 'pod', namespace: 'unknown', pod: 'unknown', podUid: 'u-2', container: '', name: 'pod u-2 (name unknown)', etcd: false, bytesPerSecond: 40_000 },
    ],
  } as const;
  // As the agent records: with the stall judgement that counts leadership events.
  const record = (name: SourceName, outcome: Outcome<unknown>, when: Date, duration: Seconds) => recordSample(state, name, outcome, when, duration, DEFAULT_THRESHOLDS);
  const candidates = {
    results: [
      { dir: '/mnt/local-ssd', ok: true, round: probe(Array.from({ length: 240 }, (_, i) => (i % 40 === 0 ? 0.003 : 0.0006))) },
      { dir: '/mnt/volume', ok: true, round: probe(Array.from({ length: 240 }, (_, i) => (i % 24 === 0 ? 2.4 : 0.004))) },
      { dir: '/var/lib/etcd-next', ok: false, reason: 'on_etcd_filesystem', message: "candidate /var/lib/etcd-next is on etcd's own filesystem (that of /var/lib/etcd)" },
    ],
  } as const;
  const evaluate = (s: number) => {
    state.diagnosis = diagnose(collectEvidence(state, at(s), DEFAULT_THRESHOLDS), DEFAULT_THRESHOLDS).diagnosis;
  };
  return [
    ['probe round', () => record('fsync_probe', success(probe([0.0011, 0.0009, 0.0021])), at(1), seconds(0.01))],
    ['disk sample', () => record('diskstats', success(diskSample(diskstats)), at(1), seconds(0.001))],
    ['etcd /metrics (single member)', () => record('etcd_metrics', success(extractEtcdMetrics(fixture('etcd/metrics-3.4-single.txt'))), at(1), seconds(0.02))],
    ['etcd API status', () => record('etcd_api', success(api(2, '8e9e05c52164694d')), at(1), seconds(0.002))],
    ['etcd /readyz', () => record('etcd_health', success({ endpoint: 'readyz', ready: true, live: true, checks: [{ endpoint: 'readyz', name: 'data_corruption', ok: true }, { endpoint: 'readyz', name: 'linearizable_read', ok: true }] }), at(1), seconds(0.002))],
    ['etcd config', () => record('etcd_config', success({ heartbeatInterval: { value: ms(100), origin: 'default' }, electionTimeout: { value: ms(1000), origin: 'default' }, dataDir: { value: '/var/lib/etcd', origin: 'manifest' } }), at(1), seconds(0.001))],
    ['processes round', () => record('processes', success({ writers: [], readable: 12, denied: 0, exited: 0 }), at(1), seconds(0.004))],
    ['cgroup I/O round', () => record('cgroup_io', success(cgroupIo), at(1), seconds(0.003))],
    ['first diagnosis', () => evaluate(2)],
    ['second probe round, with a 40 ms and a 0.7 s stall', () => record('fsync_probe', success(probe([0.04, 0.7, 0.0012])), at(3), seconds(0.05))],
    ['later disk sample', () => record('diskstats', success(diskSample(later)), at(6), seconds(0.001))],
    ['etcd /metrics (cluster member)', () => record('etcd_metrics', success(extractEtcdMetrics(fixture('etcd/metrics-3.4-cluster-member.txt'))), at(6), seconds(0.02))],
    ['etcd API: a new term', () => record('etcd_api', success(api(3, '0')), at(6), seconds(0.003))],
    ['etcd /readyz: no leader', () => record('etcd_health', success({ endpoint: 'readyz', ready: false, live: true, checks: [{ endpoint: 'readyz', name: 'data_corruption', ok: true }, { endpoint: 'readyz', name: 'linearizable_read', ok: false, detail: 'reason withheld' }] }), at(6), seconds(0.002))],
    ['etcd API unreachable', () => record('etcd_api', failure('unreachable', 'connect ECONNREFUSED 127.0.0.1:2379'), at(7), seconds(0.001))],
    ['etcd config: heartbeat from the manifest', () => record('etcd_config', success({ heartbeatInterval: { value: ms(250), origin: 'manifest' }, electionTimeout: { value: ms(2500), origin: 'manifest' } }), at(7), seconds(0.001))],
    ['candidate filesystems: one fast, one with stalls, one on etcd\'s own', () => record('candidate_probe', success(candidates), at(8), seconds(0.3))],
    ['processes unreadable', () => record('processes', failure('permission', 'EACCES /proc/1/io'), at(8), seconds(0.001))],
    ['probe failed', () => record('fsync_probe', failure('other', 'EIO: i/o error, fdatasync'), at(9), seconds(0.001))],
    ['next diagnosis', () => evaluate(10)],
  ];
}

