// The sources' shared interface and their names (the closed set the metrics label with).
import type { Outcome } from '../lib/outcome.js';
import type { Milliseconds } from '../lib/units.js';

export const SOURCE_NAMES = ['fsync_probe', 'diskstats', 'etcd_metrics', 'etcd_health', 'etcd_api', 'etcd_config', 'processes', 'cgroup_io', 'candidate_probe', 'peer_agents'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/**
 * A source knows one piece of the world. It never throws for a problem of that world (etcd down,
 * file missing): it returns a failure. The agent calls `sample` on the source's own schedule.
 */
export interface Source<T> {
  readonly name: SourceName;
  readonly interval: Milliseconds;
  sample(now: Date): Promise<Outcome<T>>;
  /** Releases what the source holds (files, connections). Called once, on shutdown. */
  close?(): Promise<void>;
}
