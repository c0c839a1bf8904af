import { spawn } from 'node:child_process';
import { constants as fsConstants, fdatasyncSync, promises as fsp, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { bytes, seconds } from '../lib/units.js';
import type { Bytes, Milliseconds, Seconds } from '../lib/units.js';
import { errorCode, errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success } from '../lib/outcome.js';
import type { Outcome } from '../lib/outcome.js';
import type { Source } from './source.js';
import { isPathPrefix } from '../lib/paths.js';

/**
 * Probe buckets: from 0.1 ms (below etcd's 1 ms floor, to see a fast disk) to 16 s (beyond any
 * election timeout etcd accepts as sane), with etcd's own power-of-two edges so the two histograms
 * compare bucket by bucket, plus 10 ms and 25 ms so the fraction over etcd's targets is exact.
 */
export const PROBE_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.01, 0.016, 0.025, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
  2.048, 4.096, 8.192, 16.384,
];

/** One probe round: a few WAL-sized writes, each followed by fdatasync. */
export interface ProbeSample {
  /** Absolute path of the preallocated probe file. */
  readonly file: string;
  /** Whether the probe file is on the filesystem of etcd's WAL dir (same st_dev); undefined if that dir is not found. */
  readonly sameFilesystemAsEtcd: boolean | undefined;
  /** Duration of each fdatasync of this round, in order. */
  readonly durations: readonly Seconds[];
  readonly writtenBytes: Bytes;
  readonly freeBytes: Bytes;
}

/**
 * How the probe file's blocks were laid out, which decides what the first fdatasync after a write
 * to each block costs. `fallocated`: fallocate(2) mode 0, as etcd's WAL preallocates each 64 MiB
 * segment — reserved but unwritten extents, so that fdatasync also journals the extent's
 * conversion. `zero-filled`: the fallback, real zeros written once; rewriting written blocks is
 * cheaper (about a third at p50 on ext4), so the probe then under-reads etcd's WAL latency.
 */
export type ProbeLayout = 'fallocated' | 'zero-filled';

/** What this probe reports beyond what the agent's state keeps of every probe sample. */
export interface ProbeRound extends ProbeSample {
  readonly layout: ProbeLayout;
  /** Logged once by the agent: why the file is zero-filled, when it is. */
  readonly notes?: readonly string[];
}

export interface ProbeOptions {
  /** Directory the probe file lives in; must be on etcd's filesystem to measure etcd's disk. */
  readonly dir: string;
  /** etcd's WAL dir (usually `<data-dir>/member/wal`): protected, and the reference for the same-filesystem check. */
  readonly etcdWalDir: string;
  /** Size of the preallocated file; the file never grows beyond it. etcd's WAL segments are 64 MiB. */
  readonly fileSize: Bytes;
  /** Bytes per write; etcd's typical WAL write is about 2300 bytes. */
  readonly writeSize: Bytes;
  /** write + fdatasync pairs per call of `sample`. */
  readonly writesPerRound: number;
  /** Below this many free bytes (available to unprivileged users) the probe does not write. */
  readonly minFreeBytes: Bytes;
  readonly interval: Milliseconds;
  /**
   * Time each fdatasync with synchronous calls, as fio does, instead of awaiting it: the figure is
   * then the syscall alone, without the thread-pool round trip and event-loop turn (~0.1 ms) of an
   * awaited one. It blocks the event loop for a whole round, so only for the `bench` command, which
   * has no server to keep answering. (A worker thread timing synchronously was tried for the agent:
   * +12 MiB RSS, and under CPU contention its tail was no shorter — the thread that wakes after the
   * fdatasync waits for a CPU either way.)
   */
  readonly blocking?: boolean;
}

/** etcd's typical WAL write size. */
export const DEFAULT_WRITE_SIZE: Bytes = bytes(2300);
/** Fixed, so a file left by a crashed run is found and reused (or resized) instead of piling up. */
export const PROBE_FILE_NAME = 'etcd-latency-agent.probe';

const PREALLOCATE_CHUNK = 1024 * 1024;
// O_NOFOLLOW: the agent may run as root; a symlink planted at the probe path must not make it
// overwrite whatever the link points to (etcd's WAL, for one).
const OPEN_FLAGS = fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW;

type ProbeSource = Source<ProbeRound> & {
  /** One round of `writes` write + fdatasync pairs instead of `writesPerRound` (the bench command's last round). */
  sampleWrites(writes: number): Promise<Outcome<ProbeRound>>;
  close(): Promise<void>;
};

