// Is the DaemonSet's agent lighter than the bench's? Three agents beside one etcd 3.4 (10 puts/s), for
// SECONDS, /metrics every 15 s, VmRSS/RssAnon/RssFile medians after the first minute: default settings
// (sysfs /sys: systeminformation is loaded for the disk model, virtio has none in sysfs); host paths
// as the DaemonSet passes them (--sys-path/--proc-path through symlinks, so systeminformation is never
// loaded); and host paths plus the image's NODE_OPTIONS=--max-semi-space-size=1. Needs the compiled
// bench (`tsc -p bench/tsconfig.json`):  node bench/results/variants/as-deployed/rss.mjs 240
import { setTimeout as sleep } from 'node:timers/promises';
import { symlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace } from '../../../.build/bench/lib/setup.js';
const secs = Number(process.argv[2] ?? 180);
await withWorkspace('rss', async (ws) => {
  const cluster = await startCluster(ws);
  startPutLoad(ws, cluster.endpoints, { rate: 10 });
  symlinkSync('/sys', join(ws.dir, 'host-sys')); symlinkSync('/proc', join(ws.dir, 'host-proc'));
  const a = await startDefaultAgent(ws, cluster.members[0], 'default');
  const b = await startDefaultAgent(ws, cluster.members[0], 'deployed', [`--sys-path=${join(ws.dir, 'host-sys')}`, `--proc-path=${join(ws.dir, 'host-proc')}`], { nodeArgs: ['--max-semi-space-size=1'] });
  const c = await startDefaultAgent(ws, cluster.members[0], 'hostpaths', [`--sys-path=${join(ws.dir, 'host-sys')}`, `--proc-path=${join(ws.dir, 'host-proc')}`]);
  const agents = { default: a, deployed: b, hostpaths: c };
  const rs = Object.fromEntries(Object.keys(agents).map((k) => [k, []]));
  for (let i = 0; i < secs; i++) {
    await sleep(1000);
    if (i % 15 === 0) for (const ag of Object.values(agents)) await ag.get('/metrics');
    for (const [k, ag] of Object.entries(agents)) {
      const s = readFileSync(`/proc/${ag.pid()}/status`, 'utf8');
      const kb = (x) => Number(new RegExp(`^${x}:\\s+(\\d+) kB`, 'm').exec(s)[1]) / 1024;
      if (i > 60) rs[k].push([kb('VmRSS'), kb('RssAnon'), kb('RssFile')]);
    }
  }
  for (const [k, v] of Object.entries(rs)) {
    const med = (j) => v.map((x) => x[j]).sort((p, q) => p - q)[Math.floor(v.length / 2)].toFixed(1);
    console.log(k, 'rss', med(0), 'anon', med(1), 'file', med(2), 'max', Math.max(...v.map((x) => x[0])).toFixed(1));
  }
});
