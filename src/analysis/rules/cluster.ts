// The cluster as this member sees it: reachable, led, its peers near, its DB below quota.
import { fmtBytes, fmtMs, fmtRatio, fmtSeconds } from '../../lib/format.js';
import { peerRtt } from '../recommendation.js';
import type { Severity } from '../../model/diagnosis.js';
import { exceeds, reaches, type Rule } from './common.js';

export const etcdUnreachable: Rule = (ev) => {
  if (ev.etcdReachable) return undefined;
  return {
    code: 'etcd_unreachable',
    severity: 'critical',
    summary: 'etcd on this node answers neither its API nor its /metrics',
    facts: [{ name: 'etcd_reachable', value: 'no' }],
    remedy:
      "Check that etcd runs on this node (crictl ps | grep etcd, its logs), then the agent's --etcd-endpoints, --etcd-metrics-url and TLS files.",
  };
};

export const noLeader: Rule = (ev) => {
  if (!ev.etcdReachable || ev.hasLeader !== false) return undefined;
  return {
    code: 'no_leader',
    severity: 'critical',
    summary: 'etcd on this node has no leader: writes fail until one is elected',
    facts: [
      { name: 'has_leader', value: 'no' },
      ...(ev.members !== undefined ? [{ name: 'members', value: ev.members, unit: 'count' as const }] : []),
    ],
    remedy:
      'Check that a quorum of members is up and can reach each other (etcdctl endpoint status --cluster); see election_forensics and the other members\' agents.',
  };
};

/** What to do about each check etcd's /readyz can fail (etcd 3.5.36+, 3.6). */
const CHECK_REMEDIES: Readonly<Record<string, string>> = {
  data_corruption:
    'etcd raised a CORRUPT alarm (etcdctl alarm list): take this member out of service and rebuild it from a healthy member (member remove, wipe, member add) or a snapshot.',
  linearizable_read: "a linearizable read did not complete: the member has no leader or cannot reach a quorum (see no_leader and the other members' agents).",
  serializable_read: "the member cannot read its own store: check etcd's log and its disk.",
  non_learner: 'the member is a learner: promote it (etcdctl member promote) once it has caught up.',
};

export const etcdNotReady: Rule = (ev) => {
  const h = ev.health;
  if (!ev.etcdReachable || !h || h.ready) return undefined;
  const onlyLearner = h.failedChecks.length > 0 && h.failedChecks.every((c) => c === 'non_learner');
  const what = h.endpoint === 'readyz' ? `/readyz: ${h.failedChecks.join(', ') || 'not ready'} failed` : `/health: ${h.reason ?? 'unhealthy'}`;
  const remedies = h.failedChecks.flatMap((c) => (CHECK_REMEDIES[c] ? [CHECK_REMEDIES[c]] : []));
  return {
    code: 'etcd_not_ready',
    severity: onlyLearner ? 'warning' : 'critical',
    summary: `etcd on this node answers not ready (${what}): the kubelet's probe and the API server see the same`,
    facts: [
      { name: 'health_endpoint', value: h.endpoint },
      { name: 'ready', value: 'no' },
      ...h.failedChecks.map((c) => ({ name: `failed_check_${c}`, value: 'failed' })),
      ...(h.reason ? [{ name: 'health_reason', value: h.reason }] : []),
    ],
    remedy:
      remedies.length > 0
        ? remedies.join(' ')
        : "Read etcd's log on this node and `etcdctl endpoint health` / `etcdctl alarm list`: etcd says why in its reason.",
  };
};

