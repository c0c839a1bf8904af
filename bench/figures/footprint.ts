// footprint: RSS and CPU of the agent over 10 minutes at its default settings with etcd present,
// scraped as Prometheus would (every 15 s), etcd under a light steady write load.
//
// A second agent runs beside it through the same 10 minutes, identical but for Node flags
// (default: --max-semi-space-size=1, a smaller young generation), so the effect of a flag is an
// A/B in the same conditions. `--variant=` (empty) leaves it out; `--variant='--flag …'` picks others.
// `--variant-args='--agent-flag …'` adds one more with other agent flags (a source turned off: its cost).
// `--pods=N` gives every agent's cgroup_io source a control-plane node's cgroup tree to walk (this
// host's own blkio hierarchy is its root alone).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fmtNum, numberOption, say, type BenchOptions, type FigureResult } from '../lib/common.js';
import { Scraper } from '../lib/http.js';
import { fmtSpread, spread } from '../lib/stats.js';
import { sampleQuantile } from '../../src/lib/quantile.js';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace, type Workspace } from '../lib/setup.js';
import type { BenchAgent } from '../lib/agent.js';
import { blkioUnavailable, createKubeletCgroups, newPod } from '../../harness/kubelet-cgroups.js';
import { Cleanups } from '../../harness/processes.js';

const MiB = 2 ** 20;
const LOAD_RATE = 10;
export const DEFAULT_VARIANT = '--max-semi-space-size=1';

/** RSS split: anonymous (the process's own) and file-backed (mostly the node binary's pages, shared). */
function rssSplit(pid: number): { anon: number; file: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch {
    return undefined;
  }
}

const SERVICES = ['kubelet', 'containerd', 'systemd-journald', 'sshd'];

/**
 * Real v1 blkio cgroups named as kubelet names `pods` pods of two containers each (with their
 * /var/log/pods entries) and as systemd names a few services; the agents' flags that point at them.
 * No throttle rule is set on this host's disk (it would outlive the run), so v1 counts nothing on it:
 * the figure is the cost of the walk, not of naming writers.
 */
function nodeCgroups(ws: Workspace, pods: number): string[] {
  const why = blkioUnavailable();
  if (why !== undefined) throw new Error(`--pods: ${why}`);
  const cleanups = new Cleanups();
  ws.defer('kubelet cgroups', async () => void (await cleanups.run()));
  const kubelet = createKubeletCgroups(cleanups, join(ws.dir, 'node'), 'footprint');
  for (let i = 0; i < pods; i++) {
    const pod = newPod('bench', `pod-${i}`, ['app', 'sidecar']);
    kubelet.addPod(pod);
    for (const c of pod.containers) kubelet.cgroup(kubelet.containerCgroup(pod, c.name));
  }
  for (const unit of SERVICES) kubelet.cgroup(`system.slice/${unit}.service`);
  return [`--cgroup-path=${kubelet.cgroupPath}`, `--pod-logs-path=${kubelet.podLogsPath}`];
}

interface Sample {
  readonly t: number;
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly cpu: number;
}

function summarise(samples: readonly Sample[], windows: number, windowMs: number) {
  const perWindow: Array<{ window: number; cpuPercent: number; rssMedianMiB: number; rssMaxMiB: number; anonMedianMiB: number; fileMedianMiB: number }> = [];
  for (let w = 0; w < windows; w++) {
    const from = (w * windowMs) / 1000;
    const to = ((w + 1) * windowMs) / 1000;
    const inW = samples.filter((s) => s.t >= from && s.t <= to);
    if (inW.length < 2) continue;
    const first = inW[0]!;
    const last = inW[inW.length - 1]!;
    perWindow.push({
      window: w + 1,
      cpuPercent: ((last.cpu - first.cpu) / (last.t - first.t)) * 100,
      rssMedianMiB: sampleQuantile(inW.map((s) => s.rss), 0.5) / MiB,
      rssMaxMiB: Math.max(...inW.map((s) => s.rss)) / MiB,
      anonMedianMiB: sampleQuantile(inW.map((s) => s.anon), 0.5) / MiB,
      fileMedianMiB: sampleQuantile(inW.map((s) => s.file), 0.5) / MiB,
    });
  }
  // Steady state: after the first window (start-up: module loading, the probe file laid out).
  const steady = perWindow.slice(1);
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  return {
    perWindow,
    cpu: spread(steady.map((w) => w.cpuPercent)),
    rss: spread(steady.map((w) => w.rssMedianMiB)),
    rssMax: Math.max(...steady.map((w) => w.rssMaxMiB)),
    anon: spread(steady.map((w) => w.anonMedianMiB)),
    file: spread(steady.map((w) => w.fileMedianMiB)),
    startupRssMax: perWindow[0]?.rssMaxMiB ?? NaN,
    cpuOverall: ((last.cpu - first.cpu) / (last.t - first.t)) * 100,
  };
}

