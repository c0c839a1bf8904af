// Is the DaemonSet's agent lighter than the bench's? Three agents beside one etcd 3.4 (10 puts/s), for
// SECONDS, /metrics every 15 s, VmRSS/RssAnon/RssFile medians after the first minute: default settings
// (sysfs /sys: systeminformation is loaded for the disk model, virtio has none in sysfs); host paths
// as the DaemonSet passes them (--sys-path/--proc-path through symlinks, so systeminformation is never
// loaded); and host paths plus the image's NODE_OPTIONS=--max-semi-space-size=1.
// Results: bench/results/variants/as-deployed/rss-240s.txt (bench/README.md, footprint).
//   node --import=@tapjs/typescript/import bench/experiments/rss.ts 240
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleQuantile } from '../../src/lib/quantile.js';
import type { BenchAgent } from '../lib/agent.js';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace } from '../lib/setup.js';

const secs = Number(process.argv[2] ?? 180);
const FIELDS = ['VmRSS', 'RssAnon', 'RssFile'] as const;
type Field = (typeof FIELDS)[number];

/** One line of /proc/PID/status in MiB. */
function statusMiB(status: string, field: Field): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/PID/status`);
  return Number(m[1]) / 1024;
}

await withWorkspace('rss', async (ws) => {
  const cluster = await startCluster(ws);
  const member = cluster.members[0]!;
  startPutLoad(ws, cluster.endpoints, { rate: 10 });
  symlinkSync('/sys', join(ws.dir, 'host-sys'));
  symlinkSync('/proc', join(ws.dir, 'host-proc'));
  const hostPaths = [`--sys-path=${join(ws.dir, 'host-sys')}`, `--proc-path=${join(ws.dir, 'host-proc')}`];
  const agents: Record<string, BenchAgent> = {
    default: await startDefaultAgent(ws, member, 'default'),
    deployed: await startDefaultAgent(ws, member, 'deployed', hostPaths, { nodeArgs: ['--max-semi-space-size=1'] }),
    hostpaths: await startDefaultAgent(ws, member, 'hostpaths', hostPaths),
  };
  const samples = new Map<string, Array<Record<Field, number>>>(Object.keys(agents).map((k) => [k, []]));
  for (let i = 0; i < secs; i++) {
    await sleep(1000);
    if (i % 15 === 0) for (const agent of Object.values(agents)) await agent.get('/metrics');
    if (i <= 60) continue;
    for (const [name, agent] of Object.entries(agents)) {
      const status = readFileSync(`/proc/${agent.pid()}/status`, 'utf8');
      samples.get(name)!.push({ VmRSS: statusMiB(status, 'VmRSS'), RssAnon: statusMiB(status, 'RssAnon'), RssFile: statusMiB(status, 'RssFile') });
    }
  }
  for (const [name, rows] of samples) {
    const med = (f: Field) => sampleQuantile(rows.map((r) => r[f]), 0.5).toFixed(1);
    console.log(name, 'rss', med('VmRSS'), 'anon', med('RssAnon'), 'file', med('RssFile'), 'max', Math.max(...rows.map((r) => r.VmRSS)).toFixed(1));
  }
});
