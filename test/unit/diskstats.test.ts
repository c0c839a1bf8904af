// The diskstats source: /proc/diskstats and mountinfo parsers (table cases and fixtures captured
// from real kernels), mount lookup, sysfs device resolution on a fake RHEL 9 LVM host built at run
// time from test/fixtures/sys-lvm/layout.json, the whole source on that fake host, and the whole
// source on this machine's real /proc and /sys.
import t, { type Test } from 'tap';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deviceName, ms, type DeviceName } from '../../src/lib/units.js';
import { parseDiskstats } from '../../src/host/proc-diskstats.js';
import { findMount, parseMountinfo, unescapeMountPath, type MountEntry } from '../../src/host/proc-mountinfo.js';
import { deviceForMajMin, readRotational, readSysfsModel, resolveMountDevice, wholeDisks } from '../../src/host/sys-block.js';
import {
  createDiskstatsSource,
  DEFAULT_SHARED_PATHS,
  resolveExisting,
  type DiskSample,
  type DiskstatsOptions,
} from '../../src/sources/diskstats.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { buildSysfs, link, LVM_DEVICES, type LayoutDevice } from '../helpers/fake-host.js';

type Tap = Test;

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const fixtures = path.join(repoRoot, 'test/fixtures');
const fixture = (name: string): string => readFileSync(path.join(fixtures, 'proc', name), 'utf8');
const dev = deviceName;

function ok<T>(tt: Tap, o: Outcome<T>, what: string): T {
  if (!o.ok) {
    tt.fail(`${what}: ${o.reason}: ${o.message}`);
    throw new Error(`${what} failed`);
  }
  return o.value;
}

// ─────────────────────────── /proc/diskstats ───────────────────────────

t.test('parseDiskstats reads every kernel layout captured in fixtures', async (t) => {
  const cases: Array<{ file: string; devices: number; flush: boolean }> = [
    { file: 'diskstats.centos7.txt', devices: 6, flush: false }, // 3.10: 14 fields
    { file: 'diskstats.rhel8.txt', devices: 6, flush: false }, // 4.18: 18 fields (discard)
    { file: 'diskstats.lvm-rhel9.txt', devices: 14, flush: true }, // 5.14: 20 fields (flush)
    { file: 'diskstats.debian12.txt', devices: fixture('diskstats.debian12.txt').trim().split('\n').length, flush: true }, // this machine
  ];
  for (const c of cases) {
    const m = parseDiskstats(fixture(c.file));
    t.equal(m.size, c.devices, `${c.file}: every line parsed`);
    for (const s of m.values()) {
      t.equal(s.flushRequests !== undefined && s.flushTime !== undefined, c.flush, `${c.file} ${s.device}: flush fields ${c.flush ? 'present' : 'absent'}`);
    }
  }
});

t.test('parseDiskstats maps the right columns and converts ms to seconds', async (t) => {
  const old = parseDiskstats(fixture('diskstats.centos7.txt')).get(dev('sda'));
  t.same(old, { device: 'sda', writesCompleted: 53460, writeTime: 127.54, inFlight: 0, ioTime: 50.389, weightedIoTime: 137.329 });
  t.notOk(old !== undefined && 'flushRequests' in old, 'no flush key at all on an old kernel');

  const discard = parseDiskstats(fixture('diskstats.rhel8.txt')).get(dev('dm-0'));
  t.same(discard, { device: 'dm-0', writesCompleted: 819022, writeTime: 1402.231, inFlight: 0, ioTime: 401.991, weightedIoTime: 1433.232 });

  const flush = parseDiskstats(fixture('diskstats.lvm-rhel9.txt'));
  t.same(flush.get(dev('sdb')), {
    device: 'sdb', writesCompleted: 231044, writeTime: 121.044, inFlight: 0, ioTime: 98.123, weightedIoTime: 122.411,
    flushRequests: 81022, flushTime: 40.112,
  });
  t.equal(flush.get(dev('dm-2'))?.inFlight, 1);
  t.equal(flush.get(dev('sda'))?.inFlight, 2);
});

