// Is the member ready? etcd's own answer, from the health endpoints of the listener that serves
// --etcd-metrics-url. etcd 3.5.36+ and 3.6 serve /readyz and /livez, whose ?verbose form names each
// check (`[+]linearizable_read ok`, `[-]data_corruption failed: …`); etcd 3.4 and older 3.5 answer
// those 404 and serve only /health (`{"health":"false","reason":"…"}`). Both answer 503 when unhealthy:
// that is a reading, not a failure of the source.
import type { Bytes, Milliseconds } from '../lib/units.js';
import { bytes } from '../lib/units.js';
import { fetchResponse, memberAgent, type TlsMaterial } from '../lib/http-fetch.js';
import { errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type Outcome } from '../lib/outcome.js';
import { type Source } from './source.js';

/** Which endpoint answered: /readyz (with /livez) where etcd has it, else /health. */
export type HealthEndpoint = 'readyz' | 'livez' | 'health';

export interface HealthCheck {
  readonly endpoint: HealthEndpoint;
  readonly name: string;
  readonly ok: boolean;
  /** etcd's words for a failed check (often "reason withheld" unless etcd logs it). */
  readonly detail?: string;
}

export interface EtcdHealthSample {
  /** /readyz where etcd serves it, else /health. */
  readonly endpoint: 'readyz' | 'health';
  readonly ready: boolean;
  /** /livez's answer; undefined where etcd has no /livez. */
  readonly live?: boolean;
  readonly checks: readonly HealthCheck[];
  /** /health's reason when it is not healthy. */
  readonly reason?: string;
  readonly notes?: readonly string[];
}

export interface EtcdHealthOptions {
  /** The member's metrics URL (--etcd-metrics-url): the health endpoints are on the same listener. */
  readonly metricsUrl: string;
  readonly tls?: TlsMaterial;
  readonly timeout: Milliseconds;
  readonly interval: Milliseconds;
}

/** Health answers are a few hundred bytes; anything near this is not etcd. */
const MAX_HEALTH_BODY: Bytes = bytes(64 * 1024);

const CHECK_LINE = /^\[([+-])\](\S+)\s+(ok|failed(?::\s*(.*))?)$/;

/** The checks of a ?verbose answer; lines that are not checks (the final `ok`) are skipped. */
export function parseVerboseChecks(endpoint: 'readyz' | 'livez', body: string): HealthCheck[] {
  return body
    .split('\n')
    .map((line) => CHECK_LINE.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ endpoint, name: m[2]!, ok: m[1] === '+', ...(m[1] === '-' && m[4] ? { detail: m[4] } : {}) }));
}

/** /health's JSON: healthy when `health` is "true"; undefined when the body is not that JSON. */
export function parseHealthJson(body: string): { healthy: boolean; reason?: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !('health' in v)) return undefined;
  const { health, reason } = v as { health: unknown; reason?: unknown };
  if (health !== 'true' && health !== 'false') return undefined;
  return { healthy: health === 'true', ...(typeof reason === 'string' && reason !== '' ? { reason } : {}) };
}

/** The URL of `path` on the listener of `metricsUrl`. */
export function healthUrl(metricsUrl: string, path: string): string {
  return new URL(path, metricsUrl).toString();
}

const OLD_ETCD_NOTE = 'etcd has no /readyz or /livez here (etcd 3.4, or 3.5 before 3.5.36): readiness is read from /health';

/** Reads the member's readiness. Name 'etcd_health'. */
export function createEtcdHealthSource(opts: EtcdHealthOptions): Source<EtcdHealthSample> & { close(): Promise<void> } {
  const { agent, agentError } = memberAgent(opts.metricsUrl, opts.tls);
  // 404 is how etcd without the endpoint answers; 503 is how an unhealthy member does.
  const accept = (status: number): boolean => (status >= 200 && status <= 299) || status === 503 || status === 404;
  const get = (path: string) => fetchResponse(healthUrl(opts.metricsUrl, path), { timeout: opts.timeout, maxBodyBytes: MAX_HEALTH_BODY, ...(agent ? { agent } : {}) }, accept);
  let closed = false;

  async function fromHealth(): Promise<Outcome<EtcdHealthSample>> {
    const r = await get('/health');
    if (!r.ok) return r;
    const url = healthUrl(opts.metricsUrl, '/health');
    if (r.value.status === 404) return failure('http_status', `${url}: HTTP 404: this listener serves none of /readyz, /livez, /health`);
    const parsed = parseHealthJson(r.value.body.toString('utf8'));
    if (!parsed) return failure('parse', `${url}: not etcd's {"health": …} answer`);
    return success({ endpoint: 'health', ready: parsed.healthy, checks: [], ...(parsed.reason ? { reason: parsed.reason } : {}), notes: [OLD_ETCD_NOTE] });
  }

  return {
    name: 'etcd_health',
    interval: opts.interval,
    async sample(): Promise<Outcome<EtcdHealthSample>> {
      if (closed) return failure('other', 'source closed');
      if (!agent) return failure(reasonForError(agentError), `cannot set up the connection to ${opts.metricsUrl}: ${errorMessage(agentError)}`);
      const ready = await get('/readyz?verbose');
      if (!ready.ok) return ready;
      if (ready.value.status === 404) return fromHealth();
      const live = await get('/livez?verbose');
      if (!live.ok) return live;
      const checks = [
        ...parseVerboseChecks('readyz', ready.value.body.toString('utf8')),
        ...(live.value.status === 404 ? [] : parseVerboseChecks('livez', live.value.body.toString('utf8'))),
      ];
      return success({
        endpoint: 'readyz',
        ready: ready.value.status !== 503,
        ...(live.value.status === 404 ? {} : { live: live.value.status !== 503 }),
        checks,
      });
    },
    async close(): Promise<void> {
      closed = true;
      agent?.destroy();
    },
  };
}
