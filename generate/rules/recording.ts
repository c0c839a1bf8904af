// The recording rules the dashboards and alerts share: per node, the histograms' rates, quantiles and
// shares over bucket edges, the device's busy time and queue depth; per cluster, the elections.
import { COMMIT_TARGET, EDGE, ELECTION_RANGE, millis, RULE, WAL_TARGET, WINDOW } from '../rule-names.js';
import type { Group, RecordingRule } from './model.js';
import { bucket, m, PER_NODE } from './promql.js';
import type { MetricKey } from '../../src/export/prometheus/contract.js';

/** The two quantiles recorded per histogram; more than 1 − P99 of observations over an edge put the p99 above it. */
export const P50 = 0.5;
export const TAIL = 0.01;
export const P99 = 1 - TAIL;

interface HistogramRules {
  readonly bucketRate: string;
  readonly rate: string;
  readonly p50: string;
  readonly p99: string;
}

/** A histogram's bucket rates per node, its observation rate (the +Inf bucket), p50 and p99. */
function histogramRules(key: MetricKey, r: HistogramRules, comment: string[]): RecordingRule[] {
  return [
    { comment, record: r.bucketRate, expr: `sum by (${PER_NODE}, le) (rate(${bucket(key)}[${WINDOW}]))` },
    { record: r.rate, expr: `sum without (le) (${r.bucketRate}{le="+Inf"})` },
    { record: r.p50, expr: `histogram_quantile(${P50}, ${r.bucketRate})` },
    { record: r.p99, expr: `histogram_quantile(${P99}, ${r.bucketRate})` },
  ];
}

/** The exact share of observations over `edge`: all but the cumulative bucket at it. */
function shareOver(record: string, r: HistogramRules, edge: number, comment?: string[]): RecordingRule {
  return { ...(comment ? { comment } : {}), record, expr: `1 - sum without (le) (${r.bucketRate}{le="${edge}"})\n  / ${r.rate}` };
}

/** The share over a target inside (lo, hi], interpolated linearly: the part of that bucket above the target. */
function shareEstimate(record: string, over: { lo: string; hi: string }, edges: { lo: number; hi: number }, target: number, comment: string[]): RecordingRule {
  const weight = (millis(edges.hi) - millis(target)) / (millis(edges.hi) - millis(edges.lo));
  return { comment, record, expr: `${over.hi}\n  + ${weight} * (${over.lo} - ${over.hi})` };
}

const WAL: HistogramRules = { bucketRate: RULE.walBucketRate, rate: RULE.walRate, p50: RULE.walP50, p99: RULE.walP99 };
const COMMIT: HistogramRules = { bucketRate: RULE.commitBucketRate, rate: RULE.commitRate, p50: RULE.commitP50, p99: RULE.commitP99 };
const PROBE: HistogramRules = { bucketRate: RULE.probeBucketRate, rate: RULE.probeRate, p50: RULE.probeP50, p99: RULE.probeP99 };

function walFsync(): RecordingRule[] {
  return [
    ...histogramRules('etcdWalFsync', WAL, ["── etcd's WAL fsync (re-exported by the agent) ──────────────────────────────────────────────"]),
    shareOver(RULE.walShareOver8ms, WAL, EDGE.walBelow, ['Exact shares over the bucket edges around the 10 ms target: the share over 10 ms lies between them.']),
    shareOver(RULE.walShareOver16ms, WAL, EDGE.walAbove),
    shareEstimate(RULE.walShareOver10msEstimate, { lo: RULE.walShareOver8ms, hi: RULE.walShareOver16ms }, { lo: EDGE.walBelow, hi: EDGE.walAbove }, WAL_TARGET, [
      'Linear interpolation inside (8 ms, 16 ms]: 10 ms is 1/4 of the way, so 3/4 of that bucket is over it.',
    ]),
  ];
}

function backendCommit(): RecordingRule[] {
  return [
    ...histogramRules('etcdBackendCommit', COMMIT, ["── etcd's backend commit (re-exported by the agent) ─────────────────────────────────────────"]),
    shareOver(RULE.commitShareOver16ms, COMMIT, EDGE.commitBelow),
    shareOver(RULE.commitShareOver32ms, COMMIT, EDGE.commitAbove),
    shareEstimate(
      RULE.commitShareOver25msEstimate,
      { lo: RULE.commitShareOver16ms, hi: RULE.commitShareOver32ms },
      { lo: EDGE.commitBelow, hi: EDGE.commitAbove },
      COMMIT_TARGET,
      ['Linear interpolation inside (16 ms, 32 ms]: 25 ms is 9/16 of the way, so 7/16 of that bucket is over it.'],
    ),
  ];
}

function probe(): RecordingRule[] {
  return [
    ...histogramRules('probeFdatasync', PROBE, ["── the agent's fdatasync probe: 10 ms and 25 ms are bucket edges, so these shares are exact ──"]),
    shareOver(RULE.probeShareOver10ms, PROBE, EDGE.probeWal),
    shareOver(RULE.probeShareOver25ms, PROBE, EDGE.probeCommit),
  ];
}

function device(): RecordingRule[] {
  const perDevice = (key: MetricKey) => `sum by (${PER_NODE}, device) (rate(${m(key)}[${WINDOW}]))`;
  return [
    {
      comment: [
        "── etcd's block device (diskstats, as the agent resolved it) ────────────────────────────────",
        'Fraction of time busy (diskstats field 10): 1 = busy the whole time (iostat %util 100).',
      ],
      record: RULE.diskBusy,
      expr: perDevice('diskIoTime'),
    },
    { comment: ['Average requests in flight (diskstats field 11; iostat aqu-sz).'], record: RULE.diskQueueDepth, expr: perDevice('diskWeightedIoTime') },
  ];
}

function elections(): RecordingRule[] {
  const largest = (range: string) => `max by (cluster) (increase(${m('etcdElections')}[${range}]))`;
  return [
    {
      comment: [
        "── elections: every agent counts the raft term increases its member saw; the cluster's count is",
        'the largest (an agent that was down meanwhile counts fewer, never more) ──────────────────────',
      ],
      record: RULE.electionsIncrease1h,
      expr: largest(ELECTION_RANGE.hour),
    },
    { record: RULE.electionsIncrease1d, expr: largest(ELECTION_RANGE.day) },
  ];
}

export function recordingGroup(): Group {
  return { name: 'etcd-latency-agent.recording', sections: [walFsync(), backendCommit(), probe(), device(), elections()] };
}
