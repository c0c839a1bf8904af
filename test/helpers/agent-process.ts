// Runs the built agent (dist/cli.js) as a real process, as an operator would, for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './etcd-cluster.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface AgentProcess {
  readonly url: string;
  readonly probeDir: string;
  readonly child: ChildProcess;
  /** Everything the agent wrote to stderr (its log) so far. */
  log(): string;
  get(path: string): Promise<{ status: number; body: string; headers: Headers }>;
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

export async function startAgentProcess(args: readonly string[], opts: { probeDir?: string } = {}): Promise<AgentProcess> {
  const port = await freePort();
  const ownProbeDir = opts.probeDir === undefined;
  const probeDir = opts.probeDir ?? mkdtempSync(join(tmpdir(), 'agent-probe-'));
  const child = spawn(
    process.execPath,
    [CLI, `--listen-address=127.0.0.1:${port}`, `--probe-dir=${probeDir}`, '--probe-file-size=1MiB', '--probe-min-free=1MiB', '--log-level=debug', ...args],
    { env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  const get = async (path: string) => {
    const res = await fetch(url + path);
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
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
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
      child.kill('SIGKILL');
      throw new Error(`agent did not serve /healthz within 20 s:\n${log}`);
    }
    await sleep(100);
  }
}

/** The value of one series in Prometheus text (`name{labels}` exactly as rendered), or undefined. */
export function seriesValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