t.test('parseDiskstats skips malformed lines and never throws', async (t) => {
  const good = '   8       0 sda 1 2 3 4 5 6 7 8 9 10 11';
  const cases: Array<[string, string, string[]]> = [
    ['empty text', '', []],
    ['blank lines and tabs', `\n\t\n${good.replace(/ +/g, '\t')}\n\n`, ['sda']],
    ['13 fields (truncated)', '8 0 sda 1 2 3 4 5 6 7 8 9 10', []],
    ['15 fields', '8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12', []],
    ['17 fields (truncated discard)', '8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14', []],
    ['19 fields (truncated flush)', '8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16', []],
    ['22 fields (a future kernel) is read', '8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19', ['sda']],
    ['non-numeric counter', '8 0 sda 1 2 3 4 x 6 7 8 9 10 11', []],
    ['negative counter', '8 0 sda 1 2 3 4 -5 6 7 8 9 10 11', []],
    ['non-numeric major', 'x 0 sda 1 2 3 4 5 6 7 8 9 10 11', []],
    ['one bad line among good ones', `${good}\n8 1 sda1 1 2 3\n8 16 sdb 1 2 3 4 5 6 7 8 9 10 11`, ['sda', 'sdb']],
    ['garbage', 'major minor name\n\u0000\u0001', []],
  ];
  for (const [name, text, want] of cases) {
    t.same([...parseDiskstats(text).keys()], want, name);
  }
  const future = parseDiskstats('8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19').get(dev('sda'));
  t.equal(future?.flushRequests, 16, 'known columns of a longer line');
  t.equal(future?.flushTime, 0.017);
});

// ─────────────────────────── mountinfo ───────────────────────────

t.test('parseMountinfo reads the fields, optional fields and escapes', async (t) => {
  const cases: Array<[string, string, Partial<MountEntry> | undefined]> = [
    ['no optional field', '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
      { mountId: 27, parentId: 1, major: 254, minor: 0, root: '/', mountPoint: '/', fsType: 'ext4', source: '/dev/vda' }],
    ['several optional fields', '36 35 98:0 /mnt1 /mnt2 rw,noatime shared:1 master:2 propagate_from:3 - ext3 /dev/root rw,errors=continue',
      { mountId: 36, parentId: 35, major: 98, minor: 0, root: '/mnt1', mountPoint: '/mnt2', fsType: 'ext3', source: '/dev/root' }],
    ['space (\\040) in mount point', '140 22 0:62 / /mnt/etcd\\040backup rw - tmpfs tmpfs rw', { mountPoint: '/mnt/etcd backup' }],
    ['tab, newline, backslash', '9 1 8:1 /a\\011b /x\\012y\\134z rw - ext4 /dev/my\\040disk rw',
      { root: '/a\tb', mountPoint: '/x\ny\\z', source: '/dev/my disk' }],
    ['large major:minor', '5 1 259:65536 / /data rw - xfs /dev/nvme1n1p9 rw', { major: 259, minor: 65536 }],
    ['fuse subtype', '7 1 0:50 / /mnt/s rw - fuse.sshfs host:/x rw', { fsType: 'fuse.sshfs', source: 'host:/x', major: 0 }],
    ['no separator', '27 1 254:0 / / rw,relatime ext4 /dev/vda rw', undefined],
    ['separator too early', '27 1 254:0 / - ext4 /dev/vda rw x', undefined],
    ['nothing after separator', '27 1 254:0 / / rw - ext4', undefined],
    ['bad major:minor', '27 1 254 / / rw - ext4 /dev/vda rw', undefined],
    ['non-numeric id', 'a 1 254:0 / / rw - ext4 /dev/vda rw', undefined],
    ['relative mount point', '27 1 254:0 / mnt rw - ext4 /dev/vda rw', undefined],
    ['empty', '', undefined],
  ];
  for (const [name, line, want] of cases) {
    const got = parseMountinfo(line);
    if (want === undefined) t.same(got, [], `${name}: skipped`);
    else t.match(got, [want], name);
  }
  t.equal(unescapeMountPath('/a\\040b\\134c'), '/a b\\c');
  t.equal(unescapeMountPath('/no\\9escape'), '/no\\9escape', 'only three octal digits are an escape');
});

