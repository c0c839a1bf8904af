// The promtools the rules must satisfy: Debian's (Prometheus 2.42, what the test machines' Prometheus
// server runs) and Prometheus 3's (kube-prometheus-stack ships Prometheus 3), built from Prometheus's Go
// module by scripts/build-go-tools.mjs. They differ where the rules can: Prometheus 3's range selectors
// are left-open, so a window holds one sample less.
import { existsSync } from 'node:fs';
import { GO_TOOLS, goToolPath } from '../../scripts/build-go-tools.mjs';

export interface Promtool {
  readonly label: string;
  readonly bin: string;
  /** Why it cannot run here, if it cannot. */
  readonly missing: string | undefined;
}

const DEBIAN = '/usr/bin/promtool';
const BUILT = goToolPath('promtool');

export const PROMTOOLS: readonly Promtool[] = [
  { label: 'promtool 2.42 (Debian)', bin: DEBIAN, missing: existsSync(DEBIAN) ? undefined : `${DEBIAN} is missing: apt-get install prometheus` },
  {
    label: `promtool 3 (${GO_TOOLS['promtool']!.module} ${GO_TOOLS['promtool']!.version})`,
    bin: BUILT,
    missing: existsSync(BUILT) ? undefined : `${BUILT} is not built: node scripts/build-go-tools.mjs promtool needs Go`,
  },
];

// On CI every promtool must run: a missing one is a failure there, not a skip.
for (const p of PROMTOOLS) if (p.missing && process.env['CI']) throw new Error(p.missing);
