// Checks of the user's input that need the file system: done once, before anything starts, so a
// wrong path is an exit with status 2 and a message, not a source failing forever.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Config } from './config.js';
import { checkProbeDir, sameFilesystem, type ProbeOff } from '../sources/fsync-probe.js';
import { fileProblem } from '../lib/errors.js';
import { ConfigError } from '../lib/errors.js';
import type { TlsMaterial } from '../lib/http-fetch.js';

/** etcd's client TLS as read from the --etcd-cacert/--etcd-cert/--etcd-key files. */
export type TlsFiles = TlsMaterial;

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`--${flag}: ${path} ${fileProblem(err, 'is not readable by this user (run as root, or give readable certs)')}`);
  }
}

/**
 * Reads and checks the TLS files. Problems that can never work (missing, not PEM, key not matching
 * the certificate) stop the start; an expired certificate only warns, since kubeadm may renew it in
 * place and the etcd sources will report the TLS failure meanwhile.
 */
export function loadTls(config: Config, now: Date, warnings: string[]): TlsFiles | undefined {
  if (!config.etcdCacert && !config.etcdCert) return undefined;
  const ca = config.etcdCacert ? readFlagFile('etcd-cacert', config.etcdCacert) : undefined;
  if (ca && config.etcdCacert) parseCertificate('etcd-cacert', config.etcdCacert, ca);
  if (!config.etcdCert || !config.etcdKey) return { ...(ca ? { ca } : {}) };
  const cert = readFlagFile('etcd-cert', config.etcdCert);
  const key = readFlagFile('etcd-key', config.etcdKey);
  const x509 = parseCertificate('etcd-cert', config.etcdCert, cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(`--etcd-key: ${config.etcdKey} is not a PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(`--etcd-key: ${config.etcdKey} does not belong to the certificate ${config.etcdCert}; give the key that was issued with it`);
  }
  if (new Date(x509.validTo) < now) warnings.push(`--etcd-cert: ${config.etcdCert} expired on ${x509.validTo}; etcd will refuse it until it is renewed`);
  return { ...(ca ? { ca } : {}), cert, key };
}

/**
 * The peer agents' CA and token files (--peer-agents-ca-file, --peer-agents-token-file): missing,
 * unreadable, not PEM or empty stops the start. The source reads them again each round (rotation).
 */
export function checkPeerCredentials(config: Config): void {
  if (config.peerAgents === 'off') return;
  if (config.peerAgentsCaFile !== undefined) parseCertificate('peer-agents-ca-file', config.peerAgentsCaFile, readFlagFile('peer-agents-ca-file', config.peerAgentsCaFile));
  if (config.peerAgentsTokenFile !== undefined && readFlagFile('peer-agents-token-file', config.peerAgentsTokenFile).toString('utf8').trim() === '') {
    throw new ConfigError(`--peer-agents-token-file: ${config.peerAgentsTokenFile} is empty; give the file with the token the peers' web config asks for`);
  }
}

function parseCertificate(flag: string, path: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`--${flag}: ${path} is not a PEM certificate`);
  }
}

/** Where the probe writes, or why it is off although asked for. */
export type ProbePlacement = { readonly dir: string } | { readonly off: ProbeOff };

/**
 * Where the probe writes. An explicit --probe-dir must be usable and outside etcd's member dir, or the
 * start fails. Without it, the probe goes beside the data dir when that works, else to the temp dir,
 * with a warning that it then measures another disk than etcd's. Either way, a usable directory on
 * another filesystem than an existing data dir turns the probe off with a warning: that is what a
 * node looks like after etcd got the disk of its own the agent recommends, and the agent must keep
 * running there (the probe_not_on_etcd_filesystem finding says how to bring the probe back).
 */
export async function resolveProbeDir(config: Config, warnings: string[]): Promise<ProbePlacement> {
  const dataDirExists = exists(config.etcdDataDir);
  if (config.probeDir !== undefined) {
    const unusable = await checkProbeDir(config.probeDir, undefined);
    if (unusable) throw new ConfigError(`--probe-dir: ${unusable}`);
    const off = dataDirExists ? await offEtcdFilesystem(config.probeDir, config.etcdDataDir, warnings) : undefined;
    if (off) return off;
    const problem = await checkProbeDir(config.probeDir, dataDirExists ? config.etcdDataDir : undefined);
    if (problem) throw new ConfigError(`--probe-dir: ${problem}`);
    return { dir: config.probeDir };
  }
  if (dataDirExists) {
    const beside = join(dirname(config.etcdDataDir), 'etcd-latency-agent');
    try {
      mkdirSync(beside, { recursive: true, mode: 0o700 });
      if ((await checkProbeDir(beside, undefined)) === undefined) {
        const off = await offEtcdFilesystem(beside, config.etcdDataDir, warnings);
        if (off) return off;
        if ((await checkProbeDir(beside, config.etcdDataDir)) === undefined) return { dir: beside };
      }
    } catch {
      // fall through to the temp dir
    }
  }
  const fallback = tmpdir();
  warnings.push(
    `probe writes to ${fallback}: etcd's data dir ${config.etcdDataDir} ${dataDirExists ? 'has no writable directory beside it' : 'does not exist here'}; ` +
      "the probe measures that filesystem, not etcd's (give --probe-dir on etcd's filesystem)",
  );
  return { dir: fallback };
}

async function offEtcdFilesystem(dir: string, etcdDataDir: string, warnings: string[]): Promise<ProbePlacement | undefined> {
  if ((await sameFilesystem(dir, etcdDataDir)) !== false) return undefined;
  warnings.push(
    `the fsync probe is off: its directory ${dir} is on another filesystem than etcd's data dir ${etcdDataDir} (etcd has a disk of its own?), ` +
      "and it would time the wrong disk; etcd's own histograms and the device's counters still measure etcd's (finding probe_not_on_etcd_filesystem)",
  );
  return { off: { dir, etcdDataDir } };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
