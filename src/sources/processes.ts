import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { TopWriter } from '../model/diagnosis.js';
import type { Milliseconds } from '../lib/units.js';
import { resolveExisting } from './diskstats.js';
import { errorCode, errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type Outcome } from '../lib/outcome.js';
import { type Source } from './source.js';
import { pidsOf } from '../host/proc-pids.js';

/** The processes writing most to etcd's filesystem, and how much of /proc could be read to tell. */
export interface ProcessesSample {
  /** Busiest first, at most TOP_WRITERS; etcd itself included (the analysis filters it out). Empty on the first round. */
  readonly writers: readonly TopWriter[];
  /** Processes whose /proc/<pid>/io was read this round. */
  readonly readable: number;
  /** Processes whose io or fds could not be read: no CAP_SYS_PTRACE, or another user's process. */
  readonly denied: number;
  /** Processes that exited between listing /proc and reading them. */
  readonly exited: number;
  readonly notes?: readonly string[];
}

// ───────────────────────────── the source ─────────────────────────────
//
// Each round: write_bytes of every process (/proc/<pid>/io: bytes the process sent towards storage,
// counted when it dirties page cache, so tmpfs writes do not count) minus the previous round's is its
// rate. Only processes above MIN_WRITER_RATE are looked at further: their open files are stat'ed
// (/proc/<pid>/fd/N, a stat follows the magic link without opening the file), and a process with
// one on the device of etcd's data dir counts as a writer on etcd's device. It is an attribution by
// presence, not by byte: a process that writes to two disks counts all its writes here.

/** Below this a process is not a noisy neighbour: etcd's own idle WAL traffic is of this order. */
export const MIN_WRITER_RATE = 16 * 1024;
export const TOP_WRITERS = 5;
/** Bounds one round: a node with more processes is read only up to here (and says so once). */
export const MAX_PROCESSES = 4096;
/** Writers above the rate whose fds are looked at, busiest first: the rest cannot reach the top. */
export const MAX_CANDIDATES = 16;
/** An apiserver or etcd holds thousands of sockets; the data files are among the first fds opened. */
export const MAX_FDS_PER_PROCESS = 1024;
/** Processes handled between two yields to the event loop: about a millisecond of synchronous /proc reads. */
const BATCH = 64;

/** The file operations the source needs; tests replace them to make a process exit or deny access. */
export interface ProcFs {
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<string>;
  readlink(path: string): Promise<string>;
  stat(path: string): Promise<{ dev: number }>;
}

/**
 * procfs files are generated in memory and never wait for a disk, so they are read synchronously:
 * fs/promises' readFile costs about 14× the CPU of readFileSync for these tiny files (measured: 20 ms
 * against 1.5 ms for 95 processes). A stat through /proc/<pid>/fd/N reaches the file's own
 * filesystem (an NFS server may hang), so it stays asynchronous.
 */
export const NODE_PROC_FS: ProcFs = {
  readdir: async (p) => readdirSync(p),
  readFile: async (p) => readFileSync(p, 'utf8'),
  readlink: async (p) => readlinkSync(p),
  stat: (p) => stat(p),
};

export interface ProcessesOptions {
  /** etcd's --data-dir: a process with a file open on its device writes to etcd's device. */
  etcdDataDir: string;
  /** Where procfs is mounted: `/proc`, or the host's proc inside a pod (e.g. `/host/proc`). */
  procPath: string;
  interval: Milliseconds;
  fs?: ProcFs;
  maxProcesses?: number;
}

interface Counter {
  readonly bytes: number;
  readonly at: number;
}

type Read<T> = { ok: true; value: T } | { ok: false; kind: 'denied' | 'exited' | 'other' };

interface Tally {
  readable: number;
  denied: number;
  exited: number;
  other: number;
}

