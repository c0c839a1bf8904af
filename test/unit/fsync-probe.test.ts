import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytes, ms } from '../../src/lib/units.js';
import { PROBE_FILE_NAME, checkProbeDir, createFsyncProbe } from '../../src/sources/fsync-probe.js';
import type { ProbeOptions, ProbeRound } from '../../src/sources/fsync-probe.js';
import type { Outcome } from '../../src/lib/outcome.js';

const KiB = 1024;
const FILE_SIZE = bytes(64 * KiB);
const WRITE_SIZE = bytes(2300);

/** What the helpers need of a test: both the root `t` and subtests have it. */
type Tap = Pick<Test, 'teardown' | 'fail'>;

/** A fresh directory under the OS temp dir, removed when the test ends. */
async function tmpDir(tt: Tap): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fsync-probe-'));
  tt.teardown(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A probe on `dir` that is always closed at the end of the test, whatever the test did. */
function probeFor(tt: Tap, overrides: Partial<ProbeOptions> & Pick<ProbeOptions, 'dir'>) {
  const probe = createFsyncProbe({
    etcdWalDir: path.join(overrides.dir, 'no-etcd-here', 'member', 'wal'),
    fileSize: FILE_SIZE,
    writeSize: WRITE_SIZE,
    writesPerRound: 5,
    minFreeBytes: bytes(0),
    interval: ms(1000),
    ...overrides,
  });
  tt.teardown(() => probe.close());
  return probe;
}

function valueOf(tt: Tap, outcome: Outcome<ProbeRound>): ProbeRound {
  if (!outcome.ok) {
    tt.fail(`expected a sample, got ${outcome.reason}: ${outcome.message}`);
    throw new Error(outcome.message);
  }
  return outcome.value;
}

/** A directory on a filesystem other than the temp dir's, to tell filesystems apart without mounting. */
const OTHER_FS = '/dev/shm';

async function otherFilesystemSkipReason(): Promise<string | false> {
  const [other, tmp] = await Promise.all([fsp.stat(OTHER_FS).catch(() => undefined), fsp.stat(os.tmpdir())]);
  if (other?.isDirectory() && other.dev !== tmp.dev) return false;
  return `${OTHER_FS} is not a separate filesystem here (the loop-device integration test covers this case)`;
}
const otherFsSkip = await otherFilesystemSkipReason();

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(() => true, () => false);
}

/** PATH as the test started, for the tools the tests themselves run while the probe's PATH is emptied. */
const TOOLS_ENV = { ...process.env };

/** The extents' flags as FIEMAP reports them (filefrag -v), one string per extent. */
function extentFlags(file: string): string[] {
  const out = execFileSync('filefrag', ['-v', file], { encoding: 'utf8', env: TOOLS_ENV });
  return out.split('\n').filter((l) => /^\s*\d+:/.test(l)).map((l) => l.split(':').at(-1)!.trim());
}

function whyNoFiemap(): string | false {
  try {
    execFileSync('filefrag', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'filefrag (e2fsprogs) is not installed';
  }
  try {
    execFileSync('fallocate', ['-V'], { stdio: 'ignore' });
  } catch {
    return "util-linux's fallocate is not installed: the probe falls back to zeros here";
  }
  return false;
}
const fiemapSkip = whyNoFiemap();

/** fallocate(1) out of reach for this test, as in an image without util-linux. */
async function withoutFallocate(tt: Tap): Promise<void> {
  const emptyBin = await tmpDir(tt);
  const before = process.env['PATH'];
  process.env['PATH'] = emptyBin;
  tt.teardown(() => {
    process.env['PATH'] = before;
  });
}

const slotOf = (content: Buffer, i: number) => content.subarray(i * WRITE_SIZE, (i + 1) * WRITE_SIZE);
const SLOTS = Math.floor(FILE_SIZE / WRITE_SIZE);

t.test('the probe names itself fsync_probe and keeps the configured interval', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir, interval: ms(2500) });
  t.equal(probe.name, 'fsync_probe');
  t.equal(probe.interval, 2500);
});

