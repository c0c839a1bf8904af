// --web-config-file: TLS and authentication for the agent's HTTP endpoint, in the format of the
// Prometheus exporters' web configuration (node_exporter's --web.config.file, prometheus/exporter-toolkit):
//
//   tls_server_config:
//     cert_file: /etc/etcd-latency-agent/tls.crt     # paths relative to this file's directory
//     key_file: /etc/etcd-latency-agent/tls.key
//     client_ca_file: /etc/etcd-latency-agent/ca.crt  # optional: verify scrapers' client certificates
//     client_auth_type: RequireAndVerifyClientCert    # NoClientCert (default) | VerifyClientCertIfGiven | RequireAndVerifyClientCert
//     min_version: TLS12                              # TLS12 (default) | TLS13
//   bearer_token_file: /etc/etcd-latency-agent/token  # this agent's addition: `Authorization: Bearer <token>`
//
// The exporters' `basic_auth_users` (bcrypt hashes) is recognised but refused until a bcrypt
// implementation is a dependency: a setting that looks applied but is not would leave the endpoint
// open. Every other key is refused too, for the same reason. /healthz and /readyz are never
// authenticated (the kubelet's probes carry no credentials).
//
// Secrets stay in this module: the token is kept only as its SHA-256 digest, compared in constant
// time; no message names a secret's content, only its file.
import { createHash, createPrivateKey, timingSafeEqual, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../config.js';
import { parseYaml, type YamlValue } from '../sources/etcd-config.js';
import { errorMessage } from '../sources/source.js';

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
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : errorMessage(err);
    throw new ConfigError(`${name} ${what}`);
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
    if (!(TOP_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${where(path)}: unknown key ${JSON.stringify(k)}; known: tls_server_config, bearer_token_file`);
  }
  if (top.has('basic_auth_users')) {
    throw new ConfigError(
      `${where(path)}: basic_auth_users (bcrypt) is not supported by this build yet; use bearer_token_file, and remove basic_auth_users so the endpoint is not believed protected by it`,
    );
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
  return { file: path, ...(tls ? { tls } : {}), ...(bearerTokenDigest ? { bearerTokenDigest, bearerTokenFile } : {}), files };
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

/** The fields the start-up log line shows about the endpoint's security (no secret, no digest). */
export function describeWebConfig(web: WebConfig | undefined): Record<string, string> {
  if (web === undefined) return { web_tls: 'off', web_auth: 'none' };
  return {
    web_config: web.file,
    web_tls: web.tls ? `on (client certificates: ${web.tls.clientAuth}, min ${web.tls.minVersion})` : 'off',
    web_auth: web.bearerTokenDigest ? 'bearer token' : 'none',
  };
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
