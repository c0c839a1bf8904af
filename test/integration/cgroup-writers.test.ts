// The cgroup_io source against real cgroup v1 blkio accounting: a loop device with an ext4 filesystem
// is "etcd's data dir"; cgroups shaped like kubelet's (cgroupfs driver) and systemd's hold `dd`s that
// write to it with O_DIRECT; kubelet's /var/log/pods and /var/log/containers name them
// (harness/kubelet-cgroups.ts).
//
// On this kernel, v1 counts a device's I/O only once a throttle rule was set for it: the test first
// writes without one (the source must say "no accounting", not "no writers"), then sets a rule that
// limits nothing and checks the names and rates. Needs root, losetup, mkfs.ext4 and mount.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createCgroupIoSource, type CgroupIoSample } from '../../src/sources/cgroup-writers.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { ms, seconds } from '../../src/lib/units.js';
import { AgentState } from '../../src/state/state.js';
import { collectEvidence } from '../../src/analysis/evidence.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { neighbours } from '../../src/analysis/recommendation.js';
import { blkioUnavailable, createKubeletCgroups, type PodIdentity } from '../../harness/kubelet-cgroups.js';
import { Cleanups } from '../../harness/processes.js';

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const skip = blkioUnavailable() ?? (!['losetup', 'mkfs.ext4', 'mount', 'dd'].every(has) ? 'needs losetup, mkfs.ext4, mount and dd' : false);

const MiB = 2 ** 20;
const POD_UID = '3b1f7c2a-5d4e-4f60-9a8b-7c6d5e4f3a21';
const ETCD_UID = '8e9d0c1b-2a3f-4e5d-8c7b-6a5f4e3d2c1b';
const CID = '1'.repeat(60) + 'abcd';
const ETCD_CID = 'e'.repeat(60) + 'abcd';

function ok(o: Outcome<CgroupIoSample>): CgroupIoSample {
  if (!o.ok) throw new Error(`${o.reason}: ${o.message}`);
  return o.value;
}

/** A loop device never used before: blk-throttle state lives as long as the device, so a used one may count already. */
function freshLoop(): string {
  for (let n = 200 + Math.floor(Math.random() * 100); n < 1000; n++) if (!existsSync(`/sys/block/loop${n}`)) return `/dev/loop${n}`;
  throw new Error('no unused loop device number');
}

