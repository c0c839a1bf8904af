// The etcd API source against real etcd 3.4 members, checked against etcdctl (the harness's ground
// truth). Outcomes are asserted, never timings.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { observeTerm, type ElectionTally } from '../../src/state/elections.js';
import { classifyEtcdError, createEtcdApiSource, idToHex, sanitizeMessage, type EtcdApiOptions, type EtcdApiSample } from '../../src/sources/etcd-api.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { ms } from '../../src/lib/units.js';
import { EtcdPermissionDeniedError, GRPCDeadlineExceededError } from 'etcd3';
import { startEtcdCluster, type EtcdCluster, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';

type Source = ReturnType<typeof createEtcdApiSource>;

function sourceFor(t: Test, endpoints: readonly string[], extra: Partial<EtcdApiOptions> = {}): Source {
  const source = createEtcdApiSource({ endpoints, timeout: ms(2000), interval: ms(1000), ...extra });
  t.teardown(() => source.close());
  return source;
}

async function ok(t: Test, source: Source, what: string): Promise<EtcdApiSample> {
  const outcome = await source.sample(new Date());
  if (!outcome.ok) {
    t.fail(`${what}: ${outcome.reason}: ${outcome.message}`);
    throw new Error(`${what} failed`);
  }
  t.pass(what);
  return outcome.value;
}

/** Samples until `cond` holds (bounded): the world changes asynchronously after a kill or a restart. */
async function sampleUntil(source: Source, cond: (o: Outcome<EtcdApiSample>) => boolean, timeoutMs = 30_000): Promise<Outcome<EtcdApiSample>> {
  const deadline = Date.now() + timeoutMs;
  let last = await source.sample(new Date());
  while (!cond(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await source.sample(new Date());
  }
  return last;
}

const only = <T>(xs: readonly T[]): T => {
  if (xs.length !== 1 || xs[0] === undefined) throw new Error(`expected one, got ${xs.length}`);
  return xs[0];
};

t.test('single member over HTTP', async (t) => {
  const cluster = await startEtcdCluster();
  t.teardown(() => cluster.close());
  const m = only(cluster.members);
  const source = sourceFor(t, cluster.endpoints);
  t.equal(source.name, 'etcd_api');
  t.equal(source.interval, 1000);

  const s = await ok(t, source, 'status of a healthy member');
  const id = await cluster.memberId(m);
  t.equal(s.endpoint, m.clientUrl);
  t.equal(s.memberId, id, 'member id in hex, as etcdctl prints it');
  t.equal(s.memberName, m.name);
  t.equal(s.leaderId, id, 'a single member leads itself');
  t.equal(s.raftTerm, await cluster.raftTerm(), 'raft term as etcdctl sees it');
  t.ok(s.raftIndex > 0, 'raft index');
  t.match(s.version, /^3\.4\.\d+$/);
  t.ok(s.dbSize > 0, 'db size');
  t.same(s.members, [{ id, name: m.name, peerUrls: [m.peerUrl], clientUrls: [m.clientUrl] }], 'one member, as listed');
  t.ok(s.roundTrip > 0, 'round trip measured');

  await cluster.put('some-key', 'some-value');
  const after = await ok(t, source, 'second sample reuses the client');
  t.ok(after.raftIndex > s.raftIndex, 'raft index advanced with a write');
});

t.test('member killed → unreachable; restarted → success again; paused → timeout', async (t) => {
  const cluster = await startEtcdCluster();
  t.teardown(() => cluster.close());
  const m = only(cluster.members);
  const source = sourceFor(t, cluster.endpoints, { timeout: ms(1000) });
  const before = await ok(t, source, 'healthy');

  await m.kill();
  const down = await source.sample(new Date());
  t.equal(down.ok, false, 'fails while the member is down');
  if (!down.ok) {
    t.ok(down.reason === 'unreachable' || down.reason === 'timeout', `reason ${down.reason}: ${down.message}`);
    t.match(down.message, m.clientUrl, 'names the endpoint');
  }
  const again = await source.sample(new Date());
  t.equal(again.ok, false, 'still failing, without throwing');

  await m.start();
  const back = await sampleUntil(source, (o) => o.ok);
  t.equal(back.ok, true, 'success again after the restart');
  if (back.ok) {
    t.equal(back.value.memberId, before.memberId, 'same member');
    t.ok(back.value.raftTerm >= before.raftTerm, 'term did not go back');
  }

  m.pause();
  const paused = await source.sample(new Date());
  m.resume();
  t.equal(paused.ok, false, 'a stopped member does not answer');
  if (!paused.ok) t.equal(paused.reason, 'timeout', `reason: ${paused.message}`);
  const resumed = await sampleUntil(source, (o) => o.ok);
  t.equal(resumed.ok, true, 'success after SIGCONT');
});

t.test('source edge cases never throw', async (t) => {
  const none = createEtcdApiSource({ endpoints: [], timeout: ms(500), interval: ms(1000) });
  const o = await none.sample(new Date());
  t.equal(o.ok, false);
  if (!o.ok) t.equal(o.reason, 'not_found');
  await none.close();

  const closed = createEtcdApiSource({ endpoints: ['http://127.0.0.1:1'], timeout: ms(500), interval: ms(1000) });
  await closed.close();
  const c = await closed.sample(new Date());
  t.equal(c.ok, false, 'a closed source fails');
  if (!c.ok) t.equal(c.reason, 'other');
  await closed.close();
  t.pass('close() twice is fine');

  const refused = createEtcdApiSource({ endpoints: ['http://127.0.0.1:1'], timeout: ms(1000), interval: ms(1000) });
  const [a, b] = await Promise.all([refused.sample(new Date()), refused.sample(new Date())]);
  t.equal(a, b, 'overlapping samples share one call');
  t.equal(a.ok, false);
  if (!a.ok) t.equal(a.reason, 'unreachable', a.message);
  await refused.close();
});

t.test('3-member cluster: member list, leader, and elections counted from the term', async (t) => {
  const cluster = await startEtcdCluster({ size: 3, heartbeatMs: 50, electionMs: 500 });
  t.teardown(() => cluster.close());

  let leader = await cluster.leader();
  // Watch a follower, so the leader can be moved or stopped while the watched member keeps answering.
  const watched = cluster.members.find((m) => m !== leader);
  if (!watched) throw new Error('no follower');
  const source = sourceFor(t, [watched.clientUrl, ...cluster.endpoints.filter((e) => e !== watched.clientUrl)]);

  const s = await ok(t, source, 'status of a follower');
  t.equal(s.members.length, 3, 'three members');
  t.same(s.members.map((m) => m.name).sort(), ['m0', 'm1', 'm2']);
  t.equal(s.memberId, await cluster.memberId(watched), 'status answered by the first endpoint only');
  t.equal(s.memberName, watched.name);
  t.equal(s.leaderId, await cluster.memberId(leader), 'leader as etcdctl sees it');
  for (const m of cluster.members) {
    const listed = s.members.find((x) => x.name === m.name);
    t.same(listed?.peerUrls, [m.peerUrl], `${m.name} peer URL`);
  }

  const check = async (how: string, force: (leader: EtcdMemberProcess) => Promise<void>): Promise<void> => {
    const s0 = await ok(t, source, `before ${how}`);
    const e0 = await cluster.raftTerm();
    let tally: ElectionTally = observeTerm({ elections: 0 }, s0.raftTerm);
    await force(leader);
    const newLeader = await cluster.leader();
    const e1 = await cluster.raftTerm();
    const s1 = await ok(t, source, `after ${how}`);
    tally = observeTerm(tally, s1.raftTerm);
    t.not(newLeader.name, leader.name, `${how}: leader changed`);
    t.ok(e1 > e0, `${how}: etcdctl sees the term increase (${e0} → ${e1})`);
    t.equal(s0.raftTerm, e0, `${how}: source and etcdctl agree before`);
    t.equal(s1.raftTerm, e1, `${how}: source and etcdctl agree after`);
    t.ok(tally.elections >= 1, `${how}: observeTerm counts at least one election`);
    t.equal(tally.elections, e1 - e0, `${how}: observeTerm counts the term increase etcdctl saw`);
    t.equal(s1.leaderId, await cluster.memberId(newLeader), `${how}: the source names the new leader`);
    leader = newLeader;
  };

  await check('move-leader', async (from) => {
    // Not to the watched member: the next check stops the leader, and the watched one must answer.
    const target = cluster.members.find((m) => m !== from && m !== watched);
    if (!target) throw new Error('no target');
    await cluster.etcdctl(['move-leader', await cluster.memberId(target)], { endpoints: [from.clientUrl] });
  });

  // The way a disk stall looks to raft: the leader alive but silent for 3 election timeouts.
  await check('SIGSTOP of the leader', async (from) => {
    if (from === watched) throw new Error('the watched member must not be the one stopped');
    from.pause();
    await new Promise((r) => setTimeout(r, 1500));
    from.resume();
  });
});

t.test('TLS member requiring client certificates', async (t) => {
  const cluster: EtcdCluster = await startEtcdCluster({ tls: true });
  t.teardown(() => cluster.close());
  const pki = cluster.pki;
  if (!pki) throw new Error('no pki');
  const m = only(cluster.members);
  const read = (p: string): Buffer => readFileSync(p);
  const right = { ca: read(pki.ca), cert: read(pki.clientCert), key: read(pki.clientKey) };

  const good = await ok(t, sourceFor(t, cluster.endpoints, { tls: right }), 'works with the right certificates');
  t.equal(good.memberId, await cluster.memberId(m));

  // Secrets that must never reach a message: PEM markers and any line of a key.
  const keyLines = [pki.clientKey, pki.expiredClientKey]
    .flatMap((p) => readFileSync(p, 'utf8').split('\n'))
    .filter((l) => l.length > 20 && !l.startsWith('-----'));
  const cases: Array<{ name: string; tls: EtcdApiOptions['tls']; names: RegExp }> = [
    { name: 'wrong CA', tls: { ...right, ca: read(pki.otherCa) }, names: /certificate verify failed|unknown ca|unable to verify/ },
    { name: 'no client certificate', tls: { ca: right.ca }, names: /client certificate/ },
    { name: 'expired client certificate', tls: { ca: right.ca, cert: read(pki.expiredClientCert), key: read(pki.expiredClientKey) }, names: /expired/ },
    { name: 'key not matching the certificate', tls: { ca: right.ca, cert: right.cert, key: read(pki.expiredClientKey) }, names: /does not match|mismatch/ },
    { name: 'garbage instead of PEM', tls: { ca: right.ca, cert: Buffer.from('not a certificate'), key: Buffer.from('not a key') }, names: /PEM|certificate|key/ },
  ];
  for (const c of cases) {
    const o = await sourceFor(t, cluster.endpoints, { tls: c.tls }).sample(new Date());
    t.equal(o.ok, false, `${c.name}: fails`);
    if (o.ok) continue;
    t.equal(o.reason, 'tls', `${c.name}: reason tls (${o.message})`);
    t.match(o.message, c.names, `${c.name}: the message names the problem`);
    t.notMatch(o.message, /-----BEGIN|PRIVATE KEY/, `${c.name}: no PEM in the message`);
    t.ok(keyLines.every((l) => !o.message.includes(l)), `${c.name}: no key material in the message`);
  }

  const plain = await sourceFor(t, [m.clientUrl.replace('https:', 'http:')]).sample(new Date());
  t.equal(plain.ok, false, 'plain gRPC to a TLS port fails');
});

t.test('the pure parts: ids, messages, error classes', async (t) => {
  // A real member id as etcd3 returns it (decimal uint64 beyond 2^53) and as etcdctl prints it.
  t.equal(idToHex('13668033151171901709'), 'bdae9bbc11dd390d');
  t.equal(idToHex('0'), '0', 'no leader');
  const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
  t.equal(sanitizeMessage(`bad key ${pem} here`), 'bad key [PEM redacted] here');
  t.equal(sanitizeMessage(`truncated ${pem.slice(0, 60)}`), 'truncated [PEM redacted]');
  t.ok(sanitizeMessage('x'.repeat(1000)).length <= 400, 'bounded');
  const cases: Array<[unknown, string]> = [
    [new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded'), 'timeout'],
    [new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379.'), 'unreachable'],
    [new Error('14 UNAVAILABLE: No connection established. Last error: Error: unable to verify the first certificate.'), 'tls'],
    [new Error('14 UNAVAILABLE: No connection established. Last error: Error: Hostname/IP does not match certificate\'s altnames'), 'tls'],
    [new Error('error:0A00010B:SSL routines::wrong version number'), 'tls'],
    [new EtcdPermissionDeniedError('etcdserver: permission denied'), 'permission'],
    [new Error('something else entirely'), 'other'],
  ];
  for (const [err, want] of cases) t.equal(classifyEtcdError(err).reason, want, errorText(err));
  t.equal(classifyEtcdError('a string').reason, 'other');
  t.match(classifyEtcdError(new Error('14 UNAVAILABLE: Hostname/IP does not match certificate\'s altnames')).message, /not in the server certificate's names/);
});

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
