// The vocabulary of the diagnosis: what the analysis is given (Evidence) and what it returns
// (Diagnosis). Every output — /metrics, /api/v1/diagnosis, the page, `diagnose` — renders a Diagnosis.
import type { HistogramSnapshot } from '../lib/histogram.js';
import type { FailureReason } from '../lib/outcome.js';
import type { Milliseconds, Seconds } from '../lib/units.js';
import type { ConfigOrigin } from './setting.js';
import type { PeerAnswer } from './member-settings.js';

/** Increase of a cumulative histogram over a window, and the window's length. */
export interface HistogramWindow {
  readonly histogram: HistogramSnapshot;
  readonly window: Seconds;
}

/** A time the agent saw the raft term rise (an election), with the stall evidence of the minute before. */
export interface ElectionEvent {
  /** When the agent saw the higher term; the election came after `after`, when it last saw the lower one. */
  readonly at: Date;
  readonly after?: Date;
  readonly termFrom: number;
  readonly termTo: number;
  /**
   * Optional evidence of the minute before (Thresholds.forensicsLookback), when whoever cuts the
   * Evidence has it: etcd's WAL fsync increase over that minute (a histogram delta) and the busy
   * fraction of etcd's device. Election forensics use them next to the probe points — the probe
   * cannot see stalls that only etcd's own fdatasyncs suffer.
   */
  readonly walFsyncBefore?: HistogramSnapshot;
  readonly diskBusyBefore?: number;
}

/**
 * Stalls that threaten leadership, seen at one time by one source: fdatasyncs that reached the stall
 * warning fraction of the running election timeout (Thresholds.stallWarningFraction).
 */
export interface StallEvent {
  readonly at: Date;
  readonly source: StallSource;
  /** How many such fdatasyncs: of one probe round, or new in etcd's histogram since its last scrape. */
  readonly count: number;
  /** The longest of them; for etcd_wal_fsync the lower edge of its histogram bucket, so a lower bound. */
  readonly longest: Seconds;
  /** The length a stall had to reach: the warning fraction of the election timeout running then. */
  readonly limit: Seconds;
  /** This member's role then, when known: a leader's stall can start an election, a follower's cannot. */
  readonly role?: MemberRole;
}

/**
 * etcd's maintenance, which rewrites or reads its database and competes with the WAL for the disk:
 * defragmentation (the whole DB rewritten; the member blocks meanwhile), compaction (old revisions
 * deleted, in batches), the raft snapshot saved every --snapshot-count entries, and a snapshot of the
 * DB (etcdctl snapshot save, a backup; or one sent to a member too far behind).
 */
export type MaintenanceKind = 'defrag' | 'compaction' | 'raft_snapshot' | 'db_snapshot';
export const MAINTENANCE_KINDS: readonly MaintenanceKind[] = ['defrag', 'compaction', 'raft_snapshot', 'db_snapshot'];

/**
 * Maintenance the agent saw between two scrapes of etcd's /metrics: `count` operations of `kind`
 * completed in (from, at], taking `seconds` in all, so they ran within [from − seconds, at]; or, with
 * `running`, a defragmentation in progress at `at`.
 */
export interface MaintenanceEvent {
  readonly kind: MaintenanceKind;
  readonly from: Date;
  readonly at: Date;
  readonly count: number;
  readonly seconds: Seconds;
  readonly running?: boolean;
}

/** One probe round's worst fdatasync, kept to find stalls and to explain elections. */
export interface ProbePoint {
  readonly at: Date;
  readonly max: Seconds;
}

/** Rates of the device holding etcd's data over a window (from diskstats deltas). */
export interface DiskWindow {
  readonly device: string;
  readonly window: Seconds;
  /** Fraction of the window the device was busy (0..1): diskstats io_ticks. */
  readonly busyFraction: number;
  /** Average number of requests in flight: weighted io time / window. */
  readonly queueDepth: number;
  /** Average time a write took, when any completed. */
  readonly writeAwait?: Seconds;
  /** Average time a flush took (kernel 5.5+), when any completed. */
  readonly flushAwait?: Seconds;
  readonly sharedWith: readonly string[];
  readonly rotational?: boolean;
}

export interface EtcdSettings {
  readonly heartbeat: { readonly value: Milliseconds; readonly origin: ConfigOrigin };
  readonly election: { readonly value: Milliseconds; readonly origin: ConfigOrigin };
  /** Raft pre-vote, as set or by the member's version's default; undefined when neither is known. */
  readonly preVote?: { readonly value: boolean; readonly origin: ConfigOrigin };
}

