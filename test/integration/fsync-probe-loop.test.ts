// The fsync probe on a real, tiny ext4 filesystem on a loop device: real ENOSPC, a real free-space
// floor, a real read-only remount and a real second filesystem. Needs root (mount, losetup).
import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, writeSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytes, ms } from '../../src/lib/units.js';
import { PROBE_FILE_NAME, checkProbeDir, createFsyncProbe } from '../../src/sources/fsync-probe.js';
import type { ProbeOptions, ProbeRound } from '../../src/sources/fsync-probe.js';
import type { Outcome } from '../../src/lib/outcome.js';

/** What the helpers need of a test: both the root `t` and subtests have it. */
type Tap = Pick<Test, 'teardown' | 'fail'>;
type Probe = ReturnType<typeof createFsyncProbe>;

const KiB = 1024;
const FILE_SIZE = bytes(256 * KiB);

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function whyCannotMountLoop(): string | undefined {
  if (process.platform !== 'linux') return 'loop devices are Linux-only';
  if (process.getuid?.() !== 0) return 'needs root to mount a loop device';
  for (const [cmd, args] of [['losetup', ['-f']], ['mkfs.ext4', ['-V']]] as const) {
    try {
      run(cmd, args);
    } catch (err) {
      return `${cmd} is unavailable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }
  }
  return undefined;
}

interface LoopFs {
  readonly mnt: string;
  /** A directory beside the mount, on the host's filesystem. */
  readonly outside: string;
  /** Probes are closed before the unmount: an open probe file keeps the filesystem busy. */
  track(probe: Probe): Probe;
}

/**
 * An 8 MiB filesystem (ext4 unless said otherwise) mounted for one test, unmounted and deleted after
 * it whatever happens.
 */
async function loopFs(tt: Tap, mkfs = 'mkfs.ext4'): Promise<LoopFs> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'fsync-probe-loop-'));
  const img = path.join(root, 'fs.img');
  const mnt = path.join(root, 'mnt');
  const outside = path.join(root, 'outside');
  const probes: Probe[] = [];
  await fsp.mkdir(mnt);
  await fsp.mkdir(outside);
  let mounted = false;
  tt.teardown(async () => {
    for (const p of probes) await p.close();
    if (mounted) {
      try {
        run('umount', [mnt]);
      } catch {
        run('umount', ['-l', mnt]);
      }
    }
    await fsp.rm(root, { recursive: true, force: true });
  });
  run('truncate', ['-s', '8M', img]);
  run(mkfs, ['-q', img]);
  run('mount', ['-o', 'loop', img, mnt]);
  mounted = true;
  return {
    mnt,
    outside,
    track: (probe) => {
      probes.push(probe);
      return probe;
    },
  };
}

/** etcd's layout on the loop filesystem, plus a probe dir beside the data dir. */
async function etcdLayout(fs: LoopFs): Promise<{ dataDir: string; walDir: string; dir: string }> {
  const dataDir = path.join(fs.mnt, 'etcd');
  const walDir = path.join(dataDir, 'member', 'wal');
  const dir = path.join(fs.mnt, 'probe');
  await fsp.mkdir(walDir, { recursive: true });
  await fsp.mkdir(dir);
  return { dataDir, walDir, dir };
}

function probeOn(fs: LoopFs, opts: Pick<ProbeOptions, 'dir' | 'etcdWalDir' | 'minFreeBytes'>): Probe {
  return fs.track(createFsyncProbe({ ...opts, fileSize: FILE_SIZE, writeSize: bytes(2300), writesPerRound: 5, interval: ms(1000) }));
}

/** Writes into `file` until the filesystem refuses with ENOSPC, down to single blocks, then syncs. */
function fillUntilENOSPC(file: string): void {
  const fd = openSync(file, 'a');
  try {
    for (const chunk of [1024 * KiB, 64 * KiB, 4 * KiB, 1 * KiB]) {
      const data = Buffer.alloc(chunk, 0xaa);
      for (;;) {
        try {
          if (writeSync(fd, data) < chunk) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function availableBytes(dir: string): Promise<number> {
  const st = await fsp.statfs(dir);
  return st.bavail * st.bsize;
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(() => true, () => false);
}

function reasonOf(outcome: Outcome<ProbeRound>): string {
  return outcome.ok ? 'ok' : outcome.reason;
}

function valueOf(tt: Tap, outcome: Outcome<ProbeRound>): ProbeRound {
  if (!outcome.ok) {
    tt.fail(`expected a sample, got ${outcome.reason}: ${outcome.message}`);
    throw new Error(outcome.message);
  }
  return outcome.value;
}

const skip = whyCannotMountLoop();

t.test('ENOSPC while preallocating gives no_space and leaves no partial file; a floor above free space pauses; freeing space resumes', { skip }, async (t) => {
  const fs = await loopFs(t);
  const { walDir, dir } = await etcdLayout(fs);
  const file = path.join(dir, PROBE_FILE_NAME);
  const filler = path.join(fs.mnt, 'filler');
  fillUntilENOSPC(filler);

  // Floor 0: the free-space check lets it through, so the preallocation itself meets ENOSPC.
  const unguarded = await probeOn(fs, { dir, etcdWalDir: walDir, minFreeBytes: bytes(0) }).sample(new Date());
  t.equal(reasonOf(unguarded), 'no_space', 'ENOSPC during preallocation is a no_space failure');
  if (!unguarded.ok) t.match(unguarded.message, /fallocate.*ENOSPC/, 'the message carries the system error; no fallback to zeros, which would take the last blocks');
  t.notOk(await exists(file), 'the partial probe file was removed');

  const floor = bytes(1024 * KiB);
  const probe = probeOn(fs, { dir, etcdWalDir: walDir, minFreeBytes: floor });
  const freeBefore = await availableBytes(fs.mnt);
  t.ok(freeBefore < floor, `precondition: ${freeBefore} free bytes are below the ${floor} floor`);
  const paused = await probe.sample(new Date());
  t.equal(reasonOf(paused), 'no_space', 'below the floor: no_space');
  if (!paused.ok) t.match(paused.message, new RegExp(`${freeBefore} bytes free.*${dir}.*floor of ${floor} bytes`));
  t.notOk(await exists(file), 'paused probe created no file');
  t.equal(await availableBytes(fs.mnt), freeBefore, 'paused probe used no space');

  await fsp.rm(filler);
  const resumed = valueOf(t, await probe.sample(new Date()));
  t.equal(resumed.durations.length, 5, 'resumed after the filler was deleted');
  t.equal(resumed.sameFilesystemAsEtcd, true);
  t.ok(resumed.freeBytes >= floor);
  t.equal(resumed.layout, 'fallocated');
  t.equal((await fsp.stat(file)).size, FILE_SIZE);
});

t.test('on a filesystem without fallocate support (ext2: no extents) the probe fills its file with zeros and says so', { skip }, async (t) => {
  const fs = await loopFs(t, 'mkfs.ext2');
  const { walDir, dir } = await etcdLayout(fs);
  const file = path.join(dir, PROBE_FILE_NAME);
  const sample = valueOf(t, await probeOn(fs, { dir, etcdWalDir: walDir, minFreeBytes: bytes(0) }).sample(new Date()));
  t.equal(sample.layout, 'zero-filled');
  t.match(sample.notes?.join('\n') ?? '', /filled with zeros, not fallocate\(\)d \(fallocate\(1\) failed with EOPNOTSUPP/, 'the note names the layout and why');
  const st = await fsp.stat(file);
  t.equal(st.size, FILE_SIZE);
  t.ok(st.blocks * 512 >= FILE_SIZE, 'the space is taken all the same');
});

t.test('below the floor an existing probe file is kept but not written; writing resumes when space returns', { skip }, async (t) => {
  const fs = await loopFs(t);
  const { walDir, dir } = await etcdLayout(fs);
  const file = path.join(dir, PROBE_FILE_NAME);
  const filler = path.join(fs.mnt, 'filler');
  const probe = probeOn(fs, { dir, etcdWalDir: walDir, minFreeBytes: bytes(1024 * KiB) });
  valueOf(t, await probe.sample(new Date()));
  const before = await fsp.readFile(file);
  const inode = (await fsp.stat(file)).ino;

  fillUntilENOSPC(filler);
  const paused = await probe.sample(new Date());
  t.equal(reasonOf(paused), 'no_space');
  t.equal((await fsp.stat(file)).ino, inode, 'the allocated file is kept');
  t.same(await fsp.readFile(file), before, 'no byte of it was rewritten while paused');

  await fsp.rm(filler);
  valueOf(t, await probe.sample(new Date()));
  t.notSame(await fsp.readFile(file), before, 'writes resumed in the same file');
  t.equal((await fsp.stat(file)).size, FILE_SIZE);
});

t.test('a read-only filesystem gives read_only, and the probe works again after remounting read-write', { skip }, async (t) => {
  const fs = await loopFs(t);
  const { dataDir, walDir, dir } = await etcdLayout(fs);
  const first = probeOn(fs, { dir, etcdWalDir: walDir, minFreeBytes: bytes(0) });
  valueOf(t, await first.sample(new Date()));
  // A file open for writing makes the kernel refuse a read-only remount (EBUSY), as etcd's own
  // open WAL would; so this is the agent restarting on a filesystem that has gone read-only.
  await first.close();
  run('mount', ['-o', 'remount,ro', fs.mnt]);
  t.teardown(() => {
    try {
      run('mount', ['-o', 'remount,rw', fs.mnt]);
    } catch {
      // already read-write
    }
  });

  const probe = probeOn(fs, { dir, etcdWalDir: walDir, minFreeBytes: bytes(0) });
  const outcome = await probe.sample(new Date());
  t.equal(reasonOf(outcome), 'read_only');
  if (!outcome.ok) t.match(outcome.message, /EROFS/);
  t.match(await checkProbeDir(dir, dataDir), /not writable/, 'checkProbeDir rejects the read-only dir');

  run('mount', ['-o', 'remount,rw', fs.mnt]);
  valueOf(t, await probe.sample(new Date()));
  t.equal(await checkProbeDir(dir, dataDir), undefined, 'checkProbeDir accepts it again');
});

t.test('a probe dir on another filesystem than etcd is reported as such', { skip }, async (t) => {
  const fs = await loopFs(t);
  const { dataDir, walDir, dir } = await etcdLayout(fs);

  const elsewhere = valueOf(t, await probeOn(fs, { dir: fs.outside, etcdWalDir: walDir, minFreeBytes: bytes(0) }).sample(new Date()));
  t.equal(elsewhere.sameFilesystemAsEtcd, false, 'probe on the host filesystem, WAL on the loop filesystem');
  const beside = valueOf(t, await probeOn(fs, { dir, etcdWalDir: walDir, minFreeBytes: bytes(0) }).sample(new Date()));
  t.equal(beside.sameFilesystemAsEtcd, true, 'probe beside the data dir on the loop filesystem');

  t.match(await checkProbeDir(fs.outside, dataDir), /another filesystem/);
  t.equal(await checkProbeDir(dir, dataDir), undefined);
});
