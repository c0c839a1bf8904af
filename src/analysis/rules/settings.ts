// etcd's timing settings against etcd's own rules (tuning guide): heartbeat ≈ the average peer RTT,
// election ≥ 10 × RTT, election ≥ 5 × heartbeat (etcd refuses less), election ≤ 50 s.
import {
  candidateSettings,
  ETCD_DEFAULT_ELECTION,
  ETCD_DEFAULT_HEARTBEAT,
  ETCD_MAX_ELECTION,
  MIN_ELECTION_PER_HEARTBEAT,
  MIN_ELECTION_PER_RTT,
  type Candidate,
} from '../election-model.js';
import { fmtMs } from '../../lib/format.js';
import { peerRtt, tuningFromEvidence, type PeerRtt } from '../recommendation.js';
import type { Thresholds } from '../thresholds.js';
import type { Evidence, Fact } from '../../model/diagnosis.js';
import { exceeds, type Rule } from './common.js';

/** Settings that satisfy every rule: the model's recommendation when it meets the target, else the smallest valid pair for the RTT. */
function validSettings(ev: Evidence, th: Thresholds, rtt: PeerRtt | undefined): Candidate | undefined {
  const t = tuningFromEvidence(ev, th);
  if (t && t.meetsTarget) return { heartbeat: t.recommended.heartbeat, election: t.recommended.election };
  return candidateSettings(rtt?.mean)[0];
}

function settingsRemedy(c: Candidate | undefined, why: string): string {
  if (!c) return `${why} Set the same --heartbeat-interval and --election-timeout on every member.`;
  return `${why} Set --heartbeat-interval=${c.heartbeat} --election-timeout=${c.election} on every member (the same values on all).`;
}

function rttFacts(rtt: PeerRtt): Fact[] {
  const facts: Fact[] = [{ name: 'peer_rtt_mean', value: rtt.mean / 1000, unit: 'seconds', window: rtt.window }];
  if (rtt.p99 !== undefined) facts.push({ name: 'peer_rtt_p99', value: rtt.p99 / 1000, unit: 'seconds', window: rtt.window });
  return facts;
}

export const settingsUnknown: Rule = (ev) => {
  if (ev.settings) return undefined;
  return {
    code: 'settings_unknown',
    severity: 'info',
    summary:
      `etcd's heartbeat interval and election timeout are not known: predictions assume etcd's defaults ` +
      `(${fmtMs(ETCD_DEFAULT_HEARTBEAT)} / ${fmtMs(ETCD_DEFAULT_ELECTION)})`,
    facts: [
      { name: 'assumed_heartbeat_interval', value: ETCD_DEFAULT_HEARTBEAT / 1000, unit: 'seconds' },
      { name: 'assumed_election_timeout', value: ETCD_DEFAULT_ELECTION / 1000, unit: 'seconds' },
    ],
    remedy:
      "Let the agent read them: mount the static pod manifest (/etc/kubernetes/manifests), run it with hostPID to read etcd's " +
      'command line, or pass --etcd-heartbeat-interval and --etcd-election-timeout.',
  };
};

export const heartbeatBelowRtt: Rule = (ev, th) => {
  const rtt = peerRtt(ev);
  if (!ev.settings || !rtt) return undefined;
  const hb = ev.settings.heartbeat.value;
  if (!exceeds(rtt.mean, hb)) return undefined;
  return {
    code: 'heartbeat_below_rtt',
    severity: 'warning',
    summary: `The heartbeat interval (${fmtMs(hb)}) is below the mean peer round trip (${fmtMs(rtt.mean)}): heartbeats cannot arrive in time`,
    facts: [
      { name: 'heartbeat_interval', value: hb / 1000, unit: 'seconds' },
      { name: 'heartbeat_origin', value: ev.settings.heartbeat.origin },
      ...rttFacts(rtt),
    ],
    remedy: settingsRemedy(validSettings(ev, th, rtt), "etcd's tuning guide puts the heartbeat near the average round trip (0.5–1.5×) and the election timeout at ≥ 10× it."),
  };
};

export const electionTimeoutInvalid: Rule = (ev, th) => {
  if (!ev.settings) return undefined;
  const hb = ev.settings.heartbeat.value;
  const et = ev.settings.election.value;
  const rtt = peerRtt(ev);
  const problems: string[] = [];
  if (et < MIN_ELECTION_PER_HEARTBEAT * hb) problems.push(`below ${MIN_ELECTION_PER_HEARTBEAT}× the heartbeat (${fmtMs(hb)}): etcd refuses to start with it`);
  if (rtt && exceeds(MIN_ELECTION_PER_RTT * rtt.mean, et)) problems.push(`below ${MIN_ELECTION_PER_RTT}× the mean peer RTT (${fmtMs(rtt.mean)})`);
  if (et > ETCD_MAX_ELECTION) problems.push(`above etcd's maximum of ${fmtMs(ETCD_MAX_ELECTION)}`);
  if (problems.length === 0) return undefined;
  return {
    code: 'election_timeout_invalid',
    severity: 'warning',
    summary: `The election timeout (${fmtMs(et)}) is ${problems.join('; ')}`,
    facts: [
      { name: 'election_timeout', value: et / 1000, unit: 'seconds' },
      { name: 'election_origin', value: ev.settings.election.origin },
      { name: 'heartbeat_interval', value: hb / 1000, unit: 'seconds' },
      { name: 'problems', value: problems.join('; ') },
      ...(rtt ? rttFacts(rtt) : []),
    ],
    remedy: settingsRemedy(validSettings(ev, th, rtt), 'etcd needs 5× heartbeat ≤ election timeout ≤ 50 s, and its tuning guide ≥ 10× the average RTT.'),
  };
};
