#!/usr/bin/env node
// Builds real etcd servers from etcd's own Go modules (tools/etcd-server/main.go), one per version in
// tools/etcd-server/versions.json or named on the command line, into a cache outside git:
//   ${ETCD_BUILD_CACHE:-${XDG_CACHE_HOME:-~/.cache}/etcd-latency-agent/etcd}/v<version>/etcd
// A version already in the cache is not built again, so a second run costs nothing. Go modules come
// from the Go module proxy; each build is its own module whose only requirement is
// go.etcd.io/etcd/server/v3 at that version, so etcd's own go.mod decides every other version.
//
// Without a Go toolchain it says so and exits 0, so `npm test` still runs (the versions it could not
// build are skipped, each naming why); with CI set, a missing toolchain or a failed build exits 1.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goAvailable, goBuild, projectCache } from './go-build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const toolDir = join(here, '..', 'tools', 'etcd-server');

export function etcdBuildCache(env = process.env) {
  return env.ETCD_BUILD_CACHE || projectCache('etcd', env);
}

export const etcdBinaryPath = (version, env = process.env) => join(etcdBuildCache(env), `v${version}`, 'etcd');

function build(version) {
  const bin = etcdBinaryPath(version);
  if (existsSync(bin)) return { version, bin, built: false };
  goBuild({ bin, require: `go.etcd.io/etcd/server/v3@v${version}`, mainFile: join(toolDir, 'main.go') });
  return { version, bin, built: true };
}

function main() {
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : JSON.parse(readFileSync(join(toolDir, 'versions.json'), 'utf8')).built;
  const missing = wanted.filter((v) => !existsSync(etcdBinaryPath(v)));
  if (missing.length === 0) return;
  if (!goAvailable()) {
    const message = `etcd ${missing.join(', ')} not built: no Go toolchain (\`go\` is not on PATH). The tests for these versions will be skipped; install Go 1.24 or newer to run them.`;
    console.error(message);
    if (process.env.CI) process.exit(1);
    return;
  }
  for (const version of missing) {
    console.error(`building etcd ${version} from go.etcd.io/etcd/server/v3@v${version} into ${dirname(etcdBinaryPath(version))}`);
    try {
      build(version);
    } catch (err) {
      console.error(`etcd ${version} could not be built: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.CI) process.exit(1);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
