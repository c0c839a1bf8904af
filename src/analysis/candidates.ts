// The candidate filesystems (--candidate-dir): for each, what the election model predicts if etcd's WAL
// saw there what the agent's low-rate probe saw, at the running settings and this cluster's size and
// peer RTT, and which settings it would then need. The same model and targets as for etcd's own disk,
// so "the local SSD fits at 100/1000, the volume needs 250/2500" compares like with like.
import { observations, quantile } from '../lib/histogram.js';
import { seconds } from '../lib/units.js';
import type { CandidateAssessment, CandidateEvidence, Evidence } from '../model/diagnosis.js';
import { tuningFor, tuningWarranted } from './recommendation.js';
import type { Thresholds } from './thresholds.js';

export function assessCandidate(c: CandidateEvidence, ev: Evidence, th: Thresholds): CandidateAssessment {
  const count = c.measured ? observations(c.measured.histogram) : 0;
  const base = { dir: c.dir, observations: count, window: c.measured?.window ?? seconds(0) };
  if (c.problem) return { ...base, verdict: 'unusable', problem: c.problem };
  // A p99 of fewer is their slowest one or two: no verdict on that, as for etcd's own disk.
  if (!c.measured || count < th.minTailObservations) return { ...base, verdict: 'measuring' };
  const p99 = quantile(c.measured.histogram, 0.99);
  const model = tuningFor({ stalls: c.measured, source: 'probe' }, ev, th);
  const assessed = { ...base, ...(p99 !== undefined ? { p99: seconds(p99) } : {}), atRunning: model.current };
  if (!tuningWarranted(model)) return { ...assessed, verdict: p99 !== undefined && p99 * 1000 > th.walFsyncP99 ? 'slow' : 'fits' };
  return model.meetsTarget ? { ...assessed, verdict: 'needs_tuning', needs: model.recommended } : { ...assessed, verdict: 'unfit' };
}

export function assessCandidates(ev: Evidence, th: Thresholds): CandidateAssessment[] {
  return ev.candidates.map((c) => assessCandidate(c, ev, th));
}