t.test('the file is preallocated to fileSize and never grows across many wrapping rounds', async (t) => {
  const dir = await tmpDir(t);
  // 140 writes are exactly 5 passes over the 28 whole slots of a 64 KiB file, so the file ends
  // holding a whole pass (a wrap lays a fallocated file out afresh).
  const probe = probeFor(t, { dir, writesPerRound: 7 });
  const file = path.join(dir, PROBE_FILE_NAME);
  const rounds = 20;
  let written = 0;
  for (let i = 0; i < rounds; i++) {
    const sample = valueOf(t, await probe.sample(new Date()));
    written += sample.writtenBytes;
    const st = await fsp.stat(file);
    t.equal(st.size, FILE_SIZE, `size after round ${i + 1}`);
    // Allocated blocks too: a sparse file would not imitate etcd's preallocated segment.
    t.ok(st.blocks * 512 >= FILE_SIZE, `fully allocated after round ${i + 1}`);
    t.ok(st.blocks * 512 <= FILE_SIZE + 16 * KiB, `no growth in allocation after round ${i + 1}`);
  }
  t.ok(written > 4 * FILE_SIZE, 'enough was written to wrap around several times');

  const content = await fsp.readFile(file);
  t.ok(slotOf(content, 0).some((b) => b !== 0), 'the first slot was overwritten by probe writes');
  t.ok(slotOf(content, SLOTS - 1).some((b) => b !== 0), 'the last whole slot was written');
  t.ok(content.subarray(SLOTS * WRITE_SIZE).every((b) => b === 0), 'no write crossed the end of the file: the tail that no whole write fits in is still zeros');
});

t.test('one round gives writesPerRound positive fdatasync durations and reports what it wrote', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir, writesPerRound: 7 });
  const sample = valueOf(t, await probe.sample(new Date()));
  t.equal(sample.durations.length, 7);
  for (const d of sample.durations) t.ok(d > 0 && d < 60, `duration ${d} s is positive and in seconds`);
  t.equal(sample.writtenBytes, 7 * WRITE_SIZE);
  t.equal(sample.file, path.join(dir, PROBE_FILE_NAME));
  t.ok(sample.freeBytes > 0, 'free bytes of the filesystem are reported');
});

t.test('sampleWrites makes a round of the given size, continuing the same file; a size below 1 is refused', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir, writesPerRound: 7 });
  t.equal(valueOf(t, await probe.sampleWrites(3)).durations.length, 3);
  t.equal(valueOf(t, await probe.sample(new Date())).durations.length, 7, 'sample still makes writesPerRound');
  const content = await fsp.readFile(path.join(dir, PROBE_FILE_NAME));
  t.ok(slotOf(content, 9).some((b) => b !== 0) && slotOf(content, 10).every((b) => b === 0), 'the 10 writes went to the first 10 slots, one after the other');
  t.equal(valueOf(t, await probe.sampleWrites(1)).writtenBytes, WRITE_SIZE);
  t.throws(() => probe.sampleWrites(0), RangeError);
  t.throws(() => probe.sampleWrites(2.5), RangeError);
});

t.test('close removes the probe file, is idempotent, and a later sample does not recreate the file', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir });
  const file = path.join(dir, PROBE_FILE_NAME);
  valueOf(t, await probe.sample(new Date()));
  t.ok(await exists(file), 'file exists while the probe runs');
  await probe.close();
  t.notOk(await exists(file), 'file removed by close');
  await t.resolves(probe.close(), 'second close does not throw');
  const after = await probe.sample(new Date());
  t.equal(after.ok, false, 'sample after close fails');
  t.notOk(await exists(file), 'sample after close did not recreate the file');
});

t.test('close ignores a probe file that is already gone', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir });
  valueOf(t, await probe.sample(new Date()));
  await fsp.rm(path.join(dir, PROBE_FILE_NAME));
  await t.resolves(probe.close());
});

