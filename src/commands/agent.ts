// Runs each source on its own schedule and records what it returns. Scrapes and API calls only read
// the state: sampling never happens on a request's path, so a slow etcd cannot slow a scrape.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/log.js';
import type { ProbeOff } from '../sources/fsync-probe.js';
import { errorMessage } from '../lib/errors.js';
import { failure, type Outcome } from '../lib/outcome.js';
import type { SourceName } from '../sources/source.js';
import { AgentState, type StateChange } from '../state/state.js';
import { seconds, type Milliseconds, type Seconds } from '../lib/units.js';
import { diagnose } from '../analysis/diagnose.js';
import type { FindingTracker } from '../analysis/hysteresis.js';
import type { Thresholds } from '../analysis/thresholds.js';
import { collectEvidence } from '../analysis/evidence.js';
import { stallEventOf, type BeforeRecord } from '../analysis/events.js';
import type { AnySource, SampleOf } from '../sources/registry.js';

export interface Agent {
  readonly state: AgentState;
  /** Stops sampling, waits for samples in flight, then closes every source. Idempotent. */
  stop(): Promise<void>;
}

/** What the agent knows of itself from its start that no source samples. */
export interface AgentContext {
  readonly probeOff?: ProbeOff;
}

export interface DiagnosisSchedule {
  readonly thresholds: Thresholds;
  readonly interval: Milliseconds;
}

/** The longest the probe waits for the other sources' first samples (an etcd that does not answer takes its timeout). */
const STARTUP_GRACE_MS = 5000;

/** Starts every source; with a schedule, also re-evaluates the diagnosis (the `run` command does). */
export function startAgent(sources: readonly AnySource[], log: Logger, schedule?: DiagnosisSchedule, context: AgentContext = {}): Agent {
  const state = new AgentState(new Date(), new Set(sources.map((s) => s.name)), context.probeOff);
  const abort = new AbortController();
  const wake = new Wakeup();
  // A stall or an election is news that cannot wait for the next scheduled evaluation.
  const record: Recorder = (name, outcome, at, duration) => {
    const { change, news } = recordSample(state, name, outcome, at, duration, schedule?.thresholds);
    if (news) wake.wake();
    return change;
  };
  // The agent's own start-up (modules loaded on first use, first connections, the first parse of
  // etcd's /metrics) keeps the event loop busy for a moment, and a probe round then times that rather
  // than the disk: a 25–32 ms fdatasync in the first 2 s of one start in three on a RAM-backed disk.
  // The probe begins once the other sources have sampled once, or after STARTUP_GRACE_MS.
  const others = sources.filter((s) => s.name !== 'fsync_probe');
  const firsts = others.map(() => {
    let resolve = (): void => undefined;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  });
  const started = Promise.race([Promise.all(firsts.map((f) => f.promise)), sleep(STARTUP_GRACE_MS, undefined, { signal: abort.signal }).catch(() => undefined)]);
  const loops = sources.map((source) => {
    const i = others.indexOf(source);
    return i < 0 ? started.then(() => runLoop(source, record, log, abort.signal)) : runLoop(source, record, log, abort.signal, firsts[i]!.resolve);
  });
  if (schedule) loops.push(diagnosisLoop(state, schedule, log, abort.signal, wake));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      abort.abort();
      await Promise.all(loops);
      await Promise.all(sources.map((s) => closeQuietly(s, log)));
    })());
  return { state, stop };
}

type Recorder = (name: SourceName, outcome: Outcome<unknown>, at: Date, duration: Seconds) => StateChange | undefined;

/** What a record() is compared against to tell whether it brought news. */
interface RecordedBefore extends BeforeRecord {
  readonly elections: number;
}

/**
 * Records one sample of source `name`; with the thresholds, also the stall that threatens leadership it
 * holds (an event), and says whether it is news the diagnosis should look at now (a stall, an election).
 */
export function recordSample(
  state: AgentState,
  name: SourceName,
  outcome: Outcome<unknown>,
  at: Date,
  duration: Seconds,
  thresholds?: Thresholds,
): { change?: StateChange; news: boolean } {
  const before: RecordedBefore = { elections: state.elections.elections, ...(state.etcd.walFsync ? { walFsync: state.etcd.walFsync } : {}) };
  const change = state.record(name, outcome as Outcome<SampleOf[typeof name]>, at, duration);
  if (!thresholds) return { ...(change ? { change } : {}), news: false };
  const stall = stallEventOf(state, name, before, at, thresholds);
  if (stall) state.recordStall(stall);
  return { ...(change ? { change } : {}), news: urgent(state, name, before, thresholds) };
}

