// The agent as a real process (dist/cli.js), optionally under a wrapper (strace), with its own port.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { AGENT_CLI } from './common.js';
import { cpuSeconds, findDescendant, Group, rssBytes } from './processes.js';

export interface BenchAgent {
  readonly url: string;
  readonly port: number;
  readonly group: Group;
  readonly logFile: string;
  /** node's own pid (under a wrapper, the wrapper's descendant). */
  pid(): number;
  cpuSeconds(): number | undefined;
  rssBytes(): number | undefined;
  get(path: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** The flags that point an agent at one etcd member (its own, as on a control-plane node). */
export function memberArgs(m: EtcdMemberProcess, settings: { heartbeatMs?: number; electionMs?: number } = {}): string[] {
  return [
    `--etcd-endpoints=${m.clientUrl}`,
    `--etcd-metrics-url=${m.metricsUrl}`,
    `--etcd-data-dir=${m.dataDir}`,
    `--member-name=${m.name}`,
    // Several etcd processes may run on this host: say the settings instead of letting the agent
    // pick one etcd from /proc; no kubeadm manifest here.
    `--etcd-heartbeat-interval=${settings.heartbeatMs ?? 100}ms`,
    `--etcd-election-timeout=${settings.electionMs ?? 1000}ms`,
    '--etcd-manifest=/nonexistent/etcd.yaml',
  ];
}

export async function startAgent(opts: {
  dir: string;
  name: string;
  args: readonly string[];
  wrap?: readonly string[];
  nodeArgs?: readonly string[];
  /** Another build of the agent than AGENT_CLI (before/after comparisons). */
  cli?: string;
}): Promise<BenchAgent> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(opts.dir, `agent-${opts.name}.log`);
  const node = [process.execPath, ...(opts.nodeArgs ?? []), opts.cli ?? AGENT_CLI, `--listen-address=127.0.0.1:${port}`, ...opts.args];
  const [file, ...args] = opts.wrap?.length ? [...opts.wrap, ...node] : node;
  const group = new Group(`agent ${opts.name}`, file!, args, logFile, { env: { PATH: process.env.PATH } });
  let nodePid: number | undefined = opts.wrap?.length ? undefined : group.pgid;
  const pid = (): number => {
    nodePid ??= findDescendant(group.pgid, process.execPath);
    if (nodePid === undefined) throw new Error(`agent ${opts.name}: node process not found under pid ${group.pgid}`);
    return nodePid;
  };
  const get = async (path: string, timeoutMs = 5000) => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  };
  const agent: BenchAgent = {
    url,
    port,
    group,
    logFile,
    pid,
    cpuSeconds: () => cpuSeconds(pid()),
    rssBytes: () => rssBytes(pid()),
    get,
    stop: async () => {
      let target: number | undefined;
      try {
        target = pid();
      } catch {
        target = undefined;
      }
      await group.stop(10_000, target);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!group.running()) throw new Error(`agent ${opts.name} exited early; see ${logFile}`);
    if (await get('/healthz', 2000).then((r) => r.status === 200, () => false)) break;
    if (Date.now() > deadline) {
      await group.stop(1000);
      throw new Error(`agent ${opts.name} did not serve /healthz within 60 s; see ${logFile}`);
    }
    await sleep(100);
  }
  return agent;
}

/** Waits until every source has been sampled once (/readyz 200), bounded. */
export async function waitReady(agent: BenchAgent, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await agent.get('/readyz', 2000).then((r) => r.status === 200, () => false)) return true;
    await sleep(200);
  }
  return false;
}
