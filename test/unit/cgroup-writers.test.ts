// The cgroup_io source on cgroup trees written as files: v2 io.stat in the kernel's documented format
// (hierarchical counts, children subtracted), v1 blkio files without a line for etcd's device (no
// accounting), a hierarchy the agent does not know. etcd's device is this machine's real device
// under the data dir (the tree's io.stat lines are written for it).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createCgroupIoSource, MIN_CGROUP_WRITER_RATE, type CgroupIoSample } from '../../src/sources/cgroup-writers.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { ms } from '../../src/lib/units.js';

const T0 = new Date('2026-11-26T12:00:00Z');
const after = (s: number) => new Date(T0.getTime() + s * 1000);
const UID = '6f1d2c3b-1a2b-4c5d-8e9f-0a1b2c3d4e5f';
const OTHER_UID = '11111111-2222-3333-4444-555555555555';
const SELF_UID = '99999999-8888-7777-6666-555555555555';
const ETCD_CID = 'e'.repeat(64);
const APP_CID = 'a'.repeat(64);
const MiB = 2 ** 20;

function ok(t: Test, o: Outcome<CgroupIoSample>): CgroupIoSample {
  if (!o.ok) throw new Error(`sample failed: ${o.reason}: ${o.message}`);
  t.pass('sampled');
  return o.value;
}

