// Bounded, time-ordered memory of past samples: enough to compute windows and to explain past
// elections, never growing with uptime.

export interface Timed {
  readonly at: Date;
}

/** Keeps entries younger than `retentionMs`, at most `maxEntries`, oldest first. */
export class TimeRing<T extends Timed> {
  private entries: T[] = [];
  constructor(
    private readonly retentionMs: number,
    private readonly maxEntries: number,
  ) {}

  push(entry: T): void {
    this.entries.push(entry);
    const cutoff = entry.at.getTime() - this.retentionMs;
    let drop = 0;
    while (drop < this.entries.length && (this.entries[drop]!.at.getTime() < cutoff || this.entries.length - drop > this.maxEntries)) drop++;
    if (drop > 0) this.entries = this.entries.slice(drop);
  }

  latest(): T | undefined {
    return this.entries[this.entries.length - 1];
  }

  /** The oldest entry at or after `since` (so a window shorter than asked when history is young); the latest when none is that recent. */
  startOfWindow(since: Date): T | undefined {
    const t = since.getTime();
    return this.entries.find((e) => e.at.getTime() >= t) ?? this.latest();
  }

  /** The newest entry at or before `t`. */
  atOrBefore(t: Date): T | undefined {
    const ms = t.getTime();
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.at.getTime() <= ms) return this.entries[i];
    return undefined;
  }

  since(since: Date): T[] {
    const t = since.getTime();
    return this.entries.filter((e) => e.at.getTime() >= t);
  }

  all(): readonly T[] {
    return this.entries;
  }
}