t.test('a stale oversized probe file from a crashed run is cut down to fileSize', async (t) => {
  const dir = await tmpDir(t);
  const file = path.join(dir, PROBE_FILE_NAME);
  await fsp.writeFile(file, Buffer.alloc(4 * FILE_SIZE, 1));
  const probe = probeFor(t, { dir });
  valueOf(t, await probe.sample(new Date()));
  const st = await fsp.stat(file);
  t.equal(st.size, FILE_SIZE);
  t.ok(st.blocks * 512 <= FILE_SIZE + 16 * KiB, 'the excess blocks were released');
});

t.test('a stale undersized or sparse probe file is laid out again to its full size', async (t) => {
  const dir = await tmpDir(t);
  const file = path.join(dir, PROBE_FILE_NAME);
  await fsp.writeFile(file, Buffer.alloc(1000, 1));
  const probe = probeFor(t, { dir });
  valueOf(t, await probe.sample(new Date()));
  t.equal((await fsp.stat(file)).size, FILE_SIZE, 'undersized file grown to exactly fileSize');
  await probe.close();

  await fsp.writeFile(file, '');
  await fsp.truncate(file, FILE_SIZE); // right size, but a hole
  t.ok((await fsp.stat(file)).blocks * 512 < FILE_SIZE, 'precondition: the stale file is sparse');
  const again = probeFor(t, { dir });
  valueOf(t, await again.sample(new Date()));
  const st = await fsp.stat(file);
  t.equal(st.size, FILE_SIZE);
  t.ok(st.blocks * 512 >= FILE_SIZE, 'sparse file was really allocated');
});

t.test('a stale probe file of the right size is laid out again in place: same inode, old content gone', async (t) => {
  const dir = await tmpDir(t);
  const file = path.join(dir, PROBE_FILE_NAME);
  await fsp.writeFile(file, Buffer.alloc(FILE_SIZE, 7));
  const inode = (await fsp.stat(file)).ino;
  const probe = probeFor(t, { dir, writesPerRound: 1 });
  valueOf(t, await probe.sample(new Date()));
  const st = await fsp.stat(file);
  t.equal(st.ino, inode, 'same inode: no second file');
  t.equal(st.size, FILE_SIZE);
  const content = await fsp.readFile(file);
  t.equal(content[FILE_SIZE - 1], 0, "the stale content is gone: the first pass measures the layout the probe reports, not a crashed run's");
});

t.test('the probe file is fallocated: every block reserved, unwritten extents until the probe writes them', { skip: fiemapSkip }, async (t) => {
  const dir = await tmpDir(t);
  const file = path.join(dir, PROBE_FILE_NAME);
  const sample = valueOf(t, await probeFor(t, { dir, writesPerRound: 2 }).sample(new Date()));
  t.equal(sample.layout, 'fallocated');
  t.equal(sample.notes, undefined, 'nothing to log about the layout');
  const st = await fsp.stat(file);
  t.equal(st.size, FILE_SIZE);
  t.ok(st.blocks * 512 >= FILE_SIZE, 'the space is reserved (counted as used): the free-space floor holds');
  const flags = extentFlags(file);
  t.ok(flags.some((f) => f.includes('unwritten')), `the blocks not yet written are unwritten extents, as in a fresh WAL segment: ${JSON.stringify(flags)}`);
  t.notOk(flags.every((f) => f.includes('unwritten')), 'the blocks the probe wrote are converted');
});

