// The cluster as this member sees it: reachable, led, its peers near, its DB below quota.
import { fmtBytes, fmtMs, fmtRatio, fmtSeconds } from '../format.js';
import { peerRtt } from '../recommendation.js';
import type { Severity } from '../types.js';
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
