// `etcd-latency-agent run` (the default): sample every source on its schedule and serve what is known
// until SIGTERM/SIGINT.
import { hostname } from 'node:os';
import { startAgent, type Agent, type AgentContext, type DiagnosisSchedule } from './agent.js';
import { createSources, type AnySource } from '../sources/registry.js';
import type { Config } from './config.js';
import { createMetricsRegistry } from '../export/prometheus/metrics.js';
import { closeServer, createApp, listen } from '../export/http/server.js';
import { initialSecurity, watchWebConfig } from '../export/http/http-security.js';
import { describeWebConfig, type WebConfig } from '../export/http/web-config.js';
import type { Logger } from '../lib/log.js';
import { errorMessage } from '../lib/errors.js';
import type { ProbePlacement, TlsFiles } from './startup.js';
import { VERSION } from '../lib/version.js';
import type { EtcdApiSample } from '../sources/etcd-api.js';
import { autoPeerUrls } from '../sources/peer-agents.js';

/** The probe's directory when it runs, and the agent's context: why the probe is off when it was asked for. */
export function probeParts(probe: ProbePlacement | undefined): { readonly dir: string | undefined; readonly context: AgentContext } {
  if (probe === undefined) return { dir: undefined, context: {} };
  return 'dir' in probe ? { dir: probe.dir, context: {} } : { dir: undefined, context: { probeOff: probe.off } };
}

/**
 * The peer agents to ask each round (--peer-agents): the URLs given, or with auto the other members'
 * addresses from etcd's latest member list, at this agent's port and scheme; undefined when off.
 */
function peerTargets(config: Config, scheme: 'http' | 'https', etcd: () => EtcdApiSample | undefined): (() => readonly string[] | undefined) | undefined {
  const p = config.peerAgents;
  if (p === 'off') return undefined;
  if (p !== 'auto') return () => p;
  return () => {
    const api = etcd();
    return api && autoPeerUrls(api.members, api.memberId, config.listenAddress.port, scheme);
  };
}

function buildSources(config: Config, tls: TlsFiles | undefined, probeDir: string | undefined, peers?: () => readonly string[] | undefined): AnySource[] {
  return createSources(config, { ...(tls ? { tls } : {}), ...(probeDir !== undefined ? { probeDir } : {}), ...(peers ? { peerTargets: peers } : {}) });
}

/**
 * The scheme auto gives the peers: the agents of one DaemonSet serve alike, so https when this one
 * does (`web`, known to `run` only) or when the peers' TLS or token flags are given.
 */
function peerScheme(config: Config, web: WebConfig | undefined): 'http' | 'https' {
  const secured = web?.tls !== undefined || [config.peerAgentsCaFile, config.peerAgentsServerName, config.peerAgentsTokenFile].some((f) => f !== undefined);
  return secured ? 'https' : 'http';
}

/** Starts the agent; auto peer agents follow the member list its own etcd_api source reads. */
export function startWithPeers(config: Config, tls: TlsFiles | undefined, probe: ProbePlacement | undefined, log: Logger, schedule: DiagnosisSchedule | undefined, web?: WebConfig): Agent {
  const { dir, context } = probeParts(probe);
  // The sources exist before the state that keeps etcd's answers: the peers read it once it does.
  let agent: Agent | undefined;
  const peers = peerTargets(config, peerScheme(config, web), () => agent?.state.sources.etcd_api.latest?.value);
  agent = startAgent(buildSources(config, tls, dir, peers), log, schedule, context);
  return agent;
}

export async function run(config: Config, tls: TlsFiles | undefined, probe: ProbePlacement | undefined, log: Logger, web?: WebConfig): Promise<number> {
  const probeDir = probeParts(probe).dir;
  const agent = startWithPeers(config, tls, probe, log, { thresholds: config.thresholds, interval: config.diagnosisInterval }, web);
  const member = config.memberName ?? hostname();
  const registry = createMetricsRegistry({ state: agent.state, version: VERSION, member });
  const security = initialSecurity(web, config.webDisableApi);
  let server;
  try {
    server = await listen(createApp({ state: agent.state, registry, version: VERSION, member, security }), config.listenAddress, web?.tls);
  } catch (err) {
    log.error(`cannot listen on ${config.listenAddress.host}:${config.listenAddress.port}: ${errorMessage(err)}; choose another --listen-address`);
    await agent.stop();
    return 2;
  }
  log.info('agent started', {
    version: VERSION,
    listen: `${config.listenAddress.host}:${config.listenAddress.port}`,
    member,
    probe_dir: probeDir ?? (probe ? 'off: not on etcd\'s filesystem' : 'disabled'),
    etcd_endpoints: config.etcdEndpoints.join(','),
    etcd_metrics_url: config.etcdMetricsUrl,
    ...describeWebConfig(web),
    web_api: config.webDisableApi ? 'disabled' : 'enabled',
  });
  const stopWatching = web ? watchWebConfig(web, server, security, log) : () => undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('stopping', { signal });
  // A second signal while stopping means "now": do not make the operator wait for a stuck close.
  const forceExit = () => process.exit(1);
  process.once('SIGTERM', forceExit);
  process.once('SIGINT', forceExit);
  stopWatching();
  await Promise.all([closeServer(server), agent.stop()]);
  log.info('stopped');
  return 0;
}

