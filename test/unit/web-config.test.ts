// --web-config-file: what is accepted, what is refused (with the file and the key named, and never a
// secret's content), the bearer check, and the reload of rotated certificates and tokens.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { ConfigError } from '../../src/config.js';
import { initialSecurity, watchWebConfig } from '../../src/export/http-security.js';
import { bearerMatches, describeWebConfig, loadWebConfig } from '../../src/export/web-config.js';
import type { Logger } from '../../src/log.js';
import { makeTestPki, type TestPki } from '../helpers/etcd-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'web-config-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'tok-3f9a1c0e5b7d2e4f6a8c0b1d3e5f7a9c';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
let pki: TestPki;
t.before(async () => {
  pki = await makeTestPki(join(dir, 'pki'));
});

let n = 0;
function configFile(text: string): string {
  const f = join(dir, `web-${n++}.yml`);
  writeFileSync(f, text);
  return f;
}

/** Every string a failure produced must be free of the secrets in play. */
function assertNoSecrets(tt: Test, text: string, what: string): void {
  tt.notMatch(text, TOKEN, `${what}: no token`);
  tt.notMatch(text, /BEGIN|PRIVATE KEY|MII/, `${what}: no PEM material`);
  tt.notMatch(text, /\$2[aby]\$/, `${what}: no bcrypt hash`);
}

t.test('a full config loads: TLS with client certificates, bearer token; the description shows no secret', async (t) => {
  const warnings: string[] = [];
  const web = loadWebConfig(
    configFile(`# as node_exporter's web config
tls_server_config:
  cert_file: ${pki.serverCert}
  key_file: ${pki.serverKey}
  client_ca_file: ${pki.ca}
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS13
bearer_token_file: ${tokenFile}
`),
    new Date(),
    warnings,
  );
  t.equal(web.tls?.clientAuth, 'RequireAndVerifyClientCert');
  t.equal(web.tls?.minVersion, 'TLSv1.3');
  t.ok(web.tls?.ca, 'client CA read');
  t.equal(web.bearerTokenDigest?.length, 32, 'the token is kept as a SHA-256 digest');
  t.same(web.files.length, 5, 'the config, cert, key, CA and token are watched');
  const described = JSON.stringify(describeWebConfig(web));
  t.match(described, /client certificates: RequireAndVerifyClientCert/);
  t.match(described, /bearer token/);
  assertNoSecrets(t, described + JSON.stringify(warnings), 'description');
  t.notMatch(JSON.stringify(web), TOKEN, 'the token itself is not kept anywhere in the config');
});

t.test('relative paths are relative to the config file; an empty file means no TLS and no auth', async (t) => {
  writeFileSync(join(dir, 'relative-token'), TOKEN);
  const web = loadWebConfig(configFile('bearer_token_file: relative-token\n'), new Date(), []);
  t.ok(web.bearerTokenDigest);
  const empty = loadWebConfig(configFile(''), new Date(), []);
  t.equal(empty.tls, undefined);
  t.equal(empty.bearerTokenDigest, undefined);
});

t.test('refused configs: a ConfigError naming the file and the key, never the secret', async (t) => {
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, `not a certificate ${TOKEN}`);
  const empty = join(dir, 'empty-token');
  writeFileSync(empty, '\n');
  const spaced = join(dir, 'spaced-token');
  writeFileSync(spaced, `${TOKEN} ${TOKEN}`);
  const cases: Array<[string, string, RegExp]> = [
    ['missing file', '', /--web-config-file: \/nonexistent\/web.yml does not exist/],
    ['not YAML (and the offending text is a secret)', `bearer_token_file: [${TOKEN}\n  - x: "${TOKEN}`, /is not YAML this agent reads/],
    ['unknown top-level key holding a secret', `bearer_token: ${TOKEN}\n`, /unknown key "bearer_token"/],
    ['basic auth needs bcrypt', 'basic_auth_users:\n  prometheus: $2y$10$abcdefghijklmnopqrstuuJ4Q3n0Sxk2Y1O9dXgJbC1mJ5sE3u\n', /basic_auth_users \(bcrypt\) is not supported by this build yet; use bearer_token_file/],
    ['http_server_config', 'http_server_config:\n  http2: false\n', /http_server_config is not supported/],
    ['inline key material', `tls_server_config:\n  cert: "-----BEGIN CERTIFICATE-----MII"\n  key: "-----BEGIN PRIVATE KEY-----MII"\n`, /tls_server_config.cert is not supported/],
    ['TLS without key', `tls_server_config:\n  cert_file: ${pki.serverCert}\n`, /tls_server_config.key_file must be a non-empty string/],
    ['cert is not PEM', `tls_server_config:\n  cert_file: ${notPem}\n  key_file: ${pki.serverKey}\n`, /cert_file .*not.pem is not a PEM certificate/],
    ['key is not PEM', `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${notPem}\n`, /key_file .*not.pem is not a PEM private key/],
    ['key of another certificate', `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.clientKey}\n`, /client.key does not belong to the certificate .*server.crt/],
    ['missing cert file', `tls_server_config:\n  cert_file: /nonexistent/tls.crt\n  key_file: ${pki.serverKey}\n`, /cert_file \/nonexistent\/tls.crt does not exist/],
    ['client auth without CA', `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: RequireAndVerifyClientCert\n`, /needs client_ca_file/],
    ['unknown client auth type', `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: RequireAnyClientCert\n`, /client_auth_type must be one of/],
    ['bad min version', `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  min_version: TLS10\n`, /min_version must be TLS12 or TLS13/],
    ['empty token file', `bearer_token_file: ${empty}\n`, /bearer_token_file .*empty-token is empty/],
    ['token with a space', `bearer_token_file: ${spaced}\n`, /must hold one token of visible ASCII/],
    ['token file is a directory', `bearer_token_file: ${dir}\n`, /is not a regular file/],
    ['top level is a list', `- ${TOKEN}\n`, /the top level must be a mapping/],
  ];
  for (const [what, text, want] of cases) {
    const file = what === 'missing file' ? '/nonexistent/web.yml' : configFile(text);
    let message = '';
    try {
      loadWebConfig(file, new Date(), []);
      t.fail(`${what}: accepted`);
    } catch (err) {
      t.ok(err instanceof ConfigError, `${what}: a ConfigError`);
      message = (err as Error).message;
    }
    t.match(message, want, what);
    t.match(message, file, `${what}: names the file`);
    assertNoSecrets(t, message, what);
  }
});

