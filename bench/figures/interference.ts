// probe interference: etcd's own WAL fsync latency under a fixed write load, with the agent's probe
// on vs off, in interleaved windows on the same filesystem. Two agents run side by side, identical
// but for --probe-enabled; in each window one of them is SIGSTOPped, so everything but the probe is
// the same in A and B.
import { setTimeout as sleep } from 'node:timers/promises';
import { histogramDelta, quantile as hQuantile, sumHistograms, type HistogramSnapshot } from '../../src/lib/histogram.js';
import { extractEtcdMetrics } from '../../src/sources/etcd-metrics.js';
import type { EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { deviceOf, fmtMs, fmtNum, numberOption, say, type BenchOptions, type FigureResult } from '../lib/common.js';
import { trySignal } from '../lib/processes.js';
import { fmtSpread, latencySummary, spread } from '../lib/stats.js';
import { probeDirFor, startCluster, startDefaultAgent, startPutLoad, withWorkspace } from '../lib/setup.js';

async function walFsync(m: EtcdMemberProcess): Promise<HistogramSnapshot> {
  const body = await (await fetch(m.metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
  const h = extractEtcdMetrics(body).walFsync;
  if (!h) throw new Error(`${m.metricsUrl}: no WAL fsync histogram`);
  return h;
}

interface Window {
  readonly pair: number;
  readonly probe: 'on' | 'off';
  readonly seconds: number;
  readonly walFsyncCount: number;
  /** histogram_quantile-style estimates from etcd's buckets (0.001 × 2^k s). */
  readonly walFsyncP50: number;
  readonly walFsyncP99: number;
  /** Exact: the histogram's sum / count. */
  readonly walFsyncMean: number;
  readonly puts: ReturnType<typeof latencySummary> & { failed: number; skipped: number };
  /** etcd's WAL fsync histogram over the window (delta of two scrapes). */
  readonly histogram: HistogramSnapshot;
}

export async function probeInterference(o: BenchOptions): Promise<FigureResult> {
  const F = 'probe-interference';
  // This disk's latency swings within seconds (other tests write to it): many short pairs, so the
  // median of the pair ratios is not one lucky or unlucky window.
  const pairs = o.runs ?? (o.smoke ? 1 : 12);
  const windowMs = o.durationMs ?? (o.smoke ? 2000 : 20_000);
  const rate = numberOption(o, 'rate', 50);
  const settleMs = o.smoke ? 500 : 2000;
  return withWorkspace(F, async (ws) => {
    const cluster = await startCluster(ws);
    const m = cluster.members[0]!;
    const probeDir = probeDirFor(m, 'probe-on');
    // --on-flags='--probe-writes=3 …': agent flags for the probe-on arm (default: none, the defaults).
    const onFlags = (o.extra.get('on-flags') ?? '').split(/\s+/).filter(Boolean);
    const on = await startDefaultAgent(ws, m, 'probe-on', onFlags, { probeDir });
    const off = await startDefaultAgent(ws, m, 'probe-off', ['--probe-enabled=false']);
    const stopped = new Set<number>();
    const stop = (pid: number) => {
      trySignal(pid, 'SIGSTOP');
      stopped.add(pid);
    };
    const cont = (pid: number) => {
      trySignal(pid, 'SIGCONT');
      stopped.delete(pid);
    };
    // A stopped agent must not outlive a failed run stopped: SIGCONT before the workspace kills it.
    ws.defer('SIGCONT agents', () => {
      for (const p of stopped) trySignal(p, 'SIGCONT');
    });
    const load = startPutLoad(ws, cluster.endpoints, { rate, valueBytes: 256 });
    say(F, `etcd data dir on ${deviceOf(m.dataDir)}, probe dir on ${deviceOf(probeDir)}; ${rate} puts/s; warming up`);
    await sleep(o.smoke ? 1000 : 10_000);
    const windows: Window[] = [];
    const measure = async (pair: number, probe: 'on' | 'off') => {
      const [run, pause] = probe === 'on' ? [on, off] : [off, on];
      stop(pause.pid());
      cont(run.pid());
      await sleep(settleMs);
      const before = await walFsync(m);
      load.take();
      const t0 = performance.now();
      await sleep(windowMs);
      const after = await walFsync(m);
      const seconds = (performance.now() - t0) / 1000;
      const puts = load.take();
      const d = histogramDelta(before, after);
      windows.push({
        pair,
        probe,
        seconds,
        walFsyncCount: d.count,
        walFsyncP50: hQuantile(d, 0.5) ?? NaN,
        walFsyncP99: hQuantile(d, 0.99) ?? NaN,
        walFsyncMean: d.count > 0 ? d.sum / d.count : NaN,
        puts: { ...latencySummary(puts.latencies), failed: puts.failed, skipped: puts.skipped },
        histogram: d,
      });
      const w = windows[windows.length - 1]!;
      say(F, `pair ${pair} probe ${probe}: ${w.walFsyncCount} WAL fsyncs, p99 ≈ ${fmtMs(w.walFsyncP99)}, mean ${fmtMs(w.walFsyncMean)}; put p99 ${fmtMs(w.puts.p99)}`);
    };
    for (let pair = 1; pair <= pairs; pair++) {
      const order: Array<'on' | 'off'> = pair % 2 === 1 ? ['on', 'off'] : ['off', 'on'];
      for (const p of order) await measure(pair, p);
    }
    cont(on.pid());
    cont(off.pid());
    await load.stop();
    const pairsOut = Array.from({ length: pairs }, (_, i) => {
      const a = windows.find((w) => w.pair === i + 1 && w.probe === 'on')!;
      const b = windows.find((w) => w.pair === i + 1 && w.probe === 'off')!;
      return {
        pair: i + 1,
        p99Ratio: a.walFsyncP99 / b.walFsyncP99,
        meanRatio: a.walFsyncMean / b.walFsyncMean,
        putP99Ratio: a.puts.p99 / b.puts.p99,
      };
    });
    const p99Ratio = spread(pairsOut.map((p) => p.p99Ratio));
    const meanRatio = spread(pairsOut.map((p) => p.meanRatio));
    const putRatio = spread(pairsOut.map((p) => p.putP99Ratio));
    const onP99 = spread(windows.filter((w) => w.probe === 'on').map((w) => w.walFsyncP99));
    const offP99 = spread(windows.filter((w) => w.probe === 'off').map((w) => w.walFsyncP99));
    // Pooled: every window of an arm added up (all its fsyncs), then one p99 per arm.
    const pooled = (probe: 'on' | 'off') => {
      const h = sumHistograms(windows.filter((w) => w.probe === probe).map((w) => w.histogram));
      return { count: h?.count ?? 0, p99: h ? (hQuantile(h, 0.99) ?? NaN) : NaN, mean: h && h.count > 0 ? h.sum / h.count : NaN };
    };
    const pooledOn = pooled('on');
    const pooledOff = pooled('off');
    const targetMet = p99Ratio.median <= 1.05;
    return {
      figure: F,
      target: 'WAL fsync p99 ratio (probe on / off) ≤ 1.05',
      targetMet,
      summary: [
        `WAL fsync p99 ratio on/off ${fmtSpread(p99Ratio, fmtNum(3))} per interleaved pair; mean (exact sum/count) ratio ${fmtSpread(meanRatio, fmtNum(3))}; client put p99 ratio ${fmtSpread(putRatio, fmtNum(3))}`,
        `WAL fsync p99 with the probe on ${fmtSpread(onP99, fmtMs)}, off ${fmtSpread(offP99, fmtMs)}; pooled over all windows: on ${fmtMs(pooledOn.p99)} (${pooledOn.count} fsyncs, mean ${fmtMs(pooledOn.mean)}), off ${fmtMs(pooledOff.p99)} (${pooledOff.count}, mean ${fmtMs(pooledOff.mean)}), ratio ${(pooledOn.p99 / pooledOff.p99).toFixed(3)}`,
        `target ratio ≤ 1.05 (median of pairs): ${targetMet ? 'met' : 'MISSED'}`,
      ],
      method: {
        setup: `1-member etcd 3.4, ${rate} puts/s of 256 bytes (each a WAL write + fdatasync); two agents at default settings${onFlags.length ? ` (the probe-on one with ${onFlags.join(' ')})` : ''}, one with --probe-enabled=false; probe file on ${deviceOf(probeDir)}, etcd's WAL on ${deviceOf(m.dataDir)}`,
        windows: `${pairs} pairs of ${Math.round(windowMs / 1000)} s windows, ABBA order; in each window the other agent is SIGSTOPped; ${settleMs} ms settle after each switch`,
        quantiles: "etcd's etcd_disk_wal_fsync_duration_seconds delta per window; p50/p99 interpolated inside etcd's power-of-two buckets (as histogram_quantile does), the mean exact (sum/count); put latencies exact, client side",
      },
      results: { p99Ratio, meanRatio, putP99Ratio: putRatio, walFsyncP99On: onP99, walFsyncP99Off: offP99, pooledOn, pooledOff, pairs: pairsOut },
      raw: windows,
    };
  });
}
