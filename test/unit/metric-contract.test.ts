import { readFileSync } from 'node:fs';
import t from 'tap';
import { METRICS, PREFIX } from '../../src/export/prometheus/contract.js';
import { renderMetricsDoc } from '../../generate/docs.js';
import { PROBE_BUCKETS } from '../../src/sources/fsync-probe.js';

// etcd's own metric families begin with these; ours must never collide with them.
const ETCD_PREFIXES = ['etcd_server_', 'etcd_disk_', 'etcd_network_', 'etcd_mvcc_', 'etcd_debugging_', 'etcd_snap_', 'etcd_cluster_', 'grpc_'];

t.test('every metric follows Prometheus naming under the agent prefix', async (t) => {
  const names = new Set<string>();
  for (const m of Object.values(METRICS)) {
    t.ok(m.name.startsWith(PREFIX), `${m.name} has the prefix`);
    t.notOk(ETCD_PREFIXES.some((p) => m.name.startsWith(p)), `${m.name} is not in an etcd family`);
    t.match(m.name, /^[a-z_][a-z0-9_]*$/, `${m.name} is snake_case`);
    t.notOk(names.has(m.name), `${m.name} is defined once`);
    names.add(m.name);
    if (m.type === 'counter') t.ok(m.name.endsWith('_total'), `counter ${m.name} ends in _total`);
    else t.notOk(m.name.endsWith('_total'), `${m.type} ${m.name} does not end in _total`);
    if (m.type === 'histogram') {
      t.ok(m.buckets && m.buckets.length > 0, `${m.name} declares buckets`);
      t.ok(m.name.endsWith('_seconds'), `histogram ${m.name} is in seconds`);
    }
    t.notMatch(m.name, /_(ms|milliseconds|kb|mb|percent)(_|$)/, `${m.name} uses base units`);
    t.ok(m.help.length > 10, `${m.name} has a help text`);
  }
});

t.test('the probe buckets reach below 0.1 ms and beyond 10 s and contain the 10 ms and 25 ms targets', async (t) => {
  const b = PROBE_BUCKETS;
  t.ok(b[0]! <= 0.0001);
  t.ok(b[b.length - 1]! >= 10);
  t.ok(b.includes(0.01));
  t.ok(b.includes(0.025));
  t.same([...b].sort((x, y) => x - y), b, 'ascending');
});

t.test('docs/metrics.md is the rendering of the contract (run npm run generate after a change)', async (t) => {
  t.equal(readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8'), renderMetricsDoc());
});
