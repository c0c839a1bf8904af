// What the agent knows: for each source, its latest sample, its last error and its counters; and the
// totals derived from successive samples (monotonic re-exports, elections). Updated only when a
// source reports; read by every output, which therefore render the same knowledge.
import { accumulate, accumulateCounter, emptyHistogram, observe, sumHistograms, type HistogramSnapshot } from '../lib/histogram.js';
import type { Diagnosis, ElectionEvent, MaintenanceEvent, MaintenanceKind, ProbePoint, StallEvent, StallSource, TopWriter } from '../model/diagnosis.js';
import { maintenanceBetween } from './maintenance.js';
import { TimeRing } from '../lib/time-ring.js';
import { observeTerm, type ElectionTally } from './elections.js';
import type { DiskSample } from '../sources/diskstats.js';
import type { EtcdMetricsSample } from '../sources/etcd-metrics.js';
import type { ProbeOff, ProbeSample } from '../sources/fsync-probe.js';
import type { CandidateResult, CandidateSample } from '../sources/candidate-probe.js';
import { SOURCE_NAMES, type SourceName } from '../sources/source.js';
import type { SampleOf } from '../sources/registry.js';
import { type FailureReason, type Outcome } from '../lib/outcome.js';
import { bytes, seconds, type Bytes, type Seconds } from '../lib/units.js';
import { PROBE_BUCKETS } from '../sources/fsync-probe.js';

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
  /** Maintenance completed since the agent started, by kind: operations and seconds. */
  readonly maintenance: Map<MaintenanceKind, { count: number; seconds: number }>;
}

export interface ProbeTotals {
  fdatasync: HistogramSnapshot;
  writtenBytes: Bytes;
  lastRoundMax?: Seconds;
}

/** Cumulative totals at one moment: windows are the difference between two of these. */
export interface TotalsPoint {
  readonly at: Date;
  readonly probe?: HistogramSnapshot;
  readonly walFsync?: HistogramSnapshot;
  readonly backendCommit?: HistogramSnapshot;
  readonly peerRoundTrip?: HistogramSnapshot;
}

/** The processes writing most to etcd's device, as of one sample. */
export interface TopWriters {
  readonly at: Date;
  readonly writers: readonly TopWriter[];
}

export interface DiskPoint {
  readonly at: Date;
  readonly sample: DiskSample;
}

/** How far back the agent remembers: the longest analysis window plus the minute before an election. */
export const HISTORY_RETENTION_MS = 60 * 60 * 1000;
/** Elections are kept longer, so a rate per day means something. */
export const ELECTION_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Totals are snapshotted at most this often: windows need minutes, not every sample. */
const TOTALS_EVERY_MS = 5000;

export interface History {
  readonly totals: TimeRing<TotalsPoint>;
  readonly probePoints: TimeRing<ProbePoint>;
  readonly disk: TimeRing<DiskPoint>;
  readonly elections: TimeRing<ElectionEvent>;
  /** For the page's marks: the last hour, at most one event per probe round and per etcd scrape. */
  readonly stalls: TimeRing<StallEvent>;
  /** etcd's maintenance seen between scrapes, the last hour: at most a few events per scrape. */
  readonly maintenance: TimeRing<MaintenanceEvent>;
}

/** What saw a leadership event: raft terms (elections) or a source of stalls. */
export type EventSource = 'raft_term' | StallSource;

/**
 * Leadership events since the agent started, per source and UTC hour of day (index 0–23): how a
 * nightly job shows. Cumulative, for a counter; the hours of one source all exist from the start, so
 * a rate over them never misses the first event of an hour.
 */
export type EventsByHour = Map<EventSource, number[]>;

const HOURS_PER_DAY = 24;

