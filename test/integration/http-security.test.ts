// The agent's HTTP endpoint as an attacker or a careless client meets it, on the real process:
// hardening (methods, bodies, sizes, slow clients), --web-disable-api, TLS, bearer-token and basic
// authentication from --web-config-file (with /healthz and /readyz left open), client certificates,
// bad web configs refused at start, and no secret in any output, with real certificate and token files
// and bcrypt hashes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import t from 'tap';
import { httpsGet, runCli, startAgentProcess, type AgentProcess } from '../../harness/agent-process.js';
import { makeTestPki, startEtcdCluster, type TestPki } from '../../harness/etcd-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'http-security-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'e1a-' + 'c0ffee15'.repeat(6);
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
let pki: TestPki;
t.before(async () => {
  pki = await makeTestPki(join(dir, 'pki'));
});

// Made by another implementation than the agent's: `htpasswd -nbBC 10 prometheus 'htpasswd-scrape-secret-7Qx'`
// (Apache's apr-util, apache2-utils 2.4.71 on Debian 12).
const HTPASSWD_HASH = '$2y$10$lWhGj2evqHX4Y3QLOHD8duxHRpgz6vCejuxor2n6XV5pAzG9sbKbS';
const HTPASSWD_PASSWORD = 'htpasswd-scrape-secret-7Qx';
const GRAFANA_PASSWORD = 'grafana-' + 'b0a7'.repeat(5);
const GRAFANA_HASH = bcrypt.hashSync(GRAFANA_PASSWORD, 10);
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const NO_ETCD = ['--etcd-endpoints=http://127.0.0.1:1', '--etcd-metrics-url=http://127.0.0.1:1/metrics', '--etcd-manifest=/nonexistent', '--diagnosis-interval=300ms'];
const portOf = (a: AgentProcess): number => Number(new URL(a.url).port);

/** Writes `request` on a fresh connection and collects the answer until the server closes (or `waitMs`). */
function raw(port: number, request: string | ((s: Socket) => void), waitMs = 5000): Promise<{ text: string; closedAfterMs: number | undefined }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('error', () => undefined);
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closedAfterMs: undefined });
    }, waitMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    s.on('connect', () => (typeof request === 'string' ? s.write(request) : request(s)));
  });
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

/** The base64 lines of every PEM key in play: none of them may show up anywhere. */
function keyMaterial(): string[] {
  const lines: string[] = [];
  for (const f of [pki.serverKey, pki.clientKey, pki.expiredClientKey, join(pki.dir, 'ca.key')]) {
    for (const l of readFileSync(f, 'utf8').split('\n')) if (l.length >= 20 && !l.startsWith('-----')) lines.push(l);
  }
  return lines;
}

function assertNoSecrets(tt: Tap, text: string, what: string): void {
  tt.notOk(text.includes(TOKEN), `${what}: the token does not appear`);
  tt.notMatch(text, /-----BEGIN|PRIVATE KEY/, `${what}: no PEM markers`);
  const leaked = keyMaterial().filter((l) => text.includes(l));
  tt.same(leaked, [], `${what}: no line of any private key`);
}
type Tap = Pick<typeof t, 'notOk' | 'notMatch' | 'same'>;

