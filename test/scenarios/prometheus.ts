// A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port, scraping every agent and
// every etcd member each second and evaluating the project's alert rules (deploy/prometheus/*.rules.yaml,
// once they exist) each second. Its TSDB lives in the scenario's directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../../harness/etcd-cluster.js';
import { spawnGroup, tail, type Cleanups, type GroupChild } from '../../harness/processes.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';
export const RULES_DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));

export interface ScrapeTarget {
  /** host:port */
  readonly address: string;
  readonly metricsPath: string;
  /** Extra target labels (e.g. node="m0"); `member` is avoided: the agent's own series carry it. */
  readonly labels: Record<string, string>;
}

export interface RuleFiles {
  /** Rule files given to Prometheus (plain rule groups; PrometheusRule objects are unwrapped). */
  readonly loaded: string[];
  /** Rule files found but not loaded, with the reason. */
  readonly rejected: Array<{ file: string; reason: string }>;
}

export interface PrometheusServer {
  readonly url: string;
  readonly rules: RuleFiles;
  readonly group: GroupChild;
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** The alerts API as is: name and state of each active alert. */
  alerts(): Promise<Array<{ name: string; state: string; labels: Record<string, string> }>>;
  /** Names of alerts that were firing at any rule evaluation in the last `seconds`. */
  firedWithin(seconds: number): Promise<string[]>;
  /** For each alert that was pending or firing in the last `seconds`: how many rule evaluations (≈ seconds) in each state. */
  alertHistory(seconds: number): Promise<Record<string, { pending: number; firing: number }>>;
  /** Failed scrapes per target (job/node) in the last `seconds`; only targets with failures. */
  scrapeFailures(seconds: number): Promise<Record<string, number>>;
  /** Waits until every target has been scraped successfully once (bounded). */
  waitForTargets(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Collects the project's alert rules: every `deploy/prometheus/*.rules.yaml` (or .yml). A plain rules
 * file (`groups:`) is used as it is; a prometheus-operator `PrometheusRule` (`spec.groups`) is
 * unwrapped into `dir`. Each candidate must pass `promtool check rules`, else it is listed as rejected
 * (the scenario still runs, and says so).
 */
export function collectRuleFiles(dir: string, rulesDir = RULES_DIR): RuleFiles {
  const loaded: string[] = [];
  const rejected: Array<{ file: string; reason: string }> = [];
  if (!existsSync(rulesDir)) return { loaded, rejected };
  const files = readdirSync(rulesDir).filter((f) => /\.rules\.ya?ml$/.test(f)).sort();
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    const src = join(rulesDir, f);
    let candidate = src;
    try {
      const docs = parseAllDocuments(readFileSync(src, 'utf8')).map((d) => d.toJS() as Record<string, unknown> | null);
      const groups: unknown[] = [];
      let plain = false;
      for (const d of docs) {
        if (d === null || typeof d !== 'object') continue;
        if (Array.isArray(d['groups'])) {
          plain = true;
          groups.push(...(d['groups'] as unknown[]));
        } else if (d['kind'] === 'PrometheusRule') {
          const spec = d['spec'] as { groups?: unknown[] } | undefined;
          groups.push(...(spec?.groups ?? []));
        }
      }
      if (groups.length === 0) {
        rejected.push({ file: src, reason: 'no rule groups (neither groups: nor a PrometheusRule spec.groups)' });
        continue;
      }
      if (!plain || docs.length > 1) {
        candidate = join(dir, f.replace(/\.ya?ml$/, '.json'));
        writeFileSync(candidate, JSON.stringify({ groups }, null, 2));
      }
      execFileSync(PROMTOOL_BIN, ['check', 'rules', candidate], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
      loaded.push(candidate);
    } catch (err) {
      const e = err as { stderr?: Buffer; stdout?: Buffer; message?: string };
      const text = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim() || e.message || String(err);
      rejected.push({ file: src, reason: text.split('\n').slice(0, 6).join(' | ') });
    }
  }
  return { loaded, rejected };
}

export function prometheusConfig(jobs: Record<string, readonly ScrapeTarget[]>, ruleFiles: readonly string[]): string {
  const scrapeConfigs = Object.entries(jobs).map(([job, targets]) => {
    // One scrape config per metrics path (etcd's and the agent's are both /metrics; kept general).
    return {
      job_name: job,
      metrics_path: targets[0]?.metricsPath ?? '/metrics',
      static_configs: targets.map((t) => ({ targets: [t.address], labels: t.labels })),
    };
  });
  // JSON is YAML: no YAML writer needed.
  return JSON.stringify(
    {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ruleFiles,
      scrape_configs: scrapeConfigs,
    },
    null,
    2,
  );
}

/** A URL such as http://127.0.0.1:1234/metrics → a scrape target. */
export function targetOf(url: string, labels: Record<string, string>): ScrapeTarget {
  const u = new URL(url);
  return { address: u.host, metricsPath: u.pathname === '/' ? '/metrics' : u.pathname, labels };
}

export async function startPrometheus(cleanups: Cleanups, dir: string, jobs: Record<string, readonly ScrapeTarget[]>): Promise<PrometheusServer> {
  mkdirSync(dir, { recursive: true });
  const rules = collectRuleFiles(join(dir, 'rules'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(jobs, rules.loaded));
  execFileSync(PROMTOOL_BIN, ['check', 'config', configFile], { stdio: 'ignore', timeout: 30_000 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'prometheus.log');
  const group = spawnGroup('prometheus', PROMETHEUS_BIN, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1d',
    '--log.level=warn',
  ], { logFile });
  cleanups.add('prometheus', () => group.stop({ graceMs: 5000 }), () => group.killSync());

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const query = async (expr: string) => {
    const data = await api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const server: PrometheusServer = {
    url,
    rules,
    group,
    query,
    async alerts() {
      const data = await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts');
      return data.alerts.map((a) => ({ name: a.labels['alertname'] ?? '?', state: a.state, labels: a.labels }));
    },
    async firedWithin(seconds) {
      const r = await query(`count by (alertname) (max_over_time(ALERTS{alertstate="firing"}[${Math.max(1, Math.ceil(seconds))}s]))`);
      return r.map((x) => x.metric['alertname'] ?? '?').sort();
    },
    async alertHistory(seconds) {
      const r = await query(`max by (alertname, alertstate) (count_over_time(ALERTS[${Math.max(1, Math.ceil(seconds))}s]))`);
      const out: Record<string, { pending: number; firing: number }> = {};
      for (const x of r) {
        const name = x.metric['alertname'] ?? '?';
        const e = (out[name] ??= { pending: 0, firing: 0 });
        if (x.metric['alertstate'] === 'firing') e.firing = x.value;
        else e.pending = x.value;
      }
      return out;
    },
    async scrapeFailures(seconds) {
      const w = `${Math.max(1, Math.ceil(seconds))}s`;
      const r = await query(`sum by (job, node) (count_over_time(up[${w}]) - sum_over_time(up[${w}])) > 0`);
      return Object.fromEntries(r.map((x) => [`${x.metric['job'] ?? '?'}/${x.metric['node'] ?? '?'}`, x.value]));
    },
    async waitForTargets(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        try {
          const data = await api<{ activeTargets: Array<{ health: string; scrapeUrl: string; lastError: string }> }>('/api/v1/targets');
          const bad = data.activeTargets.filter((t) => t.health !== 'up');
          if (data.activeTargets.length > 0 && bad.length === 0) return;
          last = bad.map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`).join('; ');
        } catch (err) {
          last = String(err);
        }
        await sleep(500);
      }
      throw new Error(`Prometheus targets not all up within ${timeoutMs} ms: ${last}`);
    },
    stop: () => group.stop({ graceMs: 5000 }),
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!group.running()) throw new Error(`prometheus exited; log tail:\n${tail(logFile)}`);
    if (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false)) return server;
    if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s; log tail:\n${tail(logFile)}`);
    await sleep(200);
  }
}