/** What the agent knows of one candidate filesystem: its fdatasyncs since the first measured round, and its last result. */
export interface CandidateTotals {
  fdatasync: HistogramSnapshot;
  /** The first round measured there; undefined while none was. */
  since?: Date;
  last: { readonly at: Date; readonly result: CandidateResult };
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
  readonly etcd: EtcdTotals = { peerRoundTrip: new Map(), maintenance: new Map() };
  elections: ElectionTally = { elections: 0 };
  /** The latest top writers; kept apart from the source's status so a failed round does not erase them. */
  topWriters?: TopWriters;
  /** The latest diagnosis; undefined until the first evaluation. */
  diagnosis?: Diagnosis;
  readonly history: History = {
    totals: new TimeRing(HISTORY_RETENTION_MS, HISTORY_RETENTION_MS / TOTALS_EVERY_MS + 10),
    probePoints: new TimeRing(HISTORY_RETENTION_MS, 20_000),
    disk: new TimeRing(HISTORY_RETENTION_MS, 20_000),
    elections: new TimeRing(ELECTION_RETENTION_MS, 10_000),
    stalls: new TimeRing(HISTORY_RETENTION_MS, 4_000),
    maintenance: new TimeRing(HISTORY_RETENTION_MS, 4_000),
  };
  readonly eventsByHour: EventsByHour = new Map();
  /** By directory, in the order the candidates were given. */
  readonly candidates = new Map<string, CandidateTotals>();
  /** When etcd last told the raft term: an election it shows next came after this. */
  private termSeenAt?: Date;
  readonly startedAt: Date;

  constructor(
    now: Date,
    readonly enabled: ReadonlySet<SourceName>,
    /** The probe was asked for but is off: its directory is not on etcd's filesystem. */
    readonly probeOff?: ProbeOff,
  ) {
    this.startedAt = now;
    const make = <K extends SourceName>(name: K): SourceStatus<SampleOf[K]> => ({ name, attempts: 0, errors: new Map() });
    this.sources = {
      fsync_probe: make('fsync_probe'),
      diskstats: make('diskstats'),
      etcd_metrics: make('etcd_metrics'),
      etcd_health: make('etcd_health'),
      etcd_api: make('etcd_api'),
      etcd_config: make('etcd_config'),
      processes: make('processes'),
      cgroup_io: make('cgroup_io'),
      candidate_probe: make('candidate_probe'),
      peer_agents: make('peer_agents'),
    };
    const counted: ReadonlyArray<[SourceName, EventSource]> = [
      ['etcd_api', 'raft_term'],
      ['fsync_probe', 'probe'],
      ['etcd_metrics', 'etcd_wal_fsync'],
    ];
    for (const [source, events] of counted) if (enabled.has(source)) this.eventsByHour.set(events, new Array<number>(HOURS_PER_DAY).fill(0));
  }

  /** Counts `n` leadership events seen `at` by `source` in their hour of day (UTC). */
  private countEvents(source: EventSource, at: Date, n: number): void {
    const hours = this.eventsByHour.get(source);
    if (hours) hours[at.getUTCHours()]! += n;
  }

