// --web-config-file: what is accepted, what is refused (with the file and the key named, and never a
// secret's content), the bearer and basic checks, and the reload of rotated certificates, tokens and users.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import t, { type Test } from 'tap';
import { initialSecurity, watchWebConfig } from '../../src/export/http/http-security.js';
import { basicAuthCheck, bcryptComparisons, bearerMatches, describeWebConfig, loadWebConfig, type BasicAuthCheck } from '../../src/export/http/web-config.js';
import type { Logger } from '../../src/lib/log.js';
import { makeTestPki, type TestPki } from '../../harness/etcd-cluster.js';
import { ConfigError } from '../../src/lib/errors.js';

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

/** The message of the ConfigError that loading `file` must throw (a failed assertion when it loads). */
function refusal(t: Test, file: string, what: string): string {
  try {
    loadWebConfig(file, new Date(), []);
    t.fail(`${what}: accepted`);
    return '';
  } catch (err) {
    t.ok(err instanceof ConfigError, `${what}: a ConfigError`);
    return (err as Error).message;
  }
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
    const message = refusal(t, file, what);
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

// Hashes made by other bcrypt implementations, so that this agent is checked against them and not only
// against bcryptjs itself:
// - htpasswd (Apache's apr-util, apache2-utils 2.4.71 on Debian 12): `htpasswd -nbBC 10 prometheus 'htpasswd-scrape-secret-7Qx'`
const HTPASSWD_HASH = '$2y$10$lWhGj2evqHX4Y3QLOHD8duxHRpgz6vCejuxor2n6XV5pAzG9sbKbS';
const HTPASSWD_PASSWORD = 'htpasswd-scrape-secret-7Qx';
// - Python's bcrypt: the example of Prometheus's guide "Securing Prometheus API and UI endpoints using
//   basic auth" (prometheus.io/docs/guides/basic-auth/), the hash of "test".
const PYTHON_HASH = '$2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay';
const PYTHON_PASSWORD = 'test';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A check and how many bcrypt comparisons it cost (the cache's effect, observed without a clock). */
async function counted(check: BasicAuthCheck, header: string): Promise<{ ok: boolean; bcrypt: number }> {
  const before = bcryptComparisons();
  const ok = await check(header);
  return { ok, bcrypt: bcryptComparisons() - before };
}

t.test('basic_auth_users loads $2a$, $2b$ and $2y$ hashes; the description counts users and shows no hash', async (t) => {
  const salt = bcrypt.genSaltSync(4);
  const a = bcrypt.hashSync('pw-a', salt.replace('$2b$', '$2a$'));
  const warnings: string[] = [];
  const file = configFile(`basic_auth_users:\n  alice: ${a}\n  bob: "${PYTHON_HASH}"\n  prometheus: ${HTPASSWD_HASH}\nbearer_token_file: ${tokenFile}\n`);
  chmodSync(file, 0o600);
  const web = loadWebConfig(file, new Date(), warnings);
  t.same([...web.basicAuthUsers!.keys()], ['alice', 'bob', 'prometheus']);
  t.equal(web.basicAuthUsers!.get('bob'), PYTHON_HASH, 'quoted or plain, the hash is read as written');
  t.same(warnings, [], 'nothing to warn about');
  const described = JSON.stringify(describeWebConfig(web));
  t.match(described, /"web_auth":"bearer token or basic \(3 users\)"/);
  assertNoSecrets(t, described, 'description');
  t.equal(describeWebConfig(loadWebConfig(configFile(`basic_auth_users:\n  alice: ${a}\n`), new Date(), [])).web_auth, 'basic (1 user)');
});

t.test('basic_auth_users warnings: an empty list (no protection), a cost that makes every check slow, a world-readable file', async (t) => {
  for (const text of ['basic_auth_users:\n', 'basic_auth_users: {}\n']) {
    const warnings: string[] = [];
    const web = loadWebConfig(configFile(text), new Date(), warnings);
    t.equal(web.basicAuthUsers, undefined, `${JSON.stringify(text)}: no users`);
    t.equal(describeWebConfig(web).web_auth, 'none', 'and said so');
    t.match(warnings.join('\n'), /basic_auth_users lists no user, so it protects nothing/);
  }
  const slow = `$2b$14$${'a'.repeat(53)}`;
  const warnings: string[] = [];
  const file = configFile(`basic_auth_users:\n  ops: ${slow}\n`);
  chmodSync(file, 0o644);
  loadWebConfig(file, new Date(), warnings);
  t.match(warnings.join('\n'), /user "ops": the hash has cost 14; every check not remembered takes 16 times as long as at cost 10/);
  t.match(warnings.join('\n'), /holds bcrypt hashes and is readable by every user of this machine/);
  assertNoSecrets(t, warnings.join('\n'), 'warnings');
});

t.test('basic_auth_users refused: a ConfigError naming the file, the key and the user, never the value', async (t) => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['a hash cut short', 'prometheus', HTPASSWD_HASH.slice(0, -1), /user "prometheus": the value is not a bcrypt hash/],
    ['an unknown bcrypt version', 'prometheus', HTPASSWD_HASH.replace('$2y$', '$2x$'), /user "prometheus": the value is not a bcrypt hash/],
    ["htpasswd's default MD5 ($apr1$)", 'web', '$apr1$Jb3kM0Qz$8lJq1sXk9v2mYcR3TnW0p.', /user "web": the value is not a bcrypt hash/],
    ['cost 03', 'alice', HTPASSWD_HASH.replace('$10$', '$03$'), /user "alice": the value is not a bcrypt hash/],
    ['cost 32', 'alice', HTPASSWD_HASH.replace('$10$', '$32$'), /user "alice": the value is not a bcrypt hash/],
    ['a password pasted instead of its hash', 'alice', 'correct-horse-battery-staple', /user "alice": the value is not a bcrypt hash/],
    ['a user name with a colon', 'ali:ce', HTPASSWD_HASH, /user "ali:ce": a user name cannot contain ":"/],
  ];
  for (const [what, user, value, want] of cases) {
    const file = configFile(`basic_auth_users:\n  "${user}": "${value}"\n`);
    const message = refusal(t, file, what);
    t.match(message, want, what);
    t.match(message, `--web-config-file: ${file}: basic_auth_users: `, `${what}: names the file and the key`);
    assertNoSecrets(t, message, what);
    for (let i = 0; i + 8 <= value.length; i++) {
      if (message.includes(value.slice(i, i + 8))) t.fail(`${what}: quotes ${JSON.stringify(value.slice(i, i + 8))} of the value`);
    }
  }
  const nested = configFile('basic_auth_users:\n  alice:\n    hash: x\n');
  t.throws(() => loadWebConfig(nested, new Date(), []), { message: /user "alice": the value is not a bcrypt hash/ }, 'a mapping as the value');
  const list = configFile('basic_auth_users:\n  - alice\n');
  t.throws(() => loadWebConfig(list, new Date(), []), { message: /basic_auth_users must be a mapping/ }, 'a list of users');
});

