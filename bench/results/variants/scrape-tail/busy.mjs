// What else holds the agent's event loop, from a --cpu-prof profile of tail.mjs: runs of consecutive
// non-idle samples of 0.5 ms or more, each named by the agent's function nearest the top of its
// stack, counted with their median and longest duration. A scrape that arrives during one waits.
//   node busy.mjs PROFILE.cpuprofile
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const par = new Map(); for (const x of p.nodes) for (const c of x.children ?? []) par.set(c, x.id);
const lbl = new Map();
const label = (id) => { if (lbl.has(id)) return lbl.get(id); const path = []; let c = id; while (c !== undefined) { const f = byId.get(c).callFrame; path.push(`${f.functionName || '(anon)'}@${f.url.split('/').slice(-2).join('/')}`); c = par.get(c); } path.reverse(); const own = path.find((s) => /dist\/|export\/|sources\/|commands\//.test(s) && !/node_modules/.test(s)); const r = own ?? path.slice(1, 3).join('>'); lbl.set(id, r); return r; };
let t = p.startTime; const runs = []; let cur = null;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i]; const n = byId.get(p.samples[i]).callFrame.functionName;
  if (n === '(idle)') { if (cur) { runs.push(cur); cur = null; } continue; }
  if (!cur) cur = { start: t, end: t, labels: new Map() };
  cur.end = t; const l = label(p.samples[i]); cur.labels.set(l, (cur.labels.get(l) ?? 0) + 1);
}
const dur = (p.endTime - p.startTime) / 1e6;
const long = runs.map((r) => ({ ...r, ms: (r.end - r.start) / 1000 })).filter((r) => r.ms >= 0.5);
console.log('runs >= 0.5 ms per second:', (long.length / dur).toFixed(2));
const cat = new Map();
for (const r of long) { const top = [...r.labels].sort((a, b) => b[1] - a[1])[0][0]; const e = cat.get(top) ?? []; e.push(r.ms); cat.set(top, e); }
for (const [k, v] of [...cat].sort((a, b) => b[1].length - a[1].length).slice(0, 25)) { v.sort((a, b) => a - b); console.log(String(v.length).padStart(5), 'median', v[v.length >> 1].toFixed(2), 'max', v[v.length - 1].toFixed(2), k); }