export function createFsyncProbe(opts: ProbeOptions): ProbeSource {
  validateOptions(opts);
  const file = path.resolve(opts.dir, PROBE_FILE_NAME);
  // Not zeros: some storage layers (thin provisioning, dedup) short-cut all-zero writes, and
  // etcd's WAL records are not zeros either.
  const payload = randomBytes(opts.writeSize);
  let held: HeldFile | undefined;
  let offset = 0;
  let closing: Promise<void> | undefined;
  let closed = false;
  // close() removes only a file this probe has held: never a path it refused to touch.
  let heldFile = false;
  // Rounds and close() are serialized: a close during a round must not pull the handle away
  // from a write in flight, and two overlapping rounds would measure each other.
  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  async function dropHandle(): Promise<void> {
    const h = held?.handle;
    held = undefined;
    await h?.close().catch(() => undefined);
  }

  async function openProbeFile(): Promise<HeldFile> {
    if (held && (await stillAtPath(held.handle, file))) return held;
    await dropHandle();
    held = await openAndLayOut(file, opts.fileSize);
    offset = 0;
    heldFile = true;
    return held;
  }

  async function writeRound(f: HeldFile, writes: number): Promise<Seconds[]> {
    const h = f.handle;
    const durations: Seconds[] = [];
    for (let i = 0; i < writes; i++) {
      // Wrap before a write would cross the end: the file must never grow.
      if (offset + opts.writeSize > opts.fileSize) {
        // Like etcd moving on to a new preallocated segment: the next pass writes into unwritten
        // extents again. A zero-filled file is the same on every pass; laying it out again would
        // only write fileSize more.
        if (f.laid.layout === 'fallocated') f.laid = await layOutOrRemove(h, file, opts.fileSize);
        offset = 0;
      }
      durations.push(opts.blocking ? writeAndTimeSync(h.fd, payload, offset) : await writeAndTime(h, payload, offset));
      offset += opts.writeSize;
    }
    return durations;
  }

  async function round(writes: number): Promise<Outcome<ProbeRound>> {
    if (closed) return failure('other', `fsync probe in ${opts.dir} is closed`);
    const refusal = await memberDirRefusal(opts.dir, opts.etcdWalDir);
    if (refusal) {
      await dropHandle();
      return failure('permission', refusal);
    }
    try {
      const freeBytes = await availableBytes(opts.dir);
      // A file already allocated is kept: rewriting it does not use more space.
      if (freeBytes < opts.minFreeBytes) return failure('no_space', belowFloorMessage(opts, freeBytes));
      const f = await openProbeFile();
      const durations = await writeRound(f, writes);
      const sameFilesystemAsEtcd = await sameFilesystem(opts.dir, opts.etcdWalDir);
      const { layout, fallback } = f.laid;
      const notes = fallback === undefined ? {} : { notes: [fallbackNote(fallback)] };
      return success({ file, sameFilesystemAsEtcd, durations, writtenBytes: bytes(durations.length * opts.writeSize), freeBytes, layout, ...notes });
    } catch (err) {
      // Start the next round from scratch: the handle may point at a file on a filesystem
      // that went read-only, or at a file whose directory was removed.
      await dropHandle();
      return failure(reasonForError(err), `fsync probe in ${opts.dir}: ${errorMessage(err)}`);
    }
  }

  async function shutdown(): Promise<void> {
    closed = true;
    await dropHandle();
    if (heldFile) await fsp.rm(file, { force: true }).catch(() => undefined);
  }

  return {
    name: 'fsync_probe',
    interval: opts.interval,
    sample: () => serialize(() => round(opts.writesPerRound)),
    sampleWrites: (writes) => {
      assertWritesPerRound(writes);
      return serialize(() => round(writes));
    },
    close: () => {
      closing ??= serialize(shutdown);
      return closing;
    },
  };
}

function validateOptions(opts: ProbeOptions): void {
  if (!(opts.writeSize > 0)) throw new RangeError(`probe write size must be positive, got ${opts.writeSize}`);
  if (opts.fileSize < opts.writeSize) {
    throw new RangeError(`probe file size (${opts.fileSize} bytes) must be at least the write size (${opts.writeSize} bytes)`);
  }
  assertWritesPerRound(opts.writesPerRound);
}

function assertWritesPerRound(writes: number): void {
  if (!Number.isInteger(writes) || writes < 1) throw new RangeError(`probe writes per round must be a positive integer, got ${writes}`);
}

function belowFloorMessage(opts: ProbeOptions, freeBytes: Bytes): string {
  return `fsync probe paused: ${freeBytes} bytes free on the filesystem of ${opts.dir}, below the floor of ${opts.minFreeBytes} bytes; nothing written`;
}

