// What else holds the agent's event loop, from a --cpu-prof profile of tail.ts: runs of consecutive
// non-idle samples of 0.5 ms or more, each named by the agent's function nearest the top of its
// stack, counted with their median and longest duration. A scrape that arrives during one waits.
// Results: bench/results/variants/scrape-tail/busy-s7.txt (bench/README.md, scrape latency).
//   node --import=@tapjs/typescript/import bench/experiments/busy.ts PROFILE.cpuprofile
import { sampleQuantile } from '../../src/lib/quantile.js';
import { CpuProfile } from '../lib/cpu-profile.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: busy.ts PROFILE.cpuprofile');
const p = new CpuProfile(file);

const labels = new Map<number, string>();
/** The agent's own frame nearest the root (dist/ or its source folders), else the two outermost frames. */
function label(id: number): string {
  let l = labels.get(id);
  if (l === undefined) {
    const path = p.stack(id);
    l = path.find((s) => /dist\/|export\/|sources\/|commands\//.test(s) && !/node_modules/.test(s)) ?? path.slice(1, 3).join('>');
    labels.set(id, l);
  }
  return l;
}

interface BusyRun {
  readonly start: number;
  end: number;
  readonly labels: Map<string, number>;
}

const runs: BusyRun[] = [];
let cur: BusyRun | undefined;
p.samples.forEach((id, i) => {
  const t = p.sampleTimes[i]!;
  if (p.functionName(id) === '(idle)') {
    if (cur) runs.push(cur);
    cur = undefined;
    return;
  }
  cur ??= { start: t, end: t, labels: new Map() };
  cur.end = t;
  const l = label(id);
  cur.labels.set(l, (cur.labels.get(l) ?? 0) + 1);
});
const dur = (p.endTime - p.startTime) / 1e6;
const long = runs.map((r) => ({ ...r, ms: (r.end - r.start) / 1000 })).filter((r) => r.ms >= 0.5);
console.log('runs >= 0.5 ms per second:', (long.length / dur).toFixed(2));
const byTop = new Map<string, number[]>();
for (const r of long) {
  const top = [...r.labels].sort((a, b) => b[1] - a[1])[0]![0];
  byTop.set(top, [...(byTop.get(top) ?? []), r.ms]);
}
for (const [k, v] of [...byTop].sort((a, b) => b[1].length - a[1].length).slice(0, 25)) {
  console.log(String(v.length).padStart(5), 'median', sampleQuantile(v, 0.5).toFixed(2), 'max', Math.max(...v).toFixed(2), k);
}
