// The result of one scenario run: what the harness observed first hand (raft terms, injected stalls,
// etcd's own histograms) next to what each agent reported, and the alerts Prometheus fired.
// Rendered as a table for people and as JSON (`--json`) for tools (the grid, the next issue's model check).
import type { LoadStats } from './load.js';

export interface SecondsQuantiles {
  /** Observations in the window. */
  readonly count: number;
  readonly p50?: number;
  readonly p99?: number;
  /** Upper bucket edge holding the slowest observation (the true maximum is at most this). */
  readonly maxBound?: number;
}

export interface MemberObservation {
  readonly member: string;
  /** Raft term from `etcdctl endpoint status` at the window's start and end. */
  readonly termBefore?: number;
  readonly termAfter?: number;
  readonly termIncrease?: number;
  /** fdatasync calls strace delayed in etcd during the window (slow-disk only). */
  readonly stalls?: number;
  /** Of those, the ones that began while this member claimed leadership (etcd_server_is_leader, polled each 500 ms). */
  readonly stallsWhileLeader?: number;
  /**
   * Of the stalls, those of an fdatasync on the WAL (made in etcd's raft loop); the rest are the bbolt
   * db's (backend commit), which hold the batch lock the apply loop waits for — and the raft loop waits
   * for the apply loop, so a db stall can silence a leader too (the runs show elections from both).
   */
  readonly walStalls?: number;
  /** WAL stalls that began while this member claimed leadership. */
  readonly walStallsWhileLeader?: number;
  /** When each stall began, ms after the window opened… */
  readonly stallTimesMs?: readonly number[];
  /** …and which file it was on (same order). */
  readonly stallFiles?: readonly ('wal' | 'db' | 'other')[];
  /** fdatasync calls strace saw in etcd during the window (slow-disk only). */
  readonly fdatasyncCalls?: number;
  /** etcd_server_leader_changes_seen_total increase (a restarted member counts from 0 again). */
  readonly leaderChanges?: number;
  readonly heartbeatFailures?: number;
  readonly walFsync?: SecondsQuantiles;
  /**
   * The same histogram from when the agents first reached etcd to the window's end: what the agent's
   * analysis window (longer than a scenario) saw, warm-up included.
   */
  readonly walFsyncSinceAgentStart?: SecondsQuantiles;
  readonly backendCommit?: SecondsQuantiles;
}

export interface Observed {
  /** Increase of the highest raft term any member reports, window start → end: elections started. */
  readonly elections: number;
  readonly termBefore: number;
  readonly termAfter: number;
  /**
   * Leader changes: the largest increase of etcd_server_leader_changes_seen_total on any member.
   * Fewer than `elections` when campaigns failed (split votes: each campaign raises the term).
   */
  readonly leaderChanges?: number;
  /** Every member agreed on term and leader at the end (waited for, bounded). */
  readonly settled: boolean;
  readonly leaderBefore?: string;
  readonly leaderAfter?: string;
  /** Stalls strace injected into etcd during the window, all members. */
  readonly stalls: number;
  /** Stalls that began on the member that was leader then: the ones the election model is about. */
  readonly stallsOnLeader?: number;
  /** Of those, the ones on the leader's WAL: the raft loop itself was stuck. */
  readonly walStallsOnLeader?: number;
  /** Who claimed leadership (etcd_server_is_leader = 1), from ms after the window opened; polled each 500 ms. */
  readonly leaderTimeline: ReadonlyArray<{ readonly atMs: number; readonly leaders: readonly string[] }>;
  /** Stalls strace injected into the agents' probes during the window. */
  readonly probeStalls?: number;
  /** etcd's own quantiles over the window, all members' observations together (seconds). */
  readonly etcd: {
    readonly walFsyncP50?: number;
    readonly walFsyncP99?: number;
    readonly walFsyncCount: number;
    readonly backendCommitP50?: number;
    readonly backendCommitP99?: number;
    readonly backendCommitCount: number;
  };
  readonly members: readonly MemberObservation[];
  /** Fault-specific facts: the frozen/killed member, fio's own figures… */
  readonly fault?: Record<string, unknown>;
}

