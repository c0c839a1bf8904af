// A scraper that behaves like Prometheus on the wire — one keep-alive connection, Prometheus' Accept
// header — and times each request from send to the last byte of the body.
import http from 'node:http';

export const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** The text format alone, as the scrape-tail and self-metrics experiments asked for it. */
export const TEXT_ACCEPT = 'text/plain;version=0.0.4';

export interface TimedResponse {
  readonly status: number;
  readonly bytes: number;
  /** Seconds from sending the request to the end of the body. */
  readonly seconds: number;
}

export class Scraper {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  /** `accept`: another Accept header, such as an older Prometheus' text format only. */
  constructor(
    private readonly url: string,
    private readonly accept = PROMETHEUS_ACCEPT,
  ) {}

  get(timeoutMs = 10_000): Promise<TimedResponse> {
    return new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = http.get(this.url, { agent: this.agent, headers: { accept: this.accept, 'accept-encoding': 'identity' }, timeout: timeoutMs }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