t.test('hardening: read methods only, no bodies, bounded request size, slow and idle clients cut off', async (t) => {
  const agent = await startAgentProcess(NO_ETCD);
  t.teardown(() => agent.stop());
  const port = portOf(agent);
  const res = await agent.get('/metrics');
  t.equal(res.status, 200);
  t.equal(res.headers.get('x-powered-by'), null, 'no x-powered-by');
  t.equal(res.headers.get('etag'), null, 'no etag');

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const r = await agent.get('/metrics', { method });
    t.equal(r.status, 405, `${method} → 405`);
    t.equal(r.headers.get('allow'), 'GET, HEAD');
  }
  for (const method of ['TRACE', 'CONNECT 127.0.0.1:1', 'PROPFIND']) {
    const target = method.startsWith('CONNECT') ? '' : ' /metrics';
    const r = await raw(port, `${method}${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    // Node.js drops a CONNECT without a 'connect' listener: the connection closes without an answer.
    const refused = [400, 405].includes(statusOf(r.text)) || (r.text === '' && r.closedAfterMs !== undefined);
    t.ok(refused, `${method.split(' ')[0]} refused (${statusOf(r.text) || 'connection closed'})`);
  }
  const head = await agent.get('/metrics', { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD is a read');
  t.equal(head.body, '');

  const withBody = await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
  t.equal(statusOf(withBody.text), 413, 'a GET with a body is refused');
  t.match(withBody.text, /connection: close/i);
  t.ok(withBody.closedAfterMs !== undefined, 'and the connection closed');
  const chunked = await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  t.equal(statusOf(chunked.text), 413, 'a chunked body is refused');
  // A body announced as huge is refused before any of it is sent.
  const huge = await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n');
  t.equal(statusOf(huge.text), 413, 'a 1 GiB body is refused without waiting for it');

  const longUrl = await raw(port, `GET /metrics?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  t.equal(statusOf(longUrl.text), 431, 'a 20 kB request line is refused');
  const bigHeaders = await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 40 }, (_, i) => `X-${i}: ${'v'.repeat(300)}\r\n`).join('')}\r\n`);
  t.equal(statusOf(bigHeaders.text), 431, '12 kB of headers are refused');

  // Slowloris: headers trickled in, never finished. headersTimeout is 5 s, checked every second.
  const slow = await raw(port, (s) => {
    s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const iv = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 500);
    s.on('close', () => clearInterval(iv));
  }, 20_000);
  t.ok(slow.closedAfterMs !== undefined && slow.closedAfterMs < 8000, `a slow client is cut off after ${slow.closedAfterMs} ms (Node's default check would allow 30 s)`);
  const idle = await raw(port, () => undefined, 20_000);
  t.ok(idle.closedAfterMs !== undefined && idle.closedAfterMs < 8000, `an idle connection is closed after ${idle.closedAfterMs} ms`);

  t.equal((await agent.get('/healthz')).status, 200, 'still serving');
});

t.test('--web-disable-api: /api/*, the page and its assets are 404 under every spelling; metrics and probes stay', async (t) => {
  const agent = await startAgentProcess([...NO_ETCD, '--web-disable-api=true']);
  t.teardown(() => agent.stop());
  for (const p of ['/api/v1/status', '/api/v1/diagnosis', '/api/v1/history', '/API/V1/STATUS', '/Api/v1/status/', '/api/v1/status?x=1', '/', '/assets/app.js', '/ASSETS/style.css', '//api/v1/status', '/api/v1/../v1/status', '/%61pi/v1/status', '/api%2Fv1%2Fstatus']) {
    const r = await agent.get(p);
    t.equal(r.status, 404, `${p} → 404`);
    t.notMatch(r.body, /"sources"|"verdict"|<html/i, `${p}: nothing of the API or page`);
  }
  for (const p of ['/metrics', '/healthz', '/readyz']) t.equal((await agent.get(p)).status === 404, false, `${p} is served`);
  t.match(agent.log(), /web_api=disabled/);
});