t.test('parseMountinfo reads the fixtures', async (t) => {
  const real = fixture('mountinfo.debian12.txt');
  const entries = parseMountinfo(real);
  t.equal(entries.length, real.trim().split('\n').length, 'every line of this machine parsed');
  t.ok(entries.some((e) => e.mountPoint === '/' && e.major !== 0), 'this machine has a block-device root');

  const lvm = parseMountinfo(fixture('mountinfo.lvm-rhel9.txt'));
  t.match(lvm.find((e) => e.mountPoint === '/var/lib/etcd'), { major: 253, minor: 2, fsType: 'xfs', source: '/dev/mapper/rhel-etcd' });
  t.ok(lvm.some((e) => e.mountPoint === '/mnt/etcd backup'), 'escaped mount point decoded');
});

t.test('findMount: longest whole-segment prefix, last stacked mount wins', async (t) => {
  const e = (mountId: number, mountPoint: string, major = 8): MountEntry => ({
    mountId, parentId: 1, major, minor: mountId, root: '/', mountPoint, fsType: 'ext4', source: `/dev/x${mountId}`,
  });
  const entries = [
    e(1, '/'), e(2, '/var'), e(3, '/var/lib/etcd'), e(4, '/var/lib/etcd2'), e(5, '/data'), e(6, '/data'),
    e(7, '/mnt/etcd backup'), e(8, '/var/lib/etcd/member/wal'),
  ];
  const cases: Array<[string, number | undefined]> = [
    ['/', 1],
    ['/etc', 1],
    ['/varx', 1],
    ['/var', 2],
    ['/var/lib', 2],
    ['/var/lib/etcd', 3],
    ['/var/lib/etcd/', 3],
    ['/var/lib/etcd/member', 3],
    ['/var/lib/etcd/member/wal/0.wal', 8],
    ['/var/lib/etcd/member/walx', 3],
    ['/var/lib/etcd2', 4],
    ['/var/lib/etcd2/member', 4],
    ['/var/lib/etcd-backup', 2],
    ['/var/lib/etcd22', 2],
    ['/var/lib/../lib/etcd', 3],
    ['/data/x', 6],
    ['/mnt/etcd backup/x', 7],
    ['/mnt/etcd', 1],
    ['var/lib/etcd', undefined],
  ];
  for (const [p, want] of cases) t.equal(findMount(entries, p)?.mountId, want, p);
  t.equal(findMount([], '/'), undefined, 'no entries');
  t.equal(findMount([e(2, '/var')], '/etc'), undefined, 'no root mount listed (a chroot)');
});

// ─────────────────────────── fake sysfs ───────────────────────────

/** t.testdir() empties the test's directory on each call: call it once per test and pass `base`. */
async function fakeSysfs(base: string, extra: readonly LayoutDevice[] = []): Promise<string> {
  const sys = path.join(base, 'sys');
  await buildSysfs(sys, [...LVM_DEVICES, ...extra]);
  return sys;
}

const mount = (majMin: string, mountPoint: string, fsType: string, source: string): MountEntry => {
  const [major, minor] = majMin.split(':').map(Number) as [number, number];
  return { mountId: 1, parentId: 0, major, minor, root: '/', mountPoint, fsType, source };
};

t.test('sysfs: major:minor → name, partition → disk, dm/md → slaves → disks', async (t) => {
  const sys = await fakeSysfs(t.testdir(), [
    // LVM on LUKS on a partition: dm-3 (lv) → dm-4 (crypt) → nvme0n1p1 → nvme0n1.
    { name: 'dm-4', dev: '253:4', slaves: ['nvme0n1p1'] },
    { name: 'dm-3', dev: '253:3', slaves: ['dm-4'] },
  ]);
  const names: Array<[number, number, string]> = [[8, 0, 'sda'], [8, 2, 'sda2'], [253, 2, 'dm-2'], [259, 1, 'nvme0n1p1'], [9, 0, 'md0']];
  for (const [maj, min, want] of names) t.same(await deviceForMajMin(sys, maj, min), { ok: true, value: want }, `${maj}:${min}`);
  const missing = await deviceForMajMin(sys, 8, 99);
  t.match(missing, { ok: false, reason: 'not_found', message: /dev\/block\/8:99.*sysPath/ });

  const disks: Array<[string, string[]]> = [
    ['sda', ['sda']],
    ['sda2', ['sda']],
    ['sdb', ['sdb']],
    ['nvme0n1p1', ['nvme0n1']],
    ['dm-0', ['sda']],
    ['dm-2', ['sda']],
    ['md0', ['sdc', 'sdd']],
    ['dm-3', ['nvme0n1']],
  ];
  for (const [name, want] of disks) t.same(await wholeDisks(sys, dev(name)), { ok: true, value: want }, `${name} → ${want.join(',')}`);

  t.equal(await readRotational(sys, [dev('sda')]), false);
  t.equal(await readRotational(sys, [dev('sdc'), dev('sdd')]), true);
  t.equal(await readRotational(sys, [dev('sda'), dev('sdb')]), true, 'any spinning disk makes the set rotational');
  t.equal(await readRotational(sys, [dev('nosuch')]), undefined);
  t.equal(await readSysfsModel(sys, dev('sda')), 'ATA INTEL SSDSC2KB480G8', 'SCSI: vendor + model, padding trimmed');
  t.equal(await readSysfsModel(sys, dev('nvme0n1')), 'SAMSUNG MZQL2960HCJR-00A07');
  t.equal(await readSysfsModel(sys, dev('dm-0')), undefined);
});

