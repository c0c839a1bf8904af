#!/usr/bin/env node
// Entry point: flags → config → command. Bad input exits with status 2 before anything starts; once
// running, nothing etcd or the disk does may stop the agent.
import { BENCH_FLAGS, parseBenchFlags, progressBar, renderBench, runBench } from './commands/bench.js';
import { DIAGNOSE_FLAGS, parseDiagnoseFlags, runDiagnose } from './commands/diagnose.js';
import { run } from './commands/run.js';
import { buildConfig, splitArgs, usage, type Config } from './commands/config.js';
import { createLogger, type Logger } from './lib/log.js';
import { checkPeerCredentials, loadTls, resolveProbeDir, type ProbePlacement, type TlsFiles } from './commands/startup.js';
import { loadWebConfig, type WebConfig } from './export/http/web-config.js';
import { VERSION } from './lib/version.js';
import { ConfigError } from './lib/errors.js';

const COMMANDS = { run: {}, diagnose: DIAGNOSE_FLAGS, bench: BENCH_FLAGS } as const;
type Command = keyof typeof COMMANDS;
const isCommand = (c: string): c is Command => c in COMMANDS;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: Config;
  let tls: TlsFiles | undefined;
  let probe: ProbePlacement | undefined;
  let web: WebConfig | undefined;
  let command: Command;
  let extra: ReadonlyMap<string, string>;
  const warnings: string[] = [];
  try {
    const cli = splitArgs(argv, COMMANDS);
    if (cli.help) {
      process.stdout.write(usage(VERSION) + '\n');
      return 0;
    }
    if (cli.version) {
      process.stdout.write(`etcd-latency-agent ${VERSION}\n`);
      return 0;
    }
    if (!isCommand(cli.command)) throw new ConfigError(`unknown command "${cli.command}"; the commands are: ${Object.keys(COMMANDS).join(', ')}`);
    command = cli.command;
    extra = cli.extra;
    config = buildConfig(cli.values, env);
    tls = loadTls(config, new Date(), warnings);
    checkPeerCredentials(config);
    // Only `run` serves HTTP; a broken web config must stop it before anything listens unprotected.
    if (command === 'run' && config.webConfigFile !== undefined) web = loadWebConfig(config.webConfigFile, new Date(), warnings);
    probe = config.probeEnabled || command === 'bench' ? await resolveProbeDir(config, warnings) : undefined;
    if (command === 'bench') {
      const { count, json } = parseBenchFlags(extra);
      if (probe === undefined || 'off' in probe) {
        throw new ConfigError(`bench: ${probe ? `${probe.off.dir} is on another filesystem than etcd's data dir ${probe.off.etcdDataDir}` : 'no probe dir'}; give --probe-dir on etcd's filesystem`);
      }
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const result = await runBench(config, probe.dir, count, json ? () => {} : progressBar(process.stderr));
      process.stdout.write((json ? JSON.stringify(result, null, 2) : renderBench(result)) + '\n');
      return result.pass ? 0 : 1;
    }
    if (command === 'diagnose') {
      const flags = parseDiagnoseFlags(extra);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      return await runDiagnose(config, tls, probe, flags);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`etcd-latency-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.logLevel, config.logFormat);
  for (const w of warnings) log.warn(w);
  routeProcessWarnings(log);
  return run(config, tls, probe, log, web);
}

/**
 * Node's own warnings go through the agent's log, so they keep its format. DEP0123 is dropped: grpc-js
 * sets the TLS server name to the IP of an https://127.0.0.1 endpoint, which is what kubeadm's etcd
 * certificates are issued for; nothing the operator can or should change.
 */
function routeProcessWarnings(log: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code !== 'DEP0123') log.warn(`node: ${w.message}`, { code: w.code });
  });
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`etcd-latency-agent: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
