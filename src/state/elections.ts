// Elections counted from raft terms. Raft increments a member's term once per campaign (a candidate
// bumps its term before asking for votes; every member that hears of the higher term adopts it), so
// the increase of the term between two observations is the number of elections started in between,
// whether they succeeded or split. Pure: terms in, tally out.

export interface ElectionTally {
  /** The term of the latest observation; undefined before the first one. */
  readonly lastTerm?: number;
  /** Elections counted since the first observation (monotonic). */
  readonly elections: number;
}

/**
 * Folds one observed term into the tally.
 * - first observation: remembers the term, counts nothing (the member's history is unknown);
 * - an increase of d: counts d;
 * - same term: nothing;
 * - a decrease (the member's data was replaced, e.g. restored from a snapshot or re-created): re-bases
 *   on the new term without uncounting anything;
 * - a term that is not a finite non-negative integer is ignored.
 */
export function observeTerm(tally: ElectionTally, term: number): ElectionTally {
  if (!Number.isSafeInteger(term) || term < 0) return tally;
  if (tally.lastTerm === undefined || term < tally.lastTerm) return { lastTerm: term, elections: tally.elections };
  if (term === tally.lastTerm) return tally;
  return { lastTerm: term, elections: tally.elections + (term - tally.lastTerm) };
}
