// scripts/build-etcd.mjs, which npm test's set-up runs: a version already built costs nothing, and a
// machine without Go says plainly which versions will not run and why — fatal on CI, where every
// version must run, a skip on a developer's machine. (The builds themselves run for real in the set-up;
// etcd-cluster-helper.test.ts checks each binary is the version it claims.)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { etcdBinaryPath, etcdBuildCache } from '../../scripts/build-etcd.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/build-etcd.mjs', import.meta.url));
const cache = mkdtempSync(join(tmpdir(), 'etcd-build-test-'));
t.teardown(() => rmSync(cache, { recursive: true, force: true }));

/** The script with `go` out of reach: PATH holds only what Debian puts in /usr/bin and /bin. */
function withoutGo(versions: string[], ci: boolean): { code: number | null; out: string } {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', ETCD_BUILD_CACHE: cache, HOME: cache, ...(ci ? { CI: 'true' } : {}) };
  const r = spawnSync(process.execPath, [SCRIPT, ...versions], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

t.test('the cache is outside the repository, one directory per version, and ETCD_BUILD_CACHE moves it', async (t) => {
  t.equal(etcdBuildCache({ HOME: '/home/u' }), join(process.env.HOME ?? '', '.cache', 'etcd-latency-agent', 'etcd'), 'by default under the home cache');
  t.equal(etcdBuildCache({ XDG_CACHE_HOME: '/var/cache/x' }), '/var/cache/x/etcd-latency-agent/etcd');
  t.equal(etcdBinaryPath('3.6.17', { ETCD_BUILD_CACHE: '/c' }), '/c/v3.6.17/etcd');
});

t.test('without Go: a developer is told which versions will be skipped and why, and the set-up goes on', async (t) => {
  const r = withoutGo(['3.5.36', '3.6.17'], false);
  t.equal(r.code, 0);
  t.match(r.out, /etcd 3\.5\.36, 3\.6\.17 not built: no Go toolchain \(`go` is not on PATH\)\. The tests for these versions will be skipped/);
});

t.test('without Go on CI: the set-up fails, since CI must run every version', async (t) => {
  const r = withoutGo(['3.6.17'], true);
  t.equal(r.code, 1);
  t.match(r.out, /etcd 3\.6\.17 not built: no Go toolchain/);
});

t.test('a version already in the cache is not built again, with or without Go', async (t) => {
  const bin = etcdBinaryPath('3.6.17', { ETCD_BUILD_CACHE: cache });
  mkdirSync(join(bin, '..'), { recursive: true });
  writeFileSync(bin, '#!/bin/sh\n');
  chmodSync(bin, 0o755);
  const r = withoutGo(['3.6.17'], true);
  t.equal(r.code, 0, 'nothing to build: Go is not even asked for');
  t.equal(r.out, '');
});
