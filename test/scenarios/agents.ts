// One agent per etcd member, as the DaemonSet runs it on each control-plane node: the built agent
// (dist/cli.js, the same file harness/agent-process.ts runs), pointed at its own member, with
// its probe on its member's filesystem. Unlike startAgentProcess, these agents can run under strace
// (so the probe meets the same injected stalls as etcd), live in their own process group, log to a
// file in the scenario's directory, and are registered with the scenario's clean-ups.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from '../../harness/agent-process.js';
import { freePort, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { STRACE_BIN, straceArgs, type StallSpec } from './faults.js';
import { childrenOf, exeOf, spawnGroup, tail, type Cleanups, type GroupChild } from '../../harness/processes.js';

export const P = 'etcd_latency_agent_';

export interface ScenarioAgent {
  readonly member: string;
  readonly url: string;
  readonly probeDir: string;
  readonly logFile: string;
  /** strace's log when the agent runs under strace. */
  readonly straceLog?: string;
  readonly group: GroupChild;
  /** The agent's own pid (node), also when it runs under strace. */
  pid(): number | undefined;
  metrics(): Promise<string>;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export interface AgentOptions {
  readonly member: EtcdMemberProcess;
  readonly dir: string;
  /** A directory on the member's filesystem, outside its data dir. */
  readonly probeDir: string;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly stall?: StallSpec;
  readonly extraArgs?: readonly string[];
}

export function agentArgs(o: AgentOptions, port: number): string[] {
  const m = o.member;
  return [
    `--listen-address=127.0.0.1:${port}`,
    `--etcd-endpoints=${m.clientUrl}`,
    `--etcd-metrics-url=${m.metricsUrl}`,
    `--etcd-data-dir=${m.dataDir}`,
    `--member-name=${m.name}`,
    `--probe-dir=${o.probeDir}`,
    '--probe-file-size=16MiB',
    '--probe-min-free=32MiB',
    '--probe-interval=500ms',
    '--etcd-api-interval=200ms',
    '--etcd-metrics-interval=1s',
    '--etcd-timeout=1s',
    '--disk-interval=1s',
    // Several etcd processes run on this host (3 members, maybe other tests'): say the settings
    // rather than let the agent pick one etcd process from /proc.
    `--etcd-heartbeat-interval=${o.heartbeatMs}ms`,
    `--etcd-election-timeout=${o.electionMs}ms`,
    '--etcd-manifest=/nonexistent/etcd.yaml',
    '--log-level=info',
    ...(o.extraArgs ?? []),
  ];
}

export async function startScenarioAgent(cleanups: Cleanups, o: AgentOptions): Promise<ScenarioAgent> {
  mkdirSync(o.probeDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(o.dir, `agent-${o.member.name}.log`);
  const straceLog = o.stall ? join(o.dir, `strace-agent-${o.member.name}.log`) : undefined;
  const node = [process.execPath, CLI, ...agentArgs(o, port)];
  const [file, ...args] = o.stall && straceLog ? [STRACE_BIN, ...straceArgs(o.stall, straceLog), ...node] : node;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  const group = spawnGroup(`agent ${o.member.name}`, file!, args, { logFile, env });
  let nodePid: number | undefined = o.stall ? undefined : group.pgid;
  const pid = (): number | undefined => {
    if (nodePid !== undefined) return nodePid;
    // By executable: Node.js 24 calls its process "MainThread", not "node".
    nodePid = childrenOf(group.pgid).find((c) => exeOf(c.pid) === process.execPath)?.pid;
    return nodePid;
  };
  const get = async (path: string) => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  };
  const stop = () => group.stop({ sig: 'SIGTERM', graceMs: 10_000, ...(o.stall ? { tracee: pid } : {}) });
  cleanups.add(`agent ${o.member.name}`, stop, () => group.killSync(o.stall ? pid : undefined));
  const agent: ScenarioAgent = {
    member: o.member.name,
    url,
    probeDir: o.probeDir,
    logFile,
    ...(straceLog ? { straceLog } : {}),
    group,
    pid,
    get,
    metrics: async () => (await get('/metrics')).body,
    stop,
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!group.running()) throw new Error(`agent for ${o.member.name} exited; log tail:\n${tail(logFile)}`);
    if (await get('/healthz').then((r) => r.status === 200, () => false)) return agent;
    if (Date.now() > deadline) throw new Error(`agent for ${o.member.name} did not serve /healthz within 30 s; log tail:\n${tail(logFile)}`);
    await sleep(100);
  }
}
