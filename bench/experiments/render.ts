// Fix 7 in one process: two builds' /metrics registries on one AgentState holding real samples (the
// captured etcd 3.4 body, a diagnosis), a probe round recorded before every call (as at 1 req/s,
// where the probe and the etcd API change every second and the rest every 5 s or less often), the
// two called alternately. GAP_MS between calls (default 1000: cold, as a 1-s scraper runs them), N
// calls each (default 120). The state is this tree's (src/); each arm is a build's compiled metrics
// module (a build's dist/export/prometheus/metrics.js), loaded by path because comparing builds is
// the point.
// Results: bench/results/variants/block-cache/render-1000ms.txt (bench/README.md, fix 7).
//   npm run build && node --import=@tapjs/typescript/import bench/experiments/render.ts \
//     A/dist/export/prometheus/metrics.js B/dist/export/prometheus/metrics.js
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { diagnose } from '../../src/analysis/diagnose.js';
import { collectEvidence } from '../../src/analysis/evidence.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { success } from '../../src/lib/outcome.js';
import { sampleQuantile } from '../../src/lib/quantile.js';
import { bytes, ms, seconds } from '../../src/lib/units.js';
import { extractEtcdMetrics } from '../../src/sources/etcd-metrics.js';
import { SOURCE_NAMES } from '../../src/sources/source.js';
import { AgentState } from '../../src/state/state.js';
import { ROOT } from '../lib/common.js';

type MetricsModule = typeof import('../../src/export/prometheus/metrics.js');

const arms = process.argv.slice(2, 4).map((p) => resolve(p));
if (arms.length !== 2) throw new Error('usage: render.ts A-metrics.js B-metrics.js');
const gap = Number(process.env['GAP_MS'] ?? 1000);
const n = Number(process.env['N'] ?? 120);

const fixture = (path: string) => readFileSync(join(ROOT, 'test', 'fixtures', path), 'utf8');
const state = new AgentState(new Date(), new Set(SOURCE_NAMES));
const recordProbe = () =>
  state.record('fsync_probe', success({ file: '/x/probe', sameFilesystemAsEtcd: true, durations: [seconds(0.001), seconds(0.002), seconds(0.0005)], writtenBytes: bytes(6000), freeBytes: bytes(2 ** 30) }), new Date(), seconds(0.01));
state.record('etcd_metrics', success(extractEtcdMetrics(fixture('etcd/metrics-3.4-cluster-member.txt'))), new Date(), seconds(0.01));
state.record('etcd_config', success({ heartbeatInterval: { value: ms(100), origin: 'default' }, electionTimeout: { value: ms(1000), origin: 'default' } }), new Date(), seconds(0.001));
recordProbe();
state.diagnosis = diagnose(collectEvidence(state, new Date(), DEFAULT_THRESHOLDS), DEFAULT_THRESHOLDS).diagnosis;

const registries = await Promise.all(arms.map(async (file) => ((await import(pathToFileURL(file).href)) as MetricsModule).createMetricsRegistry({ state, version: '1', member: 'm0' })));
const times: number[][] = arms.map(() => []);
for (let i = 0; i < n; i++) {
  recordProbe();
  for (const k of i % 2 ? [0, 1] : [1, 0]) {
    const t = performance.now();
    await registries[k]!.metrics();
    times[k]!.push(performance.now() - t);
  }
  await sleep(gap);
}
arms.forEach((file, k) => {
  const v = times[k]!;
  console.log(`${file}: render p50 ${sampleQuantile(v, 0.5).toFixed(3)} ms, p90 ${sampleQuantile(v, 0.9).toFixed(3)} ms, mean ${(v.reduce((a, b) => a + b, 0) / n).toFixed(3)} ms (n=${n}, ${gap} ms apart)`);
});
