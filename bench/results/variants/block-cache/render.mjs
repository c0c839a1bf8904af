// Fix 7 in one process: two builds' /metrics registries on one AgentState holding real samples (the
// captured etcd 3.4 body, a diagnosis), a probe round recorded before every call (as at 1 req/s,
// where the probe and the etcd API change every second and the rest every 5 s or less often), the
// two called alternately. GAP_MS between calls (default 1000: cold, as a 1-s scraper runs them).
//   npm run build && node bench/results/variants/block-cache/render.mjs A/dist B/dist
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
const [dirA, dirB] = process.argv.slice(2).map((d) => resolve(d));
const mod = (dir, path) => import(`${dir}/${path}`);
const fixture = (path) => readFileSync(new URL(`../../../../test/fixtures/${path}`, import.meta.url), 'utf8');
const dist = resolve(new URL('../../../../dist', import.meta.url).pathname);
const { AgentState } = await mod(dist, 'state.js');
const { success, SOURCE_NAMES } = await mod(dist, 'sources/source.js');
const { extractEtcdMetrics } = await mod(dist, 'sources/etcd-metrics.js');
const { diagnose } = await mod(dist, 'analysis/diagnose.js');
const { DEFAULT_THRESHOLDS } = await mod(dist, 'analysis/thresholds.js');
const { collectEvidence } = await mod(dist, 'evidence.js');
const state = new AgentState(new Date(), new Set(SOURCE_NAMES));
const probe = () => ({ file: '/x/probe', sameFilesystemAsEtcd: true, durations: [0.001, 0.002, 0.0005], writtenBytes: 6000, freeBytes: 2 ** 30 });
state.record('etcd_metrics', success(extractEtcdMetrics(fixture('etcd/metrics-3.4-cluster-member.txt'))), new Date(), 0.01);
state.record('etcd_config', success({ heartbeatInterval: { value: 100, origin: 'default' }, electionTimeout: { value: 1000, origin: 'default' } }), new Date(), 0.001);
state.record('fsync_probe', success(probe()), new Date(), 0.01);
state.diagnosis = diagnose(collectEvidence(state, new Date(), DEFAULT_THRESHOLDS), DEFAULT_THRESHOLDS).diagnosis;
const arms = [dirA, dirB];
const registries = await Promise.all(arms.map(async (d) => (await mod(d, 'export/metrics.js')).createMetricsRegistry({ state, version: '1', member: 'm0' })));
const times = arms.map(() => []);
const gap = Number(process.env.GAP_MS ?? 1000);
const n = Number(process.env.N ?? 120);
for (let i = 0; i < n; i++) {
  state.record('fsync_probe', success(probe()), new Date(), 0.01);
  for (const k of i % 2 ? [0, 1] : [1, 0]) {
    const t = performance.now();
    await registries[k].metrics();
    times[k].push(performance.now() - t);
  }
  await new Promise((r) => setTimeout(r, gap));
}
const q = (v, p) => [...v].sort((a, b) => a - b)[Math.floor(p * v.length)];
arms.forEach((d, k) => console.log(`${d}: render p50 ${q(times[k], 0.5).toFixed(3)} ms, p90 ${q(times[k], 0.9).toFixed(3)} ms, mean ${(times[k].reduce((a, b) => a + b) / n).toFixed(3)} ms (n=${n}, ${gap} ms apart)`));
