// What each of the agent's own (prom-client) collectors costs at a cold cadence: one call every
// 200 ms, as one scrape a second leaves them, medians of 80 after 20 of warm-up; then the whole
// registry's metrics() (collect + prom-client's formatting) against collecting alone.
// Needs the build (`npm run build`):  node bench/results/variants/self-metrics/collectors.mjs
import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerSelfMetrics } from '../../../../dist/export/self-metrics.js';

const r = new Registry();
registerSelfMetrics(r);
const us = (t) => Number(process.hrtime.bigint() - t) / 1e3;
const median = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
const cost = new Map();
const full = [];
const collectOnly = [];
for (let i = 0; i < 100; i++) {
  await sleep(200);
  for (const m of r.getMetricsAsArray()) {
    const t = process.hrtime.bigint();
    await m.get();
    if (i >= 20) (cost.get(m.name) ?? cost.set(m.name, []).get(m.name)).push(us(t));
  }
  await sleep(200);
  let t = process.hrtime.bigint();
  await r.metrics();
  if (i >= 20) full.push(us(t));
  await sleep(200);
  t = process.hrtime.bigint();
  await Promise.all(r.getMetricsAsArray().map((m) => m.get()));
  if (i >= 20) collectOnly.push(us(t));
}
for (const [name, v] of cost) console.log(`${name.padEnd(36)} ${median(v).toFixed(0).padStart(5)} µs`);
console.log(`registry.metrics() ${median(full).toFixed(0)} µs, collecting alone ${median(collectOnly).toFixed(0)} µs`);
