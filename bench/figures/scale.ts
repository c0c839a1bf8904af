// scale: what the agent's cost does as the node grows.
// - block devices: etcd's filesystem on a device-mapper volume striped over N disks (LVM/RAID), so
//   the agent tracks N+1 devices. This machine has no device-mapper, so the node is synthetic: a
//   /proc and /sys tree made here (the layout of test/fixtures/sys-lvm, scaled), read through the
//   agent's --proc-path/--sys-path code. Timed in-process: one diskstats sample (placement cached,
//   as every 5 s), one placement (as every 60 s), and one /metrics render with that sample.
// - etcd members: a real 3-member and a real 5-member cluster side by side, an agent at default
//   settings on each one's m0, measured in the same windows (CPU, /metrics size and latency), plus
//   the parse and render cost of each m0's live /metrics body in-process.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMetricsRegistry } from '../../src/export/prometheus/metrics.js';
import { createDiskstatsSource, DEFAULT_SHARED_PATHS, type DiskSample } from '../../src/sources/diskstats.js';
import { extractEtcdMetrics, type EtcdMetricsSample } from '../../src/sources/etcd-metrics.js';
import { success } from '../../src/lib/outcome.js';
import { SOURCE_NAMES } from '../../src/sources/source.js';
import { AgentState } from '../../src/state/state.js';
import { ms, seconds, bytes } from '../../src/lib/units.js';
import { fmtMs, fmtNum, numberOption, say, type BenchOptions, type FigureResult } from '../lib/common.js';
import { Scraper } from '../lib/http.js';
import { fmtSpread, linearFit, spread, type Spread } from '../lib/stats.js';
import { startCluster, startDefaultAgent, startPutLoad, withWorkspace, type Workspace } from '../lib/setup.js';
import type { BenchAgent } from '../lib/agent.js';
import { readFileSync } from 'node:fs';
import { ROOT } from '../lib/common.js';

// ───────────────────────────────────────────── a synthetic node with N disks under etcd's volume

