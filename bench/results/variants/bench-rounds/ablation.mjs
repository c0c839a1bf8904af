// Ablation behind fix 3 of bench/README.md's accuracy section: fio's etcd check, a plain Node loop on
// a fallocated file, the probe in-process (rounds of W), and the bench command of the build in
// DIST (default: this repository's dist/), interleaved in R rounds of N fdatasyncs each.
//   N=10029 R=6 W=3 node bench/results/variants/bench-rounds/ablation.mjs
import { openSync, writeSync, fdatasyncSync, closeSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
const DIST = process.env.DIST ?? fileURLToPath(new URL('../../../../dist/', import.meta.url));
const { createFsyncProbe } = await import(`${DIST}/sources/fsync-probe.js`);
const N = Number(process.env.N ?? 10029), BS = 2300, dir = process.env.DIR ?? '/var/tmp/accexp';
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length, Math.max(1, Math.ceil(p * s.length))) - 1]; };
function node(mode) {
  rmSync(dir, { recursive: true, force: true }); mkdirSync(dir);
  const f = `${dir}/f`; const fd = openSync(f, 'w+');
  if (mode === 'falloc') { execFileSync('fallocate', ['-l', String(22 * 2 ** 20), f]); fdatasyncSync(fd); }
  const buf = randomBytes(BS); const d = [];
  for (let i = 0; i < N; i++) { writeSync(fd, buf, 0, BS, i * BS); const t = process.hrtime.bigint(); fdatasyncSync(fd); d.push(Number(process.hrtime.bigint() - t) / 1e6); }
  closeSync(fd); return { p50: q(d, .5), p99: q(d, .99) };
}
function fio() {
  rmSync(dir, { recursive: true, force: true }); mkdirSync(dir);
  const out = execFileSync('fio', ['--name=x', `--directory=${dir}`, '--rw=write', '--ioengine=sync', '--fdatasync=1', `--size=${N * BS}`, `--bs=${BS}`, '--output-format=json']).toString();
  const p = JSON.parse(out.slice(out.indexOf('{'))).jobs[0].sync.lat_ns.percentile;
  return { p50: p['50.000000'] / 1e6, p99: p['99.000000'] / 1e6 };
}
function bench() {
  rmSync(dir, { recursive: true, force: true }); mkdirSync(dir);
  const j = JSON.parse(execFileSync('node', [`${DIST}/cli.js`, 'bench', `--probe-dir=${dir}`, '--probe-min-free=1MiB', `--etcd-data-dir=${dir}/none`, `--count=${N}`, '--json']).toString());
  return { p50: j.seconds.p50 * 1000, p99: j.seconds.p99 * 1000 };
}
async function probe() {
  rmSync(dir, { recursive: true, force: true }); mkdirSync(dir);
  const p = createFsyncProbe({ dir, etcdWalDir: `${dir}/none/member/wal`, fileSize: 22 * 2 ** 20, writeSize: BS, writesPerRound: Number(process.env.W ?? 93), minFreeBytes: 2 ** 20, interval: 0, blocking: true });
  const d = [];
  while (d.length < N) { const o = await p.sample(new Date()); if (!o.ok) throw new Error(o.message); d.push(...o.value.durations.map((x) => x * 1000)); }
  await p.close();
  return { p50: q(d, .5), p99: q(d, .99) };
}
const arms = { fio, falloc: () => node('falloc'), probe, bench };
const names = Object.keys(arms); const res = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < Number(process.env.R ?? 6); r++) for (let k = 0; k < names.length; k++) { const n = names[(k + r) % names.length]; res[n].push(await arms[n]()); }
const med = (a) => q(a, .5);
for (const n of names) console.log(n, 'p50', med(res[n].map((x) => x.p50)).toFixed(3), 'p99', med(res[n].map((x) => x.p99)).toFixed(3));
for (const n of ['falloc', 'probe', 'bench']) console.log(n + '/fio', 'p50', med(res[n].map((x, i) => x.p50 / res.fio[i].p50)).toFixed(2), 'p99', med(res[n].map((x, i) => x.p99 / res.fio[i].p99)).toFixed(2));
rmSync(dir, { recursive: true, force: true });
