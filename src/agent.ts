// Runs each source on its own schedule and records what it returns. Scrapes and API calls only read
// the state: sampling never happens on a request's path, so a slow etcd cannot slow a scrape.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './log.js';
import { errorMessage, failure, type Outcome, type Source, type SourceName } from './sources/source.js';
import { AgentState, type SampleOf, type StateChange } from './state.js';
import { seconds, type Milliseconds } from './units.js';
import { diagnose } from './analysis/diagnose.js';
import type { FindingTracker } from './analysis/hysteresis.js';
import type { Thresholds } from './analysis/thresholds.js';
import { collectEvidence } from './evidence.js';

export type AnySource = { [K in SourceName]: Source<SampleOf[K]> }[SourceName];

export interface Agent {
  readonly state: AgentState;
  /** Stops sampling, waits for samples in flight, then closes every source. Idempotent. */
  stop(): Promise<void>;
}

export interface DiagnosisSchedule {
  readonly thresholds: Thresholds;
  readonly interval: Milliseconds;
}

/** Starts every source; with a schedule, also re-evaluates the diagnosis (the `run` command does). */
export function startAgent(sources: readonly AnySource[], log: Logger, schedule?: DiagnosisSchedule): Agent {
  const state = new AgentState(new Date(), new Set(sources.map((s) => s.name)));
  const abort = new AbortController();
  const loops = sources.map((source) => runLoop(source, state, log, abort.signal));
  if (schedule) loops.push(diagnosisLoop(state, schedule, log, abort.signal));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      abort.abort();
      await Promise.all(loops);
      await Promise.all(sources.map((s) => closeQuietly(s, log)));
    })());
  return { state, stop };
}

async function runLoop(source: AnySource, state: AgentState, log: Logger, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const started = performance.now();
    const at = new Date();
    const outcome = await sampleSafely(source, at);
    const duration = seconds((performance.now() - started) / 1000);
    const change = state.record(source.name, outcome as Outcome<SampleOf[typeof source.name]>, at, duration);
    if (change) logChange(log, change, source.interval);
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
async function diagnosisLoop(state: AgentState, schedule: DiagnosisSchedule, log: Logger, signal: AbortSignal): Promise<void> {
  let tracker: FindingTracker | undefined;
  while (!signal.aborted) {
    try {
      await sleep(schedule.interval, undefined, { signal });
    } catch {
      return;
    }
    const now = new Date();
    const before = new Set(state.diagnosis?.findings.map((f) => f.code));
    const result = diagnose(collectEvidence(state, now, schedule.thresholds), schedule.thresholds, tracker);
    tracker = result.tracker;
    state.diagnosis = result.diagnosis;
    for (const f of result.diagnosis.findings) {
      if (!before.has(f.code)) log.warn(`finding: ${f.summary}`, { code: f.code, severity: f.severity, remedy: f.remedy });
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

async function closeQuietly(source: AnySource, log: Logger): Promise<void> {
  try {
    await source.close?.();
  } catch (err) {
    log.warn('closing source failed', { source: source.name, error: errorMessage(err) });
  }
}
