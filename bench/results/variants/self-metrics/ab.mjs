// A/B behind fix 6 of bench/README.md: two builds of the agent beside one etcd 3.4 (10 puts/s), each
// scraped at 1 req/s on its own keep-alive connection (the two offset by 500 ms, order alternating),
// with a GET /healthz 100 ms after each scrape as the control. Needs the compiled bench
// (`tsc -p bench/tsconfig.json`, into bench/.build/) and two builds' dist/cli.js; an arm may add Node
// flags after `::` (the same build with and without a flag). With JITTER=1 each scrape moves by a random
// 0–400 ms inside its half-second: the agents' own 1-s loops (probe round, etcd API call) otherwise
// keep one phase against the scrapes for minutes, so that an arm scraped just after its own gRPC call
// looks slower for a reason that is not its build (bench/README.md, fix 7):
//   node bench/results/variants/self-metrics/ab.mjs SECONDS A/dist/cli.js B/dist/cli.js
//   node bench/results/variants/self-metrics/ab.mjs SECONDS dist/cli.js dist/cli.js::--max-semi-space-size=1
import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace } from '../../../.build/bench/lib/setup.js';
const seconds = Number(process.argv[2] ?? 300);
const jitter = process.env.JITTER === '1';
const [armA, armB] = process.argv.slice(3).map((a) => {
  const [cli, flags = ''] = a.split('::');
  return { cli, nodeArgs: flags.split(/\s+/).filter(Boolean) };
});
const q = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
function getter(url) {
  const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return () => new Promise((res, rej) => { const t = process.hrtime.bigint(); http.get(url, { agent: ka, headers: { accept: 'text/plain;version=0.0.4' } }, (r) => { r.resume(); r.on('end', () => res(Number(process.hrtime.bigint() - t) / 1e6)); }).on('error', rej); });
}
await withWorkspace('ab', async (ws) => {
  const cluster = await startCluster(ws);
  startPutLoad(ws, cluster.endpoints, { rate: 10 });
  const A = await startDefaultAgent(ws, cluster.members[0], 'A', [], armA);
  const B = await startDefaultAgent(ws, cluster.members[0], 'B', [], armB);
  await sleep(10000);
  const arms = { A: { m: getter(A.url + '/metrics'), h: getter(A.url + '/healthz'), ms: [], hs: [] }, B: { m: getter(B.url + '/metrics'), h: getter(B.url + '/healthz'), ms: [], hs: [] } };
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    const order = i % 2 ? ['A', 'B'] : ['B', 'A'];
    for (let k = 0; k < 2; k++) {
      const w = t0 + i * 1000 + k * 500 + (jitter ? Math.random() * 400 : 0) - performance.now(); if (w > 0) await sleep(w);
      const a = arms[order[k]];
      a.ms.push(await a.m());
      await sleep(100);
      a.hs.push(await a.h());
    }
  }
  for (const [k, a] of Object.entries(arms)) console.log(k, `metrics p50 ${q(a.ms, .5).toFixed(2)} p90 ${q(a.ms, .9).toFixed(2)} p99 ${q(a.ms, .99).toFixed(2)} max ${q(a.ms, 1).toFixed(2)} | healthz p50 ${q(a.hs, .5).toFixed(2)} p99 ${q(a.hs, .99).toFixed(2)} | cpu ${(a === arms.A ? A : B).cpuSeconds().toFixed(2)} s`);
  const per = (v) => Array.from({ length: Math.floor(v.length / 60) }, (_, w) => q(v.slice(w * 60, w * 60 + 60), .99).toFixed(2)).join(' ');
  for (const [k, a] of Object.entries(arms)) console.log(k, 'p99 per 60:', per(a.ms));
});