t.test('basic auth: hashes from htpasswd, Python bcrypt and bcryptjs let their own password in, and nothing else', async (t) => {
  const generated = bcrypt.hashSync('bcryptjs-made-password', 10);
  const check = basicAuthCheck(new Map([['prometheus', HTPASSWD_HASH], ['admin', PYTHON_HASH], ['grafana', generated]]))!;
  t.ok(await check(basic('prometheus', HTPASSWD_PASSWORD)), 'htpasswd ($2y$)');
  t.ok(await check(basic('admin', PYTHON_PASSWORD)), "Python's bcrypt ($2b$, cost 12)");
  t.ok(await check(basic('grafana', 'bcryptjs-made-password')), 'bcryptjs ($2b$, cost 10)');
  t.ok(await check(`basic   ${Buffer.from(`prometheus:${HTPASSWD_PASSWORD}`).toString('base64')} `), 'any case of the scheme, blanks around');
  const refused: Array<[string, string | undefined]> = [
    ['no header', undefined],
    ['wrong password', basic('prometheus', 'htpasswd-scrape-secret-7Qy')],
    ['password of another user', basic('prometheus', PYTHON_PASSWORD)],
    ['unknown user with a valid password', basic('nobody', HTPASSWD_PASSWORD)],
    ['user name in another case', basic('Prometheus', HTPASSWD_PASSWORD)],
    ['empty password', basic('prometheus', '')],
    ['no colon', `Basic ${Buffer.from(`prometheus${HTPASSWD_PASSWORD}`).toString('base64')}`],
    ['not base64', `Basic prometheus:${HTPASSWD_PASSWORD}`],
    ['base64 without its padding', `Basic ${Buffer.from(`prometheus:${HTPASSWD_PASSWORD}x`).toString('base64').replace(/=+$/, '')}`],
    ['not UTF-8', `Basic ${Buffer.concat([Buffer.from('prometheus:'), Buffer.from([0xff, 0xfe])]).toString('base64')}`],
    ['the bearer scheme', `Bearer ${Buffer.from(`prometheus:${HTPASSWD_PASSWORD}`).toString('base64')}`],
    ['two credentials', `${basic('prometheus', HTPASSWD_PASSWORD)} ${basic('prometheus', HTPASSWD_PASSWORD)}`],
    ['scheme only', 'Basic'],
    ['10 kB header', `Basic ${'A'.repeat(10_000)}`],
  ];
  for (const [what, header] of refused) t.notOk(await check(header), what);
});

t.test('basic auth cache: a remembered success spares bcrypt, but never lets a wrong password in', async (t) => {
  const check = basicAuthCheck(new Map([['prometheus', HTPASSWD_HASH]]))!;
  t.same(await counted(check, basic('prometheus', HTPASSWD_PASSWORD)), { ok: true, bcrypt: 1 }, 'first success: one bcrypt comparison');
  t.same(await counted(check, basic('prometheus', HTPASSWD_PASSWORD)), { ok: true, bcrypt: 0 }, 'again: remembered, no bcrypt');
  for (const wrong of [HTPASSWD_PASSWORD.toUpperCase(), `${HTPASSWD_PASSWORD} `, `${HTPASSWD_PASSWORD}\u0000`, '']) {
    t.same(await counted(check, basic('prometheus', wrong)), { ok: false, bcrypt: 1 }, `${JSON.stringify(wrong)} after the right password was remembered: refused, and bcrypt paid (failures are not remembered)`);
  }
  t.notOk(await check(basic('nobody', HTPASSWD_PASSWORD)), 'nor an unknown user with the remembered password');
});

