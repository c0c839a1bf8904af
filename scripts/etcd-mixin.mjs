#!/usr/bin/env node
// Renders the etcd mixin's alerts — the rules kube-prometheus-stack loads by default for etcd — from
// etcd's own Go module (go.etcd.io/etcd/v3, contrib/mixin) with Debian's jsonnet, into a cache outside
// git, so test/alerts/kube-prometheus-stack.test.ts can load them beside ours without a copy in the
// repository:
//   ${ETCD_BUILD_CACHE:-${XDG_CACHE_HOME:-~/.cache}/etcd-latency-agent/etcd}/mixin-v<version>/etcd-alerts.json
// (JSON is YAML: promtool reads it as a rules file). A second run does nothing.
//
// Only the alerts are rendered: the mixin's dashboards need grafonnet, which jb would vendor and the
// Go module does not carry. Without Go or jsonnet it says so and exits 0 (the test then skips, naming
// why); with CI set it exits 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdBuildCache } from './build-etcd.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The module and version tools/etcd-server/versions.json pins. */
export function etcdMixinPin() {
  const { module, version } = JSON.parse(readFileSync(join(here, '..', 'tools', 'etcd-server', 'versions.json'), 'utf8')).mixin;
  return { module, version };
}

export const etcdMixinAlertsPath = (env = process.env) => join(etcdBuildCache(env), `mixin-v${etcdMixinPin().version}`, 'etcd-alerts.json');

function run(file, args, options = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.error?.code === 'ENOENT') throw new Error(`${file} is not installed${file === 'jsonnet' ? ' (apt-get install jsonnet)' : ''}`);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return r.stdout;
}

export function renderEtcdMixinAlerts() {
  const out = etcdMixinAlertsPath();
  if (existsSync(out)) return out;
  const { module, version } = etcdMixinPin();
  const downloaded = JSON.parse(run('go', ['mod', 'download', '-json', `${module}@v${version}`], { env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' } }));
  const mixinDir = join(downloaded.Dir, 'contrib', 'mixin');
  const rendered = run('jsonnet', ['-e', '((import "config.libsonnet") + (import "alerts/alerts.libsonnet")).prometheusAlerts'], { cwd: mixinDir });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, rendered);
  renameSync(`${out}.tmp`, out);
  return out;
}

function main() {
  if (existsSync(etcdMixinAlertsPath())) return;
  const { module, version } = etcdMixinPin();
  try {
    console.error(`rendering the etcd mixin's alerts from ${module}@v${version} (contrib/mixin) into ${etcdMixinAlertsPath()}`);
    renderEtcdMixinAlerts();
  } catch (err) {
    console.error(`the etcd mixin's alerts could not be rendered: ${err instanceof Error ? err.message : String(err)}; the kube-prometheus-stack collision test will be skipped`);
    if (process.env.CI) process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