export function createProcessesSource(opts: ProcessesOptions): Source<ProcessesSample> {
  const fs = opts.fs ?? NODE_PROC_FS;
  const procPath = opts.procPath.length > 1 ? opts.procPath.replace(/\/$/, '') : opts.procPath;
  const maxProcesses = opts.maxProcesses ?? MAX_PROCESSES;
  let previous = new Map<number, Counter>();

  const sampleOnce = async (now: Date): Promise<Outcome<ProcessesSample>> => {
    const listed = await listPids(fs, procPath);
    if (!listed.ok) return listed;
    const device = await etcdDevice(fs, opts.etcdDataDir);
    if (!device.ok) return device;
    const self = await ownPid(fs, procPath);
    const pids = listed.value.filter((p) => p !== self).slice(0, maxProcesses);
    const tally: Tally = { readable: 0, denied: 0, exited: 0, other: 0 };
    const current = await readCounters(fs, procPath, pids, now.getTime(), tally);
    if (tally.readable === 0 && pids.length > 0) return unreadable(procPath, pids.length, tally);
    const rates = ratesBetween(previous, current);
    previous = current;
    const writers = await writersOn(fs, procPath, device.value, rates, tally);
    return success({
      writers,
      readable: tally.readable,
      denied: tally.denied,
      exited: tally.exited,
      ...withNotes(notesFor(procPath, tally, listed.value.length - (self === undefined ? 0 : 1), maxProcesses)),
    });
  };

  return {
    name: 'processes',
    interval: opts.interval,
    async sample(now: Date): Promise<Outcome<ProcessesSample>> {
      try {
        return await sampleOnce(now);
      } catch (err) {
        // Belt and braces: nothing above should throw, but a source must never crash the agent.
        return failure(reasonForError(err), `processes under ${procPath}: ${errorMessage(err)}`);
      }
    },
  };
}

async function listPids(fs: ProcFs, procPath: string): Promise<Outcome<number[]>> {
  try {
    const names = await fs.readdir(procPath);
    return success(pidsOf(names));
  } catch (err) {
    return failure(reasonForError(err), `cannot list ${procPath}: ${errorMessage(err)}; check procPath`);
  }
}

/** st_dev of etcd's data dir, or of its nearest existing ancestor (etcd may not have created it yet). */
async function etcdDevice(fs: ProcFs, dataDir: string): Promise<Outcome<number>> {
  const absolute = isAbsolute(dataDir) ? dataDir : resolvePath(dataDir);
  const at = await resolveExisting('', absolute);
  try {
    return success((await fs.stat(at.path)).dev);
  } catch (err) {
    return failure(reasonForError(err), `cannot stat ${at.path} (etcd data dir ${dataDir}): ${errorMessage(err)}`);
  }
}

/**
 * The agent as procfs numbers it: its probe writes to etcd's disk on purpose and is not a neighbour.
 * `self` is resolved in the pid namespace of that procfs, so it is right for the host's /proc too.
 */
async function ownPid(fs: ProcFs, procPath: string): Promise<number | undefined> {
  const link = await fs.readlink(`${procPath}/self`).catch(() => undefined);
  return link !== undefined && /^\d+$/.test(link) ? Number(link) : undefined;
}

async function readCounters(fs: ProcFs, procPath: string, pids: readonly number[], at: number, tally: Tally): Promise<Map<number, Counter>> {
  const counters = new Map<number, Counter>();
  await inBatches(pids, async (pid) => {
    const r = await attempt(async () => parseWriteBytes(await fs.readFile(`${procPath}/${pid}/io`)));
    if (!r.ok) tally[r.kind]++;
    else if (r.value !== undefined) {
      tally.readable++;
      counters.set(pid, { bytes: r.value, at });
    }
  });
  return counters;
}

