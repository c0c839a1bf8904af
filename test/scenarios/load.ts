// A steady client write load: one put every 1/rate seconds, to any member (the etcd3 client picks),
// at most `maxInFlight` outstanding so a frozen cluster does not pile up requests. It is the load
// that makes etcd fdatasync (each put is a WAL write + fdatasync on every member), so a slow-disk
// scenario's stalls happen at a rate set by this load.
import { Etcd3 } from 'etcd3';
import { quantile, emptyHistogram, observe, type HistogramSnapshot } from '../../src/lib/histogram.js';

export interface LoadStats {
  readonly rate: number;
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Puts not sent because `maxInFlight` were already outstanding (the cluster was not answering). */
  readonly skipped: number;
  /** Client-side put latency, seconds. */
  readonly p50?: number;
  readonly p99?: number;
  readonly max?: number;
}

export interface Load {
  /** Counters since `reset()` (or the start). */
  stats(): LoadStats;
  /** Starts counting afresh (the measurement window begins). */
  reset(): void;
  stop(): Promise<void>;
}

const EDGES = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];

export function startLoad(endpoints: readonly string[], opts: { rate: number; valueBytes?: number; maxInFlight?: number; timeoutMs?: number }): Load {
  const client = new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (opts.timeoutMs ?? 5000) }),
  });
  const value = 'x'.repeat(opts.valueBytes ?? 256);
  const maxInFlight = opts.maxInFlight ?? 8;
  let inFlight = 0;
  let seq = 0;
  let attempted = 0;
  let succeeded = 0;
  let failed = 0;
  let skipped = 0;
  let max = 0;
  let latencies: HistogramSnapshot = emptyHistogram(EDGES);
  let stopped = false;
  const pending = new Set<Promise<void>>();

  const one = () => {
    if (inFlight >= maxInFlight) {
      skipped++;
      return;
    }
    inFlight++;
    attempted++;
    const started = performance.now();
    const p = client
      .put(`scenario/load/${seq++ % 1000}`)
      .value(value)
      .exec()
      .then(
        () => {
          succeeded++;
          const s = (performance.now() - started) / 1000;
          latencies = observe(latencies, [s]);
          if (s > max) max = s;
        },
        () => {
          failed++;
        },
      )
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  };
  const timer = setInterval(() => {
    if (!stopped) one();
  }, 1000 / opts.rate);

  return {
    stats() {
      const p50 = quantile(latencies, 0.5);
      const p99 = quantile(latencies, 0.99);
      return {
        rate: opts.rate,
        attempted,
        succeeded,
        failed,
        skipped,
        ...(p50 !== undefined ? { p50 } : {}),
        ...(p99 !== undefined ? { p99 } : {}),
        ...(succeeded > 0 ? { max } : {}),
      };
    },
    reset() {
      attempted = succeeded = failed = skipped = 0;
      max = 0;
      latencies = emptyHistogram(EDGES);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, (opts.timeoutMs ?? 5000) + 1000).unref())]);
      client.close();
    },
  };
}