  /** Records stalls that threaten leadership, found by the analysis in a sample just recorded. */
  recordStall(e: StallEvent): void {
    this.history.stalls.push(e);
    this.countEvents(e.source, e.at, e.count);
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
      this.derive(name, status.latest?.value, outcome.value, at);
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

  private derive<K extends SourceName>(name: K, prev: SampleOf[K] | undefined, cur: SampleOf[K], at: Date): void {
    // TypeScript cannot narrow a table entry by a generic key; the table's type ties each entry to its name.
    (DERIVATIONS[name] as Derivation<K> | undefined)?.(this, prev, cur, at);
  }

  /** @internal for DERIVATIONS */
  deriveProbe(s: ProbeSample, at: Date): void {
    this.probe.fdatasync = observe(this.probe.fdatasync, s.durations);
    this.probe.writtenBytes = bytes(this.probe.writtenBytes + s.writtenBytes);
    this.probe.lastRoundMax = s.durations.length > 0 ? seconds(Math.max(...s.durations)) : undefined;
    if (this.probe.lastRoundMax !== undefined) this.history.probePoints.push({ at, max: this.probe.lastRoundMax });
    this.snapshotTotals(at);
  }

  /** @internal for DERIVATIONS */
  deriveElections(term: number, at: Date): void {
    const before = this.elections;
    this.elections = observeTerm(before, term);
    if (this.elections.elections > before.elections && before.lastTerm !== undefined) {
      this.history.elections.push({ at, ...(this.termSeenAt ? { after: this.termSeenAt } : {}), termFrom: before.lastTerm, termTo: term });
      this.countEvents('raft_term', at, term - before.lastTerm);
    }
    this.termSeenAt = at;
  }

  /** @internal for DERIVATIONS */
  deriveCandidates(s: CandidateSample, at: Date): void {
    for (const result of s.results) {
      const c = this.candidates.get(result.dir) ?? { fdatasync: emptyHistogram(PROBE_BUCKETS), last: { at, result } };
      c.last = { at, result };
      if (result.ok) {
        c.fdatasync = observe(c.fdatasync, result.round.durations);
        c.since ??= at;
      }
      this.candidates.set(result.dir, c);
    }
  }

  /** Appends the current totals to history, at most every TOTALS_EVERY_MS. */
  private snapshotTotals(at: Date): void {
    const last = this.history.totals.latest();
    if (last && at.getTime() - last.at.getTime() < TOTALS_EVERY_MS) return;
    this.history.totals.push(this.totals(at));
  }

  /** The cumulative totals now, stamped `at`. */
  totals(at: Date): TotalsPoint {
    const peers = sumHistograms([...this.etcd.peerRoundTrip.values()]);
    return {
      at,
      ...(this.enabled.has('fsync_probe') ? { probe: this.probe.fdatasync } : {}),
      ...(this.etcd.walFsync ? { walFsync: this.etcd.walFsync } : {}),
      ...(this.etcd.backendCommit ? { backendCommit: this.etcd.backendCommit } : {}),
      ...(peers ? { peerRoundTrip: peers } : {}),
    };
  }

  /** @internal for DERIVATIONS */
  deriveEtcd(prev: EtcdMetricsSample | undefined, cur: EtcdMetricsSample, at: Date): void {
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
    // The previous scrape's time: the sample's status still holds it while its successor is derived.
    const from = this.sources.etcd_metrics.latest?.at;
    if (prev && from) {
      for (const e of maintenanceBetween(prev, cur, from, at)) {
        this.history.maintenance.push(e);
        if (e.running) continue;
        const total = t.maintenance.get(e.kind) ?? { count: 0, seconds: 0 };
        t.maintenance.set(e.kind, { count: total.count + e.count, seconds: total.seconds + e.seconds });
      }
    }
    for (const kind of Object.keys(cur.maintenance ?? {}) as MaintenanceKind[]) if (!t.maintenance.has(kind)) t.maintenance.set(kind, { count: 0, seconds: 0 });
    this.snapshotTotals(at);
  }
}

/** What a sample of one source adds to the state beyond being the latest (history, totals). */
type Derivation<K extends SourceName> = (state: AgentState, prev: SampleOf[K] | undefined, cur: SampleOf[K], at: Date) => void;

/** The derivations by source; a source without an entry is only its latest sample (etcd_config, etcd_health). */
const DERIVATIONS: { readonly [K in SourceName]?: Derivation<K> } = {
  fsync_probe: (state, _prev, cur, at) => state.deriveProbe(cur, at),
  etcd_metrics: (state, prev, cur, at) => state.deriveEtcd(prev, cur, at),
  etcd_api: (state, _prev, cur, at) => state.deriveElections(cur.raftTerm, at),
  diskstats: (state, _prev, cur, at) => state.history.disk.push({ at, sample: cur }),
  candidate_probe: (state, _prev, cur, at) => state.deriveCandidates(cur, at),
  processes: (state, _prev, cur, at) => {
    state.topWriters = { at, writers: cur.writers };
  },
};