export interface AgentReport {
  readonly member: string;
  /** Increase of etcd_latency_agent_etcd_elections_total{member} over the window. */
  readonly elections?: number;
  /** The observed term increase of this agent's member (etcdctl), for comparison. */
  readonly observedTermIncrease?: number;
  readonly electionsMatch?: boolean;
  /** The agent's own raft term gauge and election counter at the window's ends (to examine a mismatch). */
  readonly agentView?: { readonly termBefore?: number; readonly termAfter?: number; readonly countBefore: number; readonly countAfter: number };
  /** The agent's fdatasync probe over the window, seconds; max is the largest per-round maximum the harness saw (polled each second). */
  readonly probe: { readonly count: number; readonly p50?: number; readonly p99?: number; readonly max?: number };
  /** The same probe histogram since the agent started (warm-up included: what the agent's longer window saw). */
  readonly probeSinceStart?: { readonly count: number; readonly p99?: number };
  readonly disk?: {
    readonly device: string;
    readonly sharedWith: string;
    /** Fraction of the window the device was busy. */
    readonly busy?: number;
    readonly writeAwaitMs?: number;
    readonly flushAwaitMs?: number;
  };
  /** etcd_latency_agent_source_up{source="etcd_api"}: lowest and last value the harness polled. */
  readonly etcdApiUp?: { readonly min: number; readonly last: number };
  readonly verdict?: string;
  readonly findings?: readonly string[];
  /** Each active finding's severity, by code. */
  readonly severities?: Readonly<Record<string, string>>;
  readonly recommendation?: { readonly heartbeatMs: number; readonly electionMs: number };
  /** The election model's prediction for the running settings: per day, over the stall window's own stalls, and that window. */
  readonly prediction?: { readonly electionsPerDay: number; readonly electionsInWindow: number; readonly stallWindowSeconds: number };
  /** The disk recommendation's remedies (separate_disk, faster_storage, …), when the diagnosis has one. */
  readonly diskRemedies?: readonly string[];
  /** The diagnosis' role and its predictions now and if the member led. */
  readonly leadership?: { readonly role: string; readonly electionsPerDayNow: number; readonly electionsPerDayIfLeader: number };
  /** Each active finding's remedy, by code. */
  readonly remedies?: Readonly<Record<string, string>>;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly startedAt: string;
  /** `etcd`: the version the cluster ran (absent in results from before the version matrix: 3.4). */
  readonly settings: { readonly heartbeatMs: number; readonly electionMs: number; readonly members: number; readonly etcd?: string };
  readonly fault: { readonly kind: string; readonly description: string };
  readonly expect: string;
  /** Length of the measurement window, as it really was. */
  readonly durationSeconds: number;
  readonly observed: Observed;
  readonly load: LoadStats;
  readonly agents: readonly AgentReport[];
  /** Alerts Prometheus had firing at some rule evaluation during the window. */
  readonly alerts: readonly string[];
  /** Alerts pending (condition true, `for` not yet elapsed) at the end. */
  readonly alertsPending: readonly string[];
  /** Per alert seen in the window: rule evaluations (1 s apart) it spent pending and firing. */
  readonly alertHistory?: Record<string, { readonly pending: number; readonly firing: number }>;
  /** Rule files loaded into Prometheus (relative paths), and problems worth knowing. */
  readonly ruleFiles: readonly string[];
  readonly notes: readonly string[];
}

// ───────────────────────────────────────────── rendering

export const ms = (s: number | undefined): string => (s === undefined || !Number.isFinite(s) ? '—' : s >= 1 ? `${(s * 1000).toFixed(0)}ms` : `${(s * 1000).toFixed(1)}ms`);
const num = (n: number | undefined): string => (n === undefined ? '—' : String(n));