t.test('when the write offset wraps, a fallocated file is laid out afresh, like a new WAL segment', { skip: fiemapSkip }, async (t) => {
  const dir = await tmpDir(t);
  const file = path.join(dir, PROBE_FILE_NAME);
  const probe = probeFor(t, { dir, writesPerRound: 7 });
  for (let i = 0; i < 4; i++) valueOf(t, await probe.sample(new Date())); // 28 writes: one whole pass
  const inode = (await fsp.stat(file)).ino;
  t.ok(slotOf(await fsp.readFile(file), SLOTS - 1).some((b) => b !== 0), 'precondition: the first pass reached the last slot');
  t.notOk(extentFlags(file).some((f) => f.includes('unwritten')), 'precondition: a whole pass leaves no unwritten extent');

  const after = valueOf(t, await probe.sample(new Date())); // wraps, then 7 writes
  t.equal(after.layout, 'fallocated');
  const content = await fsp.readFile(file);
  t.ok(slotOf(content, 6).some((b) => b !== 0), 'the new pass wrote slots 0–6');
  t.ok(slotOf(content, 7).every((b) => b === 0) && slotOf(content, SLOTS - 1).every((b) => b === 0), "the previous pass's writes are gone");
  t.ok(extentFlags(file).some((f) => f.includes('unwritten')), 'the rest of the file is unwritten extents again');
  const st = await fsp.stat(file);
  t.equal(st.ino, inode, 'same inode');
  t.equal(st.size, FILE_SIZE);
  t.ok(st.blocks * 512 >= FILE_SIZE && st.blocks * 512 <= FILE_SIZE + 16 * KiB, 'still exactly fileSize reserved');
});

t.test('without fallocate(1) the file is filled with zeros, reported as zero-filled with a note, and kept across wraps', async (t) => {
  await withoutFallocate(t);
  const dir = await tmpDir(t);
  const file = path.join(dir, PROBE_FILE_NAME);
  const probe = probeFor(t, { dir, writesPerRound: 7 });
  const first = valueOf(t, await probe.sample(new Date()));
  t.equal(first.layout, 'zero-filled');
  t.match(first.notes?.join('\n') ?? '', /filled with zeros, not fallocate\(\)d \(cannot run fallocate\(1\).*ENOENT.*\).*reads low/, 'the note says which layout and why');
  const st = await fsp.stat(file);
  t.equal(st.size, FILE_SIZE);
  t.ok(st.blocks * 512 >= FILE_SIZE, 'fully allocated all the same');
  if (!fiemapSkip) t.notOk(extentFlags(file).some((f) => f.includes('unwritten')), 'no unwritten extent: real zeros');

  for (let i = 0; i < 4; i++) valueOf(t, await probe.sample(new Date())); // 35 writes: wrapped once
  const content = await fsp.readFile(file);
  t.ok(slotOf(content, SLOTS - 1).some((b) => b !== 0), 'the wrap did not lay the file out again: rewriting zeros would only write fileSize more');
});

t.test('a symlink at the probe path is not followed', async (t) => {
  const dir = await tmpDir(t);
  const target = path.join(dir, 'precious');
  await fsp.writeFile(target, 'keep me');
  await fsp.symlink(target, path.join(dir, PROBE_FILE_NAME));
  const probe = probeFor(t, { dir });
  const outcome = await probe.sample(new Date());
  t.equal(outcome.ok, false, 'the round fails instead of writing through the link');
  t.equal(await fsp.readFile(target, 'utf8'), 'keep me', 'the link target is untouched');
});

t.test("refuses to write inside etcd's member dir", async (t) => {
  const root = await tmpDir(t);
  const dataDir = path.join(root, 'etcd');
  const walDir = path.join(dataDir, 'member', 'wal');
  await fsp.mkdir(walDir, { recursive: true });
  await fsp.mkdir(path.join(dataDir, 'member', 'snap'));
  await fsp.symlink(path.join(dataDir, 'member'), path.join(root, 'innocent-looking-link'));

  const refused = [walDir, path.join(dataDir, 'member'), path.join(dataDir, 'member', 'snap'), path.join(root, 'innocent-looking-link')];
  for (const dir of refused) {
    const outcome = await probeFor(t, { dir, etcdWalDir: walDir }).sample(new Date());
    t.equal(outcome.ok, false, `refused: ${dir}`);
    if (!outcome.ok) {
      t.equal(outcome.reason, 'permission', `reason for ${dir}`);
      t.match(outcome.message, /refusing/);
      t.match(outcome.message, dir);
    }
    t.notOk(await exists(path.join(dir, PROBE_FILE_NAME)), `no file written in ${dir}`);
  }

  const foreign = path.join(walDir, PROBE_FILE_NAME);
  await fsp.writeFile(foreign, 'not ours to delete');
  const refusedProbe = probeFor(t, { dir: walDir, etcdWalDir: walDir });
  t.equal((await refusedProbe.sample(new Date())).ok, false);
  await refusedProbe.close();
  t.ok(await exists(foreign), 'close of a refused probe deletes nothing in etcd\'s dir');
});

