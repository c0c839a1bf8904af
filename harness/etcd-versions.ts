// The etcd versions the tests run against (tools/etcd-server/versions.json): Debian's 3.4 and the
// servers scripts/build-etcd.mjs built from etcd's Go modules. A version whose binary is missing is
// reported with the reason, so a test for it is skipped by name on a developer's machine and fails
// on CI (CI set), where `npm test` must have built it.
//
// ETCD_VERSIONS=3.4,3.6 narrows a run to those minor versions (a developer's shortcut; CI runs all).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdBinaryPath } from '../scripts/build-etcd.mjs';

export const DEBIAN_ETCD_BIN = '/usr/bin/etcd';

export interface EtcdBuild {
  /** `3.4` for Debian's package, else the full version built (`3.6.17`). */
  readonly version: string;
  /** `3.4`, `3.5`, … */
  readonly minor: string;
  readonly bin: string;
}

export interface EtcdVersionPlan {
  readonly build: EtcdBuild;
  /** Why this version cannot run here; undefined when its binary exists. */
  readonly missing?: string;
}

const versionsFile = join(dirname(fileURLToPath(import.meta.url)), '..', 'tools', 'etcd-server', 'versions.json');

interface VersionsFile {
  debian: string;
  built: string[];
}

const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');

/** Every version of the matrix, in order, each with its binary or the reason it is missing. */
export function etcdVersionPlans(env: NodeJS.ProcessEnv = process.env): EtcdVersionPlan[] {
  const file = JSON.parse(readFileSync(versionsFile, 'utf8')) as VersionsFile;
  const builds: EtcdBuild[] = [
    { version: file.debian, minor: file.debian, bin: DEBIAN_ETCD_BIN },
    ...file.built.map((version) => ({ version, minor: minorOf(version), bin: etcdBinaryPath(version, env) })),
  ];
  const only = env.ETCD_VERSIONS?.split(',').map((v) => v.trim()).filter((v) => v !== '');
  return builds
    .filter((b) => only === undefined || only.length === 0 || only.includes(b.minor) || only.includes(b.version))
    .map((build) => {
      if (existsSync(build.bin)) return { build };
      const why = build.bin === DEBIAN_ETCD_BIN
        ? `etcd ${build.version} not installed (${DEBIAN_ETCD_BIN}; Debian package etcd-server)`
        : `etcd ${build.version} not built (${build.bin}; run node scripts/build-etcd.mjs, which needs Go)`;
      return { build, missing: why };
    });
}

/** The build of one minor version (`3.6`), or undefined when the matrix has none or it is missing. */
export function etcdBuild(minor: string, env: NodeJS.ProcessEnv = process.env): EtcdBuild | undefined {
  const plan = etcdVersionPlans({ ...env, ETCD_VERSIONS: undefined }).find((p) => p.build.minor === minor);
  return plan && plan.missing === undefined ? plan.build : undefined;
}

/**
 * tap options for a test that needs `plan`'s etcd: skipped with the reason on a developer's machine;
 * on CI the test runs and fails loudly, since CI must have every version.
 */
export function needsEtcd(plan: EtcdVersionPlan, env: NodeJS.ProcessEnv = process.env): { skip?: string } {
  return plan.missing !== undefined && !env.CI ? { skip: plan.missing } : {};
}