t.test('resolveMountDevice: block devices, btrfs, and clear failures without one', async (t) => {
  const sys = await fakeSysfs(t.testdir());
  // btrfs reports an anonymous 0:N device; its members are listed under fs/btrfs/<uuid>/devices.
  const fsid = path.join(sys, 'fs/btrfs/5c1c2b4e-8d6b-4f3c-9b8e-2f1e3d4c5b6a/devices');
  await link(path.join(sys, 'class/block/sdc1'), path.join(fsid, 'sdc1'));
  await link(path.join(sys, 'class/block/sdd1'), path.join(fsid, 'sdd1'));

  t.same(await resolveMountDevice(sys, mount('253:2', '/var/lib/etcd', 'xfs', '/dev/mapper/rhel-etcd')), { ok: true, value: { device: 'dm-2', disks: ['sda'] } });
  t.same(await resolveMountDevice(sys, mount('259:1', '/var/lib/containerd', 'xfs', '/dev/nvme0n1p1')), { ok: true, value: { device: 'nvme0n1p1', disks: ['nvme0n1'] } });
  t.same(await resolveMountDevice(sys, mount('0:41', '/data', 'btrfs', '/dev/sdd1')), { ok: true, value: { device: 'sdd1', disks: ['sdc', 'sdd'] } }, 'btrfs on two disks');

  const failures: Array<[MountEntry, RegExp]> = [
    [mount('0:25', '/run', 'tmpfs', 'tmpfs'), /\/run.*tmpfs.*memory, not a disk/],
    [mount('0:52', '/', 'overlay', 'overlay'), /overlay.*hostPath.*procPath/],
    [mount('0:60', '/mnt/nfs', 'nfs4', 'srv:/export'), /network.*fsync probe/],
    [mount('0:33', '/tank', 'zfs', 'tank/etcd'), /ZFS/],
    [mount('0:41', '/srv', 'btrfs', '/dev/sdb'), /btrfs from \/dev\/sdb.*fs\/btrfs/],
    [mount('8:99', '/gone', 'ext4', '/dev/sdz'), /dev\/block\/8:99/],
  ];
  for (const [m, re] of failures) {
    const r = await resolveMountDevice(sys, m);
    t.match(r, { ok: false, reason: 'not_found', message: re }, `${m.fsType} on ${m.mountPoint}`);
  }
});

// ─────────────────────────── the source on a fake LVM host ───────────────────────────

interface FakeHost { proc: string; sys: string; hostRoot: string }

/**
 * A host as a privileged pod sees it: host /proc at `proc` (PID 1's mountinfo is the host's mount
 * table, `1/root` the host's /), host /sys at `sys`. `self/mountinfo` is the pod's own view.
 */