/**
 * A writer on etcd's device: a process (the processes source, needs CAP_SYS_PTRACE) or a cgroup's
 * pod container or system service (the cgroup_io source, from the kernel's cgroup I/O accounting).
 */
export interface TopWriter {
  /** The process's id; absent for a cgroup's writers. */
  readonly pid?: number;
  /** A process's comm, or a cgroup's owner as people read it (`kube-system/etcd-node1 etcd`, `containerd.service`). */
  readonly command: string;
  readonly bytesPerSecond: number;
  /** etcd itself, when the source can tell (its pod's container, etcd.service); a process is told by its command. */
  readonly etcd?: boolean;
}

/** etcd's own readiness answer: its /readyz (with /livez), or /health where it has none. */
export interface MemberHealth {
  readonly endpoint: 'readyz' | 'health';
  readonly ready: boolean;
  /** The checks that failed, as etcd names them (linearizable_read, data_corruption, …). */
  readonly failedChecks: readonly string[];
  /** /health's reason (e.g. "RAFT NO LEADER", "ALARM CORRUPT"). */
  readonly reason?: string;
}

/** Everything the rules look at, cut from the agent's state for one evaluation. Pure data. */
export interface Evidence {
  readonly now: Date;
  /** Probe fdatasync increase over the analysis window; undefined when the probe is off or has no data. */
  readonly probe?: HistogramWindow;
  /** Worst fdatasync of each probe round in the retained history (for stalls and election forensics). */
  readonly probePoints: readonly ProbePoint[];
  readonly walFsync?: HistogramWindow;
  readonly backendCommit?: HistogramWindow;
  /** etcd's peer round-trip increase over the window, all peers merged. */
  readonly peerRoundTrip?: HistogramWindow;
  readonly disk?: DiskWindow;
  /** Elections seen (raft term increases) in the retained history, oldest first. */
  readonly elections: readonly ElectionEvent[];
  /** How long the history behind `elections` reaches back. */
  readonly electionHistory: Seconds;
  readonly settings?: EtcdSettings;
  /** Cluster size from the member list; undefined when etcd is unreachable. */
  readonly members?: number;
  readonly etcdReachable: boolean;
  readonly hasLeader?: boolean;
  readonly health?: MemberHealth;
  /** etcd's backend database as allocated on disk, and the part of it in use (the rest is free pages a defragmentation returns). */
  readonly dbSize?: number;
  readonly dbSizeInUse?: number;
  readonly quotaBackend?: number;
  readonly topWriters: readonly TopWriter[];
  /** The probe was asked for but is off: its directory is on another filesystem than etcd's data dir. */
  readonly probeOff?: { readonly dir: string; readonly etcdDataDir: string };
  /** The candidate filesystems (--candidate-dir), in the order given. */
  readonly candidates: readonly CandidateEvidence[];
  /** Stalls that threatened leadership, and etcd's maintenance, in the retained history (an hour), oldest first. */
  readonly stalls: readonly StallEvent[];
  readonly maintenance: readonly MaintenanceEvent[];
  /** Whether this member leads, as etcd last said it within ROLE_MAX_AGE_MS; undefined when unknown. */
  readonly role?: MemberRole;
  /** This member as etcd names it, when etcd answered: peers' answers about it are not about another member. */
  readonly self?: { readonly name: string; readonly id: string };
  /** The peer agents' last answers (--peer-agents); undefined when off or none was asked yet. */
  readonly peers?: readonly PeerAnswer[];
}

export type MemberRole = 'leader' | 'follower';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A figure behind a finding: what was measured, over which window. */
export interface Fact {
  readonly name: string;
  readonly value: number | string;
  readonly unit?: 'seconds' | 'ratio' | 'per_day' | 'per_hour' | 'bytes' | 'bytes_per_second' | 'count' | 'ms';
  readonly window?: Seconds;
}

export interface Finding {
  /** Stable identifier, snake_case (`wal_fsync_slow`): a label value in metrics and alerts. */
  readonly code: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly facts: readonly Fact[];
  readonly remedy: string;
  /** When the finding became active (hysteresis keeps it from flapping). */
  readonly since: Date;
}

/** A finding as a rule returns it: everything but `since`, which the hysteresis (FindingTracker) owns. */
export type RawFinding = Omit<Finding, 'since'>;

/** Which observed distribution the election model was fed. */
export type StallSource = 'etcd_wal_fsync' | 'probe';

