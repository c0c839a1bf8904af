// What each of the agent's own (prom-client) collectors costs at a cold cadence: one call every
// 200 ms, as one scrape a second leaves them, medians of 80 after 20 of warm-up; then the whole
// registry's metrics() (collect + prom-client's formatting) against collecting alone.
// Results: bench/results/variants/self-metrics/collectors.txt (bench/README.md, fix 6).
//   node --import=@tapjs/typescript/import bench/experiments/collectors.ts
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry, type Metric } from 'prom-client';
import { registerSelfMetrics } from '../../src/export/prometheus/self-metrics.js';
import { sampleQuantile } from '../../src/lib/quantile.js';

const WARM_UP = 20;
const CALLS = 100;

const r = new Registry();
registerSelfMetrics(r);
/** The registered collectors themselves (getMetricsAsArray() is typed as their plain descriptions). */
const metrics = (): Array<{ name: string; metric: Metric }> =>
  r.getMetricsAsArray().flatMap(({ name }) => {
    const metric = r.getSingleMetric(name);
    return metric ? [{ name, metric }] : [];
  });
const us = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e3;
const median = (v: readonly number[]) => sampleQuantile(v, 0.5);
const cost = new Map<string, number[]>();
const full: number[] = [];
const collectOnly: number[] = [];
for (let i = 0; i < CALLS; i++) {
  await sleep(200);
  for (const m of metrics()) {
    const t = process.hrtime.bigint();
    await m.metric.get();
    if (i >= WARM_UP) cost.set(m.name, [...(cost.get(m.name) ?? []), us(t)]);
  }
  await sleep(200);
  let t = process.hrtime.bigint();
  await r.metrics();
  if (i >= WARM_UP) full.push(us(t));
  await sleep(200);
  t = process.hrtime.bigint();
  await Promise.all(metrics().map((m) => m.metric.get()));
  if (i >= WARM_UP) collectOnly.push(us(t));
}
for (const [name, v] of cost) console.log(`${name.padEnd(36)} ${median(v).toFixed(0).padStart(5)} µs`);
console.log(`registry.metrics() ${median(full).toFixed(0)} µs, collecting alone ${median(collectOnly).toFixed(0)} µs`);
