// The HTTP face of the agent. Handlers only render the state the sources already recorded.
import type { Server } from 'node:http';
import express, { type Request, type Response, type NextFunction } from 'express';
import type { Registry } from 'prom-client';
import type { AgentState } from '../../state/state.js';
import { diagnosisJson } from '../api/diagnosis-json.js';
import { settingsDocument } from '../api/settings-json.js';
import { SETTINGS_PATH } from '../../model/member-settings.js';
import { toJson } from '../api/json.js';
import { historyJson } from '../api/history-json.js';
import { pageAsset, pageInput, renderStatusPage, SECURITY_HEADERS } from '../page/page.js';
import { createHttpServer, securityMiddleware, type HttpSecurity } from './http-security.js';
import type { WebTls } from './web-config.js';
import { statusDocument } from '../api/status-json.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ServerContext {
  readonly state: AgentState;
  readonly registry: Registry;
  readonly version: string;
  readonly member: string;
  /** Authentication and --web-disable-api (src/export/http/http-security.ts); none when absent. */
  readonly security?: HttpSecurity;
}


export function createApp(ctx: ServerContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(onlyReadMethods);
  app.use((_req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });
  // Bodies refused, bearer token checked (not on /healthz, /readyz), /api/* and the page switched off.
  app.use(securityMiddleware(ctx.security));

  app.get('/', (_req, res) => {
    const input = pageInput(ctx.state, ctx.member, statusDocument(ctx.state, ctx.version), new Date());
    res.type('html').set('Cache-Control', 'no-store').send(renderStatusPage(input, ctx.version));
  });
  app.get('/assets/:name', (req, res, next) => {
    const asset = pageAsset(req.params.name);
    if (!asset) return next();
    res.type(asset.type).set('Cache-Control', 'public, max-age=86400').send(asset.body);
  });

  app.get('/metrics', async (_req, res) => {
    const body = await ctx.registry.metrics();
    res.type(ctx.registry.contentType).send(body);
  });
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const ready = ctx.state.ready();
    res.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ready\n' : 'not ready: waiting for the first sample of every source\n');
  });
  app.get('/api/v1/status', (_req, res) => {
    res.type('application/json').send(toJson(statusDocument(ctx.state, ctx.version)));
  });
  app.get(SETTINGS_PATH, (_req, res) => {
    res.type('application/json').send(toJson(settingsDocument(ctx.state, ctx.member)));
  });
  app.get('/api/v1/history', (_req, res) => {
    res.type('application/json').send(historyJson(ctx.state.history, new Date(), { since: ctx.state.startedAt }));
  });
  app.get('/api/v1/diagnosis', (_req, res) => {
    const d = ctx.state.diagnosis;
    if (!d) {
      res.status(503).type('application/json').send(toJson({ error: 'no diagnosis yet: the first evaluation runs one --diagnosis-interval after start' }));
      return;
    }
    res.type('application/json').send(diagnosisJson(d, ctx.member));
  });
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  return app;
}

function onlyReadMethods(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  res.status(405).set('Allow', 'GET, HEAD').type('text/plain').send('method not allowed\n');
}

/**
 * Listens (HTTPS with `tls`) and resolves once bound; rejects with the bind error (port in use, bad
 * address). Slow or idle clients must not hold sockets: the limits are in http-security.ts.
 */
export function listen(app: express.Express, address: ListenAddress, tls?: WebTls): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer(app, tls);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server);
    });
    server.once('error', reject);
    server.listen(address.port, address.host);
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
