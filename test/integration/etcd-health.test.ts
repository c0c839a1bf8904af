// The etcd health source against real etcd of every version of the matrix: /readyz and /livez where
// etcd serves them (3.5.36+, 3.6, 3.7), /health on 3.4; a member that lost its quorum is read as not
// ready with the check etcd names; a listener that is not etcd's is a failure, not a reading.
import http from 'node:http';
import type net from 'node:net';
import t from 'tap';
import { createEtcdHealthSource, parseHealthJson, parseVerboseChecks, type EtcdHealthSample } from '../../src/sources/etcd-health.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { ms } from '../../src/lib/units.js';
import { startEtcdCluster } from '../../harness/etcd-cluster.js';
import { etcdVersionPlans, needsEtcd, type EtcdBuild } from '../../harness/etcd-versions.js';

async function sampleOnce(metricsUrl: string, timeout = 5000): Promise<Outcome<EtcdHealthSample>> {
  const source = createEtcdHealthSource({ metricsUrl, timeout: ms(timeout), interval: ms(5000) });
  try {
    return await source.sample(new Date());
  } finally {
    await source.close();
  }
}

/** /readyz and /livez arrived with etcd 3.5.36 (backported) and 3.6. */
const hasReadyz = (etcd: EtcdBuild): boolean => etcd.minor !== '3.4';

t.test('parseVerboseChecks reads the check lines of etcd 3.6.17 /readyz?verbose, passed and failed', async (t) => {
  // the passing body as etcd 3.6.17 answered it (2026-12-04); the failing line as etcd prints a failed check
  const body = '[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\n[-]data_corruption failed: alarm activated: CORRUPT\nhealth check failed\n';
  t.same(parseVerboseChecks('readyz', body), [
    { endpoint: 'readyz', name: 'serializable_read', ok: true },
    { endpoint: 'readyz', name: 'linearizable_read', ok: true },
    { endpoint: 'readyz', name: 'non_learner', ok: true },
    { endpoint: 'readyz', name: 'data_corruption', ok: false, detail: 'alarm activated: CORRUPT' },
  ]);
  t.same(parseVerboseChecks('livez', 'ok\n'), [], 'the non-verbose answer has no checks');
});

t.test("parseHealthJson reads etcd's /health and refuses anything else", async (t) => {
  t.same(parseHealthJson('{"health":"true","reason":""}'), { healthy: true });
  t.same(parseHealthJson('{"health":"false","reason":"RAFT NO LEADER"}'), { healthy: false, reason: 'RAFT NO LEADER' });
  for (const bad of ['', 'ok', '{"health":true}', '[]', 'null', '{"status":"ok"}']) t.equal(parseHealthJson(bad), undefined, JSON.stringify(bad));
});

function healthBehaviours(etcd: EtcdBuild, options: { skip?: string }): void {
  t.test(`etcd ${etcd.version}: a healthy member reads ready, from ${hasReadyz(etcd) ? '/readyz and /livez' : '/health'}`, options, async (t) => {
    const cluster = await startEtcdCluster({ etcd, size: 1 });
    t.teardown(() => cluster.close());
    const o = await sampleOnce(cluster.members[0]!.metricsUrl);
    if (!o.ok) {
      t.fail(`sample failed: ${o.reason}: ${o.message}`);
      return;
    }
    t.equal(o.value.ready, true);
    if (hasReadyz(etcd)) {
      t.equal(o.value.endpoint, 'readyz');
      t.equal(o.value.live, true);
      const ready = o.value.checks.filter((c) => c.endpoint === 'readyz').map((c) => c.name);
      t.ok(ready.includes('linearizable_read') && ready.includes('serializable_read'), `readyz names its checks: ${ready.join(', ')}`);
      t.ok(o.value.checks.every((c) => c.ok), 'every check passes');
      t.equal(o.value.notes, undefined, 'nothing to note');
    } else {
      t.equal(o.value.endpoint, 'health', 'no /readyz on 3.4: /health read instead');
      t.same(o.value.checks, []);
      t.match(o.value.notes?.join('\n') ?? '', /no \/readyz or \/livez here/, 'and said in a note');
    }
  });

  t.test(`etcd ${etcd.version}: a member whose two peers are frozen has no quorum and reads not ready`, options, async (t) => {
    const cluster = await startEtcdCluster({ etcd, size: 3, heartbeatMs: 100, electionMs: 1000 });
    t.teardown(() => cluster.close());
    const [kept, ...others] = cluster.members;
    for (const m of others) m.pause();
    t.teardown(() => others.forEach((m) => m.resume()));
    // etcd's own linearizable read (and 3.4's /health) waits for the quorum that is gone: give it its time
    let o: Outcome<EtcdHealthSample> | undefined;
    for (let i = 0; i < 20; i++) {
      o = await sampleOnce(kept!.metricsUrl, 10_000);
      if (o.ok && !o.value.ready) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (!o?.ok) {
      t.fail(`sample failed: ${o?.reason}: ${o?.message}`);
      return;
    }
    t.equal(o.value.ready, false, 'not ready: a 503, read as a reading');
    if (hasReadyz(etcd)) {
      const failed = o.value.checks.filter((c) => !c.ok).map((c) => c.name);
      t.ok(failed.includes('linearizable_read'), `etcd names the failed check: ${failed.join(', ')}`);
    } else {
      t.same(o.value.checks, [], "3.4's /health names no check (and, unlike 3.5's, no reason)");
    }
  });
}

t.test('a listener that is not etcd: 404 everywhere is a failure, and so is a /health that is not etcd JSON', async (t) => {
  const answers: Record<string, [number, string]> = {};
  const server = http.createServer((req, res) => {
    const [status, body] = answers[new URL(req.url ?? '/', 'http://x').pathname] ?? [404, 'not found'];
    res.writeHead(status).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/metrics`;
  const none = await sampleOnce(url);
  t.same(none.ok ? 'ok' : none.reason, 'http_status', 'nothing serves health here');
  answers['/health'] = [200, '<html>hello</html>'];
  const html = await sampleOnce(url);
  t.same(html.ok ? 'ok' : html.reason, 'parse', 'a /health that is not etcd JSON');
  answers['/readyz'] = [500, 'boom'];
  const broken = await sampleOnce(url);
  t.same(broken.ok ? 'ok' : broken.reason, 'http_status', 'a 500 is a failure, not a reading');
});

for (const plan of etcdVersionPlans()) healthBehaviours(plan.build, needsEtcd(plan));