const signed = (v: number, digits: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;

const diskName = (i: number): string => `sd${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;

/** 20-field /proc/diskstats line (kernel 5.5+: with discard and flush counters). */
const statLine = (major: number, minor: number, name: string, seed: number): string =>
  `${String(major).padStart(4)} ${String(minor).padStart(7)} ${name} ${[61422, 3121, 5203188, 40231, 1821102 + seed, 612044, 61204212, 2011823 + seed, 0, 1204412 + seed, 2320193, 1442, 0, 11534336, 211, 120344, 67925].join(' ')}`;

export function makeNode(dir: string, disks: number): { procPath: string; sysPath: string; dataDir: string } {
  const proc = join(dir, 'proc');
  const sys = join(dir, 'sys');
  const root = join(dir, 'root');
  for (const p of ['var/lib/etcd', 'var/lib/containerd', 'var/lib/kubelet', 'var/log']) mkdirSync(join(root, p), { recursive: true });
  mkdirSync(join(proc, '1'), { recursive: true });
  symlinkSync(root, join(proc, '1', 'root'));
  writeFileSync(
    join(proc, '1', 'mountinfo'),
    [
      '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
      '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw',
      '24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw',
      '90 22 253:0 / /var/lib/etcd rw,relatime shared:40 - xfs /dev/mapper/vg-etcd rw,attr2,inode64',
      '',
    ].join('\n'),
  );
  const lines = [statLine(254, 0, 'vda', 1), statLine(254, 1, 'vda1', 2)];
  for (let i = 0; i < disks; i++) lines.push(statLine(8, i * 16, diskName(i), i));
  lines.push(statLine(253, 0, 'dm-0', 7));
  writeFileSync(join(proc, 'diskstats'), lines.join('\n') + '\n');

  const dev = join(sys, 'devices');
  mkdirSync(join(sys, 'dev', 'block'), { recursive: true });
  mkdirSync(join(sys, 'class', 'block'), { recursive: true });
  mkdirSync(join(sys, 'block'), { recursive: true });
  const disk = (name: string, majMin: string, path: string) => {
    const d = join(dev, path);
    mkdirSync(join(d, 'queue'), { recursive: true });
    writeFileSync(join(d, 'queue', 'rotational'), '0\n');
    writeFileSync(join(d, 'dev'), `${majMin}\n`);
    symlinkSync(join('..', '..', 'devices', path), join(sys, 'dev', 'block', majMin));
    symlinkSync(join('..', '..', 'devices', path), join(sys, 'class', 'block', name));
    symlinkSync(join('..', 'devices', path), join(sys, 'block', name));
    return d;
  };
  const vda = disk('vda', '254:0', 'pci0000:00/0000:00:05.0/virtio2/block/vda');
  mkdirSync(join(vda, 'vda1'), { recursive: true });
  writeFileSync(join(vda, 'vda1', 'partition'), '1\n');
  symlinkSync(join('..', '..', 'devices', 'pci0000:00/0000:00:05.0/virtio2/block/vda/vda1'), join(sys, 'dev', 'block', '254:1'));
  symlinkSync(join('..', '..', 'devices', 'pci0000:00/0000:00:05.0/virtio2/block/vda/vda1'), join(sys, 'class', 'block', 'vda1'));
  for (let i = 0; i < disks; i++) {
    const d = disk(diskName(i), `8:${i * 16}`, `pci0000:00/0000:00:17.0/ata${i + 1}/host${i}/target${i}:0:0/${i}:0:0:0/block/${diskName(i)}`);
    mkdirSync(join(d, 'device'), { recursive: true });
    writeFileSync(join(d, 'device', 'model'), 'SAMSUNG MZ7L3480\n');
    writeFileSync(join(d, 'device', 'vendor'), 'ATA\n');
  }
  const dm = disk('dm-0', '253:0', 'virtual/block/dm-0');
  mkdirSync(join(dm, 'dm'), { recursive: true });
  writeFileSync(join(dm, 'dm', 'name'), 'vg-etcd\n');
  mkdirSync(join(dm, 'slaves'), { recursive: true });
  for (let i = 0; i < disks; i++) symlinkSync(join('..', '..', '..', 'pci0000:00', `0000:00:17.0/ata${i + 1}/host${i}/target${i}:0:0/${i}:0:0:0/block/${diskName(i)}`), join(dm, 'slaves', diskName(i)));
  return { procPath: proc, sysPath: sys, dataDir: '/var/lib/etcd' };
}

/** A state as a running agent's: every source recorded twice, as after a few sampling rounds. */
function stateWith(disk: DiskSample | undefined, etcd: EtcdMetricsSample): AgentState {
  const state = new AgentState(new Date(Date.now() - 60_000), new Set(SOURCE_NAMES));
  for (let i = 0; i < 2; i++) {
    const at = new Date(Date.now() - (2 - i) * 5000);
    if (disk) state.record('diskstats', success(disk), at, seconds(0.001));
    state.record('etcd_metrics', success(etcd), at, seconds(0.01));
    state.record('fsync_probe', success({ file: '/var/lib/etcd-latency-agent/etcd-latency-agent.probe', sameFilesystemAsEtcd: true, durations: Array.from({ length: 10 }, () => seconds(0.0004 + Math.random() * 0.002)), writtenBytes: bytes(23_000), freeBytes: bytes(50e9) }), at, seconds(0.01));
  }
  return state;
}

/**
 * One /metrics render after a state change, as a scrape a second sees it: the registry renders at
 * most once per state change, so the state is touched first (one cheap record()).
 */
function freshRender(state: AgentState, registry: ReturnType<typeof createMetricsRegistry>): Promise<string> {
  state.record('etcd_config', { ok: false, reason: 'not_found', message: 'bench' }, new Date(), seconds(0));
  return registry.metrics();
}

/** Mean seconds per call of `fn` over `n` awaited calls. */
async function timeAsync(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(process.hrtime.bigint() - t0) / 1e9 / n;
}

interface DeviceRow {
  readonly disks: number;
  readonly trackedDevices: number;
  readonly sample: Spread;
  readonly placement: Spread;
  readonly render: Spread;
  readonly renderBytes: number;
  readonly diskSeries: number;
}

async function devicePart(ws: Workspace, o: BenchOptions): Promise<DeviceRow[]> {
  const counts = [1, 8, 32];
  const batches = o.runs ?? (o.smoke ? 2 : 9);
  const member = extractEtcdMetrics(readFileSync(join(ROOT, 'test', 'fixtures', 'etcd', 'metrics-3.4-cluster-member.txt'), 'utf8'));
  const setups = await Promise.all(
    counts.map(async (n) => {
      const node = makeNode(join(ws.dir, `node-${n}`), n);
      const source = createDiskstatsSource({ etcdDataDir: node.dataDir, procPath: node.procPath, sysPath: node.sysPath, sharedPaths: DEFAULT_SHARED_PATHS, interval: ms(5000) });
      const first = await source.sample(new Date());
      if (!first.ok) throw new Error(`synthetic node with ${n} disks: ${first.message}`);
      if (first.value.disks.length !== n) throw new Error(`synthetic node with ${n} disks: the agent found ${first.value.disks.length}`);
      const state = stateWith(first.value, member);
      const registry = createMetricsRegistry({ state, version: 'bench', member: 'm0' });
      const body = await registry.metrics();
      return { n, node, source, state, registry, sample: first.value, renderBytes: body.length, diskSeries: body.split('\n').filter((l) => l.startsWith('etcd_latency_agent_disk_') && !l.startsWith('etcd_latency_agent_disk_info')).length };
    }),
  );
  const times = new Map(counts.map((n) => [n, { sample: [] as number[], placement: [] as number[], render: [] as number[] }]));
  const per = o.smoke ? 5 : 200;
  const t0 = Date.now();
  for (let b = 0; b < batches + 1; b++) {
    for (const s of setups) {
      // Cached placement: the source's every-5-s path (read and parse /proc/diskstats).
      const sample = await timeAsync(per, () => s.source.sample(new Date(t0)));
      // Placement every call: `now` a minute apart forces the mount → device → disks walk.
      const placement = await timeAsync(Math.max(2, per / 10), (i) => s.source.sample(new Date(t0 + (b * per + i + 1) * 61_000)));
      const render = await timeAsync(Math.max(2, per / 4), () => freshRender(s.state, s.registry));
      if (b === 0) continue; // warm-up batch
      const t = times.get(s.n)!;
      t.sample.push(sample);
      t.placement.push(placement);
      t.render.push(render);
    }
  }
  return setups.map((s) => ({
    disks: s.n,
    trackedDevices: new Set([s.sample.device, ...s.sample.disks]).size,
    sample: spread(times.get(s.n)!.sample),
    placement: spread(times.get(s.n)!.placement),
    render: spread(times.get(s.n)!.render),
    renderBytes: s.renderBytes,
    diskSeries: s.diskSeries,
  }));
}

// ───────────────────────────────────────────── 3 vs 5 members, real

interface MemberWindow {
  readonly run: number;
  readonly members: number;
  readonly cpuPercent: number;
  readonly rssMiB: number;
  readonly scrapeP50: number;
  readonly scrapeMax: number;
  readonly metricsBytes: number;
}

async function memberPart(ws: Workspace, o: BenchOptions) {
  const runs = o.runs ?? (o.smoke ? 1 : 5);
  const windowS = Math.round((o.durationMs ?? (o.smoke ? 3000 : 60_000)) / 1000);
  const rate = numberOption(o, 'rate', 10);
  const sizes = [3, 5];
  say('scale', 'starting a 3-member and a 5-member etcd cluster side by side');
  const clusters = await Promise.all(sizes.map((size) => startCluster(ws, { size })));
  for (const c of clusters) startPutLoad(ws, c.endpoints, { rate });
  const agents: BenchAgent[] = [];
  for (const [i, c] of clusters.entries()) agents.push(await startDefaultAgent(ws, c.members[0]!, `members-${sizes[i]}`));
  // etcd's peer prober fills the round-trip histograms within a few seconds; the agent's etcd
  // /metrics source reads every 5 s.
  await sleep(o.smoke ? 6000 : 15_000);
  const windows: MemberWindow[] = [];
  for (let run = 1; run <= runs; run++) {
    say('scale', `members window ${run}/${runs}: ${windowS} s, both agents at once, scraped at 1 req/s`);
    const scrapers = agents.map((a) => new Scraper(`${a.url}/metrics`));
    const cpu0 = agents.map((a) => a.cpuSeconds() ?? NaN);
    const lat: number[][] = agents.map(() => []);
    const size: number[] = agents.map(() => 0);
    const t0 = performance.now();
    for (let i = 0; i < windowS; i++) {
      const wait = t0 + i * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      // Alternate who goes first, so neither always meets the other's scrape.
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const k of order) {
        const r = await scrapers[k]!.get().catch(() => undefined);
        if (r?.status === 200) {
          lat[k]!.push(r.seconds);
          size[k] = r.bytes;
        }
      }
    }
    const dt = (performance.now() - t0) / 1000;
    agents.forEach((a, k) => {
      windows.push({
        run,
        members: sizes[k]!,
        cpuPercent: (((a.cpuSeconds() ?? NaN) - cpu0[k]!) / dt) * 100,
        rssMiB: (a.rssBytes() ?? NaN) / 2 ** 20,
        scrapeP50: spread(lat[k]!).median,
        scrapeMax: Math.max(...lat[k]!),
        metricsBytes: size[k]!,
      });
    });
    for (const s of scrapers) s.close();
  }
  // In-process: parse and render cost of each cluster's m0 body (what the agent does every 5 s and
  // on every scrape), batches interleaved.
  const bodies = await Promise.all(clusters.map(async (c) => Buffer.from(await (await fetch(c.members[0]!.metricsUrl)).arrayBuffer())));
  const parsed = bodies.map((b) => extractEtcdMetrics(b.toString('utf8')));
  const states = parsed.map((p) => stateWith(undefined, p));
  const registries = states.map((state) => createMetricsRegistry({ state, version: 'bench', member: 'm0' }));
  const parseT: number[][] = sizes.map(() => []);
  const renderT: number[][] = sizes.map(() => []);
  const batches = o.smoke ? 2 : 9;
  for (let b = 0; b < batches + 1; b++) {
    for (let k = 0; k < sizes.length; k++) {
      const p = await timeAsync(o.smoke ? 3 : 100, async () => extractEtcdMetrics(bodies[k]!.toString('utf8')));
      const r = await timeAsync(o.smoke ? 3 : 50, () => freshRender(states[k]!, registries[k]!));
      if (b === 0) continue;
      parseT[k]!.push(p);
      renderT[k]!.push(r);
    }
  }
  return {
    windows,
    perCluster: sizes.map((n, k) => ({
      members: n,
      peersSeen: parsed[k]!.peerRoundTrip.size,
      etcdBodyBytes: bodies[k]!.length,
      cpuPercent: spread(windows.filter((w) => w.members === n).map((w) => w.cpuPercent)),
      rssMiB: spread(windows.filter((w) => w.members === n).map((w) => w.rssMiB)),
      scrapeP50: spread(windows.filter((w) => w.members === n).map((w) => w.scrapeP50)),
      metricsBytes: spread(windows.filter((w) => w.members === n).map((w) => w.metricsBytes)),
      parse: spread(parseT[k]!),
      render: spread(renderT[k]!),
    })),
    method: `${runs} windows of ${windowS} s; both clusters and both agents run at once (${rate} puts/s each); CPU from /proc/PID/stat per window; /metrics scraped at 1 req/s per agent, alternating which goes first`,
  };
}

export async function scale(o: BenchOptions): Promise<FigureResult> {
  const F = 'scale';
  return withWorkspace(F, async (ws) => {
    say(F, 'block devices: synthetic nodes with 1, 8 and 32 disks under etcd’s volume');
    const devices = await devicePart(ws, o);
    const m = await memberPart(ws, o);
    const fit = (pick: (r: DeviceRow) => number) => linearFit(devices.map((r) => r.trackedDevices), devices.map((r) => pick(r) * 1e6));
    const dSample = fit((r) => r.sample.median);
    const dPlace = fit((r) => r.placement.median);
    const dRender = fit((r) => r.render.median);
    const [c3, c5] = m.perCluster as [(typeof m.perCluster)[number], (typeof m.perCluster)[number]];
    const perMember = (a: number, b: number) => (b - a) / (c5.members - c3.members);
    const devLine = (r: DeviceRow) =>
      `${r.disks} disk${r.disks === 1 ? '' : 's'} (${r.trackedDevices} devices tracked, ${r.diskSeries} disk series): sample ${fmtSpread(r.sample, fmtMs)}; placement ${fmtSpread(r.placement, fmtMs)}; /metrics render ${fmtSpread(r.render, fmtMs)} (${r.renderBytes} bytes)`;
    const memLine = (c: typeof c3) =>
      `${c.members} members (${c.peersSeen} peers in m0's body, ${Math.round(c.etcdBodyBytes / 1024)} KiB): agent CPU ${fmtSpread(c.cpuPercent, fmtNum(2))} %; RSS ${fmtSpread(c.rssMiB, fmtNum(1))} MiB; parse ${fmtSpread(c.parse, fmtMs)}; render ${fmtSpread(c.render, fmtMs)}; scrape p50 ${fmtSpread(c.scrapeP50, fmtMs)}; /metrics ${c.metricsBytes.median} bytes`;
    const slopes = {
      perDevice: { sampleUs: dSample.slope, placementUs: dPlace.slope, renderUs: dRender.slope, metricsBytes: (devices[2]!.renderBytes - devices[0]!.renderBytes) / (devices[2]!.trackedDevices - devices[0]!.trackedDevices) },
      perMember: {
        cpuPercent: perMember(c3.cpuPercent.median, c5.cpuPercent.median),
        parseUs: perMember(c3.parse.median, c5.parse.median) * 1e6,
        renderUs: perMember(c3.render.median, c5.render.median) * 1e6,
        metricsBytes: perMember(c3.metricsBytes.median, c5.metricsBytes.median),
        etcdBodyBytes: perMember(c3.etcdBodyBytes, c5.etcdBodyBytes),
      },
    };
    return {
      figure: F,
      target: 'flat per device/member; report the slope',
      summary: [
        ...devices.map(devLine),
        `per tracked device: sample ${signed(dSample.slope, 1)} µs, placement ${signed(dPlace.slope, 1)} µs, render ${signed(dRender.slope, 1)} µs, /metrics ${signed(slopes.perDevice.metricsBytes, 0)} bytes`,
        memLine(c3),
        memLine(c5),
        `per member: CPU ${signed(slopes.perMember.cpuPercent, 3)} % of a core, parse ${signed(slopes.perMember.parseUs, 1)} µs, render ${signed(slopes.perMember.renderUs, 1)} µs, /metrics ${signed(slopes.perMember.metricsBytes, 0)} bytes, etcd body ${signed(slopes.perMember.etcdBodyBytes, 0)} bytes`,
      ],
      method: {
        devices: 'synthetic /proc + /sys: etcd on dm-0 (xfs) striped over N disks, / on vda1; diskstats source and /metrics registry timed in-process in interleaved batches (first batch warm-up); a render is timed after a state change (the registry reuses a render while the state is unchanged); slopes are least squares over the tracked devices (N disks + dm-0)',
        members: m.method,
      },
      results: { devices, members: m.perCluster, slopes },
      raw: { memberWindows: m.windows },
    };
  });
}
