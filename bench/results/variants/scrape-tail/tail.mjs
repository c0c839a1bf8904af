// Where the slow scrapes' time goes: one agent (a build's dist/cli.js, traced by trace-preload.mjs)
// beside one etcd 3.4 (10 puts/s), scraped at 1 req/s on a keep-alive connection; then each of the
// slowest 5% of scrapes is set beside what the agent was doing: time before Node emitted 'request',
// time in the handler, GCs and other callbacks overlapping it.
//   node bench/results/variants/scrape-tail/tail.mjs SECONDS CLI [extra node flags...]
import { setTimeout as sleep } from 'node:timers/promises';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace } from '../../../.build/bench/lib/setup.js';
const seconds = Number(process.argv[2] ?? 180);
const periodMs = Number(process.env.PERIOD_MS ?? 1000);
const cli = process.argv[3];
const flags = process.argv.slice(4);
const callbacks = process.env.TRACE_CALLBACKS ?? '1';
const preload = `${new URL('./trace-preload.mjs', import.meta.url).href}?callbacks=${callbacks}`;
const q = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (url) => new Promise((res, rej) => { const sent = performance.timeOrigin + performance.now(); const t = process.hrtime.bigint(); http.get(url, { agent: ka, headers: { accept: 'text/plain;version=0.0.4' } }, (r) => { r.resume(); r.on('end', () => res({ sent, ms: Number(process.hrtime.bigint() - t) / 1e6 })); }).on('error', rej); });
let pid;
const scrapes = [];
await withWorkspace('tail', async (ws) => {
  const cluster = await startCluster(ws);
  startPutLoad(ws, cluster.endpoints, { rate: 10 });
  const A = await startDefaultAgent(ws, cluster.members[0], 'A', [], { cli, nodeArgs: [`--import=${preload}`, ...flags] });
  pid = A.pid();
  await sleep(10000);
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    const w = t0 + i * periodMs - performance.now(); if (w > 0) await sleep(w);
    scrapes.push(await get(A.url + '/metrics'));
  }
  await A.stop();
  copyFileSync(A.logFile, '/tmp/scrape-tail-agent.log');
});
const trace = JSON.parse(readFileSync(`/tmp/scrape-trace-${pid}.json`, 'utf8'));
copyFileSync(`/tmp/scrape-trace-${pid}.json`, '/tmp/scrape-tail-trace.json');
const reqs = trace.reqs.filter((r) => r.url === '/metrics' && r.finish);
// pair each client scrape with the server request that arrived after it was sent
const rows = scrapes.map((s) => { const r = reqs.find((x) => x.arrive >= s.sent - 1); return { ...s, wait: r.arrive - s.sent, handler: r.finish - r.arrive, r }; });
const ms = rows.map((r) => r.ms);
writeFileSync('/tmp/scrape-tail-rows.json', JSON.stringify(rows));
console.log(`n ${rows.length} client p50 ${q(ms, .5).toFixed(2)} p90 ${q(ms, .9).toFixed(2)} p99 ${q(ms, .99).toFixed(2)} max ${q(ms, 1).toFixed(2)}`);
console.log(`handler p50 ${q(rows.map((r) => r.handler), .5).toFixed(2)} p99 ${q(rows.map((r) => r.handler), .99).toFixed(2)}; send→request p50 ${q(rows.map((r) => r.wait), .5).toFixed(2)} p99 ${q(rows.map((r) => r.wait), .99).toFixed(2)}`);
const gcPerSec = trace.gcs.length / seconds;
console.log(`GCs ${trace.gcs.length} (${gcPerSec.toFixed(2)}/s), median ${q(trace.gcs.map((g) => g.dur), .5).toFixed(2)} ms, max ${q(trace.gcs.map((g) => g.dur), 1).toFixed(2)} ms; callbacks > 0.2 ms: ${trace.busy.length}`);
const slow = [...rows].sort((a, b) => b.ms - a.ms).slice(0, Math.ceil(rows.length * 0.05));
for (const s of slow) {
  const lo = s.sent - 5, hi = s.sent + s.ms;
  const gc = trace.gcs.filter((g) => g.start < hi && g.start + g.dur > lo).map((g) => `gc${g.kind}@${(g.start - s.sent).toFixed(1)}+${g.dur.toFixed(2)}`);
  const cb = trace.busy.filter((b) => b.start < hi && b.start + b.dur > lo).map((b) => `${b.type}@${(b.start - s.sent).toFixed(1)}+${b.dur.toFixed(2)}`);
  console.log(`${s.ms.toFixed(2)} ms: wait ${s.wait.toFixed(2)} handler ${s.handler.toFixed(2)} | ${[...gc, ...cb].join(' ')}`);
}