t.test('a custom WAL dir outside any member dir is protected too', async (t) => {
  const root = await tmpDir(t);
  const walDir = path.join(root, 'dedicated-wal');
  await fsp.mkdir(walDir);
  const outcome = await probeFor(t, { dir: walDir, etcdWalDir: walDir }).sample(new Date());
  t.equal(outcome.ok ? 'ok' : outcome.reason, 'permission');
});

t.test("accepts directories beside etcd's member dir, including look-alike names", async (t) => {
  const root = await tmpDir(t);
  const dataDir = path.join(root, 'etcd');
  const walDir = path.join(dataDir, 'member', 'wal');
  await fsp.mkdir(walDir, { recursive: true });
  for (const name of ['member-probe', 'probe']) await fsp.mkdir(path.join(dataDir, name));
  for (const dir of [root, path.join(dataDir, 'member-probe'), path.join(dataDir, 'probe')]) {
    const sample = valueOf(t, await probeFor(t, { dir, etcdWalDir: walDir }).sample(new Date()));
    t.equal(sample.sameFilesystemAsEtcd, true, `${dir} is on the WAL dir's filesystem`);
  }
});

t.test('sameFilesystemAsEtcd is undefined when the WAL dir is missing', async (t) => {
  const dir = await tmpDir(t);
  const sample = valueOf(t, await probeFor(t, { dir, etcdWalDir: path.join(dir, 'absent', 'member', 'wal') }).sample(new Date()));
  t.equal(sample.sameFilesystemAsEtcd, undefined);
});

t.test('sameFilesystemAsEtcd is false when the WAL dir is on another filesystem', { skip: otherFsSkip }, async (t) => {
  const dir = await tmpDir(t);
  const sample = valueOf(t, await probeFor(t, { dir, etcdWalDir: OTHER_FS }).sample(new Date()));
  t.equal(sample.sameFilesystemAsEtcd, false);
});

t.test('a free-space floor above what the disk has gives no_space and creates no file', async (t) => {
  const dir = await tmpDir(t);
  const st = await fsp.statfs(dir);
  const floor = bytes(st.blocks * st.bsize + 1); // more than the whole filesystem
  const outcome = await probeFor(t, { dir, minFreeBytes: floor }).sample(new Date());
  t.equal(outcome.ok, false);
  if (!outcome.ok) {
    t.equal(outcome.reason, 'no_space');
    t.match(outcome.message, String(floor), 'message names the floor');
    t.match(outcome.message, dir, 'message names the dir');
    t.match(outcome.message, /\d+ bytes free/, 'message names the free bytes');
  }
  t.notOk(await exists(path.join(dir, PROBE_FILE_NAME)), 'no probe file created');
});

t.test('the directory removed while running gives not_found, and the probe recovers once it is back', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir });
  valueOf(t, await probe.sample(new Date()));
  await fsp.rm(dir, { recursive: true });

  const gone = await probe.sample(new Date());
  t.equal(gone.ok ? 'ok' : gone.reason, 'not_found');
  const stillGone = await probe.sample(new Date());
  t.equal(stillGone.ok ? 'ok' : stillGone.reason, 'not_found', 'still not_found on the next round');
  t.notOk(await exists(dir), 'the probe did not recreate the directory itself');

  await fsp.mkdir(dir);
  const back = valueOf(t, await probe.sample(new Date()));
  t.equal(back.durations.length, 5);
  t.equal((await fsp.stat(path.join(dir, PROBE_FILE_NAME))).size, FILE_SIZE, 'file recreated at full size');
});

