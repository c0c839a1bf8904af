// For the slowest scrapes of a tail.ts run made with --cpu-prof, what the agent's CPU profile shows
// from 6 ms before the request was sent to the end of its response: the profile's samples, merged
// into runs of the same JavaScript function nearest the top of the stack that is the agent's own
// or a module's entry point. Reads tail.ts's /tmp/scrape-tail-rows.json.
// Results: bench/results/variants/scrape-tail/timeline-s7.txt (bench/README.md, scrape latency).
//   node --import=@tapjs/typescript/import bench/experiments/timeline.ts PROFILE.cpuprofile [N]
import { readFileSync } from 'node:fs';
import { CpuProfile } from '../lib/cpu-profile.js';
import type { TailRow } from './tail.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: timeline.ts PROFILE.cpuprofile [N]');
const p = new CpuProfile(file);
const rows = JSON.parse(readFileSync('/tmp/scrape-tail-rows.json', 'utf8')) as TailRow[];
const n = Number(process.argv[3] ?? 8);

/** The agent's two outermost own frames (else the two outermost of all) and the leaf. */
function label(id: number): string {
  const path = p.stack(id, true);
  const own = path.filter((s) => /dist\/|\/src\//.test(s) && !/node_modules/.test(s));
  return `${own.slice(0, 2).join(' > ') || path.slice(1, 3).join(' > ')} … ${path[path.length - 1]}`;
}

for (const r of [...rows].sort((a, b) => b.ms - a.ms).slice(0, n)) {
  const sentHr = r.r.hrMicros - r.wait * 1000;
  const lo = sentHr - 6000;
  const hi = sentHr + r.ms * 1000;
  console.log(`\n${r.ms.toFixed(2)} ms (wait ${r.wait.toFixed(2)}, handler ${r.handler.toFixed(2)}), times from the send:`);
  let cur: { label: string; start: number; last: number } | undefined;
  const flush = () => {
    if (cur && !/^\(idle\)|… \(idle\)/.test(cur.label)) console.log(`  ${((cur.start - sentHr) / 1000).toFixed(2)}..${((cur.last - sentHr) / 1000).toFixed(2)} ${cur.label}`);
  };
  p.samples.forEach((id, i) => {
    const t = p.sampleTimes[i]!;
    if (t < lo || t > hi) return;
    const l = label(id);
    if (cur === undefined || l !== cur.label) {
      flush();
      cur = { label: l, start: t, last: t };
    } else cur.last = t;
  });
  flush();
}