t.test('TLS and a bearer token from --web-config-file: everything but /healthz and /readyz needs the token', async (t) => {
  const webConfig = join(dir, 'web.yml');
  writeFileSync(webConfig, `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\nbearer_token_file: ${tokenFile}\n`);
  const ca = readFileSync(pki.ca);
  const agent = await startAgentProcess([...NO_ETCD, `--web-config-file=${webConfig}`], { https: { ca } });
  t.teardown(() => agent.stop());
  t.match(agent.url, /^https:/);
  const auth = { Authorization: `Bearer ${TOKEN}` };

  for (const p of ['/healthz', '/readyz', '/healthz/']) t.not((await agent.get(p)).status, 401, `${p} needs no token (kubelet probes)`);
  const protectedPaths = ['/metrics', '/metrics/', '/METRICS', '/metrics?name[]=x', '/api/v1/status', '/api/v1/diagnosis', '/api/v1/history', '/', '/assets/app.js', '/nonexistent', '/healthz/../metrics', '/readyz/x'];
  for (const p of protectedPaths) {
    const r = await agent.get(p);
    t.equal(r.status, 401, `${p} without a token → 401`);
    if (p === '/metrics') t.equal(r.headers.get('www-authenticate'), 'Bearer realm="etcd-latency-agent"');
    t.notMatch(r.body, /etcd_latency_agent_|"sources"/, `${p}: nothing leaks in the 401`);
  }
  for (const bad of [`Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}0`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN, 'Bearer ']) {
    t.equal((await agent.get('/metrics', { headers: { Authorization: bad } })).status, 401, `wrong credentials: ${bad.slice(0, 12)}…`);
  }
  const metrics = await agent.get('/metrics', { headers: auth });
  t.equal(metrics.status, 200, 'the token opens /metrics');
  t.match(metrics.body, /etcd_latency_agent_source_up/);
  t.equal((await agent.get('/api/v1/status', { headers: auth })).status, 200, 'and the API');

  const plain = await raw(portOf(agent), 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
  t.notMatch(plain.text, /etcd_latency_agent_/, 'plain HTTP on the TLS port gets no metrics');
  const noHello = await raw(portOf(agent), () => undefined, 20_000);
  t.ok(noHello.closedAfterMs !== undefined && noHello.closedAfterMs < 8000, `a client that never starts its TLS handshake is cut off after ${noHello.closedAfterMs} ms (Node's default: 120 s)`);
  t.match(agent.log(), /web_tls="on \(client certificates: NoClientCert, min TLSv1.2\)"/);
  t.match(agent.log(), /web_auth="bearer token"/);
});

t.test('client certificates: RequireAndVerifyClientCert refuses a scraper without one, or with an expired one', async (t) => {
  const webConfig = join(dir, 'web-mtls.yml');
  writeFileSync(webConfig, `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_ca_file: ${pki.ca}\n  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS13\n`);
  const ca = readFileSync(pki.ca);
  const client = { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) };
  const agent = await startAgentProcess([...NO_ETCD, `--web-config-file=${webConfig}`], { https: client });
  t.teardown(() => agent.stop());
  t.equal((await agent.get('/metrics')).status, 200, 'a client certificate signed by client_ca_file is let in');
  await t.rejects(httpsGet(`${agent.url}/metrics`, { ca }), 'no client certificate: the handshake fails');
  await t.rejects(httpsGet(`${agent.url}/healthz`, { ca }), 'for the probes too (use NoClientCert with a token to keep them open)');
  await t.rejects(httpsGet(`${agent.url}/metrics`, { ca, cert: readFileSync(pki.expiredClientCert), key: readFileSync(pki.expiredClientKey) }), 'an expired client certificate is refused');
});

t.test('a bad web config stops the start with status 2, naming the file and never the secret', async (t) => {
  const withSecret = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const cases: Array<[string, RegExp]> = [
    [withSecret('missing-token.yml', 'bearer_token_file: /nonexistent/token\n'), /bearer_token_file \/nonexistent\/token does not exist/],
    [withSecret('basic-short-hash.yml', `basic_auth_users:\n  grafana: ${GRAFANA_HASH}\n  prometheus: ${HTPASSWD_HASH.slice(0, -1)}\n`), /basic_auth_users: user "prometheus": the value is not a bcrypt hash/],
    [withSecret('basic-md5.yml', 'basic_auth_users:\n  prometheus: $apr1$Jb3kM0Qz$8lJq1sXk9v2mYcR3TnW0p.\n'), /basic_auth_users: user "prometheus": the value is not a bcrypt hash/],
    [withSecret('mismatch.yml', `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.clientKey}\n`), /client.key does not belong to the certificate/],
    [withSecret('inline.yml', `bearer_token: ${TOKEN}\n`), /unknown key "bearer_token"/],
    [withSecret('broken.yml', `bearer_token_file: "${TOKEN}\n  - [${TOKEN}`), /is not YAML this agent reads/],
    [withSecret('inline-key.yml', `tls_server_config:\n  key: |\n${readFileSync(pki.serverKey, 'utf8').replace(/^/gm, '    ')}\n`), /tls_server_config.key is not supported/],
  ];
  for (const [file, want] of cases) {
    const r = await runCli([...NO_ETCD, '--probe-enabled=false', `--web-config-file=${file}`]);
    t.equal(r.code, 2, `${file}: exit 2`);
    t.match(r.stderr, want, `${file}: the problem`);
    t.match(r.stderr, file, `${file}: the file is named`);
    assertNoSecrets(t, r.stdout + r.stderr, file);
    t.notMatch(r.stderr, /\$2[aby]\$|\$apr1\$/, 'no password hash');
    for (const fragment of [HTPASSWD_HASH.slice(7, 30), GRAFANA_HASH.slice(7, 30), 'Jb3kM0Qz']) t.notOk(r.stderr.includes(fragment), 'not even part of one');
  }
});

