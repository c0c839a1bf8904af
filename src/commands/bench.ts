// `etcd-latency-agent bench`: the fio etcd check, done by the agent's own probe — a fallocate()d
// file, WAL-sized writes each followed by fdatasync, and the p99 verdict against --wal-fsync-p99
// (etcd's 10 ms target by default).
import { ms, bytes, msToSeconds, seconds, type Seconds } from '../lib/units.js';
import { createFsyncProbe, DEFAULT_WRITE_SIZE, PROBE_BUCKETS, type ProbeLayout } from '../sources/fsync-probe.js';
import { DEFAULT_MEMBERS, recommendSettings } from '../analysis/election-model.js';
import { emptyHistogram, observe } from '../lib/histogram.js';
import { fmtRate } from '../lib/format.js';
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
  readonly model: BenchModel;
}

/** What the election model predicts if etcd's WAL met the measured distribution (docs/election-model.md). */
export interface BenchModel {
  readonly members: number;
  /** The rate at which etcd is assumed to sync its WAL: the measured fdatasyncs stand for that many seconds of etcd. */
  readonly fsyncsPerSecond: number;
  readonly settings: { readonly heartbeat: number; readonly election: number; readonly known: boolean };
  /** Elections per day if etcd led from this disk at those settings. */
  readonly electionsPerDay: number;
  /** The settings it would need, when those miss the target; meetsTarget false: none within etcd's limits do. */
  readonly needs?: { readonly heartbeat: number; readonly election: number; readonly electionsPerDay: number; readonly meetsTarget: boolean };
}

/**
 * The measured fdatasyncs come back to back, far faster than etcd syncs its WAL: the model reads them
 * as this many a second of etcd (the agent's probe rate, --probe-writes 10 a second), so a stall one in
 * a thousand fdatasyncs is one every 100 s, not one a millisecond.
 */
const ETCD_FSYNCS_PER_SECOND = 10;

function benchModel(config: Config, durations: readonly number[]): BenchModel {
  const known = config.etcdHeartbeatInterval !== undefined && config.etcdElectionTimeout !== undefined;
  const settings = known
    ? { heartbeat: { value: config.etcdHeartbeatInterval!, origin: 'flag' as const }, election: { value: config.etcdElectionTimeout!, origin: 'flag' as const } }
    : undefined;
  const t = recommendSettings({
    stalls: { histogram: observe(emptyHistogram(PROBE_BUCKETS), durations), window: seconds(durations.length / ETCD_FSYNCS_PER_SECOND) },
    stallSource: 'probe',
    ...(settings ? { settings } : {}),
    targetElectionsPerDay: config.thresholds.targetElectionsPerDay,
    maxTuningElection: config.thresholds.maxTuningElection,
    stallRepresentative: config.thresholds.stallRepresentative,
  });
  const c = t.current;
  const r = t.recommended;
  return {
    members: DEFAULT_MEMBERS,
    fsyncsPerSecond: ETCD_FSYNCS_PER_SECOND,
    settings: { heartbeat: c.heartbeat, election: c.election, known },
    electionsPerDay: c.electionsPerDay,
    ...(c.electionsPerDay >= t.targetElectionsPerDay
      ? { needs: { heartbeat: r.heartbeat, election: r.election, electionsPerDay: r.electionsPerDay, meetsTarget: t.meetsTarget } }
      : {}),
  };
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
    model: benchModel(config, durations),
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
    ...renderModel(r.model),
  ].join('\n');
}

function renderModel(m: BenchModel): string[] {
  const s = m.settings;
  const at = `${s.heartbeat}/${s.election} ms heartbeat/election${s.known ? '' : " (etcd's defaults; give --etcd-heartbeat-interval and --etcd-election-timeout for yours)"}`;
  const head = `  election model, ${m.members} members, as if etcd synced its WAL ${m.fsyncsPerSecond} times a second with these latencies:`;
  const rate = `    at ${at}: ${fmtRate(m.electionsPerDay)} elections/day while the leader's WAL is on this disk`;
  const n = m.needs;
  if (!n) return [head, rate, '    the running settings ride these stalls out'];
  const needs = n.meetsTarget
    ? `    would need --heartbeat-interval=${n.heartbeat} --election-timeout=${n.election} (${fmtRate(n.electionsPerDay)} elections/day)`
    : `    no settings within etcd's limits keep elections rare here (at most ${n.heartbeat}/${n.election} ms: ${fmtRate(n.electionsPerDay)}/day): fix the disk`;
  return [head, rate, needs];
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