async function fakeHost(tt: Tap): Promise<FakeHost> {
  const base = tt.testdir();
  const sys = await fakeSysfs(base);
  const proc = path.join(base, 'proc');
  const hostRoot = path.join(proc, '1/root');
  for (const d of ['var/lib/etcd/member/wal', 'var/lib/etcd2', 'var/lib/containerd', 'var/lib/kubelet', 'var/log', 'data/raid/etcd', 'run', 'srv',
    'run/containerd/io.containerd.runtime.v2.task/k8s.io/6f1c2d0e9b/rootfs/var/lib/etcd', 'mnt/etcd backup']) {
    await fsp.mkdir(path.join(hostRoot, d), { recursive: true });
  }
  // An absolute symlink on the host: must resolve inside the host's root, not this process's.
  await fsp.symlink('/var/lib/etcd', path.join(hostRoot, 'srv/etcd'));
  await fsp.symlink('../lib/etcd2', path.join(hostRoot, 'var/log/etcd-relative'));
  await fsp.writeFile(path.join(proc, 'diskstats'), fixture('diskstats.lvm-rhel9.txt'));
  await fsp.writeFile(path.join(proc, '1/mountinfo'), fixture('mountinfo.lvm-rhel9.txt'));
  await fsp.mkdir(path.join(proc, 'self'));
  // The pod's own view: only an overlay root. Reading it would be the bug this layout catches.
  await fsp.writeFile(path.join(proc, 'self/mountinfo'), '900 800 0:99 / / rw - overlay overlay rw\n');
  return { proc, sys, hostRoot };
}

const options = (h: FakeHost, etcdDataDir: string, more: Partial<DiskstatsOptions> = {}): DiskstatsOptions => ({
  etcdDataDir, procPath: h.proc, sysPath: h.sys, sharedPaths: DEFAULT_SHARED_PATHS, interval: ms(10_000), ...more,
});

const T0 = new Date('2025-01-01T00:00:00Z');
const after = (msLater: number): Date => new Date(T0.getTime() + msLater);

t.test('source on an LVM host: etcd has its own LV, but on the disk of / and /var/log', async (t) => {
  const h = await fakeHost(t);
  const src = createDiskstatsSource(options(h, '/var/lib/etcd'));
  t.equal(src.name, 'diskstats');
  t.equal(src.interval, 10_000);
  const s = ok(t, await src.sample(T0), 'sample');
  t.match(s, {
    path: '/var/lib/etcd', mountPoint: '/var/lib/etcd', fsType: 'xfs', device: 'dm-2', disks: ['sda'],
    sharedWith: ['/', '/var/lib/kubelet', '/var/log'], rotational: false, model: 'ATA INTEL SSDSC2KB480G8',
  });
  t.same(s.stats.map((x) => x.device), ['dm-2', 'sda']);
  t.same(s.stats[1], {
    device: 'sda', writesCompleted: 1821102, writeTime: 2011.823, inFlight: 2, ioTime: 1204.412, weightedIoTime: 2320.193,
    flushRequests: 120344, flushTime: 67.925,
  });
});

t.test('source: paths, symlinks and placements on the LVM host', async (t) => {
  const h = await fakeHost(t);
  const cases: Array<{ dir: string; want: Partial<DiskSample>; stats: string[] }> = [
    { dir: '/var/lib/etcd/member', want: { path: '/var/lib/etcd/member', device: dev('dm-2') }, stats: ['dm-2', 'sda'] },
    { dir: '/var/lib/etcd/member/snap', want: { path: '/var/lib/etcd/member', mountPoint: '/var/lib/etcd' }, stats: ['dm-2', 'sda'] },
    { dir: '/srv/etcd', want: { path: '/var/lib/etcd', device: dev('dm-2') }, stats: ['dm-2', 'sda'] },
    { dir: '/srv/etcd/../etcd2', want: { path: '/var/lib/etcd2', device: dev('sdb') }, stats: ['sdb'] }, // `..` is physical, after the symlink
    { dir: '/var/log/etcd-relative', want: { path: '/var/lib/etcd2', device: dev('sdb'), disks: [dev('sdb')], sharedWith: [], rotational: true, model: 'ATA ST2000NM0055-1V4' }, stats: ['sdb'] },
    { dir: '/var/lib/etcd2', want: { device: dev('sdb'), sharedWith: [] }, stats: ['sdb'] },
    { dir: '/var/lib/etcd2x/data', want: { path: '/var/lib', mountPoint: '/', device: dev('dm-0') }, stats: ['dm-0', 'sda'] },
    { dir: '/data/raid/etcd', want: { device: dev('md0'), disks: [dev('sdc'), dev('sdd')], sharedWith: [], model: 'ATA ST4000NM0035-1V4' }, stats: ['md0', 'sdc', 'sdd'] },
    { dir: '/var/lib/containerd/etcd', want: { path: '/var/lib/containerd', device: dev('nvme0n1p1'), disks: [dev('nvme0n1')], sharedWith: ['/var/lib/containerd'] }, stats: ['nvme0n1p1', 'nvme0n1'] },
    { dir: '/opt/etcd', want: { path: '/', mountPoint: '/', device: dev('dm-0'), sharedWith: ['/', '/var/lib/kubelet', '/var/log'] }, stats: ['dm-0', 'sda'] },
  ];
  for (const c of cases) {
    const s = ok(t, await createDiskstatsSource(options(h, c.dir)).sample(T0), c.dir);
    t.match(s, c.want, c.dir);
    t.same(s.stats.map((x) => x.device), c.stats, `${c.dir}: stats`);
  }
});

