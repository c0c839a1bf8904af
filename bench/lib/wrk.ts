// wrk with a Lua `done` hook that prints its summary as one JSON line, so nothing is scraped from
// its human-readable output.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd } from './processes.js';

const REPORT_LUA = `
wrk.headers["Accept-Encoding"] = "identity"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
`;

export interface WrkResult {
  readonly url: string;
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly bytes: number;
  readonly errors: Record<string, number>;
  /** Seconds. */
  readonly latency: { min: number; mean: number; max: number; p50: number; p90: number; p99: number; p999: number };
}

export function writeWrkScript(dir: string): string {
  const file = join(dir, 'wrk-report.lua');
  writeFileSync(file, REPORT_LUA);
  return file;
}

export async function runWrk(script: string, url: string, o: { connections: number; threads: number; seconds: number }): Promise<WrkResult> {
  const r = await runToEnd('wrk', [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '10s', '-s', script, url], { timeoutMs: (o.seconds + 60) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (r.code !== 0 || !line) throw new Error(`wrk failed (exit ${r.code}): ${r.stderr || r.stdout}`);
  const j = JSON.parse(line.slice('WRK_JSON '.length)) as {
    duration_us: number;
    requests: number;
    bytes: number;
    errors: Record<string, number>;
    latency_us: Record<'min' | 'mean' | 'max' | 'p50' | 'p90' | 'p99' | 'p999', number>;
  };
  const s = (us: number) => us / 1e6;
  return {
    url,
    connections: o.connections,
    threads: o.threads,
    seconds: s(j.duration_us),
    requests: j.requests,
    requestsPerSecond: j.requests / s(j.duration_us),
    bytes: j.bytes,
    errors: j.errors,
    latency: {
      min: s(j.latency_us.min),
      mean: s(j.latency_us.mean),
      max: s(j.latency_us.max),
      p50: s(j.latency_us.p50),
      p90: s(j.latency_us.p90),
      p99: s(j.latency_us.p99),
      p999: s(j.latency_us.p999),
    },
  };
}
