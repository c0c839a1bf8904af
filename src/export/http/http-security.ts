// Hardening of the agent's HTTP endpoint, kept apart from the routes in server.ts: the server's limits
// and timeouts, optional TLS, optional bearer-token and basic authentication (--web-config-file),
// refusal of request bodies, and --web-disable-api. /healthz and /readyz stay open: the kubelet's
// probes carry no credentials, and they reveal nothing but "alive" and "ready".
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../lib/log.js';
import { basicAuthCheck, bearerMatches, describeWebConfig, filesStamp, loadWebConfig, type BasicAuthCheck, type WebConfig, type WebTls } from './web-config.js';
import { errorMessage } from '../../lib/errors.js';

/** What the routes need to know about authentication and the API; mutable so a reload takes effect at once. */
export interface HttpSecurity {
  /** SHA-256 of the bearer token; undefined: no bearer token. */
  bearerTokenDigest?: Buffer;
  /** basic_auth_users with its cache of successful checks; undefined: no users. Neither: no authentication. */
  basicAuth?: BasicAuthCheck;
  /** VerifyClientCertIfGiven: a certificate that was given must verify. */
  verifyGivenClientCert?: boolean;
  /** --web-disable-api: /api/*, the status page and its assets answer 404. */
  readonly disableApi: boolean;
}

/** Paths served to anyone, authenticated or not (Express routes them with or without a trailing slash). */
const OPEN_PATHS = new Set(['/healthz', '/healthz/', '/readyz', '/readyz/']);

/** Limits of the server itself: a scrape is a small GET answered in milliseconds. */
export const HTTP_LIMITS = {
  /** Request line and headers together. */
  maxHeaderSize: 8192,
  /** Whole request (headers and the rest) must arrive within this. */
  requestTimeout: 10_000,
  /** Headers must arrive within this (slowloris). */
  headersTimeout: 5_000,
  /**
   * How often Node.js enforces the two timeouts above. Its default is 30 s, which makes a 5 s
   * headers timeout a 30 s one: a slow client then holds a socket six times longer than intended.
   */
  connectionsCheckingInterval: 1_000,
  /** An idle keep-alive connection is closed after this (above Prometheus's idle timeout, so it reuses it). */
  keepAliveTimeout: 65_000,
  maxHeadersCount: 50,
  /** A TLS client must finish its handshake within this (Node.js's default is 120 s). */
  handshakeTimeout: 5_000,
} as const;

export function tlsServerOptions(tls: WebTls): https.ServerOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca ? { ca: tls.ca } : {}),
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
    minVersion: tls.minVersion,
  };
}

/** An HTTP or HTTPS server for `handler` with the limits above (not listening yet). */
export function createHttpServer(handler: http.RequestListener, tls?: WebTls): http.Server {
  const common = {
    maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
    requestTimeout: HTTP_LIMITS.requestTimeout,
    headersTimeout: HTTP_LIMITS.headersTimeout,
    connectionsCheckingInterval: HTTP_LIMITS.connectionsCheckingInterval,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeout,
  };
  const server: http.Server = tls
    ? https.createServer({ ...common, ...tlsServerOptions(tls), handshakeTimeout: HTTP_LIMITS.handshakeTimeout }, handler)
    : http.createServer(common, handler);
  server.maxHeadersCount = HTTP_LIMITS.maxHeadersCount;
  return server;
}

/** The middleware of this module, in order: bodies refused, then authentication, then the API switch. */
export function securityMiddleware(security: HttpSecurity | undefined): RequestHandler[] {
  const out: RequestHandler[] = [rejectBodies];
  if (security) out.push(authenticate(security), apiSwitch(security));
  return out;
}

/** Read routes take no body: one announced is refused before a byte of it is read, and the connection closed. */
function rejectBodies(req: Request, res: Response, next: NextFunction): void {
  const length = req.headers['content-length'];
  if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) {
    res.status(413).set('Connection', 'close').type('text/plain').send('request bodies are not accepted\n');
    return;
  }
  next();
}

