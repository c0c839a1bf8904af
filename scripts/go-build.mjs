// Building a program from Go modules into a cache outside git: the part scripts/build-etcd.mjs and
// scripts/build-go-tools.mjs share. Each build is a module of its own that requires only the
// program's module at one version, so that module's go.mod decides every other version; the work
// directory is removed afterwards, and the binary appears under its final name only when complete.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** ${XDG_CACHE_HOME:-~/.cache}/etcd-latency-agent/<what> */
export function projectCache(what, env = process.env) {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'etcd-latency-agent', what);
}

export function goAvailable() {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Builds `pkg` (`.` for a main copied in with `mainFile`) with `require` (module@version) into `bin`.
 * Quiet when it works (`go get` lists every module it adds); go's own words when it does not.
 */
export function goBuild({ bin, require, pkg = '.', mainFile, tags, ldflags }) {
  const work = join(dirname(bin), 'module');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  if (mainFile) copyFileSync(mainFile, join(work, 'main.go'));
  writeFileSync(join(work, 'go.mod'), `module etcd-latency-agent/${basename(bin)}\n\ngo 1.22\n`);
  const go = (args) => {
    const r = spawnSync('go', args, { cwd: work, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' } });
    if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  };
  go(['get', require]);
  go(['build', '-trimpath', '-buildvcs=false', ...(tags ? ['-tags', tags] : []), ...(ldflags ? ['-ldflags', ldflags] : []), '-o', `${bin}.tmp`, pkg]);
  renameSync(`${bin}.tmp`, bin);
  rmSync(work, { recursive: true, force: true });
}
