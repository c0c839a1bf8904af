// Soak: the whole agent for a long time against a real etcd, with faults cycling and a Prometheus-like
// scraper at 1 request per second. Records the agent's RSS (and its slope), its open file descriptors
// (/proc/PID/fd), V8 heap, CPU, scrape latencies and failures, samples missed outside the fault
// windows, and whether it crashed; ends with SIGTERM (exit 0, probe file removed).
//
//   node --import=@tapjs/typescript/import bench/soak.ts [--duration=1h] [--fault-every=60s] [--out=FILE]
//
// (after `npm run build`: it runs dist/cli.js). Writes bench/results/soak-<date>.json unless --out is
// given. test/soak/soak.test.ts runs a 2-minute version in CI and asserts only what does not depend on
// the machine's speed: no crash, no file-descriptor growth, no failed scrape, counters monotonic.
//
// Faults, in turn: etcd killed and restarted (SIGKILL), etcd stalled (SIGSTOP for a few seconds, as a
// leader stuck in fdatasync looks from outside), and as root: etcd's disk stalled (strace attached to
// the running etcd for a few seconds, injecting a 400 ms delay into every fdatasync of its WAL), and the
// probe's filesystem (a loop-mounted ext4) filled to ENOSPC and freed again.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startAgentProcess, seriesValue, type AgentProcess } from '../harness/agent-process.js';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.js';
import { monotonicSeries } from '../harness/metrics-watch.js';
import { nearestRank } from '../src/lib/quantile.js';
import { parseDuration } from '../src/lib/units.js';
import { HISTORY_RETENTION_MS } from '../src/state/state.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const P = 'etcd_latency_agent_';
const SOURCES = ['fsync_probe', 'diskstats', 'etcd_metrics', 'etcd_api', 'etcd_config'] as const;
/** Each source's interval in this soak (ms): a sample is "missed" when none succeeded for 2 intervals + 2 s. */
const INTERVALS: Record<(typeof SOURCES)[number], number> = { fsync_probe: 1000, diskstats: 5000, etcd_metrics: 5000, etcd_api: 1000, etcd_config: 10_000 };
/** Which sources a fault takes down, and how long after it ends they may take to come back. */
const FAULT_EFFECT = {
  etcd_restart: { sources: ['etcd_api', 'etcd_metrics', 'etcd_config'], graceMs: 15_000 },
  etcd_stall: { sources: ['etcd_api', 'etcd_metrics'], graceMs: 15_000 },
  disk_stall: { sources: ['etcd_api', 'etcd_metrics'], graceMs: 15_000 },
  enospc: { sources: ['fsync_probe'], graceMs: 5_000 },
} as const;
type FaultKind = keyof typeof FAULT_EFFECT;

export interface SoakOptions {
  durationMs: number;
  faultEveryMs: number;
  /** Where to write the JSON; undefined: do not write. */
  out?: string;
  /** Progress lines (stderr by default). */
  say?: (line: string) => void;
  /** Ends the soak early (SIGINT/SIGTERM of the script): the figures so far are still computed and written. */
  signal?: AbortSignal;
}

interface ProcSample {
  t: number; // seconds since start
  rssMiB: number;
  fds: number;
  cpuSeconds: number;
  heapUsedMiB?: number;
}

interface FaultRecord {
  kind: FaultKind;
  startS: number;
  endS: number;
  /** The fault could not be injected or undone (the soak goes on). */
  error?: string;
}