function authenticate(security: HttpSecurity): RequestHandler {
  return (req, res, next) => {
    if (security.verifyGivenClientCert) {
      const socket = req.socket as TLSSocket;
      const given = typeof socket.getPeerCertificate === 'function' && Object.keys(socket.getPeerCertificate()).length > 0;
      if (given && !socket.authorized) {
        res.status(403).set('Cache-Control', 'no-store').type('text/plain').send('client certificate not trusted\n');
        return;
      }
    }
    const { bearerTokenDigest: digest, basicAuth } = security;
    if ((digest === undefined && basicAuth === undefined) || OPEN_PATHS.has(req.path)) return next();
    const header = req.headers.authorization;
    if (digest !== undefined && bearerMatches(header, digest)) return next();
    if (basicAuth === undefined) return unauthorized(res, security);
    basicAuth(header).then(
      (ok) => (ok ? next() : unauthorized(res, security)),
      () => unauthorized(res, security),
    );
  };
}

/** The same answer whatever was wrong (scheme, user, password, encoding): it tells an attacker nothing. */
function unauthorized(res: Response, security: HttpSecurity): void {
  const challenges = [...(security.bearerTokenDigest ? ['Bearer realm="etcd-latency-agent"'] : []), ...(security.basicAuth ? ['Basic realm="etcd-latency-agent"'] : [])];
  res.status(401).set({ 'WWW-Authenticate': challenges, 'Cache-Control': 'no-store' }).type('text/plain').send('unauthorized\n');
}

function apiSwitch(security: HttpSecurity): RequestHandler {
  return (req, res, next) => {
    if (!security.disableApi) return next();
    // Express matches routes case-insensitively: /API/v1/status is /api/v1/status.
    const p = req.path.toLowerCase();
    if (p === '/' || /^\/+(?:api|assets)(?:\/|$)/.test(p)) {
      res.status(404).type('text/plain').send('not found\n');
      return;
    }
    next();
  };
}

/** The security state the routes start with. */
export function initialSecurity(web: WebConfig | undefined, disableApi: boolean): HttpSecurity {
  const basicAuth = web?.basicAuthUsers && basicAuthCheck(web.basicAuthUsers);
  return {
    disableApi,
    ...(web?.bearerTokenDigest ? { bearerTokenDigest: web.bearerTokenDigest } : {}),
    ...(basicAuth ? { basicAuth } : {}),
    ...(web?.tls?.clientAuth === 'VerifyClientCertIfGiven' ? { verifyGivenClientCert: true } : {}),
  };
}

/**
 * Re-reads the web config when it or a file it names changes (checked every `everyMs`), as the
 * exporters re-read their certificates: a rotated certificate, token or users list takes effect
 * without a restart. A config that no longer loads is logged once and the previous one kept. Turning
 * TLS on or off, or changing client_auth_type, needs a restart (said in the log).
 */
export function watchWebConfig(web: WebConfig, server: http.Server, security: HttpSecurity, log: Logger, everyMs = 30_000): () => void {
  let current = web;
  let stamp = filesStamp(current.files);
  let failedStamp: string | undefined;
  const timer = setInterval(() => {
    const now = filesStamp(current.files);
    if (now === stamp || now === failedStamp) return;
    const warnings: string[] = [];
    let next: WebConfig;
    try {
      next = loadWebConfig(current.file, new Date(), warnings);
    } catch (err) {
      failedStamp = now;
      log.warn(`web config not reloaded, the previous one stays in use: ${errorMessage(err)}`);
      return;
    }
    failedStamp = undefined;
    if ((next.tls === undefined) !== (current.tls === undefined) || (next.tls && current.tls && next.tls.clientAuth !== current.tls.clientAuth)) {
      log.warn('web config changed TLS on/off or client_auth_type: restart the agent for that to take effect; certificates, token and users are reloaded');
    }
    if (next.tls && current.tls && 'setSecureContext' in server) {
      (server as https.Server).setSecureContext({ cert: next.tls.cert, key: next.tls.key, ...(next.tls.ca ? { ca: next.tls.ca } : {}), minVersion: next.tls.minVersion });
    }
    if (next.bearerTokenDigest) security.bearerTokenDigest = next.bearerTokenDigest;
    else delete security.bearerTokenDigest;
    // A new check with an empty cache: nothing remembered from the old users list lets anyone in.
    const basicAuth = next.basicAuthUsers && basicAuthCheck(next.basicAuthUsers);
    if (basicAuth) security.basicAuth = basicAuth;
    else delete security.basicAuth;
    for (const w of warnings) log.warn(w);
    log.info('web config reloaded', describeWebConfig(next));
    current = next;
    stamp = filesStamp(current.files);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
