// What every figure shares: where the repository is, the command-line options, the machine and what
// else was running on it, and how raw results are written to bench/results/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../../src/lib/units.js';

/** The repository root: the nearest directory above this file whose package.json is the agent's. */
export const ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'etcd-latency-agent') return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
})();

/**
 * The built agent, as an operator runs it (`npm run build` makes it; `npm run bench` builds first).
 * BENCH_AGENT_CLI points the figures at another build (e.g. an older commit's dist/cli.js) for a
 * before/after comparison.
 */
export const AGENT_CLI = process.env['BENCH_AGENT_CLI'] ? resolve(process.env['BENCH_AGENT_CLI']) : join(ROOT, 'dist', 'cli.js');

export interface BenchOptions {
  /** Main measurement length of one run/window (each figure has its own default). */
  readonly durationMs?: number;
  /** Repetitions (pairs for A/B figures). */
  readonly runs?: number;
  /** Tiny mode for the smoke test: a few seconds per figure, numbers meaningless. */
  readonly smoke: boolean;
  /** Where raw results go. */
  readonly outDir: string;
  /** Anything else (`--count=…`, `--stall=…`), as given. */
  readonly extra: ReadonlyMap<string, string>;
  readonly argv: readonly string[];
}

export function parseOptions(argv: readonly string[]): { figures: string[]; options: BenchOptions } {
  const figures: string[] = [];
  const extra = new Map<string, string>();
  let durationMs: number | undefined;
  let runs: number | undefined;
  let smoke = false;
  let outDir: string | undefined;
  for (const arg of argv) {
    if (!arg.startsWith('--')) {
      figures.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const value = eq < 0 ? 'true' : arg.slice(eq + 1);
    if (key === 'duration') {
      const d = parseDuration(value);
      if (d === undefined || d <= 0) throw new Error(`--duration: "${value}" is not a duration (500ms, 30s, 10m)`);
      durationMs = d;
    } else if (key === 'runs') {
      runs = Number(value);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: "${value}" must be a whole number ≥ 1`);
    } else if (key === 'smoke') smoke = value !== 'false';
    else if (key === 'out') outDir = resolve(value);
    else extra.set(key, value);
  }
  // Quick runs (shorter than the defaults) must not overwrite the figures quoted in bench/README.md.
  const quick = smoke || durationMs !== undefined || runs !== undefined || extra.size > 0;
  return {
    figures,
    options: {
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(runs !== undefined ? { runs } : {}),
      smoke,
      outDir: outDir ?? join(ROOT, 'bench', 'results', quick ? 'tmp' : ''),
      extra,
      argv,
    },
  };
}

/** `--name=N` as a number, else the default. */
export function numberOption(o: BenchOptions, name: string, fallback: number): number {
  const v = o.extra.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: "${v}" is not a number`);
  return n;
}

/** A progress line on stderr (stdout stays for the final summary). */
export function say(figure: string, line: string): void {
  process.stderr.write(`[bench ${figure}] ${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

// ───────────────────────────────────────────── the machine

function firstLine(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return (e.stdout || e.stderr || '').split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unavailable';
  }
}

/** The block device under a path (for "same filesystem"), from /proc/self/mountinfo. */
export function deviceOf(path: string): string {
  try {
    const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    let best: { mp: string; src: string; fs: string } | undefined;
    for (const line of lines) {
      const parts = line.split(' ');
      const sep = parts.indexOf('-');
      const mp = parts[4];
      if (!mp || sep < 0) continue;
      if ((path === mp || path.startsWith(mp.endsWith('/') ? mp : mp + '/')) && (!best || mp.length > best.mp.length)) {
        best = { mp, fs: parts[sep + 1] ?? '?', src: parts[sep + 2] ?? '?' };
      }
    }
    return best ? `${best.src} (${best.fs} on ${best.mp})` : 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface Machine {
  readonly hostname: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly os: string;
  readonly disk: string;
  readonly node: string;
  readonly tools: Record<string, string>;
}

export function machine(): Machine {
  let os = 'unknown';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // not Linux-like
  }
  const rootDisk = deviceOf('/tmp');
  const dev = /^\/dev\/(\w+)/.exec(rootDisk)?.[1];
  let rotational = '';
  if (dev) {
    try {
      rotational = readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim() === '1' ? ', rotational' : ', non-rotational';
    } catch {
      // a partition or dm device: leave it out
    }
  }
  return {
    hostname: hostname(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: firstLine('uname', ['-r']),
    os,
    disk: `/tmp is on ${rootDisk}${rotational}`,
    node: process.version,
    tools: {
      etcd: firstLine('/usr/bin/etcd', ['--version']),
      fio: firstLine('fio', ['--version']),
      wrk: firstLine('wrk', ['--version']),
      'node-exporter': firstLine('/usr/bin/prometheus-node-exporter', ['--version']),
      strace: firstLine('strace', ['-V']),
    },
  };
}

/** What else the machine was doing: load averages and the busiest other processes over one second. */
export interface Activity {
  readonly at: string;
  readonly loadavg: readonly number[];
  /** Other processes by CPU share of one core over the sample second, busiest first. */
  readonly busiest: ReadonlyArray<{ pid: number; comm: string; cpuPercent: number; cmd: string }>;
}

function cpuTicksByPid(): Map<number, { ticks: number; comm: string }> {
  const out = new Map<number, { ticks: number; comm: string }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const f = stat.slice(close + 2).split(' ');
      out.set(Number(e), { ticks: Number(f[11]) + Number(f[12]), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone
    }
  }
  return out;
}

export async function activity(excludePids: ReadonlySet<number> = new Set()): Promise<Activity> {
  const a = cpuTicksByPid();
  await sleep(1000);
  const b = cpuTicksByPid();
  const busiest = [...b]
    .filter(([pid]) => pid !== process.pid && !excludePids.has(pid))
    .map(([pid, v]) => ({ pid, comm: v.comm, cpuPercent: v.ticks - (a.get(pid)?.ticks ?? v.ticks) }))
    .filter((p) => p.cpuPercent >= 2)
    .sort((x, y) => y.cpuPercent - x.cpuPercent)
    .slice(0, 12)
    .map((p) => {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 160);
      } catch {
        // gone
      }
      return { ...p, cmd };
    });
  return { at: new Date().toISOString(), loadavg: loadavg().map((x) => Math.round(x * 100) / 100), busiest };
}

// ───────────────────────────────────────────── results

export interface FigureResult {
  readonly figure: string;
  /** What the figure says, in one line per number (for stdout and bench/README.md). */
  readonly summary: readonly string[];
  /** Target met? undefined when the figure has no pass/fail target. */
  readonly targetMet?: boolean;
  readonly target: string;
  /** How it was measured (settings, what A and B are). */
  readonly method: Record<string, unknown>;
  /** The numbers, summarised. */
  readonly results: Record<string, unknown>;
  /** Every raw measurement. */
  readonly raw: unknown;
  readonly notes?: readonly string[];
}

/** Which agent build ran: a digest of its compiled JavaScript and when it was built. */
export function buildIdentity(cli: string = AGENT_CLI): { sha256: string; builtAt: string } {
  const dir = dirname(cli);
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) files.push(p);
    }
  };
  try {
    walk(dir);
  } catch {
    return { sha256: 'unknown', builtAt: 'unknown' };
  }
  const hash = createHash('sha256');
  let newest = 0;
  for (const f of files.sort()) {
    hash.update(f.slice(dir.length)).update(readFileSync(f));
    newest = Math.max(newest, statSync(f).mtimeMs);
  }
  return { sha256: hash.digest('hex').slice(0, 16), builtAt: new Date(newest).toISOString() };
}

export interface ResultFile extends FigureResult {
  readonly command: string;
  /** The agent build the figure ran (dist/cli.js unless BENCH_AGENT_CLI says otherwise). */
  readonly agent: string;
  /** That build at the start and at the end of the figure (others may rebuild dist/ meanwhile). */
  readonly agentBuild: { readonly before: ReturnType<typeof buildIdentity>; readonly after: ReturnType<typeof buildIdentity> };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  readonly activityBefore: Activity;
  readonly activityAfter: Activity;
  readonly smoke: boolean;
}

export function writeResult(outDir: string, file: ResultFile): string {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${file.figure}.json`);
  writeFileSync(path, JSON.stringify(file, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n');
  return path;
}

/** Seconds → "1.23 ms" with sensible precision. */
export function fmtMs(s: number): string {
  const v = s * 1000;
  if (!Number.isFinite(v)) return String(v);
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)} ms`;
}

export const fmtNum = (digits: number) => (v: number): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
