// Names of the recording rules of deploy/prometheus/etcd-latency-agent.rules.yaml, for the rules
// generator (generate/rules/) that records them and the dashboards that read them, so a panel shows
// exactly the series an alert is computed from. Every name is built from the metric contract, and the
// bucket edges in the share names from the agent's targets: nothing here spells a metric by hand.
import { DEFAULT_THRESHOLDS } from '../src/analysis/thresholds.js';
import { ETCD_DISK_BUCKETS, METRICS, type MetricKey } from '../src/export/prometheus/contract.js';
import { PROBE_BUCKETS } from '../src/sources/fsync-probe.js';

/** A metric's name from the contract (the family for a histogram). */
export const m = (key: MetricKey): string => METRICS[key].name;
export const bucket = (key: MetricKey): string => `${m(key)}_bucket`;
/** A counter's name without `_total`: what a recording rule of its rate or increase is named after. */
const counterBase = (key: MetricKey): string => m(key).replace(/_total$/, '');

/** A duration as Prometheus writes it (`5m`, `1h`, `1d`), from seconds. */
export function promDuration(s: number): string {
  const units: ReadonlyArray<readonly [string, number]> = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];
  const [unit, size] = units.find(([, n]) => s % n === 0)!;
  return `${s / size}${unit}`;
}

/**
 * The window the per-node rules compute over: the agent's analysis window, which is also the one the
 * etcd runbooks and mixin compute p99s over, so the dashboards, the alerts and the agent agree.
 */
export const WINDOW = promDuration(DEFAULT_THRESHOLDS.window);

const toSeconds = (milliseconds: number): number => milliseconds / 1000;
export const WAL_TARGET = toSeconds(DEFAULT_THRESHOLDS.walFsyncP99);
export const COMMIT_TARGET = toSeconds(DEFAULT_THRESHOLDS.backendCommitP99);
export const PROBE_TARGET = toSeconds(DEFAULT_THRESHOLDS.probeP99);

/** The lowest edge above `target`: more than 1 % of observations over it proves the p99 above the target. */
function edgeAbove(buckets: readonly number[], target: number): number {
  const edge = buckets.find((b) => b > target + 1e-12);
  if (edge === undefined) throw new Error(`no bucket edge above ${target} s`);
  return edge;
}
/** The highest edge at or below `target`: with edgeAbove, it brackets a target that is no edge. */
function edgeBelow(buckets: readonly number[], target: number): number {
  const edge = buckets.filter((b) => b <= target + 1e-12).at(-1);
  if (edge === undefined) throw new Error(`no bucket edge at or below ${target} s`);
  return edge;
}
/** `target` itself, which must be an edge: the probe's shares claim to be exact. */
function exactEdge(buckets: readonly number[], target: number): number {
  const edge = buckets.find((b) => Math.abs(b - target) < 1e-12);
  if (edge === undefined) throw new Error(`${target} s is no bucket edge`);
  return edge;
}

/**
 * The bucket edges the shares are counted over, in seconds. etcd's histograms (1 ms × 2^k) have no
 * 10 ms or 25 ms edge, so their targets are bracketed (WAL 8 and 16 ms, commit 16 and 32 ms); the
 * probe's histogram has both edges. The probe is also held to the commit target, as the dashboards show.
 */
export const EDGE = {
  walBelow: edgeBelow(ETCD_DISK_BUCKETS, WAL_TARGET),
  walAbove: edgeAbove(ETCD_DISK_BUCKETS, WAL_TARGET),
  commitBelow: edgeBelow(ETCD_DISK_BUCKETS, COMMIT_TARGET),
  commitAbove: edgeAbove(ETCD_DISK_BUCKETS, COMMIT_TARGET),
  probeWal: exactEdge(PROBE_BUCKETS, PROBE_TARGET),
  probeCommit: exactEdge(PROBE_BUCKETS, COMMIT_TARGET),
} as const;

/** Whole milliseconds, as a rule's name and an alert's text write an edge or a target. */
export const millis = (s: number): number => Math.round(s * 1000);

/** The ranges the cluster's elections are counted over: the critical alert's hour, the warning's day (the agent's rates are per day). */
export const ELECTION_RANGE = { hour: '1h', day: '1d' } as const;

const node = (metric: string, op: string): string => `node:${metric}:${op}`;
const cluster = (metric: string, op: string): string => `cluster:${metric}:${op}`;

/** The rules every histogram gets: its buckets' and its observations' rate per node, p50 and p99. */
function histogram(key: MetricKey) {
  return {
    bucketRate: node(bucket(key), `rate${WINDOW}`),
    rate: node(m(key), `rate${WINDOW}`),
    p50: node(m(key), `p50_${WINDOW}`),
    p99: node(m(key), `p99_${WINDOW}`),
  };
}
const shareOver = (key: MetricKey, edge: number): string => node(m(key), `share_over_${millis(edge)}ms_${WINDOW}`);
const shareEstimate = (key: MetricKey, target: number): string => node(m(key), `share_over_${millis(target)}ms_estimate_${WINDOW}`);

const WAL = histogram('etcdWalFsync');
const COMMIT = histogram('etcdBackendCommit');
const PROBE = histogram('probeFdatasync');

// The keys name the edges of the default targets; the values follow DEFAULT_THRESHOLDS, and
// test/alerts/rules.test.ts checks that each share is counted over the edge its key says.
export const RULE = {
  walBucketRate: WAL.bucketRate,
  walRate: WAL.rate,
  walP50: WAL.p50,
  walP99: WAL.p99,
  walShareOver8ms: shareOver('etcdWalFsync', EDGE.walBelow),
  walShareOver16ms: shareOver('etcdWalFsync', EDGE.walAbove),
  walShareOver10msEstimate: shareEstimate('etcdWalFsync', WAL_TARGET),
  commitBucketRate: COMMIT.bucketRate,
  commitRate: COMMIT.rate,
  commitP50: COMMIT.p50,
  commitP99: COMMIT.p99,
  commitShareOver16ms: shareOver('etcdBackendCommit', EDGE.commitBelow),
  commitShareOver32ms: shareOver('etcdBackendCommit', EDGE.commitAbove),
  commitShareOver25msEstimate: shareEstimate('etcdBackendCommit', COMMIT_TARGET),
  probeBucketRate: PROBE.bucketRate,
  probeRate: PROBE.rate,
  probeP50: PROBE.p50,
  probeP99: PROBE.p99,
  probeShareOver10ms: shareOver('probeFdatasync', EDGE.probeWal),
  probeShareOver25ms: shareOver('probeFdatasync', EDGE.probeCommit),
  diskBusy: node(counterBase('diskIoTime'), `rate${WINDOW}`),
  diskQueueDepth: node(counterBase('diskWeightedIoTime'), `rate${WINDOW}`),
  electionsIncrease1h: cluster(counterBase('etcdElections'), `increase${ELECTION_RANGE.hour}`),
  electionsIncrease1d: cluster(counterBase('etcdElections'), `increase${ELECTION_RANGE.day}`),
} as const;
