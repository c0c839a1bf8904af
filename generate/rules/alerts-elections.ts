// The alerts about leader elections: how many happened, the tuning the agents' election model
// recommends, and members whose timing settings differ.
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { RULE } from '../rule-names.js';
import { alert } from './alert.js';
import type { AlertRule } from './model.js';
import { m, tsel, withQuery } from './promql.js';

/**
 * increase() extrapolates to the range's edges, so a count of N reads as about N: an alert on "at least
 * N" compares with N − 0.5.
 */
const atLeast = (n: number): number => n - 0.5;

/**
 * Elections in one hour that page: 3, earlier than the etcd mixin's 4 in 15 minutes. Not the agent's
 * critical rate (electionsPerDayCritical, 24 a day = 1 an hour), which would page on 2 within an hour.
 */
const ELECTIONS_IN_HOUR_CRITICAL = 3;

export function frequentLeaderElections(): AlertRule[] {
  return [
    alert({
      comment: [
        '── elections, counted by the agents from raft term increases (works without etcd\'s /metrics) ──',
        'The etcd mixin waits for 4 leader changes in 15 m; a healthy cluster sees well under one a week.',
      ],
      alert: 'EtcdFrequentLeaderElections',
      // "more than electionsPerDayWarning a day", as the agent's frequent_elections warning
      expr: `${RULE.electionsIncrease1d} > ${atLeast(DEFAULT_THRESHOLDS.electionsPerDayWarning + 1)}`,
      for: '1m',
      severity: 'warning',
      summary: 'etcd held {{ $value | printf "%.0f" }} leader elections in the last 24 hours.',
      description: [
        'The agents counted {{ $value | printf "%.0f" }} leader elections (raft term increases) in the last 24 hours;',
        'a healthy cluster sees well under one a week. Each election stops writes for at least the election',
        'timeout, and API requests time out meanwhile.',
        "Recommendation: look at what preceded each election (the agent's election_forensics finding, the",
        'EtcdDiskStallsThreatenLeadership alert, the stall panels): fix the disk when stalls explain them,',
        'otherwise check peer round-trip, CPU starvation and etcd restarts.',
      ],
    }),
    alert({
      alert: 'EtcdFrequentLeaderElections',
      expr: `${RULE.electionsIncrease1h} > ${atLeast(ELECTIONS_IN_HOUR_CRITICAL)}`,
      for: '1m',
      severity: 'critical',
      summary: 'etcd held {{ $value | printf "%.0f" }} leader elections in the last hour.',
      description: [
        'The agents counted {{ $value | printf "%.0f" }} leader elections (raft term increases) in the last hour.',
        'Each election stops writes for at least the election timeout: API requests and pipelines fail meanwhile.',
        "Recommendation: find the cause now — stalls on the leader's disk (EtcdDiskStallsThreatenLeadership, the",
        "agent's election_forensics finding), peer round-trip, CPU starvation, etcd restarts; when stalls explain",
        'them, apply the stop-gap tuning of EtcdTuningRecommended and fix the disk.',
      ],
    }),
  ];
}

/** A cluster's largest value of a setting in milliseconds, the unit of etcd's flags. */
const clusterMs = (metric: string): string => `max(${metric}${tsel('cluster')}) * 1000`;
const settings = (metric: string, which: 'current' | 'recommended'): string => `max(${metric}${tsel('cluster', `settings="${which}"`)})`;
const firstValue = (format: string): string => `{{ . | first | value | ${format} }}`;

/** The rate under which the model calls a member's disk fine at the running settings (the tuning target). */
const TARGET = DEFAULT_THRESHOLDS.targetElectionsPerDay;

/** Some member of the cluster would keep elections under the target if it led, at the running settings. */
const SOME_MEMBER_KEEPS_UP = `min by (cluster) (${m('predictedElectionsPerDay')}{settings="current"}) < ${TARGET}`;