export function renderTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function renderResult(r: ScenarioResult): string {
  const o = r.observed;
  const lines: string[] = [];
  lines.push(`scenario ${r.scenario}  (etcd ${r.settings.etcd ?? '3.4'}, hb ${r.settings.heartbeatMs} ms / et ${r.settings.electionMs} ms, ${r.settings.members} members, ${r.durationSeconds.toFixed(1)} s window, started ${r.startedAt})`);
  lines.push(`fault    ${r.fault.description}`);
  lines.push(`expect   ${r.expect}`);
  lines.push('');
  lines.push(
    `observed elections ${o.elections} (raft term ${o.termBefore} → ${o.termAfter}${o.settled ? '' : ', NOT settled'}; ${o.leaderChanges ?? '?'} leader changes, ${o.leaderBefore ?? '?'} → ${o.leaderAfter ?? '?'}), ` +
      `injected stalls ${o.stalls}${o.stallsOnLeader !== undefined ? ` (${o.stallsOnLeader} on the leader, ${o.walStallsOnLeader ?? '?'} of them on its WAL)` : ''}${o.probeStalls !== undefined ? ` (+${o.probeStalls} in agent probes)` : ''}`,
  );
  lines.push(
    `etcd     WAL fsync p50 ${ms(o.etcd.walFsyncP50)} p99 ${ms(o.etcd.walFsyncP99)} (n=${o.etcd.walFsyncCount}); backend commit p50 ${ms(o.etcd.backendCommitP50)} p99 ${ms(o.etcd.backendCommitP99)} (n=${o.etcd.backendCommitCount})`,
  );
  const l = r.load;
  lines.push(`load     ${l.rate}/s: ${l.succeeded} ok, ${l.failed} failed, ${l.skipped} not sent (cluster not answering); put p50 ${ms(l.p50)} p99 ${ms(l.p99)} max ${ms(l.max)}`);
  if (o.fault && Object.keys(o.fault).length > 0) lines.push(`fault    ${JSON.stringify(o.fault)}`);
  lines.push('');
  const rows: string[][] = [['member', 'term Δ', 'stalls', 'wal p99', 'agent elections', 'match', 'probe p50', 'p99', 'max', 'disk busy', 'etcd_api up', 'findings', 'recommendation']];
  for (const a of r.agents) {
    const m = o.members.find((x) => x.member === a.member);
    rows.push([
      a.member,
      num(m?.termIncrease),
      num(m?.stalls),
      ms(m?.walFsync?.p99),
      num(a.elections),
      a.electionsMatch === undefined ? '—' : a.electionsMatch ? 'yes' : 'NO',
      ms(a.probe.p50),
      ms(a.probe.p99),
      ms(a.probe.max),
      a.disk?.busy === undefined ? '—' : `${(a.disk.busy * 100).toFixed(0)}% ${a.disk.device}`,
      a.etcdApiUp ? `min ${a.etcdApiUp.min} last ${a.etcdApiUp.last}` : '—',
      a.findings ? (a.findings.length ? a.findings.join(',') : 'none') : '(no diagnosis)',
      a.recommendation ? `hb ${a.recommendation.heartbeatMs} / et ${a.recommendation.electionMs}` : '—',
    ]);
  }
  lines.push(renderTable(rows));
  lines.push('');
  lines.push(`alerts   fired: ${r.alerts.length ? r.alerts.join(', ') : 'none'}; pending at end: ${r.alertsPending.length ? r.alertsPending.join(', ') : 'none'}; rule files: ${r.ruleFiles.length ? r.ruleFiles.join(', ') : 'none'}`);
  const history = Object.entries(r.alertHistory ?? {});
  if (history.length > 0) lines.push(`         evaluations pending/firing: ${history.map(([n, h]) => `${n} ${h.pending}/${h.firing}`).join(', ')}`);
  for (const n of r.notes) lines.push(`note     ${n}`);
  return lines.join('\n');
}