export interface SoakResult {
  kind: 'soak';
  startedAt: string;
  durationS: number;
  command: string;
  machine: { cpus: number; cpu: string; memoryGiB: number; kernel: string; node: string; uid: number };
  settings: { faultEveryS: number; scrapeIntervalS: number; probeFs: 'loop ext4 (32 MiB)' | 'temp dir'; intervalsMs: typeof INTERVALS };
  faults: FaultRecord[];
  /**
   * slopeMiBPerHour is over the whole run after a minute's warm-up. The agent's history is designed to
   * fill for its first hour (HISTORY_RETENTION_MS) and then stay; afterHistoryFull is the slope from
   * then on (5 minutes later), when the run is long enough: that is the one that must be flat.
   */
  rss: { samples: number; firstMiB: number; lastMiB: number; maxMiB: number; slopeMiBPerHour: number; afterHistoryFull?: { fromS: number; slopeMiBPerHour: number; firstMiB: number; lastMiB: number } };
  heap: { firstMiB?: number; lastMiB?: number; slopeMiBPerHour?: number; afterHistoryFull?: { fromS: number; slopeMiBPerHour: number; firstMiB: number; lastMiB: number } };
  /** One point a minute: seconds since start, RSS and V8 heap used (MiB), open fds. */
  series: Array<{ t: number; rssMiB: number; heapMiB?: number; fds: number }>;
  fds: { baseline: number; last: number; max: number; growth: number };
  cpu: { averagePercentOfOneCore: number };
  scrapes: { count: number; failed: number; p50Ms: number; p99Ms: number; maxMs: number; monotonicViolations: string[] };
  missedOutsideFaults: Record<string, { checked: number; missed: number; worstStalenessS: number }>;
  probeRounds: { expected: number; observed: number; duringFaultsExcluded: boolean };
  stateLogLines: Record<string, number>;
  /** etcd's WAL fsyncs slower than 128 ms as the agent re-exports them: evidence the disk stalls bit. */
  slowWalFsyncs: number | undefined;
  exit: { code: number | null; withinMs: number; probeFileRemoved: boolean };
  crashed: boolean;
  /** Ended early by a signal. */
  interrupted: boolean;
  summary: string[];
}

function procSample(pid: number, t0: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 Hz on Linux)
    return { t: (Date.now() - t0) / 1000, rssMiB: rssKiB / 1024, fds: readdirSync(`/proc/${pid}/fd`).length, cpuSeconds: ticks / 100 };
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

function run(cmd: string, args: readonly string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** strace can attach to etcd (root, strace installed): the disk-stall fault is possible. */
function canTrace(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    run('strace', ['-V']);
    return true;
  } catch {
    return false;
  }
}

/** Attaches strace to every thread of `pid` for `ms`, delaying each fdatasync by `delayMs`; then detaches. */
async function stallFdatasync(pid: number, ms: number, delayMs: number): Promise<void> {
  const tracer = spawn('strace', ['-f', '-qq', '-o', '/dev/null', '-p', String(pid), '-e', 'trace=fdatasync', '-e', `inject=fdatasync:delay_enter=${delayMs}ms`], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => tracer.once('exit', () => r()));
  tracer.once('error', () => undefined);
  await sleep(ms);
  tracer.kill('SIGTERM'); // strace detaches from its tracees on SIGTERM
  await Promise.race([exited, sleep(5000).then(() => tracer.kill('SIGKILL'))]);
}