t.test('warnings: a world-readable token or key, a short token, an expired certificate', async (t) => {
  const open = join(dir, 'open-token');
  writeFileSync(open, 'zq9kx');
  chmodSync(open, 0o644);
  const warnings: string[] = [];
  loadWebConfig(configFile(`bearer_token_file: ${open}\ntls_server_config:\n  cert_file: ${pki.expiredClientCert}\n  key_file: ${pki.expiredClientKey}\n`), new Date(), warnings);
  t.match(warnings.join('\n'), /open-token is readable by every user/);
  t.match(warnings.join('\n'), /shorter than 16 characters/);
  t.match(warnings.join('\n'), /expired-client.crt expired on/);
  assertNoSecrets(t, warnings.join('\n'), 'warnings');
  t.notMatch(warnings.join('\n'), 'zq9kx', 'not the short token either');
});

t.test('bearerMatches: exact token only, any case of the scheme, constant-size comparison', async (t) => {
  const web = loadWebConfig(configFile(`bearer_token_file: ${tokenFile}\n`), new Date(), []);
  const d = web.bearerTokenDigest!;
  t.ok(bearerMatches(`Bearer ${TOKEN}`, d));
  t.ok(bearerMatches(`bearer  ${TOKEN} `, d));
  for (const h of [undefined, '', TOKEN, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, `Bearer ${TOKEN} ${TOKEN}`, `Bearer`, `Bearer ${'x'.repeat(10_000)}`]) {
    t.notOk(bearerMatches(h, d), JSON.stringify(h?.slice(0, 40)));
  }
});

t.test('rotation: a new token and a new certificate are picked up; a broken one is logged once and the old kept', async (t) => {
  const rotDir = mkdtempSync(join(dir, 'rot-'));
  const tok = join(rotDir, 'token');
  writeFileSync(tok, 'first-token-0123456789abcdef');
  const cert = join(rotDir, 'tls.crt');
  const key = join(rotDir, 'tls.key');
  writeFileSync(cert, readFileSync(pki.serverCert));
  writeFileSync(key, readFileSync(pki.serverKey));
  const file = configFile(`bearer_token_file: ${tok}\ntls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n`);
  const web = loadWebConfig(file, new Date(), []);
  const security = initialSecurity(web, false);
  const lines: string[] = [];
  const log: Logger = { debug: () => {}, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const contexts: unknown[] = [];
  const server = Object.assign(http.createServer(), { setSecureContext: (o: unknown) => contexts.push(o) });
  const stop = watchWebConfig(web, server, security, log, 20);
  t.teardown(stop);

  writeFileSync(tok, 'second-token-0123456789abcdef');
  await waitFor(() => bearerMatches('Bearer second-token-0123456789abcdef', security.bearerTokenDigest!), 'the new token');
  t.notOk(bearerMatches('Bearer first-token-0123456789abcdef', security.bearerTokenDigest!), 'the old token is refused');
  t.equal(contexts.length, 1, 'the TLS context was replaced');

  writeFileSync(key, readFileSync(pki.clientKey)); // a key that does not match: refused
  await waitFor(() => lines.some((l) => l.startsWith('warn web config not reloaded')), 'the failed reload logged');
  await sleep(100);
  t.equal(lines.filter((l) => l.startsWith('warn web config not reloaded')).length, 1, 'logged once, not on every check');
  t.ok(bearerMatches('Bearer second-token-0123456789abcdef', security.bearerTokenDigest!), 'the previous config stays in use');
  writeFileSync(key, readFileSync(pki.serverKey));
  await waitFor(() => lines.filter((l) => l === 'info web config reloaded').length === 2, 'reloaded once fixed');
  assertNoSecrets(t, lines.join('\n'), 'reload log');
  t.notMatch(lines.join('\n'), /second-token/, 'the rotated token is not logged');
});

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}