export async function footprint(o: BenchOptions): Promise<FigureResult> {
  const F = 'footprint';
  const durationMs = o.durationMs ?? (o.smoke ? 6000 : 10 * 60_000);
  // Windows of at least 3 s (3 samples), 10 of them at the default 10 minutes.
  const windows = Math.max(2, Math.min(numberOption(o, 'windows', 10), Math.floor(durationMs / 3000)));
  const windowMs = durationMs / windows;
  const scrapeEveryMs = numberOption(o, 'scrape-every', o.smoke ? 1 : 15) * 1000;
  const variantFlags = (o.extra.get('variant') ?? DEFAULT_VARIANT).split(/\s+/).filter(Boolean);
  // --variant-cli=PATH: one more agent, another build (before/after a change), default flags.
  const variantCli = o.extra.get('variant-cli');
  const variantArgs = (o.extra.get('variant-args') ?? '').split(/\s+/).filter(Boolean);
  const pods = numberOption(o, 'pods', 0);
  return withWorkspace(F, async (ws) => {
    const cluster = await startCluster(ws);
    const load = startPutLoad(ws, cluster.endpoints, { rate: LOAD_RATE });
    const cgroupArgs = pods > 0 ? nodeCgroups(ws, pods) : [];
    const agents: Array<{ name: string; label: string; flags: string[]; agent: BenchAgent; samples: Sample[]; scraper: Scraper }> = [];
    const specs: Array<{ name: string; label: string; flags: string[]; args?: string[]; cli?: string }> = [
      { name: 'default', label: 'default', flags: [] },
      ...(variantFlags.length ? [{ name: 'variant', label: `node ${variantFlags.join(' ')}`, flags: variantFlags }] : []),
      ...(variantCli ? [{ name: 'other-build', label: `build ${variantCli}`, flags: [], cli: variantCli }] : []),
      ...(variantArgs.length ? [{ name: 'other-args', label: `agent ${variantArgs.join(' ')}`, flags: [], args: variantArgs }] : []),
    ];
    for (const sp of specs) {
      const agent = await startDefaultAgent(ws, cluster.members[0]!, sp.name, [...cgroupArgs, ...(sp.args ?? [])], { nodeArgs: sp.flags, ...(sp.cli ? { cli: sp.cli } : {}) });
      agents.push({ name: sp.name, label: sp.label, flags: sp.flags, agent, samples: [], scraper: new Scraper(`${agent.url}/metrics`) });
    }
    say(F, `agents ready (${agents.map((a) => `${a.name}: pid ${a.agent.pid()}${a.flags.length ? ` node ${a.flags.join(' ')}` : ''}`).join('; ')}); sampling every second for ${Math.round(durationMs / 1000)} s`);
    const t0 = performance.now();
    let nextScrape = t0;
    let scrapes = 0;
    let scrapeErrors = 0;
    for (let i = 0; ; i++) {
      const wait = t0 + i * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const t = (performance.now() - t0) / 1000;
      for (const a of agents) {
        const pid = a.agent.pid();
        const rss = a.agent.rssBytes();
        const cpu = a.agent.cpuSeconds();
        const split = rssSplit(pid);
        if (rss === undefined || cpu === undefined || !split) throw new Error(`agent ${a.name} exited during the footprint run; see ${a.agent.logFile}`);
        a.samples.push({ t, rss, cpu, ...split });
      }
      if (performance.now() >= nextScrape) {
        nextScrape += scrapeEveryMs;
        scrapes++;
        for (const a of agents) a.scraper.get().then((r) => void (r.status === 200 || scrapeErrors++), () => void scrapeErrors++);
      }
      if (t * 1000 >= durationMs) break;
      if (i > 0 && i % 60 === 0) say(F, `${i} s: default RSS ${((agents[0]!.samples.at(-1)?.rss ?? NaN) / MiB).toFixed(1)} MiB`);
    }
    for (const a of agents) a.scraper.close();
    await load.stop();
    const sums = agents.map((a) => ({ name: a.name, label: a.label, flags: a.flags, ...summarise(a.samples, windows, windowMs) }));
    const d = sums[0]!;
    const others = sums.slice(1);
    const rssMet = d.rssMax <= 64;
    const cpuMet = d.cpu.max <= 1;
    const line = (s: (typeof sums)[number]) =>
      `RSS ${fmtSpread(s.rss, fmtNum(1))} MiB (anonymous ${fmtSpread(s.anon, fmtNum(1))}, file-backed ${fmtSpread(s.file, fmtNum(1))}); steady max ${s.rssMax.toFixed(1)} MiB; start-up max ${s.startupRssMax.toFixed(1)} MiB; CPU ${fmtSpread(s.cpu, fmtNum(2))} % of one core (whole run ${s.cpuOverall.toFixed(2)} %)`;
    return {
      figure: F,
      target: 'RSS ≤ 64 MB steady, CPU ≤ 1% of one core',
      targetMet: rssMet && cpuMet,
      summary: [
        `default: ${line(d)}`,
        ...others.map((v) => `${v.label} (side by side, same run): ${line(v)}`),
        `targets (default): RSS ≤ 64 MiB ${rssMet ? 'met' : 'MISSED'}; CPU ≤ 1% ${cpuMet ? 'met' : d.cpu.median <= 1 ? 'met by the median, not by every window' : 'MISSED'}`,
      ],
      method: {
        setup: `1-member etcd 3.4 with ${LOAD_RATE} puts/s; the agent at its default settings (probe 10 fdatasyncs/s, etcd API 1 s, etcd /metrics 5 s, diskstats 5 s, diagnosis 5 s); probe on the same filesystem as etcd${pods > 0 ? `; cgroup_io walking ${pods} pods × 2 containers and ${SERVICES.length} services (real v1 blkio cgroups named as kubelet and systemd name them)` : ''}${others.length ? `; beside it, through the same run: ${others.map((v) => v.label).join('; ')}` : ''}`,
        scrapes: `GET /metrics of each agent every ${scrapeEveryMs / 1000} s (${scrapes} rounds, ${scrapeErrors} errors)`,
        sampling: `VmRSS (RssAnon, RssFile) and utime+stime (all threads) from /proc/PID every second for ${Math.round(durationMs / 1000)} s; ${windows} windows of ${Math.round(windowMs / 1000)} s; the first window is start-up and is left out of the steady figures`,
      },
      results: Object.fromEntries(sums.map((s) => [s.name, { label: s.label, flags: s.flags, rssSteadyMiB: s.rss, rssSteadyMaxMiB: s.rssMax, anonMiB: s.anon, fileMiB: s.file, startupRssMaxMiB: s.startupRssMax, cpuPercentPerWindow: s.cpu, cpuPercentOverall: s.cpuOverall, windows: s.perWindow }])),
      raw: Object.fromEntries(agents.map((a) => [a.name, a.samples.map((s) => ({ t: Math.round(s.t * 10) / 10, rssMiB: +(s.rss / MiB).toFixed(2), anonMiB: +(s.anon / MiB).toFixed(2), cpuSeconds: s.cpu }))])),
    };
  });
}
