// Process plumbing for whatever the tests and the benchmarks start (scenarios, the kubeadm node,
// kube-prometheus-stack, bench's children): a registry of clean-ups that also runs when the harness
// is interrupted, and children spawned in their own process group so that one signal reaches a
// wrapper (strace) and everything under it.
//
// Every resource a scenario creates (process, mount, loop device, temporary directory) registers a
// clean-up *before* it is used. Clean-ups run in reverse order of registration:
// - normally, `await cleanups.run()` at the end of the scenario (graceful: SIGTERM, then SIGKILL);
// - on SIGINT/SIGTERM/SIGHUP or process exit, the synchronous variant of every clean-up of every live
//   registry (SIGKILL, `umount -l`, `losetup -d`, rmSync), then the signal is re-raised.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Cleanup {
  readonly name: string;
  /** The normal, graceful path. */
  readonly run: () => Promise<void>;
  /** For exit and signal handlers: nothing can be awaited there. */
  readonly runSync: () => void;
}

const liveRegistries = new Set<Cleanups>();
let hooksInstalled = false;
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onExit(): void {
  for (const r of [...liveRegistries].reverse()) r.runSync();
}

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\nscenario: ${signal}: tearing everything down\n`);
  onExit();
  process.removeListener(signal, onSignal);
  // Die of the signal as the process would have without us, unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

/** A stack of clean-ups for one scenario run. */
export class Cleanups {
  private readonly items: Cleanup[] = [];
  private running: Promise<string[]> | undefined;

  constructor() {
    liveRegistries.add(this);
    installHooks();
  }

  /** Registers a clean-up; returns a function that removes it (when the resource was released early). */
  add(name: string, run: () => Promise<void> | void, runSync: () => void): () => void {
    const item: Cleanup = { name, run: async () => run(), runSync };
    this.items.push(item);
    return () => {
      const i = this.items.indexOf(item);
      if (i >= 0) this.items.splice(i, 1);
    };
  }

  /** Runs every clean-up, newest first; each is bounded in time. Returns the problems met (never throws). */
  run(timeoutMsEach = 30_000): Promise<string[]> {
    this.running ??= (async () => {
      const problems: string[] = [];
      while (this.items.length > 0) {
        const item = this.items.pop()!;
        try {
          const timedOut = await Promise.race([item.run().then(() => false), sleep(timeoutMsEach, undefined, { ref: false }).then(() => true)]);
          if (timedOut) {
            problems.push(`${item.name}: timed out after ${timeoutMsEach} ms; forced`);
            item.runSync();
          }
        } catch (err) {
          problems.push(`${item.name}: ${errorText(err)}`);
          try {
            item.runSync();
          } catch {
            // best effort
          }
        }
      }
      liveRegistries.delete(this);
      return problems;
    })();
    return this.running;
  }

  /** The exit/signal path. */
  runSync(): void {
    while (this.items.length > 0) {
      const item = this.items.pop()!;
      try {
        item.runSync();
      } catch {
        // best effort at exit
      }
    }
    liveRegistries.delete(this);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ───────────────────────────────────────────── /proc helpers

interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { pid, comm: text.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]), pgrp: Number(rest[2]) };
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = readStat(Number(e));
    if (s) out.push(s);
  }
  return out;
}

/** Processes (not zombies) in process group `pgid`. */
export function groupMembers(pgid: number): ProcStat[] {
  return allStats().filter((s) => s.pgrp === pgid && s.state !== 'Z');
}

/** Direct children of `pid` (not zombies). */
export function childrenOf(pid: number): ProcStat[] {
  return allStats().filter((s) => s.ppid === pid && s.state !== 'Z');
}

/** The executable a process runs (/proc/PID/exe), when readable. */
export function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  const s = readStat(pid);
  return s !== undefined && s.state !== 'Z';
}

export function signal(pid: number | undefined, sig: NodeJS.Signals | 0): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(stepMs);
  }
  return cond();
}

// ───────────────────────────────────────────── grouped children

export interface GroupChild {
  readonly name: string;
  readonly child: ChildProcess;
  /** The process group (= the spawned process's pid). */
  readonly pgid: number;
  readonly logFile: string;
  /** Resolves when the spawned process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /**
   * Stops it: when `tracee` says which process is the real one under a wrapper, that one gets `sig`
   * first (a traced process must die before its tracer); then the group gets SIGTERM, then SIGKILL.
   */
  stop(opts?: { sig?: NodeJS.Signals; graceMs?: number; tracee?: () => number | undefined }): Promise<void>;
  /** SIGKILL the tracee (if any) and the whole group, now. */
  killSync(tracee?: () => number | undefined): void;
}

/** Spawns `file args` detached (own process group), stdout+stderr appended to `logFile`. */
export function spawnGroup(name: string, file: string, args: readonly string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): GroupChild {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, [...args], { stdio: ['ignore', fd, fd], env: opts.env ?? process.env, cwd: opts.cwd, detached: true });
  } finally {
    closeSync(fd);
  }
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`${name}: could not spawn ${file}`);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
  child.once('error', () => undefined);
  const running = () => child.exitCode === null && child.signalCode === null;
  const killSync = (tracee?: () => number | undefined) => {
    const t = tracee?.();
    if (t !== undefined) signal(t, 'SIGKILL');
    signal(-pgid, 'SIGKILL');
    signal(pgid, 'SIGKILL');
  };
  const stop = async (o: { sig?: NodeJS.Signals; graceMs?: number; tracee?: () => number | undefined } = {}) => {
    const grace = o.graceMs ?? 10_000;
    const t = o.tracee?.();
    if (t !== undefined && alive(t)) {
      signal(t, o.sig ?? 'SIGTERM');
      if (!(await waitUntil(() => !alive(t), grace))) signal(t, 'SIGKILL');
      await waitUntil(() => !alive(t), 5000);
      // the tracer notices its tracee is gone and exits by itself
      await Promise.race([exited, sleep(3000, undefined, { ref: false })]);
    } else if (running()) {
      signal(-pgid, o.sig ?? 'SIGTERM');
      await Promise.race([exited, sleep(grace, undefined, { ref: false })]);
    }
    if (running()) signal(-pgid, 'SIGKILL');
    // anything left in the group (a grandchild that outlived its parent) goes too
    if (groupMembers(pgid).length > 0) signal(-pgid, 'SIGKILL');
    await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
  };
  return { name, child, pgid, logFile: opts.logFile, exited, running, stop, killSync };
}

/** Runs a command to completion, synchronously (for clean-ups at exit). Returns false on failure. */
export function runSync(file: string, args: readonly string[]): boolean {
  try {
    execFileSync(file, [...args], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** The last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${errorText(err)})`;
  }
}

/** Scratch space for loop filesystems: images in /dev/shm, mount points in /tmp; both removed by `cleanups`. */
export function scratchDirs(cleanups: Cleanups, prefix: string): { shm: string; root: string } {
  const shm = mkdtempSync(`/dev/shm/${prefix}-`);
  const root = mkdtempSync(`/tmp/${prefix}-`);
  for (const dir of [shm, root]) cleanups.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }), () => rmSync(dir, { recursive: true, force: true }));
  return { shm, root };
}