t.test('no secret in the log, the metrics, the status API, the diagnosis or the page: real certificates, a real token, TLS failures', async (t) => {
  // A TLS etcd the agent reaches with the wrong CA (a TLS failure with real certificate paths in play),
  // while serving over TLS with a bearer token.
  const cluster = await startEtcdCluster({ size: 1, tls: true });
  t.teardown(() => cluster.close());
  const m = cluster.members[0]!;
  const webConfig = join(dir, 'web-all.yml');
  writeFileSync(webConfig, `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\nbearer_token_file: ${tokenFile}\n`);
  const agent = await startAgentProcess(
    [
      `--etcd-endpoints=${m.clientUrl}`,
      `--etcd-metrics-url=${m.clientUrl}/metrics`,
      `--etcd-cacert=${cluster.pki!.otherCa}`,
      `--etcd-cert=${cluster.pki!.clientCert}`,
      `--etcd-key=${cluster.pki!.clientKey}`,
      `--etcd-data-dir=${m.dataDir}`,
      '--etcd-api-interval=300ms',
      '--etcd-metrics-interval=300ms',
      '--etcd-manifest=/nonexistent',
      '--diagnosis-interval=300ms',
      `--web-config-file=${webConfig}`,
    ],
    { https: { ca: readFileSync(pki.ca) }, headers: { Authorization: `Bearer ${TOKEN}` } },
  );
  t.teardown(() => agent.stop());
  const text = await agent.waitForMetrics((x) => /source_errors_total\{source="etcd_api",reason="tls"\} [1-9]/.test(x) && /source_errors_total\{source="etcd_metrics",reason="tls"\} [1-9]/.test(x), 'TLS failures counted');
  const status = (await agent.get('/api/v1/status')).body;
  t.match(status, /certificate|unknown ca/i, 'the status names the TLS problem');
  await agent.waitForMetrics((x) => x.includes('etcd_latency_agent_verdict'), 'a diagnosis');
  const outputs: Array<[string, string]> = [
    ['metrics', text],
    ['status', status],
    ['diagnosis', (await agent.get('/api/v1/diagnosis')).body],
    ['history', (await agent.get('/api/v1/history')).body],
    ['page', (await agent.get('/')).body],
    ['log', agent.log()],
  ];
  for (const [what, body] of outputs) assertNoSecrets(t, body, what);
  t.match(agent.log(), /source failed.*source=etcd_api.*reason=tls/, 'the log says why etcd is down');
});

