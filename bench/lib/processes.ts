// Children of a benchmark: each spawned in its own process group (so a wrapper such as strace and
// everything under it gets one signal), logged to a file, and killed when the benchmark exits or is
// interrupted. Also /proc readers for CPU time and RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { exeOf, signal as trySignal } from '../../harness/processes.js';

export { trySignal };

const live = new Set<Group>();
let hooked = false;

function killAllSync(): void {
  for (const g of live) g.killSync();
  live.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(s, () => {
      process.stderr.write(`\nbench: ${s}: stopping every child\n`);
      killAllSync();
      process.exit(130);
    });
  }
}


export class Group {
  readonly child: ChildProcess;
  readonly pgid: number;
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    file: string,
    args: readonly string[],
    readonly logFile: string,
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdout?: 'log' | 'pipe' } = {},
  ) {
    hook();
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn(file, [...args], {
        stdio: ['ignore', opts.stdout === 'pipe' ? 'pipe' : fd, fd],
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`${name}: could not spawn ${file}`);
    this.pgid = this.child.pid;
    this.child.once('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    live.add(this);
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM to `target` (default: the group), SIGKILL to the group after the grace. */
  async stop(graceMs = 10_000, target?: number): Promise<void> {
    if (this.running()) {
      if (target !== undefined) trySignal(target, 'SIGTERM');
      else trySignal(-this.pgid, 'SIGTERM');
      await Promise.race([this.exited, sleep(graceMs, undefined, { ref: false })]);
    }
    trySignal(-this.pgid, 'SIGKILL');
    await Promise.race([this.exited, sleep(5000, undefined, { ref: false })]);
    live.delete(this);
  }

  killSync(): void {
    trySignal(-this.pgid, 'SIGKILL');
    trySignal(this.pgid, 'SIGKILL');
  }
}

/** Direct children of `pid` (Linux). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The first descendant of `pid` (itself included) running the executable `exe`. By executable, not
 * command name: Node.js 24 names its main thread, and so its process, "MainThread".
 */
export function findDescendant(pid: number, exe: string): number | undefined {
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (exeOf(p) === exe) return p;
    queue.push(...childrenOf(p));
  }
  return undefined;
}

/** user+system CPU seconds of a process so far (all threads), from /proc/PID/stat. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS), from /proc/PID/status. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Linux reports CPU time in clock ticks of 1/100 s on every architecture Node runs on. */
export const CLK_TCK = 100;

/** Every pid in /proc (for "what else was running"). */
export function allPids(): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
}

/** Runs a command to completion; resolves with its exit code, stdout and stderr. */
export function runToEnd(file: string, args: readonly string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    hook();
    const started = performance.now();
    const child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err), ms: performance.now() - started });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