function tree(t: Test) {
  const base = mkdtempSync(path.join(tmpdir(), 'cgroup-io-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const cgroup = path.join(base, 'cgroup');
  const logs = path.join(base, 'log');
  mkdirSync(path.join(logs, 'pods'), { recursive: true });
  mkdirSync(path.join(logs, 'containers'), { recursive: true });
  writeFileSync(path.join(logs, 'containers', `etcd-node1_kube-system_etcd-${ETCD_CID}.log`), '');
  mkdirSync(path.join(logs, 'pods', `kube-system_etcd-node1_${UID}`));
  const source = (opts: { selfPodUid?: string } = {}) =>
    createCgroupIoSource({ etcdDataDir: '/var/lib/etcd', procPath: '/proc', sysPath: '/sys', cgroupPath: cgroup, podLogsPath: logs, interval: ms(10_000), ...opts });
  /** Writes a cgroup's file, making its directory. */
  const cg = (rel: string, file: string, text: string) => {
    mkdirSync(path.join(cgroup, rel), { recursive: true });
    writeFileSync(path.join(cgroup, rel, file), text);
  };
  return { base, cgroup, source, cg };
}

/** The v2 tree of a kubelet node with the systemd driver; `w` gives each leaf's written bytes, parents get their sums. */
function writeV2(cg: (rel: string, file: string, text: string) => void, dev: string, w: { etcd: number; app: number; containerd: number; journald: number; small: number }) {
  const line = (n: number) => `${dev} rbytes=0 wbytes=${n} rios=0 wios=0 dbytes=0 dios=0\n`;
  cg('', 'cgroup.controllers', 'cpuset cpu io memory pids\n');
  const podE = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice`;
  const podA = `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${OTHER_UID.replace(/-/g, '_')}.slice`;
  const podS = `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${SELF_UID.replace(/-/g, '_')}.slice`;
  cg(`${podE}/cri-containerd-${ETCD_CID}.scope`, 'io.stat', line(w.etcd));
  cg(podE, 'io.stat', line(w.etcd));
  cg(`${podA}/cri-containerd-${APP_CID}.scope`, 'io.stat', line(w.app));
  cg(podA, 'io.stat', line(w.app));
  cg(`${podS}/cri-containerd-${'5'.repeat(64)}.scope`, 'io.stat', line(w.app * 3));
  cg(podS, 'io.stat', line(w.app * 3));
  cg('kubepods.slice/kubepods-burstable.slice', 'io.stat', line(w.etcd));
  cg('kubepods.slice/kubepods-besteffort.slice', 'io.stat', line(w.app * 4));
  cg('kubepods.slice', 'io.stat', line(w.etcd + w.app * 4));
  cg('system.slice/containerd.service', 'io.stat', line(w.containerd));
  cg('system.slice/systemd-journald.service', 'io.stat', line(w.journald));
  cg('system.slice/tiny.service', 'io.stat', line(w.small));
  cg('system.slice', 'io.stat', line(w.containerd + w.journald + w.small));
  // A device etcd does not use: never counted.
  cg('user.slice', 'io.stat', '1:1 rbytes=0 wbytes=999999999999 rios=0 wios=0 dbytes=0 dios=0\n');
}

async function etcdDevice(t: Test, source: ReturnType<ReturnType<typeof tree>['source']>): Promise<string | undefined> {
  const first = await source.sample(T0);
  if (!first.ok) {
    t.pass(`skipped: etcd's data dir /var/lib/etcd has no block device here: ${first.message}`);
    return undefined;
  }
  return first.value.devices[0];
}

t.test('v2: pods by namespace/name and container, services by unit, hierarchical counts subtracted, the rest summed, the agent left out', async (t) => {
  const { source, cg } = tree(t);
  cg('', 'cgroup.controllers', 'cpuset cpu io memory pids\n');
  const probe = source({ selfPodUid: SELF_UID });
  const dev = await etcdDevice(t, probe);
  if (dev === undefined) return;
  const s = source({ selfPodUid: SELF_UID });
  writeV2(cg, dev, { etcd: 0, app: 0, containerd: 0, journald: 0, small: 0 });
  const first = ok(t, await s.sample(T0));
  t.same(first.writers, [], 'no previous counters, no rates');
  t.equal(first.window, undefined);
  t.equal(first.accounting, true, 'v2 always counts');
  writeV2(cg, dev, { etcd: 20 * MiB, app: 50 * MiB, containerd: 10 * MiB, journald: 1 * MiB, small: 1000 });
  const second = ok(t, await s.sample(after(10)));
  t.equal(second.hierarchy, 'v2');
  t.equal(second.window, 10);
  t.same(
    second.writers.map((w) => [w.name, w.etcd, w.bytesPerSecond]),
    [
      [`pod ${OTHER_UID} (name unknown) container aaaaaaaaaaaa (name unknown)`, false, 5 * MiB],
      ['kube-system/etcd-node1 etcd', true, 2 * MiB],
      ['containerd.service', false, 1 * MiB],
      ['systemd-journald.service', false, 0.1 * MiB],
    ],
    'busiest first; slices count nothing of their own; the agent\'s pod is not a writer',
  );
  t.same(second.rest, { cgroups: 1, bytesPerSecond: 100 }, 'below the floor: summed into the rest');
  t.ok(second.writers.every((w) => w.bytesPerSecond >= MIN_CGROUP_WRITER_RATE));
  t.match(second.writers[1], { kind: 'pod', namespace: 'kube-system', pod: 'etcd-node1', container: 'etcd', podUid: UID, containerId: ETCD_CID });
});

t.test('v1 without a line for etcd\'s device: accounting is off, said plainly, and no writers are claimed', async (t) => {
  const { source, cg } = tree(t);
  cg('blkio', 'blkio.throttle.io_service_bytes', '1:1 Write 5\nTotal 5\n');
  cg(`blkio/kubepods/burstable/pod${UID}/${ETCD_CID}`, 'blkio.throttle.io_service_bytes', 'Total 0\n');
  const s = source();
  ok(t, await s.sample(T0));
  const second = ok(t, await s.sample(after(10)));
  t.equal(second.hierarchy, 'v1');
  t.equal(second.accounting, false);
  t.same(second.writers, []);
  t.equal(second.rest, undefined);
  t.match(second.notes?.[0], /counts no I\/O for etcd's device .*throttle rule/);
  t.equal(second.cgroups, 5, 'blkio, kubepods, burstable, the pod and its container were read');
});

t.test('a hierarchy the agent does not know is a failure naming the path and what to mount, not a crash', async (t) => {
  const { source, cg, cgroup } = tree(t);
  cg('unified', 'cgroup.controllers', 'cpu memory pids\n');
  const r = await source().sample(T0);
  t.equal(r.ok, false);
  if (!r.ok) {
    t.equal(r.reason, 'not_found');
    t.match(r.message, cgroup);
    t.match(r.message, /--cgroup-path/);
  }
  const missing = await createCgroupIoSource({ etcdDataDir: '/var/lib/etcd', procPath: '/proc', sysPath: '/sys', cgroupPath: '/nonexistent/cgroup', podLogsPath: '/nonexistent', interval: ms(1000) }).sample(T0);
  t.equal(missing.ok, false);
});

t.test('the walk is bounded: past maxCgroups it stops and says so once', async (t) => {
  const { cg, cgroup, base } = tree(t);
  cg('', 'cgroup.controllers', 'io\n');
  for (let i = 0; i < 10; i++) cg(`system.slice/s${i}.service`, 'io.stat', '');
  const s = createCgroupIoSource({ etcdDataDir: '/var/lib/etcd', procPath: '/proc', sysPath: '/sys', cgroupPath: cgroup, podLogsPath: base, interval: ms(1000), maxCgroups: 4 });
  const r = await s.sample(T0);
  if (!r.ok) {
    t.pass(`skipped: ${r.message}`);
    return;
  }
  t.equal(r.value.cgroups, 4);
  t.match(r.value.notes, [/more than 4 cgroups/]);
});
