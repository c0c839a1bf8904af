// `etcd-latency-agent bench`: the fio etcd check, done by the agent's own probe — a fallocate()d
// file, WAL-sized writes each followed by fdatasync, and the p99 verdict against --wal-fsync-p99
// (etcd's 10 ms target by default).
import { ms, bytes, msToSeconds, type Seconds } from '../lib/units.js';
import { createFsyncProbe, DEFAULT_WRITE_SIZE, type ProbeLayout } from '../sources/fsync-probe.js';
import type { Config } from './config.js';
import { ConfigError } from '../lib/errors.js';
import { nearestRank } from '../lib/quantile.js';

/** fio's etcd test: `--size=22m --bs=2300` gives ~10 000 fdatasyncs. */
const DEFAULT_COUNT = 10_000;
const FIO_FILE_SIZE = bytes(22 * 2 ** 20);
/** At most this many fdatasyncs per probe round: each round is timed synchronously, then the progress bar is redrawn. */
const ROUND = 100;

export const BENCH_FLAGS = { valued: ['count'], boolean: ['json'] } as const;

export interface BenchResult {
  readonly dir: string;
  readonly file: string;
  readonly sameFilesystemAsEtcd: boolean | null;
  /** How the file was laid out; `zero-filled` (fallocate unavailable) measures faster than etcd's WAL. */
  readonly layout: ProbeLayout;
  readonly writeSize: number;
  readonly fdatasyncs: number;
  readonly seconds: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number };
  readonly target: Seconds;
  readonly pass: boolean;
}

export function parseBenchFlags(extra: ReadonlyMap<string, string>): { count: number; json: boolean } {
  const countText = extra.get('count');
  const count = countText === undefined ? DEFAULT_COUNT : Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) throw new ConfigError(`--count: "${countText}" must be a whole number from 1 to 10000000`);
  const jsonText = extra.get('json');
  if (jsonText !== undefined && !['true', 'false'].includes(jsonText)) throw new ConfigError('--json takes no value (or true/false)');
  return { count, json: jsonText === 'true' };
}

/**
 * Round sizes adding up to exactly `count`: full rounds, then the remainder, so that no fdatasync is
 * made and thrown away. Not many small rounds: the probe's checks between two rounds (stat, statfs,
 * the thread pool) make the next fdatasync slower — rounds of 3 read 10–15% above fio at p50.
 */
export function benchRounds(count: number): number[] {
  const rounds = new Array<number>(Math.floor(count / ROUND)).fill(ROUND);
  if (count % ROUND > 0) rounds.push(count % ROUND);
  return rounds;
}

export async function runBench(config: Config, dir: string, count: number, progress: (done: number, total: number) => void): Promise<BenchResult> {
  const probe = createFsyncProbe({
    dir,
    etcdWalDir: config.etcdWalDir ?? `${config.etcdDataDir}/member/wal`,
    fileSize: FIO_FILE_SIZE,
    writeSize: DEFAULT_WRITE_SIZE,
    writesPerRound: ROUND,
    minFreeBytes: config.probeMinFree,
    interval: ms(0),
    blocking: true,
  });
  const durations: number[] = [];
  let file = '';
  let same: boolean | undefined;
  let layout: ProbeLayout = 'fallocated';
  try {
    for (const writes of benchRounds(count)) {
      const outcome = await probe.sampleWrites(writes);
      if (!outcome.ok) throw new ConfigError(`bench cannot write in ${dir}: ${outcome.message}`);
      file = outcome.value.file;
      same = outcome.value.sameFilesystemAsEtcd;
      layout = outcome.value.layout;
      durations.push(...outcome.value.durations);
      progress(durations.length, count);
    }
  } finally {
    await probe.close();
  }
  const sorted = [...durations].sort((a, b) => a - b);
  const q = (x: number) => nearestRank(sorted, x);
  const p99 = q(0.99);
  // The same target as the agent's wal_fsync_slow finding (--wal-fsync-p99; etcd FAQ: under 10 ms).
  const target = msToSeconds(config.thresholds.walFsyncP99);
  return {
    dir,
    file,
    sameFilesystemAsEtcd: same ?? null,
    layout,
    writeSize: DEFAULT_WRITE_SIZE,
    fdatasyncs: durations.length,
    seconds: { p50: q(0.5), p90: q(0.9), p99, p999: q(0.999), max: sorted[sorted.length - 1]!, mean: durations.reduce((a, b) => a + b, 0) / durations.length },
    target,
    pass: p99 < target,
  };
}

const fmtMs = (s: number) => `${(s * 1000).toFixed(2)} ms`;

const LAYOUT_TEXT: Record<ProbeLayout, string> = {
  fallocated: "a fallocate()d file, as etcd's WAL segments",
  'zero-filled': "a file preallocated with zeros (fallocate unavailable): faster than etcd's WAL, so optimistic",
};

export function renderBench(r: BenchResult): string {
  const fsNote = r.sameFilesystemAsEtcd === null ? "etcd's WAL dir not found here" : r.sameFilesystemAsEtcd ? "same filesystem as etcd's WAL" : "NOT etcd's filesystem";
  return [
    `fdatasync latency in ${r.dir} (${fsNote})`,
    `  ${r.fdatasyncs} writes of ${r.writeSize} bytes, each followed by fdatasync, in ${LAYOUT_TEXT[r.layout]}`,
    `  p50 ${fmtMs(r.seconds.p50)}   p90 ${fmtMs(r.seconds.p90)}   p99 ${fmtMs(r.seconds.p99)}   p99.9 ${fmtMs(r.seconds.p999)}   max ${fmtMs(r.seconds.max)}`,
    r.pass
      ? `  PASS: p99 ${fmtMs(r.seconds.p99)} is under etcd's ${fmtMs(r.target)} target`
      : `  FAIL: p99 ${fmtMs(r.seconds.p99)} is over etcd's ${fmtMs(r.target)} target: this disk is too slow for etcd's WAL`,
  ].join('\n');
}

/** A one-line progress bar, redrawn in place; only on a terminal. */
export function progressBar(stream: NodeJS.WriteStream): (done: number, total: number) => void {
  if (!stream.isTTY) return () => {};
  return (done, total) => {
    const width = 40;
    const filled = Math.round((done / total) * width);
    stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} fdatasyncs${done === total ? '\n' : ''}`);
  };
}
