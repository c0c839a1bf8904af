// The contract's /metrics blocks are rendered again only when what they read changed (src/export/
// metrics.ts): pinned by replaying real samples (captured etcd bodies, this machine's diskstats)
// into one state and comparing, after each, the long-lived registry with a fresh one.
import t from 'tap';
import { createMetricsRegistry } from '../../src/export/prometheus/metrics.js';
import { SOURCE_NAMES } from '../../src/sources/source.js';
import { AgentState } from '../../src/state/state.js';
import { at, contractLines, replaySteps } from '../helpers/replay.js';

t.test('a metric block is made again whenever one of its inputs changed: after every sample and evaluation, the long-lived registry renders what a fresh one does', async (t) => {
  const state = new AgentState(at(0), new Set(SOURCE_NAMES));
  const ctx = { state, version: '9.9.9', member: 'm0' };
  const registry = createMetricsRegistry(ctx);
  let before = contractLines(await registry.metrics());
  for (const [what, change] of replaySteps(state)) {
    change();
    const cached = contractLines(await registry.metrics());
    t.equal(cached, contractLines(await createMetricsRegistry(ctx).metrics()), `after the ${what}`);
    t.not(cached, before, `the ${what} changed the body`);
    before = cached;
  }
});
