// What the agent knows: for each source, its latest sample, its last error and its counters; and the
// totals derived from successive samples (monotonic re-exports, elections). Updated only when a
// source reports; read by every output, which therefore render the same knowledge.
import { accumulate, accumulateCounter, emptyHistogram, observe, type HistogramSnapshot } from './analysis/histogram.js';
import { observeTerm, type ElectionTally } from './analysis/elections.js';
import { PROBE_BUCKETS } from './export/contract.js';
import type { DiskSample } from './sources/diskstats.js';
import type { EtcdApiSample } from './sources/etcd-api.js';
import type { EtcdConfigSample } from './sources/etcd-config.js';
import type { EtcdMetricsSample } from './sources/etcd-metrics.js';
import type { ProbeSample } from './sources/fsync-probe.js';
import { SOURCE_NAMES, type FailureReason, type Outcome, type SourceName } from './sources/source.js';
import { bytes, seconds, type Bytes, type Seconds } from './units.js';

export interface SampleOf {
  fsync_probe: ProbeSample;
  diskstats: DiskSample;
  etcd_metrics: EtcdMetricsSample;
  etcd_api: EtcdApiSample;
  etcd_config: EtcdConfigSample;
}

export interface SourceError {
  readonly at: Date;
  readonly reason: FailureReason;
  readonly message: string;
}

export interface SourceStatus<T> {
  readonly name: SourceName;
  attempts: number;
  /** undefined until the first sample was attempted. */
  up?: boolean;
  latest?: { readonly at: Date; readonly value: T };
  lastError?: SourceError;
  lastSuccessAt?: Date;
  lastDuration?: Seconds;
  readonly errors: Map<FailureReason, number>;
}

/** Monotonic copies of etcd's counters and histograms: they survive etcd restarts (counter resets). */
export interface EtcdTotals {
  walFsync?: HistogramSnapshot;
  backendCommit?: HistogramSnapshot;
  peerRoundTrip: Map<string, HistogramSnapshot>;
  leaderChanges?: number;
  heartbeatSendFailures?: number;
  slowApplies?: number;
  proposalsFailed?: number;
}

export interface ProbeTotals {
  fdatasync: HistogramSnapshot;
  writtenBytes: Bytes;
  lastRoundMax?: Seconds;
}

export type SourceStatuses = { [K in SourceName]: SourceStatus<SampleOf[K]> };

export interface StateChange {
  readonly source: SourceName;
  readonly kind: 'first_success' | 'recovered' | 'failed' | 'failure_changed';
  readonly error?: SourceError;
}

export class AgentState {
  readonly sources: SourceStatuses;
  readonly probe: ProbeTotals = { fdatasync: emptyHistogram(PROBE_BUCKETS), writtenBytes: bytes(0) };
  readonly etcd: EtcdTotals = { peerRoundTrip: new Map() };
  elections: ElectionTally = { elections: 0 };
  readonly startedAt: Date;

  constructor(now: Date, readonly enabled: ReadonlySet<SourceName>) {
    this.startedAt = now;
    const make = <K extends SourceName>(name: K): SourceStatus<SampleOf[K]> => ({ name, attempts: 0, errors: new Map() });
    this.sources = {
      fsync_probe: make('fsync_probe'),
      diskstats: make('diskstats'),
      etcd_metrics: make('etcd_metrics'),
      etcd_api: make('etcd_api'),
      etcd_config: make('etcd_config'),
    };
  }

  /** Ready once every enabled source has been attempted at least once. */
  ready(): boolean {
    return SOURCE_NAMES.every((n) => !this.enabled.has(n) || this.sources[n].attempts > 0);
  }

  /** Records one sample; returns what changed for the log (undefined when nothing did). */
  record<K extends SourceName>(name: K, outcome: Outcome<SampleOf[K]>, at: Date, duration: Seconds): StateChange | undefined {
    const status = this.sources[name] as SourceStatus<SampleOf[K]>;
    const wasUp = status.up;
    const previousError = status.lastError;
    status.attempts++;
    status.lastDuration = duration;
    if (outcome.ok) {
      this.derive(name, status.latest?.value, outcome.value);
      status.latest = { at, value: outcome.value };
      status.lastSuccessAt = at;
      status.up = true;
      if (wasUp === undefined) return { source: name, kind: 'first_success' };
      return wasUp ? undefined : { source: name, kind: 'recovered' };
    }
    const error: SourceError = { at, reason: outcome.reason, message: outcome.message };
    status.lastError = error;
    status.up = false;
    status.errors.set(outcome.reason, (status.errors.get(outcome.reason) ?? 0) + 1);
    if (wasUp !== false) return { source: name, kind: 'failed', error };
    if (previousError?.reason !== error.reason) return { source: name, kind: 'failure_changed', error };
    return undefined;
  }

  private derive<K extends SourceName>(name: K, prev: SampleOf[K] | undefined, cur: SampleOf[K]): void {
    if (name === 'fsync_probe') this.deriveProbe(cur as ProbeSample);
    else if (name === 'etcd_metrics') this.deriveEtcd(prev as EtcdMetricsSample | undefined, cur as EtcdMetricsSample);
    else if (name === 'etcd_api') this.elections = observeTerm(this.elections, (cur as EtcdApiSample).raftTerm);
  }

  private deriveProbe(s: ProbeSample): void {
    this.probe.fdatasync = observe(this.probe.fdatasync, s.durations);
    this.probe.writtenBytes = bytes(this.probe.writtenBytes + s.writtenBytes);
    this.probe.lastRoundMax = s.durations.length > 0 ? seconds(Math.max(...s.durations)) : undefined;
  }

  private deriveEtcd(prev: EtcdMetricsSample | undefined, cur: EtcdMetricsSample): void {
    const t = this.etcd;
    // A family missing from the previous scrape gives no baseline: take this scrape as the new one
    // rather than adding all of it again.
    const hist = (total: HistogramSnapshot | undefined, p: HistogramSnapshot | undefined, c: HistogramSnapshot | undefined) =>
      c === undefined || (total !== undefined && p === undefined) ? total : accumulate(total, p, c);
    const counter = (total: number | undefined, p: number | undefined, c: number | undefined) =>
      c === undefined || (total !== undefined && p === undefined) ? total : accumulateCounter(total, p, c);
    t.walFsync = hist(t.walFsync, prev?.walFsync, cur.walFsync);
    t.backendCommit = hist(t.backendCommit, prev?.backendCommit, cur.backendCommit);
    for (const [peer, h] of cur.peerRoundTrip) {
      t.peerRoundTrip.set(peer, hist(t.peerRoundTrip.get(peer), prev?.peerRoundTrip.get(peer), h)!);
    }
    t.leaderChanges = counter(t.leaderChanges, prev?.leaderChanges, cur.leaderChanges);
    t.heartbeatSendFailures = counter(t.heartbeatSendFailures, prev?.heartbeatSendFailures, cur.heartbeatSendFailures);
    t.slowApplies = counter(t.slowApplies, prev?.slowApplies, cur.slowApplies);
    t.proposalsFailed = counter(t.proposalsFailed, prev?.proposalsFailed, cur.proposalsFailed);
  }
}