t.test('source: sharedWith leaves out only the data dir itself and paths that do not exist', async (t) => {
  const h = await fakeHost(t);
  const shared = ['/', '/var/lib/etcd', '/var/lib/etcd/', '/var/lib/nothing-here', '/var/log', 'relative/path'];
  const s = ok(t, await createDiskstatsSource(options(h, '/var/lib/etcd', { sharedPaths: shared })).sample(T0), 'sample');
  t.same(s.sharedWith, ['/', '/var/log']);
  const none = ok(t, await createDiskstatsSource(options(h, '/var/lib/etcd', { sharedPaths: [] })).sample(T0), 'sample');
  t.same(none.sharedWith, []);
});

t.test('source: no block device is a failure naming the path and the remedy', async (t) => {
  const h = await fakeHost(t);
  const cases: Array<[string, RegExp]> = [
    ['/run/etcd', /\/run\/etcd.*tmpfs.*memory, not a disk/],
    ['/mnt/etcd backup/data', /\/mnt\/etcd backup.*tmpfs/],
    ['/run/containerd/io.containerd.runtime.v2.task/k8s.io/6f1c2d0e9b/rootfs/var/lib/etcd', /overlay.*hostPath/],
  ];
  for (const [dir, re] of cases) {
    t.match(await createDiskstatsSource(options(h, dir)).sample(T0), { ok: false, reason: 'not_found', message: re }, dir);
  }
});

t.test('source: resolution is cached ~60 s, redone after a failure, and a vanished device is noticed', async (t) => {
  const h = await fakeHost(t);
  const mountinfo = path.join(h.proc, '1/mountinfo');
  const src = createDiskstatsSource(options(h, '/var/lib/etcd'));
  t.match(await src.sample(T0), { ok: true, value: { device: 'dm-2' } });

  // etcd's LV is replaced by sdb mounted on /var/lib/etcd.
  await fsp.writeFile(mountinfo, fixture('mountinfo.lvm-rhel9.txt').replace('253:2 / /var/lib/etcd ', '8:16 / /var/lib/etcd '));
  t.match(await src.sample(after(30_000)), { ok: true, value: { device: 'dm-2' } }, 'cached for now');
  t.match(await src.sample(after(61_000)), { ok: true, value: { device: 'sdb', sharedWith: [] } }, 'resolved again after 60 s');
  t.match(await src.sample(after(1_000)), { ok: true, value: { device: 'sdb' } }, 'a clock going backwards resolves again');

  // A failed resolution is not cached.
  await fsp.writeFile(mountinfo, fixture('mountinfo.lvm-rhel9.txt').replace('8:16 / /var/lib/etcd2 ', '8:99 / /var/lib/etcd2 '));
  const src2 = createDiskstatsSource(options(h, '/var/lib/etcd2'));
  t.match(await src2.sample(T0), { ok: false, reason: 'not_found', message: /8:99/ });
  await fsp.writeFile(mountinfo, fixture('mountinfo.lvm-rhel9.txt'));
  t.match(await src2.sample(after(1_000)), { ok: true, value: { device: 'sdb' } }, 'retried at once');

  // The device disappears from /proc/diskstats: a failure, then a fresh resolution.
  const diskstats = path.join(h.proc, 'diskstats');
  await fsp.writeFile(diskstats, fixture('diskstats.lvm-rhel9.txt').split('\n').filter((l) => !l.includes(' sdb ')).join('\n'));
  t.match(await src2.sample(after(2_000)), { ok: false, reason: 'not_found', message: /diskstats has no line for sdb/ });
  await fsp.rm(diskstats);
  t.match(await src2.sample(after(3_000)), { ok: false, reason: 'not_found', message: /cannot read .*diskstats.*procPath/ });
});

