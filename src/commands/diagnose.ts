// `etcd-latency-agent diagnose`: sample this node for --duration (or read a running agent with
// --from), then print the findings and recommendations. Exit 0 when nothing of warning or worse was
// found, 1 when something was, 2 on bad input.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { diagnose } from '../analysis/diagnose.js';
import type { Diagnosis } from '../model/diagnosis.js';
import { type Config } from './config.js';
import { collectEvidence } from '../analysis/evidence.js';
import { diagnosisJson, parseDiagnosisJson } from '../export/api/diagnosis-json.js';
import { renderReport, styleFor } from '../export/report/report.js';
import { createLogger } from '../lib/log.js';
import { errorMessage } from '../lib/errors.js';
import type { ProbePlacement, TlsFiles } from './startup.js';
import { parseDuration, type Milliseconds } from '../lib/units.js';
import { startWithPeers } from './run.js';
import { ConfigError } from '../lib/errors.js';

export const DIAGNOSE_FLAGS = { valued: ['duration', 'from'], boolean: ['json'] } as const;

export interface DiagnoseOptions {
  readonly duration: Milliseconds;
  readonly json: boolean;
  readonly from?: string;
}

export function parseDiagnoseFlags(extra: ReadonlyMap<string, string>): DiagnoseOptions {
  const durationText = extra.get('duration') ?? '30s';
  const duration = parseDuration(durationText);
  if (duration === undefined || duration <= 0) throw new ConfigError(`--duration: "${durationText}" is not a duration; write it like 30s or 2m`);
  const json = extra.get('json');
  if (json !== undefined && json !== 'true' && json !== 'false') throw new ConfigError('--json takes no value (or true/false)');
  const from = extra.get('from');
  if (from !== undefined && !/^https?:\/\/[^/]+/.test(from)) throw new ConfigError(`--from: "${from}" is not an agent URL; write it like http://127.0.0.1:9379`);
  return { duration, json: json === 'true', ...(from !== undefined ? { from: from.replace(/\/$/, '') } : {}) };
}

/** Samples every source in this process for the duration, then diagnoses what was gathered. */
async function sampleAndDiagnose(config: Config, tls: TlsFiles | undefined, probe: ProbePlacement | undefined, duration: Milliseconds): Promise<Diagnosis> {
  // Sources log their state changes; in a one-shot report only errors belong on stderr.
  const log = createLogger('error', config.logFormat);
  const agent = startWithPeers(config, tls, probe, log, undefined);
  await sleep(duration);
  await agent.stop();
  const now = new Date();
  return diagnose(collectEvidence(agent.state, now, config.thresholds), config.thresholds).diagnosis;
}

async function fetchDiagnosis(from: string, timeout: Milliseconds): Promise<Diagnosis> {
  const url = `${from}/api/v1/diagnosis`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeout) });
  } catch (err) {
    throw new ConfigError(`--from: cannot reach ${url}: ${errorMessage(err)}`);
  }
  if (!res.ok) throw new ConfigError(`--from: ${url} answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  return parseDiagnosisJson(await res.text());
}

export async function runDiagnose(config: Config, tls: TlsFiles | undefined, probe: ProbePlacement | undefined, opts: DiagnoseOptions): Promise<number> {
  const member = config.memberName ?? hostname();
  if (!opts.from && process.stderr.isTTY && !opts.json) process.stderr.write(`sampling this node for ${opts.duration / 1000} s…\n`);
  const d = opts.from ? await fetchDiagnosis(opts.from, config.etcdTimeout) : await sampleAndDiagnose(config, tls, probe, opts.duration);
  process.stdout.write(opts.json ? diagnosisJson(d, member) + '\n' : renderReport(d, member, styleFor(process.stdout, process.env)));
  return d.findings.some((f) => f.severity !== 'info') ? 1 : 0;
}
