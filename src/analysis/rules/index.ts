// Every diagnosis rule, by code. One file per concern: disk latency, stalls, elections, the device,
// etcd's settings, the cluster. The codes are stable: they are label values of
// etcd_latency_agent_finding{code,severity} and alert rules match on them.
import type { Thresholds } from '../thresholds.js';
import type { Evidence, RawFinding } from '../../model/diagnosis.js';
import { dbFragmented, dbNearQuota, etcdNotReady, etcdUnreachable, noLeader, peerRttHigh } from './cluster.js';
import type { Rule } from './common.js';
import { diskSaturated, diskShared } from './disk-device.js';
import { backendCommitSlow, probeFsyncSlow, probeNotOnEtcdFilesystem, walFsyncSlow } from './disk-latency.js';
import { electionForensics, frequentElections } from './elections.js';
import { electionTimeoutInvalid, heartbeatBelowRtt, settingsUnknown } from './settings.js';
import { stallsThreatenLeadership } from './stalls.js';
import { candidateUnusable } from './candidates.js';
import { maintenanceCoincides } from './maintenance.js';
import { peerAgentsUnanswered, timingSettingsDiffer } from './members.js';

export type { Rule } from './common.js';

export const RULES = {
  etcd_unreachable: etcdUnreachable,
  no_leader: noLeader,
  etcd_not_ready: etcdNotReady,
  wal_fsync_slow: walFsyncSlow,
  backend_commit_slow: backendCommitSlow,
  probe_fsync_slow: probeFsyncSlow,
  probe_not_on_etcd_filesystem: probeNotOnEtcdFilesystem,
  stalls_threaten_leadership: stallsThreatenLeadership,
  frequent_elections: frequentElections,
  election_forensics: electionForensics,
  disk_saturated: diskSaturated,
  disk_shared: diskShared,
  heartbeat_below_rtt: heartbeatBelowRtt,
  election_timeout_invalid: electionTimeoutInvalid,
  settings_unknown: settingsUnknown,
  timing_settings_differ: timingSettingsDiffer,
  peer_agents_unanswered: peerAgentsUnanswered,
  peer_rtt_high: peerRttHigh,
  db_near_quota: dbNearQuota,
  db_fragmented: dbFragmented,
  maintenance_coincides: maintenanceCoincides,
  candidate_unusable: candidateUnusable,
} as const satisfies Record<string, Rule>;

export type FindingCode = keyof typeof RULES;

/** Every code a finding can have (for metrics, docs and alert-rule tests). */
export const FINDING_CODES = Object.keys(RULES) as FindingCode[];

/** Runs every rule; the findings that fired, in RULES order. */
export function runRules(ev: Evidence, th: Thresholds): RawFinding[] {
  const out: RawFinding[] = [];
  for (const rule of Object.values(RULES) as Rule[]) {
    const f = rule(ev, th);
    if (f) out.push(f);
  }
  return out;
}