t.test('a probe file deleted behind the probe is recreated instead of writing to an invisible inode', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir });
  const file = path.join(dir, PROBE_FILE_NAME);
  valueOf(t, await probe.sample(new Date()));
  await fsp.rm(file);
  valueOf(t, await probe.sample(new Date()));
  t.equal((await fsp.stat(file)).size, FILE_SIZE);
});

t.test('overlapping sample calls are serialized, not interleaved', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir, writesPerRound: 3 });
  const [a, b] = await Promise.all([probe.sample(new Date()), probe.sample(new Date())]);
  t.equal(valueOf(t, a).durations.length, 3);
  t.equal(valueOf(t, b).durations.length, 3);
  const content = await fsp.readFile(path.join(dir, PROBE_FILE_NAME));
  t.equal(content.length, FILE_SIZE);
  const slot = (i: number) => content.subarray(i * WRITE_SIZE, (i + 1) * WRITE_SIZE);
  for (let i = 0; i < 6; i++) t.ok(slot(i).some((x) => x !== 0), `slot ${i} written once, in sequence`);
  t.ok(slot(6).every((x) => x === 0), 'nothing past the sixth slot: one preallocation, one advancing offset');
});

t.test('close waits for a round in flight, and rounds asked for after close are refused', async (t) => {
  const dir = await tmpDir(t);
  const probe = probeFor(t, { dir, writesPerRound: 3 });
  const inFlight = probe.sample(new Date());
  const closed = probe.close();
  const late = probe.sample(new Date());
  t.equal((await inFlight).ok, true, 'the round already running completes');
  await closed;
  const lateOutcome = await late;
  t.equal(lateOutcome.ok, false, 'a round asked for after close fails');
  t.notOk(await exists(path.join(dir, PROBE_FILE_NAME)), 'no file left behind');
});

t.test('nonsensical sizes are rejected when the probe is created', async (t) => {
  const dir = await tmpDir(t);
  const base = { dir, etcdWalDir: dir, minFreeBytes: bytes(0), interval: ms(1000), writesPerRound: 1 };
  t.throws(() => createFsyncProbe({ ...base, fileSize: bytes(1000), writeSize: bytes(2300) }), RangeError);
  t.throws(() => createFsyncProbe({ ...base, fileSize: FILE_SIZE, writeSize: bytes(0) }), RangeError);
  t.throws(() => createFsyncProbe({ ...base, fileSize: FILE_SIZE, writeSize: WRITE_SIZE, writesPerRound: 0 }), RangeError);
});

t.test('checkProbeDir accepts a usable dir and says what is wrong with an unusable one', async (t) => {
  const root = await tmpDir(t);
  const dataDir = path.join(root, 'etcd');
  await fsp.mkdir(path.join(dataDir, 'member', 'wal'), { recursive: true });
  const probeDir = path.join(root, 'probe');
  await fsp.mkdir(probeDir);
  const aFile = path.join(root, 'a-file');
  await fsp.writeFile(aFile, '');

  const cases: Array<[string, string, string | undefined, RegExp | undefined]> = [
    ['usable dir on etcd filesystem', probeDir, dataDir, undefined],
    ['etcd data dir unknown', probeDir, undefined, undefined],
    ['etcd data dir not created yet', probeDir, path.join(root, 'not-yet'), undefined],
    ['missing dir', path.join(root, 'missing'), dataDir, /missing.*(no such file|ENOENT)/],
    ['a file, not a dir', aFile, dataDir, /not a directory/],
    ["inside etcd's member dir", path.join(dataDir, 'member', 'wal'), dataDir, /refusing/],
  ];
  for (const [name, dir, etcdDataDir, want] of cases) {
    const got = await checkProbeDir(dir, etcdDataDir);
    if (want === undefined) t.equal(got, undefined, name);
    else t.match(got ?? '', want, name);
  }
});

t.test('checkProbeDir rejects a dir on another filesystem than etcd', { skip: otherFsSkip }, async (t) => {
  const root = await tmpDir(t);
  t.match(await checkProbeDir(OTHER_FS, root), /another filesystem/);
});
