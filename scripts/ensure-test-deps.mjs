#!/usr/bin/env node
// Runs before `npm test`: installs what the tests need when it is missing, so a fresh machine needs
// nothing but `npm test`. Debian packages come from apt (root is needed, as on CI and in the dev
// container); npm dependencies from the lockfile; the Node.js release the image ships
// (scripts/lts-node.mjs); etcd 3.5, 3.6 and 3.7 built from etcd's Go modules (scripts/build-etcd.mjs);
// the etcd mixin's alerts rendered from etcd's Go module (scripts/etcd-mixin.mjs); helm and Prometheus 3's
// promtool built from their Go modules (scripts/build-go-tools.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureImageNode } from './lts-node.mjs';

/** Debian package → a file it installs, to tell whether it is there without asking dpkg. */
const DEBIAN = {
  'etcd-server': '/usr/bin/etcd',
  'etcd-client': '/usr/bin/etcdctl',
  prometheus: '/usr/bin/promtool',
  strace: '/usr/bin/strace',
  fio: '/usr/bin/fio',
  openssl: '/usr/bin/openssl',
  e2fsprogs: '/usr/sbin/mkfs.ext4',
  mount: '/usr/bin/mount',
  // From the image's Kubernetes apt repository (Debian's own kubernetes-client is too old for kustomize components).
  kubectl: '/usr/bin/kubectl',
  'prometheus-alertmanager': '/usr/bin/amtool',
  // The status page's end-to-end tests drive it with playwright-core.
  chromium: '/usr/bin/chromium',
  // The kubeadm node test gives its node a network namespace of its own (`ip link set lo up`).
  iproute2: '/usr/sbin/ip',
  // Renders the etcd mixin (kube-prometheus-stack's etcd rules) for the collision test.
  jsonnet: '/usr/bin/jsonnet',
};

const missing = Object.entries(DEBIAN).filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg);
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.error(`npm test needs these Debian packages: ${missing.join(' ')}; install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  console.error(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  // Debian starts the servers it installs; tests start their own on free ports.
  spawnSync('systemctl', ['stop', 'prometheus', 'prometheus-alertmanager', 'prometheus-node-exporter'], { stdio: 'ignore' });
}

if (!existsSync('node_modules/.package-lock.json') || !existsSync('node_modules/tap')) {
  console.error('installing npm dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

ensureImageNode();
execFileSync(process.execPath, ['scripts/build-etcd.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/etcd-mixin.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/build-go-tools.mjs'], { stdio: 'inherit' });
