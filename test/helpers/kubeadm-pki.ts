// The etcd half of kubeadm's PKI (`kubeadm init phase certs etcd-*`), made with openssl the way
// kubeadm's Go code makes it, so a test node holds the files a kubeadm control-plane node holds:
//
//   /etc/kubernetes/pki/etcd/ca.crt, ca.key                      CN etcd-ca, SAN DNS:etcd-ca, 10 years
//   server.crt, server.key, peer.crt, peer.key                    CN <node>, serverAuth + clientAuth,
//                                                                 SAN DNS:localhost, DNS:<node>,
//                                                                 IP:<advertise address>, IP:127.0.0.1, IP:::1
//   healthcheck-client.crt, healthcheck-client.key                CN kube-etcd-healthcheck-client,
//                                                                 O system:masters, clientAuth
//
// Sources (kubernetes/kubernetes, cmd/kubeadm/app/): phases/certs/certlist.go (KubeadmCertEtcd*: names,
// usages, the healthcheck client's subject), util/pkiutil/pki_helpers.go (getAltNames: the SANs, DNS
// names sorted and duplicates dropped by RemoveDuplicateAltNames; NewSelfSignedCACert: the CA's
// SAN and key usages; NewSignedCert: keyEncipherment + digitalSignature, basic constraints, one year;
// GeneratePrivateKey: RSA 2048 unless the cluster asks for ECDSA). Keys are PKCS#1 PEM, written 0600;
// certificates 0644 (keyutil.WriteKey, certutil.WriteCert); everything owned by root, since kubeadm
// runs as root. Go gives a CA a subject key id and a leaf none, hence `subjectKeyIdentifier = none`.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface EtcdPkiOptions {
  readonly nodeName: string;
  /** kubeadm's LocalAPIEndpoint.AdvertiseAddress: the node's IP. */
  readonly advertiseAddress: string;
}

/** The eight files, by their kubeadm base names. */
export const ETCD_PKI_FILES = [
  'ca.crt', 'ca.key',
  'server.crt', 'server.key',
  'peer.crt', 'peer.key',
  'healthcheck-client.crt', 'healthcheck-client.key',
] as const;

const CA_DAYS = 3650; // kubeadmconstants.CACertificateValidityPeriod
const LEAF_DAYS = 365; // kubeadmconstants.CertificateValidityPeriod

function opensslConfig(altNames: string): string {
  return `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
subjectKeyIdentifier = hash
subjectAltName = DNS:etcd-ca
[ serving_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = none
authorityKeyIdentifier = keyid
subjectAltName = ${altNames}
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = none
authorityKeyIdentifier = keyid
`;
}

/** kubeadm's getAltNames for the etcd server and peer certificates, in kubeadm's order. */
export function etcdAltNames(o: EtcdPkiOptions): string[] {
  const dns = [...new Set([o.nodeName, 'localhost'])].sort();
  const ips = [...new Set([o.advertiseAddress, '127.0.0.1', '::1'])];
  return [...dns.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)];
}

function openssl(args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', [...args], { cwd, env: { ...process.env, OPENSSL_CONF: join(cwd, 'openssl.cnf') }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A random serial in [1, 2^63), as kubeadm draws it. */
function serial(): string {
  const bytes = randomBytes(8);
  bytes[0] &= 0x7f;
  return `0x${bytes.toString('hex')}`;
}

/**
 * Writes the etcd PKI of a kubeadm node into `dir` (the node's /etc/kubernetes/pki/etcd). The
 * scratch files openssl needs are made in a sibling directory and removed.
 */
export async function writeKubeadmEtcdPki(dir: string, o: EtcdPkiOptions): Promise<void> {
  if (isIP(o.advertiseAddress) === 0) throw new Error(`advertise address ${o.advertiseAddress} is not an IP address`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const work = `${dir}.openssl`;
  await mkdir(work, { recursive: true });
  try {
    await writeFile(join(work, 'openssl.cnf'), opensslConfig(etcdAltNames(o).join(', ')));
    const key = (name: string) => openssl(['genrsa', '-traditional', '-out', join(dir, `${name}.key`), '2048'], work);
    const sign = async (name: string, subject: string, ext: string) => {
      await openssl(['req', '-new', '-key', join(dir, `${name}.key`), '-subj', subject, '-out', `${name}.csr`], work);
      await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
        '-set_serial', serial(), '-days', String(LEAF_DAYS), '-sha256', '-extfile', 'openssl.cnf', '-extensions', ext,
        '-out', join(dir, `${name}.crt`)], work);
    };
    await Promise.all(['ca', 'server', 'peer', 'healthcheck-client'].map(key));
    await openssl(['req', '-x509', '-new', '-key', join(dir, 'ca.key'), '-subj', '/CN=etcd-ca', '-set_serial', serial(),
      '-days', String(CA_DAYS), '-sha256', '-extensions', 'ca_ext', '-out', join(dir, 'ca.crt')], work);
    await sign('server', `/CN=${o.nodeName}`, 'serving_ext');
    await sign('peer', `/CN=${o.nodeName}`, 'serving_ext');
    await sign('healthcheck-client', '/O=system:masters/CN=kube-etcd-healthcheck-client', 'client_ext');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  for (const f of ETCD_PKI_FILES) {
    await chown(join(dir, f), 0, 0);
    await chmod(join(dir, f), f.endsWith('.key') ? 0o600 : 0o644);
  }
}

/** What `openssl x509 -ext` prints for one extension of a certificate, one value per entry. */
export async function certificateExtension(file: string, ext: 'subjectAltName' | 'extendedKeyUsage' | 'keyUsage'): Promise<string[]> {
  const out = await new Promise<string>((resolve, reject) => {
    execFile('openssl', ['x509', '-in', file, '-noout', '-ext', ext], (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  return out.split('\n').slice(1).join(',').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The certificate's subject as openssl prints it (`O = system:masters, CN = ...`). */
export async function certificateSubject(file: string): Promise<string> {
  const out = await new Promise<string>((resolve, reject) => {
    execFile('openssl', ['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253'], (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  return out.replace(/^subject=/, '').trim();
}
