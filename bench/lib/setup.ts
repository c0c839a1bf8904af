// The environments the figures run in: a temporary directory, real etcd members (Debian's etcd 3.4,
// through the test helper), the agent beside them, Debian's node_exporter, and an etcd write load.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { freePort, startEtcdCluster, type EtcdCluster, type EtcdClusterOptions, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { memberArgs, startAgent, waitReady, type BenchAgent } from './agent.js';
import { Group } from './processes.js';

/** A temporary directory and the clean-ups of what was started in it, run newest first. */
export class Workspace {
  readonly dir: string;
  private readonly cleanups: Array<{ name: string; run: () => Promise<void> | void }> = [];

  constructor(figure: string, base = tmpdir()) {
    this.dir = mkdtempSync(join(base, `bench-${figure}-`));
    this.defer('rm workspace', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  defer(name: string, run: () => Promise<void> | void): void {
    this.cleanups.push({ name, run });
  }

  async close(): Promise<void> {
    while (this.cleanups.length > 0) {
      const c = this.cleanups.pop()!;
      try {
        await c.run();
      } catch (err) {
        process.stderr.write(`bench: clean-up "${c.name}" failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  }
}

/** Runs `body` in a fresh workspace and always cleans up. */
export async function withWorkspace<T>(figure: string, body: (ws: Workspace) => Promise<T>, base?: string): Promise<T> {
  const ws = new Workspace(figure, base);
  try {
    return await body(ws);
  } finally {
    await ws.close();
  }
}

export async function startCluster(ws: Workspace, opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const cluster = await startEtcdCluster({ baseDir: ws.dir, startTimeoutMs: 90_000, ...opts });
  ws.defer('etcd cluster', () => cluster.close());
  return cluster;
}

/** A probe dir beside the member's data dir: the same filesystem, outside etcd's own directories. */
export function probeDirFor(m: EtcdMemberProcess, name = `probe-${m.name}`): string {
  const dir = join(dirname(m.dataDir), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The agent at its default settings (probe interval, writes, file size, every source interval),
 * pointed at `member`, its probe beside the member's data dir. `extra` flags come last and win.
 */
export async function startDefaultAgent(ws: Workspace, member: EtcdMemberProcess, name: string, extra: readonly string[] = [], o: { wrap?: readonly string[]; nodeArgs?: readonly string[]; probeDir?: string; cli?: string } = {}): Promise<BenchAgent> {
  const agent = await startAgent({
    dir: ws.dir,
    name,
    args: [...memberArgs(member), `--probe-dir=${o.probeDir ?? probeDirFor(member, `probe-${name}`)}`, '--log-level=info', ...extra],
    ...(o.wrap ? { wrap: o.wrap } : {}),
    ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
    ...(o.cli ? { cli: o.cli } : {}),
  });
  ws.defer(`agent ${name}`, () => agent.stop());
  if (!(await waitReady(agent))) throw new Error(`agent ${name} never became ready; see ${agent.logFile}`);
  return agent;
}

export interface NodeExporter {
  readonly url: string;
  readonly group: Group;
}

/** Debian's prometheus-node-exporter with its default collectors, on a free loopback port. */
export async function startNodeExporter(ws: Workspace): Promise<NodeExporter> {
  const port = await freePort();
  const group = new Group('node_exporter', '/usr/bin/prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`], join(ws.dir, 'node-exporter.log'));
  ws.defer('node_exporter', () => group.stop(5000));
  const url = `http://127.0.0.1:${port}/metrics`;
  await waitAnswering(group, url);
  return { url, group };
}

/** Waits until `url` answers 200, failing as soon as the process is gone. */
async function waitAnswering(group: Group, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!group.running()) throw new Error(`${group.name} exited; see ${group.logFile}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`${group.name} did not answer within ${timeoutMs / 1000} s; see ${group.logFile}`);
}

export interface PrometheusScraper {
  readonly url: string;
  readonly group: Group;
  /** Every raw sample of `scrape_duration_seconds` for `job` in the last `seconds`, in seconds. */
  scrapeDurations(job: string, seconds: number): Promise<number[]>;
}

/**
 * Debian's Prometheus scraping each target (job name → URL) every second, as a
 * `scrape_interval: 1s` Prometheus does: its own Go HTTP client, keep-alive, its Accept header.
 * `scrape_duration_seconds` is what operators see of a target's latency. Not the scenario harness's
 * Prometheus (test/scenarios/prometheus.ts): that one evaluates the alert rules every second, CPU
 * that would compete with the agent during a latency figure.
 */
export async function startPrometheus(ws: Workspace, targets: Record<string, string>): Promise<PrometheusScraper> {
  const dir = join(ws.dir, 'prometheus');
  mkdirSync(dir, { recursive: true });
  const scrapeConfigs = Object.entries(targets).map(([job, target]) => {
    const u = new URL(target);
    return { job_name: job, metrics_path: u.pathname, static_configs: [{ targets: [u.host] }] };
  });
  const config = join(dir, 'prometheus.yml');
  // JSON is YAML.
  writeFileSync(config, JSON.stringify({ global: { scrape_interval: '1s', scrape_timeout: '1s' }, scrape_configs: scrapeConfigs }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const group = new Group('prometheus', '/usr/bin/prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], join(ws.dir, 'prometheus.log'));
  ws.defer('prometheus', () => group.stop(5000));
  await waitAnswering(group, `${url}/-/ready`);
  return {
    url,
    group,
    async scrapeDurations(job, seconds) {
      const expr = `scrape_duration_seconds{job="${job}"}[${Math.round(seconds)}s]`;
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ values: Array<[number, string]> }> } };
      if (body.status !== 'success') throw new Error(`Prometheus query ${expr}: ${body.error ?? res.status}`);
      return (body.data?.result ?? []).flatMap((r) => r.values.map(([, v]) => Number(v)));
    },
  };
}

export interface PutLoad {
  /** Put latencies (seconds) since the last `take()`, and the puts that failed or were skipped. */
  take(): { latencies: number[]; failed: number; skipped: number };
  stop(): Promise<void>;
}

/**
 * A fixed write load: one put of `valueBytes` every 1/rate s (each put is a WAL write + fdatasync on
 * every member), at most `maxInFlight` outstanding.
 */
export function startPutLoad(ws: Workspace, endpoints: readonly string[], o: { rate: number; valueBytes?: number; maxInFlight?: number }): PutLoad {
  const client = new Etcd3({ hosts: [...endpoints], dialTimeout: 2000, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 }) });
  const value = 'v'.repeat(o.valueBytes ?? 256);
  const maxInFlight = o.maxInFlight ?? 8;
  let latencies: number[] = [];
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  let seq = 0;
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    if (inFlight >= maxInFlight) {
      skipped++;
      return;
    }
    inFlight++;
    const started = performance.now();
    const p = client
      .put(`bench/load/${seq++ % 1000}`)
      .value(value)
      .exec()
      .then(
        () => void latencies.push((performance.now() - started) / 1000),
        () => void failed++,
      )
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  }, 1000 / o.rate);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      clearInterval(timer);
      await Promise.race([Promise.allSettled([...pending]), sleep(6000)]);
      client.close();
    })());
  ws.defer('put load', stop);
  return {
    take() {
      const out = { latencies, failed, skipped };
      latencies = [];
      failed = 0;
      skipped = 0;
      return out;
    },
    stop,
  };
}