export function tuningRecommended(): AlertRule {
  const recommendedHeartbeat = withQuery(clusterMs(m('recommendedHeartbeatInterval')));
  return alert({
    comment: ["── the agent's recommendations: the numbers come from its election model ───────────────────"],
    alert: 'EtcdTuningRecommended',
    exprComment: [
      "The value is the recommended election timeout in milliseconds (etcd's flags take milliseconds).",
      'Not while some member would keep up if it led: keeping leadership there is the remedy',
      '(EtcdLeaderOnStallingDisk), not slower fail-over for the whole cluster.',
    ],
    expr: `max by (cluster) (${m('recommendedElectionTimeout')}) * 1000 > 0\nunless on (cluster) (${SOME_MEMBER_KEEPS_UP})`,
    for: '15m',
    severity: 'warning',
    summary: [
      `etcd's election model recommends --election-timeout={{ $value | printf "%.0f" }}${recommendedHeartbeat}`,
      `--heartbeat-interval=${firstValue('printf "%.0f"')}{{ end }} on every member.`,
    ],
    description: [
      `With the running settings${withQuery(clusterMs(m('etcdHeartbeatInterval')))}`,
      `(--heartbeat-interval=${firstValue('printf "%.0f"')}{{ end }}${withQuery(clusterMs(m('etcdElectionTimeout')))}`,
      `--election-timeout=${firstValue('printf "%.0f"')}){{ end }} the agents' election model predicts`,
      `${withQuery(settings(m('predictedElectionsPerDay'), 'current'))}${firstValue('printf "%.1f"')}{{ end }}`,
      'elections per day from the fdatasync stalls it observed. Recommendation: set on every member (the same values on all)',
      `--heartbeat-interval=${recommendedHeartbeat}${firstValue('printf "%.0f"')}{{ end }}`,
      '--election-timeout={{ $value | printf "%.0f" }},',
      `predicted ${withQuery(settings(m('predictedElectionsPerDay'), 'recommended'))}${firstValue('printf "%.2f"')}{{ end }} elections per day.`,
      `Cost: a real leader failure is noticed after ${withQuery(settings(m('failoverDetection'), 'recommended'))}${firstValue('humanizeDuration')}{{ end }}`,
      `on average instead of ${withQuery(settings(m('failoverDetection'), 'current'))}${firstValue('humanizeDuration')}{{ end }}.`,
      `${withQuery(`max(${m('tuningTemporary')}${tsel('cluster')}) == 1`)}This is a stop-gap that hides a disk problem: fix the disk (EtcdSeparateDiskRecommended), then return to the defaults.{{ else }}The recommended election timeout is within twice etcd's default: a fair remedy on its own.{{ end }}`,
    ],
  });
}

/**
 * Only a leader's stalls start elections (docs/election-model.md, "Which member"): when the leader's
 * disk stalls and another member's keeps up, moving leadership is the remedy, now and without tuning.
 */
export function leaderOnStallingDisk(): AlertRule {
  const keepUp = withQuery(`${m('predictedElectionsPerDay')}{cluster="%s",settings="current"} < ${TARGET}`);
  return alert({
    comment: ["── which member leads: only the leader's stalls start elections ───────────────────────────────"],
    alert: 'EtcdLeaderOnStallingDisk',
    exprComment: ["The value is the leader's predicted elections per day at the running settings."],
    expr: `max by (cluster, node) (${m('predictedElectionsPerDayNow')}{role="leader"}) >= ${TARGET}\nand on (cluster) (${SOME_MEMBER_KEEPS_UP})`,
    for: '15m',
    severity: 'warning',
    summary: "etcd's leader {{ $labels.node }} runs on a stalling disk while another member's disk keeps up.",
    description: [
      'The agent on {{ $labels.node }}, which leads, predicts {{ $value | printf "%.1f" }} elections per day from its',
      "disk's fdatasync stalls at the running settings; only a leader's stalls start elections. The disks of",
      `${keepUp}{{ range $i, $s := sortByLabel "node" . }}{{ if $i }},{{ end }} {{ $s.Labels.node }}{{ end }}{{ end }}`,
      'would keep elections under the target if they led. Recommendation: move leadership to one of them',
      '(etcdctl move-leader <its member id>, again after etcd restarts) and fix the disk of {{ $labels.node }};',
      'tune the whole cluster (EtcdTuningRecommended) only if every member must be able to lead.',
    ],
  });
}

/** Each node's value of a setting in milliseconds, listed as "node value ms" in node order. */
function perNodeMs(metric: string): { query: string; list: string } {
  return {
    query: withQuery(`max by (node) (${metric}${tsel('cluster')}) * 1000`),
    list: '{{ range $i, $s := sortByLabel "node" . }}{{ if $i }},{{ end }} {{ $s.Labels.node }} {{ $s.Value | printf "%.0f" }} ms{{ end }}',
  };
}

export function timingSettingsDiffer(): AlertRule {
  const distinct = (metric: string) => `count by (cluster) (count_values by (cluster) ("value", max by (cluster, node) (${metric}))) > 1`;
  const [heartbeat, election] = [perNodeMs(m('etcdHeartbeatInterval')), perNodeMs(m('etcdElectionTimeout'))];
  return alert({
    comment: [
      "── the members' timing settings: etcd expects every member to run the same ───────────────────",
      'The number of different values among the nodes\' agents; 30 m, so a rolling change (one',
      'control-plane node at a time) does not fire it on its way.',
    ],
    alert: 'EtcdTimingSettingsDiffer',
    expr: [distinct(m('etcdHeartbeatInterval')), 'or', distinct(m('etcdElectionTimeout'))].join('\n'),
    for: '30m',
    severity: 'warning',
    summary: "etcd's members run {{ $value | printf \"%.0f\" }} different heartbeat or election timeout settings.",
    description: [
      `The agents read {{ $value | printf "%.0f" }} different values among the members${heartbeat.query}`,
      `(heartbeat interval:${heartbeat.list}{{ end }}${election.query};`,
      `election timeout:${election.list}){{ end }}.`,
      'A member whose election timeout is shorter than its peers\' campaigns first whenever it stops hearing',
      'from the leader, and the predictions of the agents differ with their settings. Recommendation: choose one pair',
      "(the agents' recommendation, or a profile: etcd's defaults 100/1000, the SCS cluster templates 250/2500) and roll it",
      'out one control-plane node at a time: edit etcd\'s static pod manifest, wait until the member is healthy, then the next.',
    ],
  });
}
