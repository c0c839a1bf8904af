// `etcd-latency-agent run` (the default): sample every source on its schedule and serve what is known
// until SIGTERM/SIGINT.
import { hostname } from 'node:os';
import { startAgent, type Agent, type AgentContext } from './agent.js';
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

/** The probe's directory when it runs, and the agent's context: why the probe is off when it was asked for. */
export function probeParts(probe: ProbePlacement | undefined): { readonly dir: string | undefined; readonly context: AgentContext } {
  if (probe === undefined) return { dir: undefined, context: {} };
  return 'dir' in probe ? { dir: probe.dir, context: {} } : { dir: undefined, context: { probeOff: probe.off } };
}

export function buildSources(config: Config, tls: TlsFiles | undefined, probeDir: string | undefined): AnySource[] {
  return createSources(config, { ...(tls ? { tls } : {}), ...(probeDir !== undefined ? { probeDir } : {}) });
}

export async function run(config: Config, tls: TlsFiles | undefined, probe: ProbePlacement | undefined, log: Logger, web?: WebConfig): Promise<number> {
  const { dir: probeDir, context } = probeParts(probe);
  const agent: Agent = startAgent(buildSources(config, tls, probeDir), log, { thresholds: config.thresholds, interval: config.diagnosisInterval }, context);
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