/** A layout, and for the fallback why fallocate could not be used. */
interface Laid {
  readonly layout: ProbeLayout;
  readonly fallback?: string;
}

/** The open probe file; its layout changes when a wrap lays it out again. */
interface HeldFile {
  readonly handle: FileHandle;
  laid: Laid;
}

function fallbackNote(why: string): string {
  return `fsync probe file filled with zeros, not fallocate()d (${why}): the probe rewrites written blocks, which is faster than etcd's writes into fresh WAL segments, so it reads low`;
}

/**
 * Opens the probe file and lays it out afresh, whatever a crashed run left there (wrong size,
 * sparse, written): the same inode is cut to nothing and laid out again, so a stale file neither
 * piles up nor keeps more than fileSize, and the first pass measures the layout that is reported.
 */
async function openAndLayOut(file: string, fileSize: Bytes): Promise<{ handle: FileHandle; laid: Laid }> {
  const h = await fsp.open(file, OPEN_FLAGS, 0o600);
  try {
    const st = await h.stat();
    if (!st.isFile()) throw new Error(`${file} exists and is not a regular file; remove it or choose another probe dir`);
    return { handle: h, laid: await layOutOrRemove(h, file, fileSize) };
  } catch (err) {
    await h.close().catch(() => undefined);
    throw err;
  }
}

/** errnos after which writing zeros instead cannot succeed either, or would take what fallocate was refused. */
const NO_FALLBACK = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/**
 * Cuts the file to nothing and preallocates fileSize the etcd way (fallocate), else with zeros.
 * On failure the file is removed: a half-laid-out file is worse than none, it holds space (on
 * ENOSPC, the very space that ran out).
 */