export const peerRttHigh: Rule = (ev, th) => {
  const rtt = peerRtt(ev);
  if (!rtt || rtt.p99 === undefined || !exceeds(rtt.p99, th.peerRttP99)) return undefined;
  return {
    code: 'peer_rtt_high',
    severity: 'warning',
    summary: `Peer round-trip p99 is ${fmtMs(rtt.p99)} over the last ${fmtSeconds(rtt.window)} (threshold ${fmtMs(th.peerRttP99)}; mean ${fmtMs(rtt.mean)})`,
    facts: [
      { name: 'peer_rtt_p99', value: rtt.p99 / 1000, unit: 'seconds', window: rtt.window },
      ...(rtt.p50 !== undefined ? [{ name: 'peer_rtt_p50', value: rtt.p50 / 1000, unit: 'seconds' as const, window: rtt.window }] : []),
      { name: 'peer_rtt_mean', value: rtt.mean / 1000, unit: 'seconds', window: rtt.window },
      { name: 'peer_rtt_threshold', value: th.peerRttP99 / 1000, unit: 'seconds' },
      { name: 'observations', value: rtt.observations, unit: 'count', window: rtt.window },
    ],
    remedy:
      'Check the network between control-plane nodes (same zone? packet loss? a saturated NIC?). etcd needs heartbeat ≈ the mean RTT and election timeout ≥ 10× it; ' +
      'see heartbeat_below_rtt / election_timeout_invalid.',
  };
};

/**
 * Free pages a defragmentation would return. Worth saying because of how it must be done: a member
 * being defragmented blocks its reads and writes for as long as rewriting the DB takes, which on a
 * slow disk is seconds — on the leader, an election.
 */
export const dbFragmented: Rule = (ev, th) => {
  if (ev.dbSize === undefined || ev.dbSizeInUse === undefined || !(ev.dbSize > 0)) return undefined;
  const free = Math.max(0, ev.dbSize - ev.dbSizeInUse);
  const fraction = free / ev.dbSize;
  if (ev.dbSize < th.dbFragmentedMinMiB * 1024 * 1024 || !reaches(fraction, th.dbFragmentedFraction)) return undefined;
  const last = ev.role === 'leader' ? ' This member leads: defragment it last, after moving leadership away.' : '';
  return {
    code: 'db_fragmented',
    severity: 'info',
    summary: `${fmtRatio(fraction)} of etcd's ${fmtBytes(ev.dbSize)} DB is free pages (${fmtBytes(ev.dbSizeInUse)} in use): a defragmentation would return ${fmtBytes(free)}`,
    facts: [
      { name: 'db_size', value: ev.dbSize, unit: 'bytes' },
      { name: 'db_size_in_use', value: ev.dbSizeInUse, unit: 'bytes' },
      { name: 'db_free_fraction', value: fraction, unit: 'ratio' },
      { name: 'role', value: ev.role ?? 'unknown' },
    ],
    remedy:
      'Defragment one member at a time, followers first and the leader last, after moving leadership away ' +
      "(etcdctl move-leader <a defragmented follower's id>, then etcdctl defrag against that member's endpoint only, never --cluster): " +
      'a member blocks reads and writes while it rewrites its DB, and a leader blocked longer than the election timeout costs an election. ' +
      'Off peak, and not while a compaction or a backup runs.' + last,
  };
};

export const dbNearQuota: Rule = (ev, th) => {
  if (ev.dbSize === undefined || ev.quotaBackend === undefined || !(ev.quotaBackend > 0)) return undefined;
  const ratio = ev.dbSize / ev.quotaBackend;
  let severity: Severity;
  if (reaches(ratio, th.dbQuotaCriticalFraction)) severity = 'critical';
  else if (reaches(ratio, th.dbQuotaFraction)) severity = 'warning';
  else return undefined;
  return {
    code: 'db_near_quota',
    severity,
    summary: `etcd's DB is ${fmtBytes(ev.dbSize)}, ${fmtRatio(ratio)} of its ${fmtBytes(ev.quotaBackend)} quota: at 100% etcd raises NOSPACE and refuses writes`,
    facts: [
      { name: 'db_size', value: ev.dbSize, unit: 'bytes' },
      { name: 'quota_backend', value: ev.quotaBackend, unit: 'bytes' },
      { name: 'quota_used', value: ratio, unit: 'ratio' },
    ],
    remedy:
      'Compact and defragment (etcdctl compact, then etcdctl defrag one member at a time), find what grows (e.g. events, leases), ' +
      'and if the data is legitimate raise --quota-backend-bytes on every member (etcd suggests at most 8 GiB).',
  };
};
