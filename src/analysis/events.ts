// Stalls that threaten leadership, as events: the fdatasyncs of one probe round, and the new
// observations of etcd's WAL fsync histogram since its last scrape, that reach the stall warning
// fraction of the running election timeout. The state counts elections itself (raft terms need no
// judgement); whether a stall threatens leadership needs the thresholds and the running settings,
// which the analysis holds. Reads the state, changes nothing.
import { maxBucketLowerBound, provenCountAbove, histogramDelta, type HistogramSnapshot } from '../lib/histogram.js';
import type { StallEvent } from '../model/diagnosis.js';
import type { SourceName } from '../sources/source.js';
import type { AgentState } from '../state/state.js';
import { seconds, type Seconds } from '../lib/units.js';
import { ETCD_DEFAULT_ELECTION } from './election-model.js';
import { etcdSettings, memberRole } from './evidence.js';
import { stallWarningLimit, type Thresholds } from './thresholds.js';

/** What the state held before a sample was recorded, to tell what the sample added. */
export interface BeforeRecord {
  readonly walFsync?: HistogramSnapshot;
}

/** The stall length that threatens leadership now: with the running election timeout, else etcd's default. */
export function stallLimit(state: AgentState, th: Thresholds): Seconds {
  return stallWarningLimit(th, etcdSettings(state)?.election.value ?? ETCD_DEFAULT_ELECTION);
}

/** The stall event the sample of `name` recorded `at` holds, if any. */
export function stallEventOf(state: AgentState, name: SourceName, before: BeforeRecord, at: Date, th: Thresholds): StallEvent | undefined {
  const limit = stallLimit(state, th);
  const seen = name === 'fsync_probe' ? probeStalls(state, at, limit) : name === 'etcd_metrics' ? walStalls(state, before, at, limit) : undefined;
  if (seen === undefined || seen.count < 1) return undefined;
  const role = memberRole(state, at);
  return { at, ...seen, limit, ...(role ? { role } : {}) };
}

type Seen = Pick<StallEvent, 'source' | 'count' | 'longest'>;

/** The probe round just recorded: each fdatasync that reached the limit, measured exactly. */
function probeStalls(state: AgentState, at: Date, limit: Seconds): Seen | undefined {
  const round = state.sources.fsync_probe;
  if (!round.up || round.latest?.at !== at) return undefined;
  const over = round.latest.value.durations.filter((d) => d >= limit);
  return over.length === 0 ? undefined : { source: 'probe', count: over.length, longest: seconds(Math.max(...over)) };
}

/**
 * etcd's WAL fsyncs since the scrape before: those its buckets prove above the limit (a stall inside
 * the bucket that holds the limit is not counted, as the stalls finding does not count it).
 */
function walStalls(state: AgentState, before: BeforeRecord, at: Date, limit: Seconds): Seen | undefined {
  const cur = state.etcd.walFsync;
  if (!before.walFsync || !cur || state.sources.etcd_metrics.latest?.at !== at) return undefined;
  const added = histogramDelta(before.walFsync, cur);
  const count = provenCountAbove(added, limit);
  const longest = maxBucketLowerBound(added);
  return count === undefined || longest === undefined ? undefined : { source: 'etcd_wal_fsync', count, longest: seconds(longest) };
}
