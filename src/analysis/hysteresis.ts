// Hysteresis for findings, so a rule hovering around its threshold does not raise and clear a finding
// every evaluation. Pure and immutable: each evaluation returns a new tracker.
//
// - A finding becomes active as soon as its rule fires; `since` is that evaluation's time.
// - It stays active until its rule has been silent for `clearAfter` of evaluation time (while silent,
//   the last figures are shown); if the rule fires again before that, nothing changes but the figures.
// - `since` is kept while the finding is active.
// - Severity rises at once; it falls only after the higher severity has not been seen for `clearAfter`.
import { SEVERITIES, type Finding, type RawFinding, type Severity } from '../model/diagnosis.js';
import type { Seconds } from '../lib/units.js';

export interface TrackedFinding {
  /** What is shown: the latest figures of the rule, with the held severity and `since`. */
  readonly finding: Finding;
  /** The last evaluation at which the rule fired. */
  readonly lastFired: Date;
  /** The last evaluation at which the rule fired at (or above) the severity shown. */
  readonly lastAtSeverity: Date;
}

export interface FindingTracker {
  /** Active findings, in the order they first became active. */
  readonly tracked: readonly TrackedFinding[];
}

export const EMPTY_TRACKER: FindingTracker = Object.freeze({ tracked: Object.freeze([]) as readonly TrackedFinding[] });

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

const elapsed = (from: Date, to: Date): number => Math.max(0, to.getTime() - from.getTime()) / 1000;

/** One evaluation: the rules' findings at `now` folded into the previous tracker. */
export function track(previous: FindingTracker, fired: readonly RawFinding[], now: Date, clearAfter: Seconds): FindingTracker {
  const byCode = new Map<string, RawFinding>();
  for (const f of fired) byCode.set(f.code, f);
  const out: TrackedFinding[] = [];
  for (const t of previous.tracked) {
    const raw = byCode.get(t.finding.code);
    byCode.delete(t.finding.code);
    if (raw) {
      out.push(refresh(t, raw, now, clearAfter));
    } else if (elapsed(t.lastFired, now) < clearAfter) {
      out.push(t); // silent, but not for long enough: still active, last figures
    }
  }
  for (const raw of byCode.values()) {
    out.push({ finding: { ...raw, since: now }, lastFired: now, lastAtSeverity: now });
  }
  return { tracked: out };
}

function refresh(t: TrackedFinding, raw: RawFinding, now: Date, clearAfter: Seconds): TrackedFinding {
  const held = t.finding.severity;
  const rises = severityRank(raw.severity) >= severityRank(held);
  const mayFall = elapsed(t.lastAtSeverity, now) >= clearAfter;
  const severity = rises || mayFall ? raw.severity : held;
  return {
    finding: { ...raw, severity, since: t.finding.since },
    lastFired: now,
    lastAtSeverity: rises || mayFall ? now : t.lastAtSeverity,
  };
}

/** The findings active in a tracker: most severe first, then by code. */
export function activeFindings(t: FindingTracker): Finding[] {
  return t.tracked
    .map((x) => x.finding)
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}
