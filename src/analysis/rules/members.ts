// The cluster's members against each other, from the other members' agents (--peer-agents): one
// agent sees only its own member's heartbeat interval and election timeout, and etcd wants the same on
// all (its tuning guide; a member with a shorter election timeout than the leader expects campaigns
// early, and which member leads then decides how often elections come).
import type { Evidence, Fact } from '../../model/diagnosis.js';
import type { Milliseconds } from '../../lib/units.js';
import type { PeerAnswer } from '../../model/member-settings.js';
import { ROLLOUT, tuningFromEvidence, tuningWarranted } from '../recommendation.js';
import type { Thresholds } from '../thresholds.js';
import type { Rule } from './common.js';

interface MemberTiming {
  readonly member: string;
  readonly heartbeat: Milliseconds;
  readonly election: Milliseconds;
  readonly self: boolean;
}

const pair = (m: { heartbeat: number; election: number }): string => `${m.heartbeat}/${m.election}`;

/** The peers that answered with settings, about a member other than this one. */
function peerTimings(ev: Evidence): MemberTiming[] {
  return (ev.peers ?? []).flatMap((a) => {
    if (!a.ok) return [];
    const s = a.settings;
    if (s.heartbeatMs === undefined || s.electionMs === undefined) return [];
    if (ev.self !== undefined && s.memberId === ev.self.id) return [];
    return [{ member: s.member, heartbeat: s.heartbeatMs, election: s.electionMs, self: false }];
  });
}

/**
 * The pair every member should run: this diagnosis' tuning when it recommends one, else the pair most
 * members run (on a tie the longer election timeout: fewer elections, and no member needs a restart to
 * be slower than the leader it follows).
 */
function targetPair(all: readonly MemberTiming[], ev: Evidence, th: Thresholds): { heartbeat: number; election: number; why: string } {
  const t = tuningFromEvidence(ev, th);
  if (t && tuningWarranted(t)) return { ...t.recommended, why: "this diagnosis' tuning for the stalls measured here" };
  const counts = new Map<string, { m: MemberTiming; n: number }>();
  for (const m of all) counts.set(pair(m), { m, n: (counts.get(pair(m))?.n ?? 0) + 1 });
  const best = [...counts.values()].sort((a, b) => b.n - a.n || b.m.election - a.m.election || b.m.heartbeat - a.m.heartbeat)[0]!;
  return { heartbeat: best.m.heartbeat, election: best.m.election, why: best.n > all.length / 2 ? 'what most members run' : 'the longest election timeout the members run' };
}

export const timingSettingsDiffer: Rule = (ev, th) => {
  if (!ev.settings) return undefined;
  const self: MemberTiming = { member: ev.self?.name ?? 'this member', heartbeat: ev.settings.heartbeat.value, election: ev.settings.election.value, self: true };
  const peers = peerTimings(ev);
  const differ = peers.filter((p) => p.heartbeat !== self.heartbeat || p.election !== self.election);
  if (differ.length === 0) return undefined;
  // By name: every member's agent words the cluster alike.
  const all = [self, ...peers].sort((a, b) => a.member.localeCompare(b.member));
  const words = all.map((m) => `${m.member}${m.self ? ' (this member)' : ''} ${pair(m)}`).join(', ');
  const target = targetPair(all, ev, th);
  const facts: Fact[] = [
    { name: 'heartbeat_interval', value: self.heartbeat / 1000, unit: 'seconds' },
    { name: 'election_timeout', value: self.election / 1000, unit: 'seconds' },
    { name: 'members_settings', value: words },
    { name: 'members_differing', value: differ.map((m) => m.member).join(', ') },
    { name: 'members_compared', value: all.length, unit: 'count' },
  ];
  return {
    code: 'timing_settings_differ',
    severity: 'warning',
    summary: `The members run different heartbeat intervals or election timeouts (ms): ${words}`,
    facts,
    remedy:
      `etcd wants the same values on every member. Set --heartbeat-interval=${target.heartbeat} --election-timeout=${target.election} ` +
      `on every member (${target.why}). ${ROLLOUT}`,
  };
};

const failed = (a: PeerAnswer): a is Extract<PeerAnswer, { ok: false }> => !a.ok;

export const peerAgentsUnanswered: Rule = (ev) => {
  const asked = ev.peers ?? [];
  const silent = asked.filter(failed);
  if (silent.length === 0) return undefined;
  return {
    code: 'peer_agents_unanswered',
    severity: 'info',
    summary:
      `${silent.length} of ${asked.length} peer agents did not answer, so their members' settings are not compared: ` +
      silent.map((a) => `${a.url} (${a.reason}: ${a.message})`).join('; '),
    facts: [
      { name: 'peer_agents_asked', value: asked.length, unit: 'count' },
      { name: 'peer_agents_silent', value: silent.map((a) => a.url).join(', ') },
      { name: 'reasons', value: [...new Set(silent.map((a) => a.reason))].join(', ') },
    ],
    remedy:
      "Check that each control-plane node runs the agent and that this node reaches it at that URL: the DaemonSet's hostNetwork and " +
      "--listen-address, a firewall or the OpenStack security group for the agent's port between control-plane nodes. Peers behind a " +
      '--web-config-file want --peer-agents-ca-file, --peer-agents-server-name and --peer-agents-token-file here (the web-config component sets them); ' +
      'a peer with --web-disable-api refuses. Meanwhile the alert EtcdTimingSettingsDiffer compares the settings in Prometheus.',
  };
};