t.test('basic auth cache: bounded to 64 successes, the least recently used forgotten first', async (t) => {
  // bcrypt reads 72 bytes of a password: every longer one with the same start matches, which gives
  // as many distinct right passwords as needed.
  const start = 'p'.repeat(72);
  const check = basicAuthCheck(new Map([['u', bcrypt.hashSync(start, 4)]]))!;
  for (let i = 0; i <= 64; i++) t.same(await counted(check, basic('u', `${start}-${i}`)), { ok: true, bcrypt: 1 }, `distinct right password ${i}: checked once`);
  t.same(await counted(check, basic('u', `${start}-64`)), { ok: true, bcrypt: 0 }, 'the most recent is remembered');
  t.same(await counted(check, basic('u', `${start}-1`)), { ok: true, bcrypt: 0 }, 'so is the 64th most recent');
  t.same(await counted(check, basic('u', `${start}-0`)), { ok: true, bcrypt: 1 }, 'the 65th success pushed out the oldest: bcrypt again');
});

t.test('basic auth: an unknown user costs a bcrypt comparison against a configured hash, like a wrong password', async (t) => {
  // A fixed decoy hash of another cost (exporter-toolkit's is cost 10) would answer unknown users
  // faster than Python's default cost-12 hashes and tell which users exist; a configured hash cannot.
  const check = basicAuthCheck(new Map([['admin', PYTHON_HASH]]))!;
  t.same(await counted(check, basic('admin', 'wrong')), { ok: false, bcrypt: 1 }, 'known user, wrong password');
  t.same(await counted(check, basic('nobody', 'wrong')), { ok: false, bcrypt: 1 }, 'unknown user: the same one comparison');
  t.same(await counted(check, basic('nobody', PYTHON_PASSWORD)), { ok: false, bcrypt: 1 }, "unknown user with a configured user's password: compared, and still refused");
});

t.test('basic auth: bcrypt runs off the event loop, so timers (and the fdatasync probe) keep turning during a check', async (t) => {
  const check = basicAuthCheck(new Map([['admin', PYTHON_HASH]]))!;
  let turns = 0;
  let done = false;
  const spin = (): void => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const ok = await check(basic('admin', 'wrong'));
  done = true;
  t.notOk(ok);
  // A comparison on the event loop itself would let no turn happen before it answered.
  t.ok(turns > 1, `the event loop turned ${turns} times while a cost-12 comparison ran`);
});

t.test('reload: a new users list replaces the old one, and what the old one remembered lets no one in', async (t) => {
  const users = join(dir, 'users.yml');
  writeFileSync(users, `basic_auth_users:\n  prometheus: ${HTPASSWD_HASH}\n`);
  const web = loadWebConfig(users, new Date(), []);
  const security = initialSecurity(web, false);
  const lines: string[] = [];
  const log: Logger = { debug: () => {}, info: (m, f) => lines.push(`info ${m} ${JSON.stringify(f)}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const stop = watchWebConfig(web, http.createServer(), security, log, 20);
  t.teardown(stop);
  const before = security.basicAuth!;
  t.ok(await before(basic('prometheus', HTPASSWD_PASSWORD)), 'in, and remembered');

  const replaced = bcrypt.hashSync('new-password-after-rotation', 4);
  writeFileSync(users, `basic_auth_users:\n  prometheus: ${replaced}\n  admin: ${PYTHON_HASH}\n`);
  await waitFor(() => security.basicAuth !== before, 'the new users list');
  t.notOk(await security.basicAuth!(basic('prometheus', HTPASSWD_PASSWORD)), 'the old, remembered password is refused');
  t.ok(await security.basicAuth!(basic('prometheus', 'new-password-after-rotation')), 'the new one is let in');
  t.ok(await security.basicAuth!(basic('admin', PYTHON_PASSWORD)), 'and the added user');

  const withUsers = security.basicAuth;
  writeFileSync(users, `basic_auth_users:\n  prometheus: ${replaced.slice(0, -1)}\n`);
  await waitFor(() => lines.some((l) => l.startsWith('warn web config not reloaded')), 'the failed reload logged');
  t.equal(security.basicAuth, withUsers, 'a broken hash keeps the previous users');
  writeFileSync(users, `bearer_token_file: ${tokenFile}\n`);
  await waitFor(() => security.basicAuth === undefined, 'users removed');
  t.ok(security.bearerTokenDigest, 'the token in their place');
  t.match(lines.join('\n'), /web_auth":"basic \(2 users\)"/);
  assertNoSecrets(t, lines.join('\n'), 'reload log');
  t.notMatch(lines.join('\n'), /new-password|scrape-secret/, 'no password logged');
});
