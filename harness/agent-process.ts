// Runs the built agent (dist/cli.js) as a real process, as an operator would, for end-to-end tests
// and the soak.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, type EtcdMemberProcess } from './etcd-cluster.js';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface AgentProcess {
  readonly url: string;
  readonly probeDir: string;
  readonly child: ChildProcess;
  /** Everything the agent wrote to stderr (its log) so far. */
  log(): string;
  /** GET (or `init.method`) over HTTP, or HTTPS when the agent was started with `https`. */
  get(path: string, init?: { headers?: Record<string, string>; method?: string }): Promise<{ status: number; body: string; headers: Headers }>;
  metrics(): Promise<string>;
  /** Waits until `predicate` holds for the metrics text (bounded; throws with the last text). */
  waitForMetrics(predicate: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then the exit code (SIGKILL and an error after the grace). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Result of running the CLI to completion (bad-input tests). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `wrap`: a command prefix for node, e.g. strace with fdatasync delay injection
 * (`['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', 'inject=fdatasync:delay_enter=30ms']`).
 * The wrapper must run node as its direct child; signals go to node, and the wrapper is waited for.
 */
export interface AgentProcessOptions {
  probeDir?: string;
  wrap?: readonly string[];
  /** The agent serves HTTPS (a --web-config-file with tls_server_config): trust `ca`, present `cert`/`key` when given. */
  https?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** Headers sent with every request of the helper (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Extra environment variables for the agent. */
  env?: NodeJS.ProcessEnv;
  /** Run the agent as this user and group (tests of unreadable files as root). */
  uid?: number;
  gid?: number;
  /** Listen on this port (picked with freePort() beforehand, when agents must know each other's URLs); default a free one. */
  port?: number;
}

/** A request over HTTPS with the given trust and client certificate (Node's fetch cannot take a CA). */
export function httpsGet(url: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }, init: { headers?: Record<string, string>; method?: string } = {}): Promise<{ status: number; body: string; headers: Headers }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca: tls.ca, ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}), timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, body, headers });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startAgentProcess(args: readonly string[], opts: AgentProcessOptions = {}): Promise<AgentProcess> {
  const port = opts.port ?? (await freePort());
  const ownProbeDir = opts.probeDir === undefined;
  const probeDir = opts.probeDir ?? mkdtempSync(join(tmpdir(), 'agent-probe-'));
  const [file, ...prefix] = opts.wrap?.length ? [...opts.wrap, process.execPath] : [process.execPath];
  const child = spawn(
    file!,
    [...prefix, CLI, `--listen-address=127.0.0.1:${port}`, `--probe-dir=${probeDir}`, '--probe-file-size=1MiB', '--probe-min-free=1MiB', '--log-level=debug', ...args],
    {
      env: { PATH: process.env.PATH, ...opts.env },
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    },
  );
  /** Sends `signal` to the agent: node itself, the wrapper's child when wrapped. */
  const signalAgent = (signal: NodeJS.Signals): void => {
    const wrapped = opts.wrap?.length && child.pid !== undefined ? wrappedChild(child.pid) : undefined;
    if (wrapped === undefined) child.kill(signal);
    else process.kill(wrapped, signal);
  };
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;

  const get = async (path: string, init: { headers?: Record<string, string>; method?: string } = {}) => {
    const headers = { ...opts.headers, ...init.headers };
    if (opts.https) return httpsGet(url + path, opts.https, { ...init, headers });
    const res = await fetch(url + path, { method: init.method ?? 'GET', headers });
    return { status: res.status, body: await res.text(), headers: res.headers };
  };
  const agent: AgentProcess = {
    url,
    probeDir,
    child,
    log: () => log,
    get,
    metrics: async () => (await get('/metrics')).body,
    async waitForMetrics(predicate, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let text = '';
      while (Date.now() < deadline) {
        text = await agent.metrics().catch(() => '');
        if (predicate(text)) return text;
        await sleep(200);
      }
      throw new Error(`timed out waiting for ${what}; agent log:\n${log.slice(-3000)}`);
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) signalAgent(signal);
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        signalAgent('SIGKILL');
        child.kill('SIGKILL');
        throw new Error(`agent did not exit within 15 s of ${signal}`);
      }
      if (ownProbeDir) rmSync(probeDir, { recursive: true, force: true });
      return code;
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${log}`);
    const ok = await get('/healthz').then((r) => r.status === 200, () => false);
    if (ok) return agent;
    if (Date.now() > deadline) {
      signalAgent('SIGKILL');
      child.kill('SIGKILL');
      throw new Error(`agent did not serve /healthz within 20 s:\n${log}`);
    }
    await sleep(100);
  }
}

/** The first child of `pid` (Linux: /proc/PID/task/PID/children), or undefined. */
function wrappedChild(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/** The value of one series in Prometheus text (`name{labels}` exactly as rendered), or undefined. */
export function seriesValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** The flags that point an agent at one member of a harness cluster: its client URL, /metrics, data dir and name. */
export function memberFlags(m: EtcdMemberProcess): string[] {
  return [`--etcd-endpoints=${m.clientUrl}`, `--etcd-metrics-url=${m.metricsUrl}`, `--etcd-data-dir=${m.dataDir}`, `--member-name=${m.name}`];
}
