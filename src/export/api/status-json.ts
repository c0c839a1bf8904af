// GET /api/v1/status: each enabled source's state, as the page and operators' scripts read it.
// Schema: docs/api.md; a change that breaks a reader bumps STATUS_SCHEMA_VERSION.
import type { FailureReason } from '../../lib/outcome.js';
import type { Seconds } from '../../lib/units.js';
import type { SourceError, AgentState } from '../../state/state.js';
import { SOURCE_NAMES, type SourceName } from '../../sources/source.js';

export const STATUS_SCHEMA_VERSION = 1;

export interface SourceStatusDocument {
  /** null before the first sample. */
  readonly up: boolean | null;
  readonly attempts: number;
  readonly lastSuccessAt: Date | null;
  readonly lastSampleSeconds: Seconds | null;
  readonly lastError: SourceError | null;
  readonly errors: ReadonlyMap<FailureReason, number>;
  readonly latest: { readonly at: Date; readonly value: unknown } | null;
}

export interface StatusDocument {
  readonly schemaVersion: number;
  readonly version: string;
  readonly startedAt: Date;
  readonly ready: boolean;
  readonly elections: number;
  /** By source name (SOURCE_NAMES); only the enabled sources. */
  readonly sources: Readonly<Record<string, SourceStatusDocument>>;
}

export function statusDocument(state: AgentState, version: string): StatusDocument {
  const sources = Object.fromEntries(
    SOURCE_NAMES.filter((n) => state.enabled.has(n)).map((n): [SourceName, SourceStatusDocument] => {
      const s = state.sources[n];
      return [
        n,
        {
          up: s.up ?? null,
          attempts: s.attempts,
          lastSuccessAt: s.lastSuccessAt ?? null,
          lastSampleSeconds: s.lastDuration ?? null,
          lastError: s.lastError ?? null,
          errors: s.errors,
          latest: s.latest ?? null,
        },
      ];
    }),
  );
  return { schemaVersion: STATUS_SCHEMA_VERSION, version, startedAt: state.startedAt, ready: state.ready(), elections: state.elections.elections, sources };
}
