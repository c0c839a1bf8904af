// The diskstats source against the real kernel: an ext4 filesystem on a real loop device is etcd's
// own disk (named by its loop device, counters present, not shared with /), and a data dir on the
// root filesystem shares its disk with /. Needs root (losetup, mount).
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, writeSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ms, type DeviceName } from '../../src/lib/units.js';
import { createDiskstatsSource, DEFAULT_SHARED_PATHS, type DiskSample } from '../../src/sources/diskstats.js';
import type { Outcome } from '../../src/lib/outcome.js';

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function whyCannotUseLoop(): string | undefined {
  if (process.platform !== 'linux') return 'loop devices are Linux-only';
  if (process.getuid?.() !== 0) return 'needs root to attach and mount a loop device (losetup, mount)';
  for (const [cmd, args] of [['losetup', ['--version']], ['mkfs.ext4', ['-V']], ['truncate', ['--version']]] as const) {
    try {
      run(cmd, args);
    } catch (err) {
      return `${cmd} is unavailable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }
  }
  return undefined;
}

const skip = whyCannotUseLoop() ?? false;

function ok<T>(tt: Test, o: Outcome<T>, what: string): T {
  if (!o.ok) {
    tt.fail(`${what}: ${o.reason}: ${o.message}`);
    throw new Error(`${what} failed`);
  }
  return o.value;
}

interface LoopDisk {
  /** Where the loop filesystem is mounted. */
  readonly mnt: string;
  /** A directory beside the mount, on the root filesystem. */
  readonly outside: string;
  /** The kernel's name of the loop device, e.g. `loop0`. */
  readonly device: DeviceName;
}

/** A 64 MiB ext4 filesystem on its own loop device, torn down after the test whatever happens. */
async function loopDisk(tt: Test): Promise<LoopDisk> {
  const root = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'diskstats-loop-')));
  const img = path.join(root, 'disk.img');
  const mnt = path.join(root, 'mnt');
  const outside = path.join(root, 'outside');
  await fsp.mkdir(mnt);
  await fsp.mkdir(outside);
  let loop: string | undefined;
  let mounted = false;
  tt.teardown(async () => {
    if (mounted) {
      try {
        run('umount', [mnt]);
      } catch {
        run('umount', ['-l', mnt]);
      }
    }
    if (loop !== undefined) run('losetup', ['-d', loop]);
    await fsp.rm(root, { recursive: true, force: true });
  });
  run('truncate', ['-s', '64M', img]);
  loop = run('losetup', ['-f', '--show', img]);
  run('mkfs.ext4', ['-q', loop]);
  run('mount', [loop, mnt]);
  mounted = true;
  return { mnt, outside, device: path.basename(loop) as DeviceName };
}

const source = (etcdDataDir: string, sharedPaths: readonly string[] = DEFAULT_SHARED_PATHS) =>
  createDiskstatsSource({ etcdDataDir, procPath: '/proc', sysPath: '/sys', sharedPaths, interval: ms(1000) });

function writeAndSync(file: string, times: number): void {
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < times; i++) {
      writeSync(fd, Buffer.alloc(4096, i));
      fsyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
}

const statsOf = (s: DiskSample, d: DeviceName) => s.stats.find((x) => x.device === d);

t.test('a data dir on its own loop disk: named by the loop device, counted, not shared with /', { skip }, async (t) => {
  const disk = await loopDisk(t);
  const dataDir = path.join(disk.mnt, 'etcd');
  await fsp.mkdir(path.join(dataDir, 'member/wal'), { recursive: true });

  const src = source(dataDir);
  const first = ok(t, await src.sample(new Date()), 'first sample');
  t.match(first, { path: dataDir, mountPoint: disk.mnt, fsType: 'ext4', device: disk.device, disks: [disk.device] });
  t.notOk(first.sharedWith.includes('/'), `sharedWith ${JSON.stringify(first.sharedWith)} does not include /`);
  t.same(first.sharedWith, [], 'nothing else lives on the loop disk');
  t.same(first.stats.map((x) => x.device), [disk.device], 'stats of the loop device (its own whole disk)');
  t.type(first.rotational, 'boolean');

  // Real writes on the loop filesystem move the loop device's counters.
  writeAndSync(path.join(dataDir, 'member/wal/0.wal'), 20);
  const second = ok(t, await source(dataDir).sample(new Date()), 'second sample');
  const before = statsOf(first, disk.device)!;
  const now = statsOf(second, disk.device)!;
  t.ok(now.writesCompleted > before.writesCompleted, `writes completed ${before.writesCompleted} → ${now.writesCompleted}`);
  t.ok(now.writeTime >= before.writeTime, 'write time does not go back');
  if (now.flushRequests !== undefined) t.ok(now.flushRequests >= (before.flushRequests ?? 0), `flush requests ${before.flushRequests} → ${now.flushRequests}`);

  // A busy path on the same loop disk is reported; one on the root filesystem is not.
  const neighbour = path.join(disk.mnt, 'containerd');
  await fsp.mkdir(neighbour);
  const shared = ok(t, await source(dataDir, ['/', neighbour, disk.outside]).sample(new Date()), 'with neighbours');
  t.same(shared.sharedWith, [neighbour]);

  // The data dir does not exist yet: its nearest existing ancestor, the mount point, is resolved.
  const notYet = ok(t, await source(path.join(disk.mnt, 'not-created/etcd')).sample(new Date()), 'missing data dir');
  t.match(notYet, { path: disk.mnt, device: disk.device });
});

t.test('a data dir on the root filesystem shares its disk with /', { skip }, async (t) => {
  const disk = await loopDisk(t);
  const dataDir = path.join(disk.outside, 'etcd');
  await fsp.mkdir(dataDir);
  const s = ok(t, await source(dataDir).sample(new Date()), 'sample');
  t.ok(s.sharedWith.includes('/'), `sharedWith ${JSON.stringify(s.sharedWith)} includes /`);
  t.not(s.device, disk.device, `on ${s.device}, not on the loop disk`);
  t.notOk(s.disks.includes(disk.device));
  t.ok(s.stats.length > 0, 'counters of the root disk');
});