export interface SettingsPrediction {
  readonly heartbeat: Milliseconds;
  readonly election: Milliseconds;
  /** Expected over a day of stalls like the window's, from a fresh term (docs/election-model.md). */
  readonly electionsPerDay: number;
  /** Expected over the window's own stalls, from a fresh term: not electionsPerDay scaled down, since a term can outlast every stall. */
  readonly electionsInWindow: number;
  /** Mean time for followers to notice a dead leader: 1.5 × election (uniform draw in [et, 2et)). */
  readonly failoverDetection: Milliseconds;
  /** The stall window the predictions were made from. */
  readonly stallWindow: Seconds;
}

export interface TuningRecommendation {
  readonly current: SettingsPrediction;
  readonly recommended: SettingsPrediction;
  /** The first profile operators know by name that rides out the same stalls, when one does. */
  readonly profile?: SettingsPrediction & { readonly name: string };
  /** How much longer a real leader failure takes to detect with the recommended settings. */
  readonly addedFailoverDetection: Milliseconds;
  /** True when tuning only hides a disk problem: the disk is the primary remedy. */
  readonly temporary: boolean;
  /** True when the recommended settings are predicted under the target rate; false: no candidate made it. */
  readonly meetsTarget: boolean;
  /** The target rate the recommendation was chosen against (elections per day). */
  readonly targetElectionsPerDay: number;
  /** The stall distribution the model used. */
  readonly stallSource: StallSource;
  /** Cluster size the model used (members, or 3 when unknown). */
  readonly members: number;
  readonly reasons: readonly string[];
}

export type DiskRemedy = 'separate_disk' | 'faster_storage' | 'ionice' | 'dedicated_wal_dir';

export interface DiskRecommendation {
  readonly remedies: readonly DiskRemedy[];
  readonly summary: string;
  readonly reasons: readonly string[];
}

export type Verdict = 'healthy' | 'degraded' | 'at_risk' | 'unknown';

/**
 * What this member's stalls mean for the cluster given its role. A follower's raft loop does not tick
 * while it waits for fdatasync, so its own stalls make it neither campaign nor lose a term; only the
 * leader's stalls starve the followers of heartbeats (docs/election-model.md, "Which member").
 */
export interface Leadership {
  readonly role: MemberRole | 'unknown';
  /** Elections per day this member's stalls cause with the running settings and its role now: 0 while it follows. */
  readonly electionsPerDayNow: number;
  /** Elections per day its stalls would cause if it led with the running settings (= current.electionsPerDay). */
  readonly electionsPerDayIfLeader: number;
}

export interface Diagnosis {
  readonly at: Date;
  readonly verdict: Verdict;
  readonly findings: readonly Finding[];
  readonly tuning?: TuningRecommendation;
  readonly disk?: DiskRecommendation;
  /** Predicted elections per day with the settings running now, if this member led; when settings and stalls are known. */
  readonly current?: SettingsPrediction;
  /** The predictions by role, when stalls are known. */
  readonly leadership?: Leadership;
  /** The candidate filesystems (--candidate-dir), in the order given; empty without any. */
  readonly candidates: readonly CandidateAssessment[];
}

// ───────────── candidate filesystems (--candidate-dir): would etcd keep its leader there, and at which settings

/** Why a candidate was not measured: an I/O failure's reason, or that it is etcd's own filesystem. */
export type CandidateProblem = FailureReason | 'on_etcd_filesystem';

export interface CandidateEvidence {
  readonly dir: string;
  /** Its fdatasyncs since its first measured round; undefined while none was measured. */
  readonly measured?: HistogramWindow;
  /** Why its latest round was not measured; undefined when it was. */
  readonly problem?: { readonly reason: CandidateProblem; readonly message: string };
}

/**
 * - fits: the model predicts etcd's target rate at the running settings, and the p99 meets etcd's;
 * - slow: no election predicted, but the p99 misses etcd's WAL fsync target (every request slower);
 * - needs_tuning: elections at the running settings; the settings in `needs` would ride them out;
 * - unfit: no settings within etcd's limits keep elections under the target;
 * - measuring: fewer fdatasyncs than a p99 needs (--min-tail-observations) — no verdict yet;
 * - unusable: its latest round failed (`problem`).
 */
export type CandidateVerdict = 'fits' | 'slow' | 'needs_tuning' | 'unfit' | 'measuring' | 'unusable';

export interface CandidateAssessment {
  readonly dir: string;
  readonly verdict: CandidateVerdict;
  readonly problem?: CandidateEvidence['problem'];
  /** fdatasyncs measured there, and over how long. */
  readonly observations: number;
  readonly window: Seconds;
  readonly p99?: Seconds;
  /** If etcd ran there with the running settings (etcd's defaults when unknown) and this member led. */
  readonly atRunning?: SettingsPrediction;
  /** The settings the election model says it would need there, when the running ones miss the target. */
  readonly needs?: SettingsPrediction;
}
