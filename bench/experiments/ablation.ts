// Ablation behind fix 3 of bench/README.md's accuracy section: fio's etcd check, a plain Node loop on
// a fallocated file, the probe in-process (this tree's src/sources/fsync-probe.ts, rounds of W), and
// the bench command of the built agent (dist/cli.js, or another build's cli.js in BENCH_AGENT_CLI),
// interleaved in R rounds of N fdatasyncs each, in DIR.
// Results: bench/results/variants/bench-rounds/ (W3-bench-before.txt, W100-bench-after.txt).
//   N=10029 R=6 W=3 node --import=@tapjs/typescript/import bench/experiments/ablation.ts
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { sampleQuantile } from '../../src/lib/quantile.js';
import { bytes, ms } from '../../src/lib/units.js';
import { createFsyncProbe } from '../../src/sources/fsync-probe.js';
import { AGENT_CLI } from '../lib/common.js';

const N = Number(process.env['N'] ?? 10029);
const BS = 2300;
const dir = process.env['DIR'] ?? '/var/tmp/accexp';

/** Median and p99 of one arm's run, in milliseconds. */
interface Run {
  readonly p50: number;
  readonly p99: number;
}

const summary = (msValues: readonly number[]): Run => ({ p50: sampleQuantile(msValues, 0.5), p99: sampleQuantile(msValues, 0.99) });

function freshDir(): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
}

function nodeLoop(): Run {
  freshDir();
  const f = `${dir}/f`;
  const fd = openSync(f, 'w+');
  execFileSync('fallocate', ['-l', String(22 * 2 ** 20), f]);
  fdatasyncSync(fd);
  const buf = randomBytes(BS);
  const d: number[] = [];
  for (let i = 0; i < N; i++) {
    writeSync(fd, buf, 0, BS, i * BS);
    const t = process.hrtime.bigint();
    fdatasyncSync(fd);
    d.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  closeSync(fd);
  return summary(d);
}

function fio(): Run {
  freshDir();
  const out = execFileSync('fio', ['--name=x', `--directory=${dir}`, '--rw=write', '--ioengine=sync', '--fdatasync=1', `--size=${N * BS}`, `--bs=${BS}`, '--output-format=json']).toString();
  const p = (JSON.parse(out.slice(out.indexOf('{'))) as { jobs: Array<{ sync: { lat_ns: { percentile: Record<string, number> } } }> }).jobs[0]!.sync.lat_ns.percentile;
  return { p50: p['50.000000']! / 1e6, p99: p['99.000000']! / 1e6 };
}

function bench(): Run {
  freshDir();
  const out = execFileSync(process.execPath, [AGENT_CLI, 'bench', `--probe-dir=${dir}`, '--probe-min-free=1MiB', `--etcd-data-dir=${dir}/none`, `--count=${N}`, '--json']).toString();
  const j = JSON.parse(out) as { seconds: { p50: number; p99: number } };
  return { p50: j.seconds.p50 * 1000, p99: j.seconds.p99 * 1000 };
}

async function probe(): Promise<Run> {
  freshDir();
  const p = createFsyncProbe({ dir, etcdWalDir: `${dir}/none/member/wal`, fileSize: bytes(22 * 2 ** 20), writeSize: bytes(BS), writesPerRound: Number(process.env['W'] ?? 93), minFreeBytes: bytes(2 ** 20), interval: ms(0), blocking: true });
  const d: number[] = [];
  try {
    while (d.length < N) {
      const o = await p.sample(new Date());
      if (!o.ok) throw new Error(o.message);
      d.push(...o.value.durations.map((x) => x * 1000));
    }
  } finally {
    await p.close();
  }
  return summary(d);
}

const arms: Record<string, () => Run | Promise<Run>> = { fio, falloc: nodeLoop, probe, bench };
const names = Object.keys(arms);
const res = new Map<string, Run[]>(names.map((n) => [n, []]));
const rounds = Number(process.env['R'] ?? 6);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < names.length; k++) {
    const n = names[(k + r) % names.length]!;
    res.get(n)!.push(await arms[n]!());
  }
}
const med = (a: readonly number[]) => sampleQuantile(a, 0.5);
const runsOf = (n: string) => res.get(n)!;
for (const n of names) console.log(n, 'p50', med(runsOf(n).map((x) => x.p50)).toFixed(3), 'p99', med(runsOf(n).map((x) => x.p99)).toFixed(3));
const fioRuns = runsOf('fio');
for (const n of ['falloc', 'probe', 'bench']) {
  const ratio = (key: keyof Run) => med(runsOf(n).map((x, i) => x[key] / fioRuns[i]![key])).toFixed(2);
  console.log(`${n}/fio`, 'p50', ratio('p50'), 'p99', ratio('p99'));
}
rmSync(dir, { recursive: true, force: true });
