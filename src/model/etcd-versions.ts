// What the agent knows of etcd's versions: the lines it is tested against, how it speaks of a member's
// version in the log, and the one default that differs between lines (pre-vote). Nothing else of
// the agent branches on the version: every family and flag it reads exists from 3.4 to 3.7.

/**
 * The etcd lines this agent is tested against: Debian's 3.4 and 3.5, 3.6 and 3.7 built from etcd's
 * Go modules (tools/etcd-server/versions.json; a test keeps the two lists equal).
 */
export const TESTED_ETCD_LINES = ['3.4', '3.5', '3.6', '3.7'] as const;

/** `3.6.17` → { major: 3, minor: 6 }; undefined for a version that names no minor version. */
function lineOf(version: string): { readonly major: number; readonly minor: number } | undefined {
  const m = /^(\d+)\.(\d+)(?:\.|$)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** What the log says of a member's version: which one, and whether this agent was tested with it. */
export function versionNotes(member: string, version: string): string[] {
  const line = lineOf(version);
  const tested = line !== undefined && (TESTED_ETCD_LINES as readonly string[]).includes(`${line.major}.${line.minor}`);
  const range = `${TESTED_ETCD_LINES[0]}–${TESTED_ETCD_LINES.at(-1)}`;
  return [
    tested
      ? `etcd member ${member} runs etcd ${version}`
      : `etcd member ${member} runs etcd ${JSON.stringify(version)}, a version this agent was not tested with (${range}): it reads the metric families and flags it finds, and says which it misses`,
  ];
}

/**
 * `--pre-vote`'s default for a member's version: off in 3.4, on from 3.5 (embed/config.go's
 * `PreVote: true`); undefined for a version string that names no minor version.
 */
export function preVoteDefault(version: string): boolean | undefined {
  const line = lineOf(version);
  return line === undefined ? undefined : line.major > 3 || (line.major === 3 && line.minor >= 5);
}
