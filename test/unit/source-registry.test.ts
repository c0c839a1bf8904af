// The registry creates the enabled sources, one per name, in SOURCE_NAMES order (the order of their
// metrics), and leaves out the probe without a directory and `processes` when it is switched off
// (as the shipped DaemonSet does).
import t from 'tap';
import { buildConfig } from '../../src/commands/config.js';
import { createSources } from '../../src/sources/registry.js';
import { SOURCE_NAMES } from '../../src/sources/source.js';

const config = (flags: Record<string, string> = {}) => buildConfig(new Map(Object.entries(flags)), {});

t.test('every source is created, in SOURCE_NAMES order, when the probe has a directory, processes are on, candidates and peer agents named', async (t) => {
  const sources = createSources(config({ 'processes-enabled': 'true', 'candidate-dir': '/mnt/local-ssd' }), { probeDir: '/var/lib/etcd-latency-probe', peerTargets: () => ['http://10.0.0.12:9379'] });
  t.teardown(() => Promise.all(sources.map((s) => s.close?.())));
  t.same(sources.map((s) => s.name), [...SOURCE_NAMES]);
});

t.test('--processes-enabled=false leaves out the processes source; no probe directory the probe; no --candidate-dir the candidates; no peer agents their source', async (t) => {
  const sources = createSources(config({ 'processes-enabled': 'false' }), {});
  t.teardown(() => Promise.all(sources.map((s) => s.close?.())));
  t.same(sources.map((s) => s.name), SOURCE_NAMES.filter((n) => n !== 'fsync_probe' && n !== 'processes' && n !== 'candidate_probe' && n !== 'peer_agents'));
});

t.test("the sources take their intervals from the agent's settings", async (t) => {
  const sources = createSources(config({ 'disk-interval': '7s', 'etcd-api-interval': '3s' }), {});
  t.teardown(() => Promise.all(sources.map((s) => s.close?.())));
  const interval = (name: string) => sources.find((s) => s.name === name)?.interval;
  t.equal(interval('diskstats'), 7000);
  t.equal(interval('etcd_api'), 3000);
});
