// --web-config-file: TLS and authentication for the agent's HTTP endpoint, in the format of the
// Prometheus exporters' web configuration (node_exporter's --web.config.file, prometheus/exporter-toolkit):
//
//   tls_server_config:
//     cert_file: /etc/etcd-latency-agent/tls.crt     # paths relative to this file's directory
//     key_file: /etc/etcd-latency-agent/tls.key
//     client_ca_file: /etc/etcd-latency-agent/ca.crt  # optional: verify scrapers' client certificates
//     client_auth_type: RequireAndVerifyClientCert    # NoClientCert (default) | VerifyClientCertIfGiven | RequireAndVerifyClientCert
//     min_version: TLS12                              # TLS12 (default) | TLS13
//   basic_auth_users:                                 # user: bcrypt hash ($2a$, $2b$ or $2y$), as the exporters
//     prometheus: $2y$10$...
//   bearer_token_file: /etc/etcd-latency-agent/token  # this agent's addition: `Authorization: Bearer <token>`
//
// With both users and a token, either credential is accepted. Every other key is refused: a setting
// that looks applied but is not would leave the endpoint open. /healthz and /readyz are never
// authenticated (the kubelet's probes carry no credentials).
//
// Secrets stay in this module: the token is kept only as its SHA-256 digest, compared in constant
// time; no message names a secret's content (nor a bcrypt hash), only its file and key.
//
// bcrypt is slow on purpose, and slower in JavaScript (about 80 ms at cost 10 here): the checks run one
// at a time on a thread of their own, and successful ones are remembered, as exporter-toolkit does,
// so a scrape every 15 s does not pay for one each time.
import { createHash, createPrivateKey, timingSafeEqual, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileProblem } from '../../lib/errors.js';
import { ConfigError } from '../../lib/errors.js';
import { parseYaml, type YamlValue } from '../../lib/yaml.js';

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];
const TLS_VERSIONS = { TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

/** What `https.createServer` / `server.setSecureContext` need; PEM contents, not paths. */
export interface WebTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly clientAuth: ClientAuthType;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export interface WebConfig {
  /** The web config file, for messages and reloading. */
  readonly file: string;
  readonly tls?: WebTls;
  /** SHA-256 of the bearer token; requests to protected paths must present the token. */
  readonly bearerTokenDigest?: Buffer;
  readonly bearerTokenFile?: string;
  /** basic_auth_users: user → bcrypt hash; absent when no user is listed. */
  readonly basicAuthUsers?: ReadonlyMap<string, string>;
  /** Every file the config reads (itself included): a change to any of them triggers a reload. */
  readonly files: readonly string[];
}

const TOP_KEYS = ['tls_server_config', 'bearer_token_file', 'basic_auth_users', 'http_server_config', 'rate_limit'] as const;
const TLS_KEYS = ['cert_file', 'key_file', 'client_ca_file', 'client_auth_type', 'min_version'] as const;
// exporter-toolkit keys this agent does not implement; named so the message can say so.
const TLS_UNSUPPORTED = ['cert', 'key', 'client_ca', 'max_version', 'cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites', 'client_allowed_sans'];

const where = (file: string): string => `--web-config-file: ${file}`;

/** Reads a file the config names (`key` is its key; empty for the config file itself). */
function readSecretFile(configFile: string, key: string, path: string): Buffer {
  const name = key === '' ? where(path) : `${where(configFile)}: ${key} ${path}`;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError(`${name} is not a regular file`);
    return readFileSync(path);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${name} ${fileProblem(err)}`);
  }
}

function worldReadable(path: string): boolean {
  try {
    return (statSync(path).mode & 0o004) !== 0;
  } catch {
    return false;
  }
}

function asMap(configFile: string, key: string, v: YamlValue | undefined): Map<string, YamlValue> {
  if (v instanceof Map) return v;
  throw new ConfigError(`${where(configFile)}: ${key} must be a mapping of keys to values`);
}

function asString(configFile: string, key: string, v: YamlValue | undefined): string {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  throw new ConfigError(`${where(configFile)}: ${key} must be a non-empty string`);
}

/** `Bearer` tokens are sent in a header: visible ASCII without spaces (RFC 6750's b64token, and more). */
const TOKEN = /^[\x21-\x7e]+$/;

/**
 * Reads and checks the web config file and every file it names. Problems that can never work (missing
 * file, not PEM, key not matching its certificate, empty token, unknown or unsupported keys) are a
 * ConfigError naming the file and the key; warnings (an expired certificate, a world-readable key or
 * token) are pushed to `warnings`. Never includes a secret's content in a message.
 */
export function loadWebConfig(file: string, now: Date, warnings: string[]): WebConfig {
  const path = isAbsolute(file) ? file : resolve(file);
  const text = readSecretFile(path, '', path).toString('utf8');
  let doc: YamlValue;
  try {
    doc = parseYaml(text);
  } catch {
    // The reader's own messages quote the offending text, which may be a secret: name the file only.
    throw new ConfigError(`${where(path)} is not YAML this agent reads (block or flow mappings of plain or quoted scalars; no anchors, aliases or tabs)`);
  }
  if (doc === null) doc = new Map();
  const top = asMap(path, 'the top level', doc);
  for (const k of top.keys()) {
    if (!(TOP_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${where(path)}: unknown key ${JSON.stringify(k)}; known: tls_server_config, basic_auth_users, bearer_token_file`);
  }
  for (const k of ['http_server_config', 'rate_limit']) {
    if (top.has(k)) throw new ConfigError(`${where(path)}: ${k} is not supported by this agent; remove it`);
  }
  const base = dirname(path);
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const files = [path];

  let tls: WebTls | undefined;
  if (top.has('tls_server_config') && top.get('tls_server_config') !== null) {
    const t = asMap(path, 'tls_server_config', top.get('tls_server_config'));
    for (const k of t.keys()) {
      if (TLS_UNSUPPORTED.includes(k)) throw new ConfigError(`${where(path)}: tls_server_config.${k} is not supported by this agent; remove it`);
      if (!(TLS_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${where(path)}: unknown key tls_server_config.${JSON.stringify(k)}; known: ${TLS_KEYS.join(', ')}`);
    }
    const certFile = rel(asString(path, 'tls_server_config.cert_file', t.get('cert_file')));
    const keyFile = rel(asString(path, 'tls_server_config.key_file', t.get('key_file')));
    const cert = readSecretFile(path, 'tls_server_config.cert_file', certFile);
    const key = readSecretFile(path, 'tls_server_config.key_file', keyFile);
    files.push(certFile, keyFile);
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw new ConfigError(`${where(path)}: tls_server_config.cert_file ${certFile} is not a PEM certificate`);
    }
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new ConfigError(`${where(path)}: tls_server_config.key_file ${keyFile} is not a PEM private key (an encrypted key is not supported)`);
    }
    if (!x509.checkPrivateKey(privateKey)) {
      throw new ConfigError(`${where(path)}: tls_server_config.key_file ${keyFile} does not belong to the certificate ${certFile}`);
    }
    if (new Date(x509.validTo) < now) warnings.push(`${where(path)}: tls_server_config.cert_file ${certFile} expired on ${x509.validTo}; scrapers that verify it will fail`);
    if (worldReadable(keyFile)) warnings.push(`${where(path)}: tls_server_config.key_file ${keyFile} is readable by every user of this machine; make it 0600 or 0640`);

    const clientAuthText = t.get('client_auth_type');
    const clientAuth = (clientAuthText === undefined || clientAuthText === null ? 'NoClientCert' : asString(path, 'tls_server_config.client_auth_type', clientAuthText)) as ClientAuthType;
    if (!CLIENT_AUTH_TYPES.includes(clientAuth)) {
      throw new ConfigError(`${where(path)}: tls_server_config.client_auth_type must be one of ${CLIENT_AUTH_TYPES.join(', ')}`);
    }
    let ca: Buffer | undefined;
    const caText = t.get('client_ca_file');
    if (caText !== undefined && caText !== null) {
      const caFile = rel(asString(path, 'tls_server_config.client_ca_file', caText));
      ca = readSecretFile(path, 'tls_server_config.client_ca_file', caFile);
      files.push(caFile);
      try {
        new X509Certificate(ca);
      } catch {
        throw new ConfigError(`${where(path)}: tls_server_config.client_ca_file ${caFile} is not a PEM certificate`);
      }
    }
    if (clientAuth !== 'NoClientCert' && ca === undefined) {
      throw new ConfigError(`${where(path)}: tls_server_config.client_auth_type ${clientAuth} needs client_ca_file`);
    }
    const minText = t.get('min_version');
    const min = minText === undefined || minText === null ? 'TLS12' : asString(path, 'tls_server_config.min_version', minText);
    if (!(min in TLS_VERSIONS)) throw new ConfigError(`${where(path)}: tls_server_config.min_version must be TLS12 or TLS13`);
    tls = { cert, key, ...(ca ? { ca } : {}), clientAuth, minVersion: TLS_VERSIONS[min as keyof typeof TLS_VERSIONS] };
  }

  let bearerTokenDigest: Buffer | undefined;
  let bearerTokenFile: string | undefined;
  if (top.has('bearer_token_file')) {
    bearerTokenFile = rel(asString(path, 'bearer_token_file', top.get('bearer_token_file')));
    // Trimmed like Prometheus's credentials_file: a Secret mounted as a file often ends in a newline.
    const token = readSecretFile(path, 'bearer_token_file', bearerTokenFile).toString('utf8').trim();
    files.push(bearerTokenFile);
    if (token === '') throw new ConfigError(`${where(path)}: bearer_token_file ${bearerTokenFile} is empty`);
    if (!TOKEN.test(token)) throw new ConfigError(`${where(path)}: bearer_token_file ${bearerTokenFile} must hold one token of visible ASCII characters without spaces`);
    if (token.length < 16) warnings.push(`${where(path)}: the token in ${bearerTokenFile} is shorter than 16 characters; use a random one, e.g. \`openssl rand -hex 32\``);
    if (worldReadable(bearerTokenFile)) warnings.push(`${where(path)}: bearer_token_file ${bearerTokenFile} is readable by every user of this machine; make it 0600 or 0640`);
    bearerTokenDigest = sha256(token);
  }
  const basicAuthUsers = readBasicAuthUsers(path, top.get('basic_auth_users'), warnings);
  return { file: path, ...(tls ? { tls } : {}), ...(bearerTokenDigest ? { bearerTokenDigest, bearerTokenFile } : {}), ...(basicAuthUsers ? { basicAuthUsers } : {}), files };
}

/** bcrypt hashes as exporter-toolkit accepts them: version 2a, 2b or 2y, cost 04–31, 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;
/** At cost 12 a check takes about a third of a second in this agent; each step above doubles it. */
const BCRYPT_COST_WARN = 12;

function readBasicAuthUsers(path: string, value: YamlValue | undefined, warnings: string[]): Map<string, string> | undefined {
  if (value === undefined) return undefined;
  const listed = value === null ? new Map<string, YamlValue>() : asMap(path, 'basic_auth_users', value);
  if (listed.size === 0) {
    // An empty list turns basic authentication off (as in the exporters): say so, as it may be a template gone wrong.
    warnings.push(`${where(path)}: basic_auth_users lists no user, so it protects nothing`);
    return undefined;
  }
  const users = new Map<string, string>();
  for (const [user, hash] of listed) {
    const name = `${where(path)}: basic_auth_users: user ${JSON.stringify(user)}`;
    if (user.includes(':')) throw new ConfigError(`${name}: a user name cannot contain ":" (basic authentication sends "user:password")`);
    // The message never quotes the value: it is a hash that could be cracked offline, or a password pasted by mistake.
    const m = typeof hash === 'string' ? BCRYPT_HASH.exec(hash.trim()) : null;
    if (!m) throw new ConfigError(`${name}: the value is not a bcrypt hash (version 2a, 2b or 2y, cost 04 to 31, 60 characters); make one with \`htpasswd -nBC 10 USER\` (docs/security.md)`);
    const cost = Number(m[1]);
    if (cost > BCRYPT_COST_WARN) warnings.push(`${name}: the hash has cost ${cost}; every check not remembered takes ${2 ** (cost - 10)} times as long as at cost 10 (about 80 ms in this agent); 10 to 12 is enough`);
    users.set(user, m[0]);
  }
  if (worldReadable(path)) warnings.push(`${where(path)} holds bcrypt hashes and is readable by every user of this machine; make it 0600 or 0640`);
  return users;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

const BEARER = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;

/** Whether an Authorization header carries the token whose digest is given (constant time in the token). */
export function bearerMatches(header: string | undefined, digest: Buffer): boolean {
  if (header === undefined || header.length > 8192) return false;
  const m = BEARER.exec(header);
  if (!m) return false;
  return timingSafeEqual(sha256(m[1]!), digest);
}

/** Checks an Authorization header against basic_auth_users; resolves, never rejects. */
export type BasicAuthCheck = (authorization: string | undefined) => Promise<boolean>;

/** Successful checks remembered per users map: the few scrapers' credentials fit, and a flood of wrong ones adds none. */
const BASIC_AUTH_CACHE_SIZE = 64;

/**
 * The check for a users map (undefined when it is empty), with its own cache: a reload builds a new
 * one, so a removed user or a replaced hash is not let in by a remembered success. Only successes are
 * remembered, keyed by the user, the SHA-256 of the password and the hash: a wrong password never
 * matches a remembered entry and always costs a bcrypt check. An unknown user is checked against
 * another user's hash, and refused whatever the outcome, so that it takes as long as a known one and
 * the timing does not tell which users exist (a fixed decoy hash of another cost would).
 */
export function basicAuthCheck(users: ReadonlyMap<string, string>): BasicAuthCheck | undefined {
  const [decoy] = users.values();
  if (decoy === undefined) return undefined;
  const remembered = new Set<string>();
  return async (authorization) => {
    const credentials = basicCredentials(authorization);
    if (!credentials) return false;
    const hash = users.get(credentials.user);
    const key = JSON.stringify([credentials.user, sha256(credentials.password).toString('hex'), hash]);
    if (hash !== undefined && remembered.delete(key)) {
      remembered.add(key); // most recently used last: the oldest is evicted first
      return true;
    }
    const ok = await bcryptCompare(credentials.password, hash ?? decoy);
    if (!ok || hash === undefined) return false;
    remembered.add(key);
    if (remembered.size > BASIC_AUTH_CACHE_SIZE) {
      const [oldest] = remembered;
      remembered.delete(oldest);
    }
    return true;
  };
}

const BASIC = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** User and password of `Authorization: Basic base64(user:password)` (RFC 7617); undefined when malformed. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  const m = BASIC.exec(header);
  if (!m || m[1]!.length % 4 !== 0) return undefined;
  let text: string;
  try {
    text = UTF8.decode(Buffer.from(m[1]!, 'base64'));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

// bcrypt runs on a thread of its own because a check (80 ms at cost 10, 330 ms at cost 12 in
// JavaScript) would otherwise stall the event loop: /healthz would hang, and the fdatasync probe, timed
// across an await, would record the stall as disk latency. One thread, so checks run one at a time,
// as exporter-toolkit serialises them: a flood of wrong passwords costs one core, not all of them.
// Evaluated source rather than a module file so that it runs the same from dist/ and from the tests' src/.
const BCRYPT_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { compareSync } = require(workerData.bcryptjs);
parentPort.on('message', ({ id, password, hash }) => parentPort.postMessage({ id, ok: compareSync(password, hash) }));
`;
/** Checks waiting for the thread; beyond this a check fails at once, so a flood holds no more memory. */
const BCRYPT_MAX_PENDING = 16;

interface BcryptThread {
  readonly worker: Worker;
  readonly pending: Map<number, (ok: boolean) => void>;
}
let bcryptThread: BcryptThread | undefined;
let bcryptNextId = 0;

/** bcrypt comparisons handed to the thread since start: what the cache spares is visible here, not in timings. */
export function bcryptComparisons(): number {
  return bcryptNextId;
}

function bcryptCompare(password: string, hash: string): Promise<boolean> {
  let thread: BcryptThread;
  try {
    thread = bcryptThread ?? startBcryptThread();
  } catch {
    return Promise.resolve(false);
  }
  if (thread.pending.size >= BCRYPT_MAX_PENDING) return Promise.resolve(false);
  const id = bcryptNextId++;
  return new Promise((resolve) => {
    // Referenced only while a check is pending: an idle thread must not keep the process alive.
    if (thread.pending.size === 0) thread.worker.ref();
    thread.pending.set(id, resolve);
    thread.worker.postMessage({ id, password, hash });
  });
}

function startBcryptThread(): BcryptThread {
  const worker = new Worker(BCRYPT_THREAD, { eval: true, workerData: { bcryptjs: createRequire(import.meta.url).resolve('bcryptjs') } });
  worker.unref();
  const thread: BcryptThread = { worker, pending: new Map() };
  const settle = (id: number, ok: boolean): void => {
    thread.pending.get(id)?.(ok);
    thread.pending.delete(id);
    if (thread.pending.size === 0) worker.unref();
  };
  worker.on('message', (m: { id: number; ok: boolean }) => settle(m.id, m.ok));
  // A thread that died fails its pending checks (refused, never let in); the next check starts a new one.
  const died = (): void => {
    if (bcryptThread === thread) bcryptThread = undefined;
    for (const id of [...thread.pending.keys()]) settle(id, false);
  };
  worker.on('error', died);
  worker.on('exit', died);
  bcryptThread = thread;
  return thread;
}

/** The fields the start-up log line shows about the endpoint's security (no secret, no digest). */
export function describeWebConfig(web: WebConfig | undefined): Record<string, string> {
  if (web === undefined) return { web_tls: 'off', web_auth: 'none' };
  return {
    web_config: web.file,
    web_tls: web.tls ? `on (client certificates: ${web.tls.clientAuth}, min ${web.tls.minVersion})` : 'off',
    web_auth: describeAuth(web),
  };
}

function describeAuth(web: WebConfig): string {
  const users = web.basicAuthUsers?.size ?? 0;
  const basic = `basic (${users} user${users === 1 ? '' : 's'})`;
  if (web.bearerTokenDigest) return users > 0 ? `bearer token or ${basic}` : 'bearer token';
  return users > 0 ? basic : 'none';
}

/** A fingerprint of the files a web config reads: changes when any is replaced, rewritten or removed. */
export function filesStamp(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const st = statSync(f);
        return `${f}:${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${f}:missing`;
      }
    })
    .join('|');
}
