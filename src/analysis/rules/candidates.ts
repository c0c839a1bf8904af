// The candidate filesystems (--candidate-dir) that could not be measured, and what to do about each.
// Their predictions are not findings: they are in the diagnosis' `candidates`, for the page, the
// report and the metrics; a candidate is a question the operator asked, not a problem of etcd.
import type { CandidateProblem } from '../../model/diagnosis.js';
import type { Rule } from './common.js';

const WRITABLE = 'Make it writable by the agent (the DaemonSet runs as root; a hostPath mounted read-only stops it).';

const REMEDIES: Readonly<Partial<Record<CandidateProblem, string>>> = {
  on_etcd_filesystem:
    "Name a directory on the filesystem etcd would move to (mount the new volume or local disk first): one on etcd's own filesystem only times the disk etcd has.",
  not_found: 'Create the directory, or mount the volume it belongs to (in the DaemonSet: a hostPath volume for it).',
  permission: WRITABLE,
  read_only: WRITABLE,
  no_space: "Free space there, or lower --probe-min-free (candidates keep the probe's free-space floor).",
};
const RETRY = 'The agent retries every --candidate-interval.';

export const candidateUnusable: Rule = (ev) => {
  const failing = ev.candidates.flatMap((c) => (c.problem ? [{ dir: c.dir, ...c.problem }] : []));
  if (failing.length === 0) return undefined;
  const remedies = [...new Set(failing.map((c) => REMEDIES[c.reason] ?? RETRY))];
  return {
    code: 'candidate_unusable',
    severity: 'info',
    summary: `${failing.length === 1 ? 'A candidate filesystem' : `${failing.length} candidate filesystems`} could not be measured: ${failing.map((c) => `${c.dir} (${c.reason.replace(/_/g, ' ')})`).join(', ')}`,
    facts: failing.map((c) => ({ name: 'candidate', value: c.message })),
    remedy: remedies.join(' '),
  };
};