t.test('source: falls back to self/mountinfo and this filesystem when the host init is unreadable', async (t) => {
  const h = await fakeHost(t);
  await fsp.rm(path.join(h.proc, '1'), { recursive: true });
  await fsp.writeFile(path.join(h.proc, 'self/mountinfo'), fixture('mountinfo.lvm-rhel9.txt'));
  const s = ok(t, await createDiskstatsSource(options(h, '/nonexistent-etcd-latency-agent/data')).sample(T0), 'sample');
  t.match(s, { path: '/', mountPoint: '/', device: 'dm-0', disks: ['sda'] });

  await fsp.rm(path.join(h.proc, 'self/mountinfo'));
  t.match(await createDiskstatsSource(options(h, '/var/lib/etcd')).sample(T0), { ok: false, reason: 'not_found', message: /self\/mountinfo.*procPath/ });
});

t.test('resolveExisting walks symlinks under a root and stops at the nearest existing ancestor', async (t) => {
  const root = t.testdir({ a: { b: {} }, loop1: t.fixture('symlink', 'loop2'), loop2: t.fixture('symlink', 'loop1'), abs: t.fixture('symlink', '/a/b') });
  const cases: Array<[string, { path: string; exact: boolean }]> = [
    ['/a/b', { path: '/a/b', exact: true }],
    ['/a/b/c/d', { path: '/a/b', exact: false }],
    ['/abs', { path: '/a/b', exact: true }],
    ['/abs/x', { path: '/a/b', exact: false }],
    ['/abs/..', { path: '/a', exact: true }],
    ['/loop1/x', { path: '/', exact: false }],
    ['/', { path: '/', exact: true }],
    ['/nope', { path: '/', exact: false }],
  ];
  for (const [p, want] of cases) t.same(await resolveExisting(root, p), want, p);
});

// ─────────────────────────── this machine ───────────────────────────

/** major:minor of a file's st_dev (glibc's encoding, for devices below 2^32). */
const majMin = (d: number): [number, number] => [(d >>> 8) & 0xfff, (d & 0xff) | ((d >>> 12) & 0xfff00)];

t.test('source on this machine: the repo and /tmp resolve to a real device with counters', async (t) => {
  const procDevices = new Set(parseDiskstats(readFileSync('/proc/diskstats', 'utf8')).keys());
  for (const dir of [repoRoot, '/tmp']) {
    const [maj, min] = majMin(statSync(dir).dev);
    if (maj === 0) {
      const r = await createDiskstatsSource({ etcdDataDir: dir, procPath: '/proc', sysPath: '/sys', sharedPaths: DEFAULT_SHARED_PATHS, interval: ms(10_000) }).sample(new Date());
      t.match(r, { ok: false, reason: 'not_found' }, `${dir} has no block device here (${maj}:${min}): a failure, not a crash`);
      continue;
    }
    const s = ok(t, await createDiskstatsSource({ etcdDataDir: dir, procPath: '/proc', sysPath: '/sys', sharedPaths: DEFAULT_SHARED_PATHS, interval: ms(10_000) }).sample(new Date()), dir);
    const viaSysfs = ok(t, await deviceForMajMin('/sys', maj, min), 'sysfs');
    t.equal(s.device, viaSysfs, `${dir}: device ${s.device} is st_dev ${maj}:${min}`);
    t.equal(s.path, dir);
    t.ok(s.disks.length > 0, `${dir}: whole disks ${s.disks.join(',')}`);
    for (const d of s.disks) t.ok(statSync(`/sys/block/${d}`).isDirectory(), `${d} is a whole disk in /sys/block`);
    t.same(s.stats.map((x) => x.device), [...new Set<DeviceName>([s.device, ...s.disks])]);
    for (const st of s.stats) {
      t.ok(procDevices.has(st.device), `${st.device} is in /proc/diskstats`);
      t.ok(st.ioTime >= 0 && st.writesCompleted >= 0, `${st.device}: counters`);
    }
    t.equal(s.sharedWith.includes('/'), s.mountPoint === '/', `${dir}: shares with / exactly when it is on /`);
    t.type(s.rotational, 'boolean', 'queue/rotational read');
  }
});
