#!/usr/bin/env node
// Builds the test tools that come from Go modules (tools/go-tools.json: helm, Prometheus 3's promtool)
// into a cache outside git, the way scripts/build-etcd.mjs builds etcd:
//   ${GO_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/etcd-latency-agent/tools}/<name>-<version>/<name>
// A tool already in the cache is not built again (scripts/go-build.mjs builds it).
//
// Without a Go toolchain it says so and exits 0 (the tests that need a tool skip, naming why); with CI
// set, a missing toolchain or a failed build exits 1.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goAvailable, goBuild, projectCache } from './go-build.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export const GO_TOOLS = JSON.parse(readFileSync(join(here, '..', 'tools', 'go-tools.json'), 'utf8')).tools;

/** Where the named tool of tools/go-tools.json is (or will be) built. */
export function goToolPath(name, env = process.env) {
  const tool = GO_TOOLS[name];
  if (!tool) throw new Error(`no tool named ${name} in tools/go-tools.json`);
  return join(env.GO_TOOLS_CACHE || projectCache('tools', env), `${name}-${tool.version}`, name);
}

function build(name) {
  const { module, version, package: pkg, ldflags, tags } = GO_TOOLS[name];
  const bin = goToolPath(name);
  goBuild({ bin, require: `${pkg}@${version}`, pkg, tags, ldflags });
  console.error(`built ${name} ${version} from ${module} into ${bin}`);
}

function main() {
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(GO_TOOLS);
  const missing = wanted.filter((n) => !existsSync(goToolPath(n)));
  if (missing.length === 0) return;
  if (!goAvailable()) {
    console.error(`${missing.join(', ')} not built: no Go toolchain (\`go\` is not on PATH); the tests that need them will be skipped.`);
    if (process.env.CI) process.exit(1);
    return;
  }
  for (const name of missing) {
    console.error(`building ${name} ${GO_TOOLS[name].version} from its Go module (a few minutes the first time)`);
    try {
      build(name);
    } catch (err) {
      console.error(`${name} could not be built: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.CI) process.exit(1);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