/** write_bytes from /proc/<pid>/io; undefined when the line is missing (a kernel without task I/O accounting). */
export function parseWriteBytes(text: string): number | undefined {
  const m = /^write_bytes:\s*(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Bytes per second of each process seen in both rounds. A process absent before (new, or the first
 * round) has no rate yet; a smaller counter than before is a reused pid, and gets none either.
 */
export function ratesBetween(before: ReadonlyMap<number, Counter>, now: ReadonlyMap<number, Counter>): Map<number, number> {
  const rates = new Map<number, number>();
  for (const [pid, cur] of now) {
    const prev = before.get(pid);
    const dt = prev === undefined ? 0 : (cur.at - prev.at) / 1000;
    if (prev === undefined || dt <= 0 || cur.bytes < prev.bytes) continue;
    rates.set(pid, (cur.bytes - prev.bytes) / dt);
  }
  return rates;
}

async function writersOn(fs: ProcFs, procPath: string, device: number, rates: ReadonlyMap<number, number>, tally: Tally): Promise<TopWriter[]> {
  const candidates = [...rates]
    .filter(([, rate]) => rate >= MIN_WRITER_RATE)
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_CANDIDATES);
  const writers: TopWriter[] = [];
  await inBatches(candidates, async ([pid, rate]) => {
    const r = await attempt(() => hasFileOn(fs, `${procPath}/${pid}`, device));
    if (!r.ok) tally[r.kind]++;
    else if (r.value) writers.push({ pid, command: await commandOf(fs, `${procPath}/${pid}`), bytesPerSecond: rate });
  });
  return writers.sort((a, b) => b.bytesPerSecond - a.bytesPerSecond).slice(0, TOP_WRITERS);
}

/** Whether one of the process's first MAX_FDS_PER_PROCESS open files lives on `device`. */
async function hasFileOn(fs: ProcFs, pidDir: string, device: number): Promise<boolean> {
  const fds = (await fs.readdir(`${pidDir}/fd`)).slice(0, MAX_FDS_PER_PROCESS);
  for (const fd of fds) {
    // An fd closed since the listing is simply not there any more.
    const st = await fs.stat(`${pidDir}/fd/${fd}`).catch(() => undefined);
    if (st?.dev === device) return true;
  }
  return false;
}

async function commandOf(fs: ProcFs, pidDir: string): Promise<string> {
  const comm = await fs.readFile(`${pidDir}/comm`).catch(() => '');
  return comm.trim() || '?';
}

/** Runs a read of one process, turning the errors every busy node produces into a kind to count. */
async function attempt<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    const reason = reasonForError(err);
    const code = errorCode(err);
    if (reason === 'permission') return { ok: false, kind: 'denied' };
    if (reason === 'not_found' || code === 'ESRCH') return { ok: false, kind: 'exited' };
    return { ok: false, kind: 'other' };
  }
}

/** Yields between batches so that a probe round or a scrape never waits behind a whole /proc scan. */
async function inBatches<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) {
    await Promise.all(items.slice(i, i + BATCH).map(each));
    await yieldToLoop();
  }
}

function unreadable(procPath: string, processes: number, tally: Tally): Outcome<ProcessesSample> {
  const counts = `${tally.denied} permission denied, ${tally.exited} exited, ${tally.other} other errors`;
  const reason = tally.denied > 0 ? 'permission' : tally.exited === processes ? 'not_found' : 'other';
  return failure(reason, `cannot read ${procPath}/<pid>/io of any of ${processes} processes (${counts}); top writers need CAP_SYS_PTRACE`);
}

/** Stable texts: the agent logs each note once, so they carry no counts that change every round. */
function notesFor(procPath: string, tally: Tally, listed: number, maxProcesses: number): string[] {
  const notes: string[] = [];
  if (tally.denied > 0) {
    notes.push(`some processes' ${procPath}/<pid>/io or fd is not readable (permission denied): their writes are not counted among etcd's top writers; grant the agent CAP_SYS_PTRACE to see every process`);
  }
  if (listed > maxProcesses) notes.push(`more than ${maxProcesses} processes under ${procPath}: only the first ${maxProcesses} are read for top writers`);
  return notes;
}

function withNotes(notes: readonly string[]): { notes?: readonly string[] } {
  return notes.length > 0 ? { notes } : {};
}