t.test('real v1 cgroups on a loop device: no accounting without a throttle rule; with one, pods, containers and services by name', { skip }, async (t) => {
  const base = mkdtempSync(path.join(tmpdir(), 'cgroup-writers-'));
  const img = path.join(base, 'disk.img');
  const mnt = path.join(base, 'etcd');
  const cleanups = new Cleanups();
  t.teardown(async () => {
    const problems = await cleanups.run();
    rmSync(base, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(problems.join('; '));
  });

  execFileSync('truncate', ['-s', '128M', img]);
  const loop = freshLoop();
  execFileSync('losetup', [loop, img]);
  const detach = () => {
    execFileSync('losetup', ['-d', loop]);
    // Removes the device node too (LOOP_CTL_REMOVE), so its blk-throttle state does not outlive the test.
    if (has('python3')) {
      const n = Number(loop.replace('/dev/loop', ''));
      try {
        execFileSync('python3', ['-c', `import fcntl,os; fcntl.ioctl(os.open('/dev/loop-control', os.O_RDWR), 0x4C81, ${n})`], { stdio: 'ignore' });
      } catch {
        // An unused loop device left behind is harmless.
      }
    }
  };
  cleanups.add(`losetup -d ${loop}`, detach, detach);
  const dev = readFileSync(`/sys/block/${path.basename(loop)}/dev`, 'utf8').trim();
  execFileSync('mkfs.ext4', ['-q', '-F', loop]);
  mkdirSync(mnt);
  execFileSync('mount', [loop, mnt]);
  const umount = () => void execFileSync('umount', [mnt]);
  cleanups.add(`umount ${mnt}`, umount, umount);
  const dataDir = path.join(mnt, 'data');
  mkdirSync(dataDir);

  // kubelet's cgroupfs layout (a burstable pod, a guaranteed pod) and systemd's system.slice.
  const kubelet = createKubeletCgroups(cleanups, base, 'test');
  const app: PodIdentity = { namespace: 'default', pod: 'noisy-app', uid: POD_UID, qos: 'burstable', containers: [{ name: 'writer', id: CID }] };
  const etcd: PodIdentity = { namespace: 'kube-system', pod: 'etcd-testnode', uid: ETCD_UID, qos: '', containers: [{ name: 'etcd', id: ETCD_CID }] };
  kubelet.addPod(app);
  kubelet.addPod(etcd);
  const cgroups = {
    app: kubelet.containerCgroup(app, 'writer'),
    etcd: kubelet.containerCgroup(etcd, 'etcd'),
    service: 'system.slice/fake-writer.service',
    quiet: 'system.slice/quiet.service',
  };

  /** `dd` of `bytes` with O_DIRECT into a file of the data dir's filesystem, run inside the cgroup. */
  const write = (rel: string, name: string, bytes: number, bs = 65536) =>
    execFileSync('sh', ['-c', `${kubelet.enterLine(rel)} && exec dd if=/dev/zero of=${dataDir}/${name} bs=${bs} count=${bytes / bs} oflag=direct status=none`]);
  const writeAll = () => {
    write(cgroups.app, 'app', 16 * MiB);
    write(cgroups.etcd, 'wal', 4 * MiB);
    write(cgroups.service, 'svc', 8 * MiB);
    write(cgroups.quiet, 'quiet', 4096, 4096);
  };

  const source = createCgroupIoSource({ etcdDataDir: dataDir, procPath: '/proc', sysPath: '/sys', cgroupPath: kubelet.cgroupPath, podLogsPath: kubelet.podLogsPath, interval: ms(10_000) });

  // Without a throttle rule for the device: the kernel counts nothing, and the source says so.
  ok(await source.sample(new Date()));
  writeAll();
  const off = ok(await source.sample(new Date()));
  t.same(off.devices, [dev], "etcd's device is the loop device");
  t.equal(off.hierarchy, 'v1');
  t.equal(off.accounting, false, 'no accounting without a throttle rule');
  t.same(off.writers, [], 'and no writers claimed');
  t.match(off.notes, [/counts no I\/O for etcd's device.*throttle rule/]);

  // A rule that limits nothing (10 GB/s) turns blk-throttle's accounting on for the device.
  kubelet.countDevice(dev);
  const t1 = Date.now();
  ok(await source.sample(new Date(t1)));
  writeAll();
  // A round is normally 10 s; 1.5 s keeps the quiet service's 4 KiB below the 16 KiB/s floor.
  await sleep(1500);
  const t2 = Date.now();
  const on = ok(await source.sample(new Date(t2)));
  const dt = (t2 - t1) / 1000;
  t.equal(on.accounting, true);
  t.same(
    on.writers.map((w) => [w.name, w.etcd]),
    [
      ['default/noisy-app writer', false],
      ['fake-writer.service', false],
      ['kube-system/etcd-testnode etcd', true],
    ],
    'named by pod namespace/name and container, and by unit, busiest first',
  );
  const rate = (name: string) => on.writers.find((w) => w.name === name)?.bytesPerSecond ?? 0;
  t.equal(Math.round(rate('default/noisy-app writer') * dt), 16 * MiB, 'the pod container wrote exactly its 16 MiB in the window');
  t.equal(Math.round(rate('fake-writer.service') * dt), 8 * MiB);
  t.equal(Math.round(rate('kube-system/etcd-testnode etcd') * dt), 4 * MiB);
  t.match(on.writers[0], { kind: 'pod', namespace: 'default', pod: 'noisy-app', container: 'writer', podUid: POD_UID, containerId: CID });
  t.same(on.rest, { cgroups: 1, bytesPerSecond: 4096 / dt }, 'the quiet service is below the floor: summed into the rest');

  // Into the evidence, as with the processes source off (the DaemonSet's default): etcd is not a neighbour.
  const state = new AgentState(new Date(t1), new Set(['cgroup_io']));
  state.record('cgroup_io', { ok: true, value: on }, new Date(t2), seconds(0));
  const ev = collectEvidence(state, new Date(t2), DEFAULT_THRESHOLDS);
  t.same(neighbours(ev.topWriters).map((w) => w.command), ['default/noisy-app writer', 'fake-writer.service']);
});