async function layOutOrRemove(h: FileHandle, file: string, fileSize: Bytes): Promise<Laid> {
  try {
    await h.truncate(0);
    let laid: Laid;
    try {
      await fallocate(h, fileSize);
      laid = { layout: 'fallocated' };
    } catch (err) {
      if (NO_FALLBACK.has(errorCode(err))) throw err;
      await fillWithZeros(h, fileSize);
      laid = { layout: 'zero-filled', fallback: errorMessage(err) };
    }
    // Durable before the first measured fdatasync, which must not also commit the allocation.
    await h.sync();
    return laid;
  } catch (err) {
    await fsp.rm(file, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** The strerror texts util-linux's fallocate prints (under LC_ALL=C) for the errnos that matter here. */
const FALLOCATE_ERRNOS: ReadonlyArray<readonly [string, string]> = [
  ['No space left on device', 'ENOSPC'],
  ['Disk quota exceeded', 'EDQUOT'],
  ['Read-only file system', 'EROFS'],
  ['Operation not supported', 'EOPNOTSUPP'],
];

/**
 * fallocate(2) mode 0 from offset 0 to size, which is etcd's fileutil.Preallocate: the blocks are
 * reserved (counted in st_blocks: the space is the probe's, the free-space floor holds) but stay
 * unwritten until written. Node has no binding for it and the agent takes no native addon, so
 * util-linux's fallocate(1) (Debian Essential, in the image's bookworm base) does it — on the
 * probe's own open descriptor, passed as fd 3 and reopened through /proc, so a path swapped behind
 * the probe's back cannot redirect it (the probe file is opened O_NOFOLLOW for the same reason).
 */
function fallocate(h: FileHandle, size: Bytes): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('fallocate', ['--length', String(size), '/proc/self/fd/3'], {
      stdio: ['ignore', 'ignore', 'pipe', h.fd],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (err) => reject(new Error(`cannot run fallocate(1): ${errorMessage(err)}`)));
    child.on('close', (status, signal) => {
      if (status === 0) return resolve();
      const text = stderr.trim() || `exit ${status ?? signal}`;
      const code = FALLOCATE_ERRNOS.find(([message]) => text.includes(message))?.[1];
      reject(Object.assign(new Error(`fallocate(1) failed${code ? ` with ${code}` : ''}: ${text}`), code ? { code } : {}));
    });
  });
}

/** Real zeros, so the blocks are allocated rather than a sparse hole. */
async function fillWithZeros(h: FileHandle, fileSize: Bytes): Promise<void> {
  const zeros = Buffer.alloc(Math.min(PREALLOCATE_CHUNK, fileSize));
  for (let pos = 0; pos < fileSize; pos += zeros.length) {
    await writeAll(h, zeros.subarray(0, Math.min(zeros.length, fileSize - pos)), pos);
  }
}

async function writeAll(h: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await h.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** The write untimed, then its fdatasync timed, as fio's sync latency is. */
async function writeAndTime(h: FileHandle, data: Buffer, position: number): Promise<Seconds> {
  await writeAll(h, data, position);
  const start = process.hrtime.bigint();
  await h.datasync();
  return seconds(Number(process.hrtime.bigint() - start) / 1e9);
}

function writeAndTimeSync(fd: number, data: Buffer, position: number): Seconds {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
  const start = process.hrtime.bigint();
  fdatasyncSync(fd);
  return seconds(Number(process.hrtime.bigint() - start) / 1e9);
}

/** Whether the open handle is still the file at the path (not deleted or replaced behind our back). */
async function stillAtPath(h: FileHandle, file: string): Promise<boolean> {
  try {
    const [open, onDisk] = await Promise.all([h.stat(), fsp.lstat(file)]);
    return open.ino === onDisk.ino && open.dev === onDisk.dev;
  } catch {
    return false;
  }
}

async function availableBytes(dir: string): Promise<Bytes> {
  const st = await fsp.statfs(dir);
  // bavail, not bfree: the blocks reserved for root are the margin the system keeps for itself.
  return bytes(st.bavail * st.bsize);
}

/** Whether dir is on the filesystem of etcd's directory; undefined when that directory cannot be read. */
export async function sameFilesystem(dir: string, etcdDir: string): Promise<boolean | undefined> {
  let etcdDev: number;
  try {
    etcdDev = (await fsp.stat(etcdDir)).dev;
  } catch {
    return undefined;
  }
  return (await fsp.stat(dir)).dev === etcdDev;
}

/**
 * A probe the agent turned off although it was asked for: its directory is usable but on another
 * filesystem than etcd's data dir (etcd moved to a disk of its own), and timing it would time the
 * wrong disk. The agent runs on without it and says so in a finding.
 */
export interface ProbeOff {
  readonly dir: string;
  readonly etcdDataDir: string;
}

/** etcd's own directories: the WAL dir and, when the WAL dir is `<data-dir>/member/wal`, the member dir. */
function protectedDirs(etcdWalDir: string): string[] {
  const wal = path.resolve(etcdWalDir);
  const parent = path.dirname(wal);
  return path.basename(parent) === 'member' ? [wal, parent] : [wal];
}

/** Resolves symlinks as far as the path exists, so a link cannot smuggle the probe into etcd's dirs. */
async function realPathOrResolved(p: string): Promise<string> {
  const resolved = path.resolve(p);
  try {
    return await fsp.realpath(resolved);
  } catch {
    return resolved;
  }
}

async function refusalFor(dir: string, protectedList: readonly string[]): Promise<string | undefined> {
  const candidates = new Set([path.resolve(dir), await realPathOrResolved(dir)]);
  for (const p of protectedList) {
    const targets = new Set([p, await realPathOrResolved(p)]);
    for (const c of candidates) {
      for (const t of targets) {
        if (isPathPrefix(t, c)) {
          return `refusing to run the fsync probe in ${dir}: it is inside etcd's directory ${p}, where a foreign file could disturb etcd; choose a directory next to etcd's data dir on the same filesystem`;
        }
      }
    }
  }
  return undefined;
}

function memberDirRefusal(dir: string, etcdWalDir: string): Promise<string | undefined> {
  return refusalFor(dir, protectedDirs(etcdWalDir));
}

/**
 * Startup check of a probe dir the operator named: returns why it cannot be used, or undefined.
 * etcdDataDir is optional because the agent may not know it; when it exists the probe must share
 * its filesystem, or the probe would time the wrong disk.
 */
export async function checkProbeDir(dir: string, etcdDataDir: string | undefined): Promise<string | undefined> {
  let dirDev: number;
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) return `probe dir ${dir} is not a directory`;
    dirDev = st.dev;
  } catch (err) {
    return `probe dir ${dir} cannot be used: ${errorMessage(err)}`;
  }
  try {
    await fsp.access(dir, fsConstants.W_OK);
  } catch (err) {
    return `probe dir ${dir} is not writable: ${errorMessage(err)}`;
  }
  if (etcdDataDir === undefined) return undefined;
  const refusal = await refusalFor(dir, [path.resolve(etcdDataDir, 'member')]);
  if (refusal) return refusal;
  let dataDev: number;
  try {
    dataDev = (await fsp.stat(etcdDataDir)).dev;
  } catch {
    return undefined;
  }
  if (dataDev !== dirDev) {
    return `probe dir ${dir} is on another filesystem than etcd's data dir ${etcdDataDir}: the probe would time a different disk than etcd's`;
  }
  return undefined;
}
