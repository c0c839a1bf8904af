// GETs from an etcd member's HTTP listener (its /metrics, its health endpoints), bounded in time (one
// deadline for connect, headers and body) and in size (the socket is destroyed past the bound); every
// problem comes back as a failure value, never a throw.
import http from 'node:http';
import https from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { Bytes, Milliseconds } from './units.js';
import { errorCode, errorMessage } from './errors.js';
import { failure, reasonForError, success, type FailureReason, type Outcome } from './outcome.js';

/** PEM material for https: CA to verify the member, client certificate and key. */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface FetchOptions {
  readonly timeout: Milliseconds;
  readonly maxBodyBytes: Bytes;
  readonly agent?: http.Agent;
  readonly tls?: TlsMaterial;
  /** Sent with the request besides the defaults (an Authorization header). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * One connection per request (no keep-alive): a reused socket the server closed while idle would make
 * a healthy member look unreachable now and then. The agent keeps the TLS material and sessions.
 * An error here (bad key material) is kept for every later request to report. `serverName`: the name
 * the server's certificate must carry, checked instead of the URL's host (a server addressed by IP).
 */
export function memberAgent(url: string, tls: TlsMaterial | undefined, serverName?: string): { agent?: http.Agent; agentError?: unknown } {
  const byName = serverName === undefined ? {} : { servername: serverName, checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert) };
  try {
    return {
      agent: new URL(url).protocol === 'https:'
        ? new https.Agent({ keepAlive: false, ca: tls?.ca, cert: tls?.cert, key: tls?.key, ...byName })
        : new http.Agent({ keepAlive: false }),
    };
  } catch (err) {
    return { agentError: err };
  }
}

/** GETs `url` and resolves its body when the status is 2xx; any other status is an 'http_status' failure. */
export async function fetchBounded(url: string, opts: FetchOptions): Promise<Outcome<Buffer>> {
  const r = await fetchResponse(url, opts, (status) => status >= 200 && status <= 299);
  if (!r.ok) return r;
  return success(r.value.body);
}

/**
 * GETs `url` with node:http(s). A status `accept` refuses is an 'http_status' failure (its body is not
 * read); the others resolve with their body. Resolves a failure for every problem: 'timeout',
 * 'too_large', 'http_status', 'tls', 'unreachable', 'parse' (not HTTP), 'other'.
 */
export function fetchResponse(url: string, opts: FetchOptions, accept: (status: number) => boolean): Promise<Outcome<HttpResponse>> {
  return new Promise((resolve) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    let res: http.IncomingMessage | undefined;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: Outcome<HttpResponse>): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (!outcome.ok) {
        // Stop reading and free the socket: nothing more of this response is wanted.
        res?.destroy();
        req?.destroy();
      }
      resolve(outcome);
    };
    const fail = (reason: FailureReason, message: string): void => settle(failure(reason, message));
    const failErr = (err: unknown): void => {
      // HPE_*: Node's HTTP parser could not read the response: something other than HTTP answers there.
      const reason = errorCode(err).startsWith('HPE_') ? 'parse' : reasonForError(err);
      fail(reason, `${url}: ${errorMessage(err)}`);
    };

    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      fail('other', `invalid URL ${JSON.stringify(url)}: ${errorMessage(err)}`);
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      fail('other', `unsupported URL scheme ${target.protocol} in ${url}`);
      return;
    }
    timer = setTimeout(() => fail('timeout', `${url}: no complete response within ${opts.timeout} ms`), opts.timeout);

    try {
      const common: http.RequestOptions = {
        method: 'GET',
        headers: { accept: 'text/plain;version=0.0.4', 'accept-encoding': 'identity', ...opts.headers },
        ...(opts.agent ? { agent: opts.agent } : {}),
      };
      const onResponse = (r: http.IncomingMessage): void => {
        res = r;
        const status = r.statusCode ?? 0;
        if (!accept(status)) {
          fail('http_status', `${url}: HTTP ${status} ${r.statusMessage ?? ''}`.trim());
          return;
        }
        const declared = Number(r.headers['content-length']);
        if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
          fail('too_large', `${url}: Content-Length ${declared} exceeds the ${opts.maxBodyBytes}-byte bound`);
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        r.on('data', (chunk: Buffer) => {
          if (settled) return;
          received += chunk.length;
          if (received > opts.maxBodyBytes) {
            chunks.length = 0;
            fail('too_large', `${url}: body exceeds the ${opts.maxBodyBytes}-byte bound`);
            return;
          }
          chunks.push(chunk);
        });
        r.on('end', () => {
          if (!r.complete) fail('unreachable', `${url}: connection closed before the body was complete`);
          else settle(success({ status, body: Buffer.concat(chunks, received) }));
        });
        r.on('error', failErr);
        r.on('close', () => {
          if (!r.complete) fail('unreachable', `${url}: connection closed before the body was complete`);
        });
      };
      if (target.protocol === 'https:') {
        const tls = opts.tls ?? {};
        req = https.request(target, { ...common, ...(opts.agent ? {} : { ca: tls.ca, cert: tls.cert, key: tls.key }) }, onResponse);
      } else {
        req = http.request(target, common, onResponse);
      }
      req.on('error', failErr);
      req.end();
    } catch (err) {
      // Synchronous errors: bad key material, invalid header values…
      failErr(err);
    }
  });
}