/** As root: a 32 MiB ext4 loop filesystem for the probe (and a stand-in etcd data dir beside it). */
function probeFilesystem(base: string): { dir: string; dataDir: string; fill: () => void; unfill: () => void; cleanup: () => void } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const img = join(base, 'probe-fs.img');
  const mnt = join(base, 'probe-fs');
  try {
    mkdirSync(mnt);
    run('truncate', ['-s', '32M', img]);
    run('mkfs.ext4', ['-q', '-m', '0', img]);
    run('mount', ['-o', 'loop', img, mnt]);
  } catch {
    return undefined;
  }
  const dataDir = join(mnt, 'etcd');
  const dir = join(mnt, 'etcd-latency-agent');
  mkdirSync(join(dataDir, 'member', 'wal'), { recursive: true });
  mkdirSync(dir);
  const filler = join(mnt, 'filler');
  return {
    dir,
    dataDir,
    fill: () => {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(256 * 1024, 0xaa);
      try {
        for (const c of [chunk, chunk.subarray(0, 4096), chunk.subarray(0, 1024)]) {
          for (;;) {
            try {
              if (writeSync(fd, c) < c.length) break;
            } catch {
              break;
            }
          }
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    },
    unfill: () => rmSync(filler, { force: true }),
    cleanup: () => {
      try {
        run('umount', [mnt]);
      } catch {
        try {
          run('umount', ['-l', mnt]);
        } catch {
          // best effort
        }
      }
    },
  };
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const say = opts.say ?? ((l: string) => process.stderr.write(`[soak] ${l}\n`));
  const startedAt = new Date();
  const base = mkdtempSync(join(tmpdir(), 'soak-'));
  const probeFs = probeFilesystem(base);
  const probeDir = probeFs?.dir ?? mkdtempSync(join(base, 'probe-'));
  let cluster: EtcdCluster | undefined;
  let agent: AgentProcess | undefined;
  try {
    cluster = await startEtcdCluster({ size: 1, heartbeatMs: 100, electionMs: 1000 });
    const m = cluster.members[0]!;
    const dataDir = probeFs?.dataDir ?? m.dataDir;
    agent = await startAgentProcess(
      [
        `--etcd-endpoints=${m.clientUrl}`,
        `--etcd-metrics-url=${m.metricsUrl}`,
        `--etcd-data-dir=${dataDir}`,
        `--member-name=${m.name}`,
        '--etcd-manifest=/nonexistent/etcd.yaml',
        '--etcd-config-interval=10s',
        '--probe-interval=1s',
        '--probe-file-size=2MiB',
        '--probe-min-free=4MiB',
        '--log-level=info',
      ],
      { probeDir },
    );
    const pid = agent.child.pid!;
    const t0 = Date.now();
    const end = t0 + opts.durationMs;
    const going = (): boolean => Date.now() < end && !opts.signal?.aborted;
    const pause = (ms: number): Promise<void> => sleep(ms, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
    say(`agent pid ${pid}, etcd ${m.clientUrl}, probe in ${probeDir}${probeFs ? ' (loop ext4)' : ''}; ${opts.durationMs / 1000} s`);

    // ── the scraper: 1 request per second, as Prometheus with scrape_interval: 1s
    const latencies: number[] = [];
    let attempts = 0;
    let failedScrapes = 0;
    const monotonicViolations: string[] = [];
    const missed: Record<string, { checked: number; missed: number; worstStalenessS: number }> = Object.fromEntries(SOURCES.map((s) => [s, { checked: 0, missed: 0, worstStalenessS: 0 }]));
    const faults: FaultRecord[] = [];
    const inFault = (source: string, atMs: number): boolean =>
      faults.some((f) => (FAULT_EFFECT[f.kind].sources as readonly string[]).includes(source) && atMs >= t0 + f.startS * 1000 - 1000 && atMs <= t0 + (f.endS < 0 ? Infinity : f.endS * 1000 + FAULT_EFFECT[f.kind].graceMs));
    let prevSeries: Map<string, number> | undefined;
    let lastText = '';
    let firstProbeCount: number | undefined;
    let lastProbeCount = 0;
    const heap: Array<[number, number]> = [];
    const scraper = (async () => {
      while (going()) {
        const at = Date.now();
        attempts++;
        try {
          const res = await fetch(`${agent!.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
          const text = await res.text();
          latencies.push(Date.now() - at);
          if (res.status !== 200) {
            failedScrapes++;
          } else {
            lastText = text;
            const cur = monotonicSeries(text);
            if (prevSeries) for (const [k, v] of cur) if ((prevSeries.get(k) ?? -Infinity) > v) monotonicViolations.push(`${k}: ${prevSeries.get(k)} → ${v}`);
            prevSeries = cur;
            const probeCount = seriesValue(text, `${P}probe_fdatasync_duration_seconds_count`) ?? 0;
            firstProbeCount ??= probeCount;
            lastProbeCount = probeCount;
            const heapUsed = seriesValue(text, 'nodejs_heap_size_used_bytes');
            if (heapUsed !== undefined) heap.push([(at - t0) / 3_600_000, heapUsed / 2 ** 20]);
            if (at - t0 > 30_000) {
              for (const s of SOURCES) {
                if (inFault(s, at)) continue;
                const last = seriesValue(text, `${P}source_last_success_timestamp_seconds{source="${s}"}`);
                const staleness = last === undefined ? Infinity : at / 1000 - last;
                missed[s]!.checked++;
                missed[s]!.worstStalenessS = Math.max(missed[s]!.worstStalenessS, round(staleness));
                if (staleness > (2 * INTERVALS[s]) / 1000 + 2) missed[s]!.missed++;
              }
            }
          }
        } catch {
          failedScrapes++;
        }
        await pause(Math.max(0, 1000 - (Date.now() - at)));
      }
    })();

    // ── process samples every 5 s
    const samples: ProcSample[] = [];
    const sampler = (async () => {
      while (going()) {
        const s = procSample(pid, t0);
        if (s) samples.push(s);
        await pause(5000);
      }
    })();

    // ── faults, in turn
    const kinds: FaultKind[] = ['etcd_restart', 'etcd_stall', ...(canTrace() ? (['disk_stall'] as const) : []), ...(probeFs ? (['enospc'] as const) : [])];
    let crashed = false;
    const faultLoop = (async () => {
      let i = 0;
      await pause(Math.min(opts.faultEveryMs, 20_000));
      while (going() && Date.now() < end - 20_000) {
        const kind = kinds[i++ % kinds.length]!;
        const record: FaultRecord = { kind, startS: round((Date.now() - t0) / 1000, 1), endS: -1 };
        faults.push(record);
        say(`t=${record.startS}s fault ${kind}`);
        try {
          if (kind === 'etcd_restart') {
            await m.kill('SIGKILL');
            await sleep(3000);
            await m.start();
          } else if (kind === 'etcd_stall') {
            m.pause();
            await sleep(4000);
            m.resume();
          } else if (kind === 'disk_stall') {
            // Writes make etcd fsync its WAL, so the delays bite (a 1-member cluster commits alone).
            const pid = m.pid();
            if (pid !== undefined) {
              const writes = (async () => {
                for (let k = 0; k < 10; k++) await cluster!.put(`soak-${Date.now()}`, 'x').catch(() => undefined);
              })();
              await stallFdatasync(pid, 6000, 400);
              await writes;
            }
          } else {
            probeFs!.fill();
            await sleep(5000);
            probeFs!.unfill();
          }
        } catch (err) {
          if (opts.signal?.aborted) break; // the cluster is being torn down under us
          record.error = err instanceof Error ? err.message.split('\n')[0]! : String(err);
          say(`fault ${kind} failed: ${record.error}`);
        }
        record.endS = round((Date.now() - t0) / 1000, 1);
        if (agent!.child.exitCode !== null || agent!.child.signalCode !== null) {
          crashed = true;
          break;
        }
        const next = t0 + i * opts.faultEveryMs + Math.min(opts.faultEveryMs, 20_000);
        await pause(Math.max(1000, next - Date.now()));
      }
    })();

    await Promise.all([scraper, sampler, faultLoop]);
    crashed ||= agent.child.exitCode !== null || agent.child.signalCode !== null;
    const durationS = (Date.now() - t0) / 1000;

    // ── stop: SIGTERM, exit 0, probe file removed
    const stopStarted = Date.now();
    const code = crashed ? agent.child.exitCode : await agent.stop('SIGTERM').catch(() => null);
    const exit = { code, withinMs: Date.now() - stopStarted, probeFileRemoved: !existsSync(join(probeDir, 'etcd-latency-agent.probe')) };
    const log = agent.log();
    const stateLogLines = Object.fromEntries(SOURCES.map((s) => [s, log.split('\n').filter((l) => new RegExp(`source (failed|recovered|is up).*source=${s}\\b`).test(l)).length]));
    agent = undefined;

    // ── figures
    const warm = samples.filter((s) => s.t >= Math.min(60, durationS / 4));
    const rssPts = warm.map((s): [number, number] => [s.t / 3600, s.rssMiB]);
    const fdsBaseline = warm[0]?.fds ?? samples[0]?.fds ?? 0;
    const sorted = [...latencies].sort((a, b) => a - b);
    const cpuFirst = samples[0];
    const cpuLast = samples.at(-1);
    const heapWarm = heap.filter(([h]) => h * 3600 >= Math.min(60, durationS / 4));
    const fullFrom = (HISTORY_RETENTION_MS + 5 * 60_000) / 1000;
    const rssFull = samples.filter((s) => s.t >= fullFrom);
    const heapFull = heap.filter(([h]) => h * 3600 >= fullFrom);
    const series: SoakResult['series'] = [];
    for (const s of samples) {
      if (series.length > 0 && s.t - series.at(-1)!.t < 60) continue;
      const h = heap.find(([x]) => x * 3600 >= s.t);
      series.push({ t: Math.round(s.t), rssMiB: round(s.rssMiB, 1), ...(h ? { heapMiB: round(h[1], 1) } : {}), fds: s.fds });
    }
    const expectedRounds = Math.floor(durationS - faults.filter((f) => f.kind === 'enospc').reduce((a, f) => a + (f.endS - f.startS) + FAULT_EFFECT.enospc.graceMs / 1000, 0));
    const result: SoakResult = {
      kind: 'soak',
      startedAt: startedAt.toISOString(),
      durationS: round(durationS, 1),
      command: `node --import=@tapjs/typescript/import bench/soak.ts --duration=${Math.round(opts.durationMs / 1000)}s --fault-every=${Math.round(opts.faultEveryMs / 1000)}s`,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1), kernel: release(), node: process.version, uid: process.getuid?.() ?? -1 },
      settings: { faultEveryS: opts.faultEveryMs / 1000, scrapeIntervalS: 1, probeFs: probeFs ? 'loop ext4 (32 MiB)' : 'temp dir', intervalsMs: INTERVALS },
      faults,
      rss: {
        samples: samples.length,
        firstMiB: round(warm[0]?.rssMiB ?? 0),
        lastMiB: round(samples.at(-1)?.rssMiB ?? 0),
        maxMiB: round(Math.max(0, ...samples.map((s) => s.rssMiB))),
        slopeMiBPerHour: round(slope(rssPts)),
        ...(rssFull.length > 12
          ? { afterHistoryFull: { fromS: fullFrom, slopeMiBPerHour: round(slope(rssFull.map((s): [number, number] => [s.t / 3600, s.rssMiB]))), firstMiB: round(rssFull[0]!.rssMiB), lastMiB: round(rssFull.at(-1)!.rssMiB) } }
          : {}),
      },
      heap: heapWarm.length > 1
        ? {
            firstMiB: round(heapWarm[0]![1]),
            lastMiB: round(heapWarm.at(-1)![1]),
            slopeMiBPerHour: round(slope(heapWarm)),
            ...(heapFull.length > 60 ? { afterHistoryFull: { fromS: fullFrom, slopeMiBPerHour: round(slope(heapFull)), firstMiB: round(heapFull[0]![1]), lastMiB: round(heapFull.at(-1)![1]) } } : {}),
          }
        : {},
      series,
      fds: { baseline: fdsBaseline, last: samples.at(-1)?.fds ?? 0, max: Math.max(0, ...samples.map((s) => s.fds)), growth: (samples.at(-1)?.fds ?? 0) - fdsBaseline },
      cpu: { averagePercentOfOneCore: cpuFirst && cpuLast && cpuLast.t > cpuFirst.t ? round((100 * (cpuLast.cpuSeconds - cpuFirst.cpuSeconds)) / (cpuLast.t - cpuFirst.t)) : 0 },
      scrapes: { count: attempts, failed: failedScrapes, p50Ms: nearestRank(sorted, 0.5), p99Ms: nearestRank(sorted, 0.99), maxMs: sorted.at(-1) ?? 0, monotonicViolations: monotonicViolations.slice(0, 20) },
      missedOutsideFaults: missed,
      probeRounds: { expected: expectedRounds, observed: Math.round((lastProbeCount - (firstProbeCount ?? 0)) / 10), duringFaultsExcluded: true },
      stateLogLines,
      slowWalFsyncs: slowWalFsyncs(lastText),
      exit,
      crashed,
      interrupted: opts.signal?.aborted ?? false,
      summary: [],
    };
    result.summary = [
      `${result.durationS} s, ${faults.length} faults (${kinds.join(', ')}), ${result.scrapes.count} scrapes (${failedScrapes} failed, p99 ${result.scrapes.p99Ms} ms)`,
      `RSS ${result.rss.firstMiB} → ${result.rss.lastMiB} MiB (max ${result.rss.maxMiB}), slope ${result.rss.slopeMiBPerHour} MiB/h; heap slope ${result.heap.slopeMiBPerHour ?? '—'} MiB/h` +
        (result.rss.afterHistoryFull ? `; once the 1 h history is full (t ≥ ${fullFrom} s): RSS ${result.rss.afterHistoryFull.slopeMiBPerHour} MiB/h, heap ${result.heap.afterHistoryFull?.slopeMiBPerHour ?? '—'} MiB/h` : ''),
      `fds ${result.fds.baseline} → ${result.fds.last} (max ${result.fds.max}); CPU ${result.cpu.averagePercentOfOneCore}% of a core`,
      `missed outside faults: ${SOURCES.map((s) => `${s} ${missed[s]!.missed}/${missed[s]!.checked}`).join(', ')}; probe rounds ${result.probeRounds.observed}/${result.probeRounds.expected}`,
      `exit ${exit.code} in ${exit.withinMs} ms, probe file removed: ${exit.probeFileRemoved}; crashed: ${crashed}; counter decreases: ${monotonicViolations.length}; etcd WAL fsyncs > 128 ms: ${result.slowWalFsyncs ?? '—'}`,
    ];
    for (const l of result.summary) say(l);
    if (opts.out) {
      mkdirSync(dirname(opts.out), { recursive: true });
      writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
      say(`wrote ${opts.out}`);
    }
    return result;
  } finally {
    if (agent) await agent.stop('SIGKILL').catch(() => undefined);
    await cluster?.close();
    probeFs?.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
}

/** Observations above 128 ms in the agent's re-export of etcd's WAL fsync histogram. */
function slowWalFsyncs(text: string): number | undefined {
  const name = `${P}etcd_wal_fsync_duration_seconds`;
  let total: number | undefined;
  let upTo: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === '+Inf') total = v;
    else if (le !== undefined && Number(le) === 0.128) upTo = v;
  }
  return total !== undefined && upTo !== undefined ? total - upTo : undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = new Map(argv.filter((a) => a.startsWith('--')).map((a) => [a.slice(2).split('=')[0]!, a.split('=').slice(1).join('=')]));
  const durationMs = parseDuration(flags.get('duration') || '1h');
  const faultEveryMs = parseDuration(flags.get('fault-every') || '60s');
  if (durationMs === undefined || faultEveryMs === undefined || flags.has('help')) {
    process.stderr.write('usage: node --import=@tapjs/typescript/import bench/soak.ts [--duration=1h] [--fault-every=60s] [--out=FILE]\n');
    return 2;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) {
    process.stderr.write('dist/cli.js is missing: run `npm run build` first\n');
    return 2;
  }
  const out = flags.get('out') || join(ROOT, 'bench', 'results', `soak-${new Date().toISOString().slice(0, 10)}.json`);
  // Ctrl-C or a SIGTERM ends the soak early but still cleans up (etcd, the loop mount) and writes the figures.
  const abort = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => abort.abort());
  const r = await runSoak({ durationMs, faultEveryMs, out, signal: abort.signal });
  const healthy = !r.crashed && r.exit.code === 0 && r.fds.growth <= 10 && r.scrapes.failed === 0 && r.scrapes.monotonicViolations.length === 0;
  return healthy ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
