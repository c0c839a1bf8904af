// GET /api/v1/status: each enabled source's state, as the page and operators' scripts read it.
import type { AgentState } from '../../state/state.js';
import { SOURCE_NAMES } from '../../sources/source.js';

export function statusDocument(state: AgentState, version: string) {
  const sources = Object.fromEntries(
    SOURCE_NAMES.filter((n) => state.enabled.has(n)).map((n) => {
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
  return { version, startedAt: state.startedAt, ready: state.ready(), elections: state.elections.elections, sources };
}
