// The diagnosis: rules → findings (with hysteresis), the election model → predictions and the tuning
// recommendation, the findings → the disk recommendation, and the verdict. Pure: the time is
// `ev.now`, the memory of past evaluations is the FindingTracker passed in and returned.
import { activeFindings, EMPTY_TRACKER, track, type FindingTracker } from './hysteresis.js';
import { diskRecommendation, leadershipOf, tuningFromEvidence, tuningWarranted } from './recommendation.js';
import { runRules } from './rules/index.js';
import { assessCandidates } from './candidates.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';
import type { Diagnosis, Evidence, Finding, Verdict } from '../model/diagnosis.js';

export interface DiagnoseResult {
  readonly diagnosis: Diagnosis;
  /** Pass it to the next evaluation. */
  readonly tracker: FindingTracker;
}

/** True when the agent has any view of the disk (probe) or of etcd: otherwise the verdict is unknown. */
export function hasEvidence(ev: Evidence): boolean {
  const probe = ev.probe !== undefined || ev.probePoints.length > 0;
  const etcd = ev.etcdReachable || ev.walFsync !== undefined || ev.backendCommit !== undefined || ev.peerRoundTrip !== undefined;
  return probe || etcd;
}

/** critical → at_risk, warning → degraded, else healthy; unknown without any evidence. */
export function verdictOf(ev: Evidence, findings: readonly Finding[]): Verdict {
  if (!hasEvidence(ev)) return 'unknown';
  if (findings.some((f) => f.severity === 'critical')) return 'at_risk';
  if (findings.some((f) => f.severity === 'warning')) return 'degraded';
  return 'healthy';
}

export function diagnose(ev: Evidence, th: Thresholds = DEFAULT_THRESHOLDS, previous?: FindingTracker): DiagnoseResult {
  const tracker = track(previous ?? EMPTY_TRACKER, runRules(ev, th), ev.now, th.clearAfter);
  const findings = activeFindings(tracker);
  const model = tuningFromEvidence(ev, th);
  const tuning = model && tuningWarranted(model) ? model : undefined;
  const disk = diskRecommendation(ev, findings);
  const diagnosis: Diagnosis = {
    at: ev.now,
    verdict: verdictOf(ev, findings),
    findings,
    ...(tuning ? { tuning } : {}),
    ...(disk ? { disk } : {}),
    ...(model && ev.settings ? { current: model.current } : {}),
    ...(model ? { leadership: leadershipOf(ev.role, model.current) } : {}),
    candidates: assessCandidates(ev, th),
  };
  return { diagnosis, tracker };
}
