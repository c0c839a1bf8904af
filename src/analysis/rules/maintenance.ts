// Stalls and elections that came while etcd on this member was doing maintenance — defragmentation,
// compaction, a raft snapshot, a DB snapshot (a backup) — which rewrites or reads its database and
// competes with the WAL for a slow disk. Operators see elections at night; this says which job.
import { fmtSeconds } from '../../lib/format.js';
import type { ElectionEvent, Fact, MaintenanceEvent, MaintenanceKind } from '../../model/diagnosis.js';
import type { Rule } from './common.js';


const WORDS: Readonly<Record<MaintenanceKind, string>> = {
  defrag: 'defragmentation',
  compaction: 'compaction',
  raft_snapshot: 'raft snapshot',
  db_snapshot: 'DB snapshot (backup)',
};

const REMEDIES: Readonly<Record<MaintenanceKind, string>> = {
  defrag:
    'Defragment one member at a time, followers first and the leader last, after moving leadership away (etcdctl move-leader), and not at peak: a member blocks while it rewrites its database.',
  compaction:
    "Spread compaction: kube-apiserver compacts every 5 minutes (--etcd-compaction-interval); a long backlog of revisions makes each compaction long, so compact more often rather than less.",
  raft_snapshot: 'etcd saves a raft snapshot every --snapshot-count entries: on a slow disk a lower count makes each one smaller.',
  db_snapshot:
    "Move backups (etcdctl snapshot save) off peak and off the leader; a member that fell far behind also receives one, which a disk of etcd's own makes rarer.",
};

/** The maintenance that was running at `t`, or ended at most `after` ms before it. */
/**
 * The maintenance that ran at an instant: maintenance that completed in (m.from, m.at] after `seconds` of
 * work ran within [m.from − seconds, m.at]. A stall is one instant (when it was measured, or the first
 * scrape after it); an election came between the agent's look at the lower term and its look at the
 * higher one (--etcd-api-interval apart, or longer while etcd did not answer), so it counts when that
 * span meets the maintenance.
 */
function around(maintenance: readonly MaintenanceEvent[], t: Date): MaintenanceEvent[] {
  const x = t.getTime();
  return maintenance.filter((m) => x >= started(m) && x <= m.at.getTime());
}

/** The maintenance the election's span (after, at] meets; an election without `after` is the instant `at`. */
function duringElection(maintenance: readonly MaintenanceEvent[], e: ElectionEvent): MaintenanceEvent[] {
  if (e.after === undefined) return around(maintenance, e.at);
  const [after, at] = [e.after.getTime(), e.at.getTime()];
  return maintenance.filter((m) => at >= started(m) && after < m.at.getTime());
}

const started = (m: MaintenanceEvent): number => m.from.getTime() - m.seconds * 1000;

export const maintenanceCoincides: Rule = (ev, th) => {
  const since = ev.now.getTime() - th.window * 1000;
  const recent = <T extends { at: Date }>(xs: readonly T[]) => xs.filter((x) => x.at.getTime() > since && x.at.getTime() <= ev.now.getTime());
  const stalls = recent(ev.stalls).filter((s) => around(ev.maintenance, s.at).length > 0);
  const elections = recent(ev.elections).filter((e) => duringElection(ev.maintenance, e).length > 0);
  if (stalls.length === 0 && elections.length === 0) return undefined;

  const involved = new Set([...stalls.flatMap((s) => around(ev.maintenance, s.at)), ...elections.flatMap((e) => duringElection(ev.maintenance, e))]);
  const kinds = [...new Set([...involved].map((m) => m.kind))];
  // The probe and etcd's WAL fsync may both count one stall: the larger of the two counts.
  const bySource = (source: string) => stalls.filter((s) => s.source === source).reduce((n, s) => n + s.count, 0);
  const stallCount = Math.max(bySource('probe'), bySource('etcd_wal_fsync'));
  const electionCount = elections.reduce((n, e) => n + (e.termTo - e.termFrom), 0);
  const done = (kind: MaintenanceKind) => [...involved].filter((m) => m.kind === kind && !m.running);
  const facts: Fact[] = [
    { name: 'stalls_during_maintenance', value: stallCount, unit: 'count', window: th.window },
    { name: 'elections_during_maintenance', value: electionCount, unit: 'count', window: th.window },
    ...kinds.flatMap((kind): Fact[] => [
      { name: `${kind}_completed`, value: done(kind).reduce((n, m) => n + m.count, 0), unit: 'count' },
      { name: `${kind}_duration`, value: done(kind).reduce((n, m) => n + m.seconds, 0), unit: 'seconds' },
    ]),
    { name: 'role', value: ev.role ?? 'unknown' },
  ];
  const what = kinds.map((k) => WORDS[k]).join(', ');
  const leads = ev.role === 'leader';
  const summary =
    `${stallCount} stall${stallCount === 1 ? '' : 's'} threatening leadership and ${electionCount} election${electionCount === 1 ? '' : 's'} in the last ` +
    `${fmtSeconds(th.window)} came during etcd's ${what} on this member${leads ? ', which leads: its stalls are the ones that start elections' : ''}`;
  return {
    code: 'maintenance_coincides',
    severity: electionCount > 0 || leads ? 'warning' : 'info',
    summary,
    facts,
    remedy: kinds.map((k) => REMEDIES[k]).join(' '),
  };
};
