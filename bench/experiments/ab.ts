// A/B behind fix 6 of bench/README.md: two builds of the agent beside one etcd 3.4 (10 puts/s), each
// scraped at 1 req/s on its own keep-alive connection (the two offset by 500 ms, order alternating),
// with a GET /healthz 100 ms after each scrape as the control. Takes two builds' dist/cli.js; an arm
// may add Node flags after `::` (the same build with and without a flag). With JITTER=1 each scrape
// moves by a random 0–400 ms inside its half-second: the agents' own 1-s loops (probe round, etcd API
// call) otherwise keep one phase against the scrapes for minutes, so that an arm scraped just after
// its own gRPC call looks slower for a reason that is not its build (bench/README.md, fix 7).
// Results: bench/results/variants/self-metrics/ab-300s.txt, block-cache/ab-300s*.txt and
// semi-space-scrape/ab-300s.txt (bench/README.md, fixes 6 and 7).
//   node --import=@tapjs/typescript/import bench/experiments/ab.ts SECONDS A/dist/cli.js B/dist/cli.js
//   node --import=@tapjs/typescript/import bench/experiments/ab.ts SECONDS dist/cli.js dist/cli.js::--max-semi-space-size=1
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleQuantile } from '../../src/lib/quantile.js';
import type { BenchAgent } from '../lib/agent.js';
import { Scraper, TEXT_ACCEPT } from '../lib/http.js';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace } from '../lib/setup.js';

const seconds = Number(process.argv[2] ?? 300);
const jitter = process.env['JITTER'] === '1';
const [armA, armB] = process.argv.slice(3, 5).map((a) => {
  const [cli = '', flags = ''] = a.split('::');
  return { cli, nodeArgs: flags.split(/\s+/).filter(Boolean) };
});
if (armA === undefined || armB === undefined) throw new Error('usage: ab.ts SECONDS A-cli.js[::node flags] B-cli.js[::node flags]');

const q = (v: readonly number[], p: number) => sampleQuantile(v, p).toFixed(2);

interface Arm {
  readonly agent: BenchAgent;
  readonly metrics: Scraper;
  readonly healthz: Scraper;
  /** Milliseconds per request. */
  readonly ms: number[];
  readonly hs: number[];
}

const armOf = (agent: BenchAgent): Arm => ({ agent, metrics: new Scraper(`${agent.url}/metrics`, TEXT_ACCEPT), healthz: new Scraper(`${agent.url}/healthz`, TEXT_ACCEPT), ms: [], hs: [] });
const timedMs = async (s: Scraper) => (await s.get()).seconds * 1000;

await withWorkspace('ab', async (ws) => {
  const cluster = await startCluster(ws);
  const member = cluster.members[0]!;
  startPutLoad(ws, cluster.endpoints, { rate: 10 });
  const arms: Record<'A' | 'B', Arm> = {
    A: armOf(await startDefaultAgent(ws, member, 'A', [], armA)),
    B: armOf(await startDefaultAgent(ws, member, 'B', [], armB)),
  };
  await sleep(10000);
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    const order = i % 2 ? (['A', 'B'] as const) : (['B', 'A'] as const);
    for (let k = 0; k < 2; k++) {
      const w = t0 + i * 1000 + k * 500 + (jitter ? Math.random() * 400 : 0) - performance.now();
      if (w > 0) await sleep(w);
      const a = arms[order[k]!];
      a.ms.push(await timedMs(a.metrics));
      await sleep(100);
      a.hs.push(await timedMs(a.healthz));
    }
  }
  for (const [k, a] of Object.entries(arms)) {
    console.log(k, `metrics p50 ${q(a.ms, 0.5)} p90 ${q(a.ms, 0.9)} p99 ${q(a.ms, 0.99)} max ${q(a.ms, 1)} | healthz p50 ${q(a.hs, 0.5)} p99 ${q(a.hs, 0.99)} | cpu ${a.agent.cpuSeconds()?.toFixed(2)} s`);
  }
  const per = (v: readonly number[]) => Array.from({ length: Math.floor(v.length / 60) }, (_, w) => q(v.slice(w * 60, w * 60 + 60), 0.99)).join(' ');
  for (const [k, a] of Object.entries(arms)) console.log(k, 'p99 per 60:', per(a.ms));
  for (const a of Object.values(arms)) {
    a.metrics.close();
    a.healthz.close();
  }
});