t.test('bearer token without TLS: unnormalised paths that lead past /healthz or /readyz get nothing', async (t) => {
  const webConfig = join(dir, 'web-token-only.yml');
  writeFileSync(webConfig, `bearer_token_file: ${tokenFile}
`);
  const agent = await startAgentProcess([...NO_ETCD, `--web-config-file=${webConfig}`]);
  t.teardown(() => agent.stop());
  for (const p of ['/healthz/../metrics', '/readyz/%2e%2e/metrics', '/healthz//../api/v1/status', '/./metrics', '/healthz%2f..%2fmetrics', '/healthz;/../metrics', '/readyz?/../metrics', '/metrics#/healthz']) {
    const r = await raw(portOf(agent), `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.notMatch(r.text, /etcd_latency_agent_|"sources"/, `${p}: no metrics or status (${statusOf(r.text)})`);
  }
  t.equal((await agent.get('/healthz')).status, 200);
  t.equal((await agent.get('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
});

t.test('basic_auth_users: the right password opens every protected path; a wrong one, an unknown user or a malformed header gets the same 401', async (t) => {
  const webConfig = join(dir, 'web-basic.yml');
  writeFileSync(webConfig, `basic_auth_users:\n  prometheus: ${HTPASSWD_HASH}\n  grafana: "${GRAFANA_HASH}"\n`, { mode: 0o600 });
  const agent = await startAgentProcess([...NO_ETCD, `--web-config-file=${webConfig}`]);
  t.teardown(() => agent.stop());
  const port = portOf(agent);

  for (const p of ['/healthz', '/readyz']) t.not((await agent.get(p)).status, 401, `${p} needs no password (kubelet probes)`);
  const ok = { Authorization: basic('prometheus', HTPASSWD_PASSWORD) };
  const metrics = await agent.get('/metrics', { headers: ok });
  t.equal(metrics.status, 200, 'the htpasswd-made hash opens /metrics');
  t.match(metrics.body, /etcd_latency_agent_source_up/);
  for (const p of ['/api/v1/status', '/', '/METRICS']) t.equal((await agent.get(p, { headers: ok })).status, 200, `and ${p}`);
  t.equal((await agent.get('/metrics', { headers: { Authorization: basic('grafana', GRAFANA_PASSWORD) } })).status, 200, 'the bcryptjs-made hash opens it too');

  const refused: Array<[string, string | undefined]> = [
    ['no credentials', undefined],
    ['wrong password', basic('prometheus', `${HTPASSWD_PASSWORD}x`)],
    ['password of another user', basic('grafana', HTPASSWD_PASSWORD)],
    ['unknown user', basic('admin', HTPASSWD_PASSWORD)],
    ['no colon', `Basic ${Buffer.from(`prometheus${HTPASSWD_PASSWORD}`).toString('base64')}`],
    ['not base64', `Basic prometheus:${HTPASSWD_PASSWORD}`],
    ['bearer scheme', `Bearer ${HTPASSWD_PASSWORD}`],
  ];
  const bodies = new Set<string>();
  for (const [what, header] of refused) {
    const r = await agent.get('/metrics', header === undefined ? {} : { headers: { Authorization: header } });
    t.equal(r.status, 401, `${what} → 401`);
    t.equal(r.headers.get('www-authenticate'), 'Basic realm="etcd-latency-agent"', `${what}: the browser is asked for a password`);
    t.equal(r.headers.get('cache-control'), 'no-store');
    bodies.add(r.body);
  }
  t.same([...bodies], ['unauthorized\n'], 'every refusal reads the same: nothing says which part was wrong');
  // A request line as a client may send it, unnormalised, past the open paths.
  const sneaky = await raw(port, `GET /healthz/../metrics HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('admin', 'x')}\r\nConnection: close\r\n\r\n`);
  t.notMatch(sneaky.text, /etcd_latency_agent_/, 'no metrics past /healthz/..');

  t.match(agent.log(), /web_auth="basic \(2 users\)"/);
  const log = agent.log();
  for (const secret of [HTPASSWD_PASSWORD, GRAFANA_PASSWORD, HTPASSWD_HASH.slice(7), GRAFANA_HASH.slice(7), Buffer.from(`prometheus:${HTPASSWD_PASSWORD}`).toString('base64')]) {
    t.notOk(log.includes(secret), 'no password, hash or header in the log');
  }
});

t.test('bearer token and basic users together: either credential opens, the 401 offers both', async (t) => {
  const webConfig = join(dir, 'web-bearer-basic.yml');
  writeFileSync(webConfig, `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\nbearer_token_file: ${tokenFile}\nbasic_auth_users:\n  prometheus: ${HTPASSWD_HASH}\n`, { mode: 0o600 });
  const agent = await startAgentProcess([...NO_ETCD, `--web-config-file=${webConfig}`], { https: { ca: readFileSync(pki.ca) } });
  t.teardown(() => agent.stop());
  t.equal((await agent.get('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200, 'the token');
  t.equal((await agent.get('/metrics', { headers: { Authorization: basic('prometheus', HTPASSWD_PASSWORD) } })).status, 200, 'the password');
  t.equal((await agent.get('/metrics', { headers: { Authorization: basic('prometheus', TOKEN) } })).status, 401, 'the token is not a password');
  const r = await agent.get('/metrics');
  t.equal(r.status, 401);
  t.equal(r.headers.get('www-authenticate'), 'Bearer realm="etcd-latency-agent", Basic realm="etcd-latency-agent"', 'both challenges');
  t.equal((await agent.get('/healthz')).status, 200, '/healthz stays open');
  t.match(agent.log(), /web_auth="bearer token or basic \(1 user\)"/);
  assertNoSecrets(t, agent.log(), 'log');
});
