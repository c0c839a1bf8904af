// For the slowest scrapes of a tail.mjs run made with --cpu-prof, what the agent's CPU profile shows
// from 6 ms before the request was sent to the end of its response: the profile's samples, merged
// into runs of the same JavaScript function nearest the top of the stack that is the agent's own
// or a module's entry point.
//   node timeline.mjs PROFILE [N]
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rows = JSON.parse(readFileSync('/tmp/scrape-tail-rows.json', 'utf8'));
const n = Number(process.argv[3] ?? 8);
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const par = new Map(); for (const x of p.nodes) for (const c of x.children ?? []) par.set(c, x.id);
const label = (id) => {
  const path = []; let c = id;
  while (c !== undefined) { const f = byId.get(c).callFrame; path.push(`${f.functionName || '(anon)'}@${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`); c = par.get(c); }
  path.reverse();
  const own = path.filter((s) => /dist\/|\/src\//.test(s) && !/node_modules/.test(s));
  const leaf = path[path.length - 1];
  return `${own.slice(0, 2).join(' > ') || path.slice(1, 3).join(' > ')} … ${leaf}`;
};
const ts = []; let t = p.startTime; for (let i = 0; i < p.samples.length; i++) { t += p.timeDeltas[i]; ts.push(t); }
for (const r of [...rows].sort((a, b) => b.ms - a.ms).slice(0, n)) {
  const sentHr = r.r.hrMicros - r.wait * 1000; const lo = sentHr - 6000, hi = sentHr + r.ms * 1000;
  console.log(`\n${r.ms.toFixed(2)} ms (wait ${r.wait.toFixed(2)}, handler ${r.handler.toFixed(2)}), times from the send:`);
  let cur, start, last;
  const flush = () => { if (cur && !/^\(idle\)|… \(idle\)/.test(cur)) console.log(`  ${((start - sentHr) / 1000).toFixed(2)}..${((last - sentHr) / 1000).toFixed(2)} ${cur}`); };
  for (let i = 0; i < ts.length; i++) {
    if (ts[i] < lo || ts[i] > hi) continue;
    const l = label(p.samples[i]);
    if (l !== cur) { flush(); cur = l; start = ts[i]; }
    last = ts[i];
  }
  flush();
}
