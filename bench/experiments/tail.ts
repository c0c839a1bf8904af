// Where the slow scrapes' time goes: one agent (a build's dist/cli.js, traced by trace-preload.ts)
// beside one etcd 3.4 (10 puts/s), scraped every PERIOD_MS (default 1000) on a keep-alive connection;
// then each of the slowest 5% of scrapes is set beside what the agent was doing: time before Node
// emitted 'request', time in the handler, GCs and other callbacks overlapping it. TRACE_CALLBACKS=0
// leaves the async_hooks out. Leaves /tmp/scrape-tail-{agent.log,trace.json,rows.json} for
// timeline.ts; with --cpu-prof among the node flags, the agent's profile for busy.ts and timeline.ts.
// Results: bench/results/variants/scrape-tail/tail-s7-180s.txt (bench/README.md, scrape latency).
//   node --import=@tapjs/typescript/import bench/experiments/tail.ts SECONDS CLI [extra node flags...]
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { sampleQuantile } from '../../src/lib/quantile.js';
import { ROOT } from '../lib/common.js';
import { Scraper, TEXT_ACCEPT } from '../lib/http.js';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace } from '../lib/setup.js';
import type { Trace, TracedRequest } from './trace-preload.js';

/** One client scrape beside the agent's record of the same request. */
export interface TailRow {
  /** Epoch ms when the request was sent. */
  readonly sent: number;
  /** Client-side duration, ms. */
  readonly ms: number;
  /** From sending to Node's 'request' event, ms. */
  readonly wait: number;
  /** From 'request' to the response's end, ms. */
  readonly handler: number;
  readonly r: TracedRequest;
}

const seconds = Number(process.argv[2] ?? 180);
const periodMs = Number(process.env['PERIOD_MS'] ?? 1000);
const cli = process.argv[3];
const flags = process.argv.slice(4);
const callbacks = process.env['TRACE_CALLBACKS'] ?? '1';

const q = (v: readonly number[], p: number) => sampleQuantile(v, p).toFixed(2);
/** A scrape with the epoch ms it was sent at, to find it in the agent's trace. */
async function scrape(scraper: Scraper): Promise<{ sent: number; ms: number }> {
  const sent = performance.timeOrigin + performance.now();
  return { sent, ms: (await scraper.get()).seconds * 1000 };
}

let pid: number | undefined;
const scrapes: Array<{ sent: number; ms: number }> = [];
await withWorkspace('tail', async (ws) => {
  // The agent's node loads the preload with no TypeScript loader, whatever ran this file: plain JS.
  const preloadFile = join(ws.dir, 'trace-preload.mjs');
  const source = readFileSync(join(ROOT, 'bench', 'experiments', 'trace-preload.ts'), 'utf8');
  writeFileSync(preloadFile, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  const preload = `${pathToFileURL(preloadFile).href}?callbacks=${callbacks}`;
  const cluster = await startCluster(ws);
  startPutLoad(ws, cluster.endpoints, { rate: 10 });
  const A = await startDefaultAgent(ws, cluster.members[0]!, 'A', [], { ...(cli ? { cli } : {}), nodeArgs: [`--import=${preload}`, ...flags] });
  pid = A.pid();
  const scraper = new Scraper(`${A.url}/metrics`, TEXT_ACCEPT);
  await sleep(10000);
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    const w = t0 + i * periodMs - performance.now();
    if (w > 0) await sleep(w);
    scrapes.push(await scrape(scraper));
  }
  scraper.close();
  await A.stop();
  copyFileSync(A.logFile, '/tmp/scrape-tail-agent.log');
});
const traceFile = `/tmp/scrape-trace-${pid}.json`;
const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as Trace;
copyFileSync(traceFile, '/tmp/scrape-tail-trace.json');
const reqs = trace.reqs.filter((r) => r.url === '/metrics' && r.finish);
// pair each client scrape with the server request that arrived after it was sent
const rows: TailRow[] = scrapes.map((s) => {
  const r = reqs.find((x) => x.arrive >= s.sent - 1);
  if (r === undefined) throw new Error(`no traced request after the scrape sent at ${s.sent}`);
  return { ...s, wait: r.arrive - s.sent, handler: r.finish - r.arrive, r };
});
const ms = rows.map((r) => r.ms);
writeFileSync('/tmp/scrape-tail-rows.json', JSON.stringify(rows));
console.log(`n ${rows.length} client p50 ${q(ms, 0.5)} p90 ${q(ms, 0.9)} p99 ${q(ms, 0.99)} max ${q(ms, 1)}`);
console.log(`handler p50 ${q(rows.map((r) => r.handler), 0.5)} p99 ${q(rows.map((r) => r.handler), 0.99)}; send→request p50 ${q(rows.map((r) => r.wait), 0.5)} p99 ${q(rows.map((r) => r.wait), 0.99)}`);
const gcPerSec = trace.gcs.length / seconds;
console.log(`GCs ${trace.gcs.length} (${gcPerSec.toFixed(2)}/s), median ${q(trace.gcs.map((g) => g.dur), 0.5)} ms, max ${q(trace.gcs.map((g) => g.dur), 1)} ms; callbacks > 0.2 ms: ${trace.busy.length}`);
const slow = [...rows].sort((a, b) => b.ms - a.ms).slice(0, Math.ceil(rows.length * 0.05));
for (const s of slow) {
  const lo = s.sent - 5;
  const hi = s.sent + s.ms;
  const gc = trace.gcs.filter((g) => g.start < hi && g.start + g.dur > lo).map((g) => `gc${g.kind}@${(g.start - s.sent).toFixed(1)}+${g.dur.toFixed(2)}`);
  const cb = trace.busy.filter((b) => b.start < hi && b.start + b.dur > lo).map((b) => `${b.type}@${(b.start - s.sent).toFixed(1)}+${b.dur.toFixed(2)}`);
  console.log(`${s.ms.toFixed(2)} ms: wait ${s.wait.toFixed(2)} handler ${s.handler.toFixed(2)} | ${[...gc, ...cb].join(' ')}`);
}