/** True when the sample just recorded holds a stall or a new election: the diagnosis should look now. */
function urgent(state: AgentState, name: SourceName, before: RecordedBefore, thresholds: Thresholds): boolean {
  if (name === 'fsync_probe') {
    const max = state.probe.lastRoundMax;
    return state.sources.fsync_probe.up === true && max !== undefined && max * 1000 >= thresholds.stallThreshold;
  }
  return name === 'etcd_api' && state.elections.elections > before.elections;
}

/** A sleep that a wake-up cuts short; a wake-up while nobody sleeps ends the next sleep at once. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    if (this.resolve) this.resolve();
    else this.pending = true;
  }

  /** Resolves after `ms` or at a wake-up; rejects at abort, as timers/promises' sleep does. */
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.pending) {
      this.pending = false;
      return;
    }
    const timer = new AbortController();
    const woken = new Promise<void>((resolve) => (this.resolve = resolve));
    try {
      await Promise.race([sleep(ms, undefined, { signal: AbortSignal.any([signal, timer.signal]) }), woken]);
    } finally {
      this.resolve = undefined;
      timer.abort();
    }
  }
}

async function runLoop(source: AnySource, record: Recorder, log: Logger, signal: AbortSignal, onFirstSample?: () => void): Promise<void> {
  let notes: ReadonlySet<string> = new Set();
  while (!signal.aborted) {
    const started = performance.now();
    const at = new Date();
    const outcome = await sampleSafely(source, at);
    const duration = seconds((performance.now() - started) / 1000);
    const change = record(source.name, outcome, at, duration);
    if (change) logChange(log, change, source.interval);
    if (outcome.ok) notes = logNewNotes(log, source.name, notes, outcome.value);
    onFirstSample?.();
    const wait = Math.max(0, source.interval - (performance.now() - started));
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      return; // aborted: the agent is stopping
    }
  }
}

/**
 * Re-evaluates the diagnosis on its own schedule, so every output reads the same Diagnosis object
 * and none of them computes it on a request's path.
 */
async function diagnosisLoop(state: AgentState, schedule: DiagnosisSchedule, log: Logger, signal: AbortSignal, wake: Wakeup): Promise<void> {
  let tracker: FindingTracker | undefined;
  while (!signal.aborted) {
    try {
      // Every --diagnosis-interval, and at once after a probe round with a stall or a new election.
      await wake.sleep(schedule.interval, signal);
    } catch {
      return;
    }
    const now = new Date();
    const before = new Set(state.diagnosis?.findings.map((f) => f.code));
    const result = diagnose(collectEvidence(state, now, schedule.thresholds), schedule.thresholds, tracker);
    tracker = result.tracker;
    state.diagnosis = result.diagnosis;
    for (const f of result.diagnosis.findings) {
      // An info finding (a shared but fast disk, unknown settings) is not a warning in the log either.
      if (!before.has(f.code)) (f.severity === 'info' ? log.info : log.warn).call(log, `finding: ${f.summary}`, { code: f.code, severity: f.severity, remedy: f.remedy });
    }
    for (const code of before) {
      if (!result.diagnosis.findings.some((f) => f.code === code)) log.info('finding cleared', { code });
    }
  }
}

/** A source must not throw; if one does anyway, that is a bug, but it must not stop the agent. */
async function sampleSafely(source: AnySource, at: Date): Promise<Outcome<unknown>> {
  try {
    return await source.sample(at);
  } catch (err) {
    return failure('other', `unexpected error in source ${source.name}: ${errorMessage(err)}`);
  }
}

function logChange(log: Logger, change: StateChange, retry: number): void {
  const fields = { source: change.source, reason: change.error?.reason, error: change.error?.message };
  switch (change.kind) {
    case 'first_success':
      log.info('source is up', fields);
      break;
    case 'recovered':
      log.info('source recovered', fields);
      break;
    case 'failed':
    case 'failure_changed':
      log.warn(`source failed; retrying every ${retry} ms`, fields);
      break;
  }
}

/**
 * A sample may carry `notes` (what is missing or odd: no flush counters on an old kernel, a manifest
 * that disagrees with the running etcd). Each is logged once, when it first appears; not on every
 * sample, and not again after a failure and recovery while it stays the same.
 */
function logNewNotes(log: Logger, source: string, before: ReadonlySet<string>, value: unknown): ReadonlySet<string> {
  const list = typeof value === 'object' && value !== null && Array.isArray((value as { notes?: unknown }).notes) ? (value as { notes: unknown[] }).notes : [];
  const now = new Set(list.filter((n): n is string => typeof n === 'string'));
  for (const n of now) if (!before.has(n)) log.info(n, { source });
  return now;
}

async function closeQuietly(source: AnySource, log: Logger): Promise<void> {
  try {
    await source.close?.();
  } catch (err) {
    log.warn('closing source failed', { source: source.name, error: errorMessage(err) });
  }
}
