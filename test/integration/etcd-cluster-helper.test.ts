// The real-etcd harness itself: ports, PKI, readiness, ground truth, and above all that it leaves no
// process and no directory behind, whether a test closes it, forgets to, or crashes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTestPki, startEtcdCluster } from '../../harness/etcd-cluster.js';
import { etcdVersionPlans, needsEtcd } from '../../harness/etcd-versions.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const helperPath = resolve(here, '../../harness/etcd-cluster.ts');

/** Alive and not a zombie waiting to be reaped. */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

t.test('freePort hands out distinct ports that can be bound', async (t) => {
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  t.equal(new Set(ports).size, ports.length, 'no port handed out twice');
  for (const port of ports.slice(0, 3)) {
    await new Promise<void>((res, rej) => {
      const s = createServer();
      s.on('error', rej);
      s.listen(port, '127.0.0.1', () => s.close(() => res()));
    });
  }
  t.pass('bindable');
});

t.test('makeTestPki makes the certificates the TLS tests need', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pki-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = await makeTestPki(dir);
  const cert = (p: string): X509Certificate => new X509Certificate(readFileSync(p));
  const ca = cert(pki.ca);
  const now = Date.now();

  const server = cert(pki.serverCert);
  t.ok(server.verify(ca.publicKey), 'server cert signed by the CA');
  t.equal(server.checkIP('127.0.0.1'), '127.0.0.1', 'server cert valid for 127.0.0.1');
  t.equal(server.checkHost('localhost'), 'localhost', 'server cert valid for localhost');

  const client = cert(pki.clientCert);
  t.ok(client.verify(ca.publicKey), 'client cert signed by the CA');
  t.ok(Date.parse(client.validTo) > now && Date.parse(client.validFrom) <= now, 'client cert valid now');
  t.match(client.keyUsage ?? [], ['1.3.6.1.5.5.7.3.2'], 'client cert for client auth');

  const expired = cert(pki.expiredClientCert);
  t.ok(expired.verify(ca.publicKey), 'expired cert signed by the same CA');
  t.ok(Date.parse(expired.validTo) < now, 'expired cert is expired');

  const other = cert(pki.otherCa);
  t.notOk(client.verify(other.publicKey), 'the other CA did not sign the client cert');
  t.ok(other.ca && ca.ca, 'both CAs are CAs');
  for (const key of [pki.serverKey, pki.clientKey, pki.expiredClientKey]) t.match(readFileSync(key, 'utf8'), /PRIVATE KEY/);
});

t.test('a single member: healthy, observable, and gone after close()', async (t) => {
  const hooks = (): number[] => ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP'].map((e) => process.listenerCount(e));
  const baseline = hooks();
  const cluster = await startEtcdCluster();
  t.ok(hooks().every((n, i) => n === (baseline[i] ?? 0) + 1), 'clean-up hooked on exit and signals while a cluster lives');
  t.teardown(() => cluster.close());
  const [m] = cluster.members;
  if (!m) throw new Error('no member');
  const pid = m.pid();
  t.ok(alive(pid), 'etcd runs');
  t.equal(m.spawnedPid(), pid, 'unwrapped: the spawned process is etcd');
  t.same(cluster.endpoints, [m.clientUrl]);
  t.match(m.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.ok(m.dataDir.startsWith(cluster.dir) && m.logFile.startsWith(cluster.dir), 'everything under the cluster dir');
  const metrics = await (await fetch(m.metricsUrl)).text();
  t.match(metrics, /etcd_server_has_leader 1/, 'metrics listener serves /metrics');
  t.equal(await cluster.leader(), m, 'the only member leads');
  t.ok((await cluster.raftTerm()) >= 1, 'raft term from etcdctl');
  t.match(await cluster.memberId(m), /^[0-9a-f]+$/, 'member id in hex');
  await cluster.put('k', 'v');
  t.match(await cluster.etcdctl(['get', 'k', '--print-value-only']), /^v\s*$/, 'put/get through etcdctl');
  t.match(readFileSync(m.logFile, 'utf8'), /starting an etcd server/, 'log captured to a file');

  await cluster.close();
  t.notOk(alive(pid), 'no etcd process after close()');
  t.notOk(m.running(), 'member reports not running');
  t.notOk(existsSync(cluster.dir), 'no directory after close()');
  await cluster.close();
  t.pass('close() is idempotent');
  t.same(hooks(), baseline, 'hooks removed once no cluster lives');
});

for (const plan of etcdVersionPlans()) {
  t.test(`etcd ${plan.build.version} of the matrix runs as a member and is the version it claims`, needsEtcd(plan), async (t) => {
    const cluster = await startEtcdCluster({ etcd: plan.build });
    t.teardown(() => cluster.close());
    const status = JSON.parse(await cluster.etcdctl(['endpoint', 'status', '-w', 'json'])) as Array<{ Status: { version: string } }>;
    const version = status[0]?.Status.version ?? '';
    t.ok(version === plan.build.version || version.startsWith(`${plan.build.version}.`), `etcdctl endpoint status says ${version}`);
    await cluster.put('k', 'v');
    t.match(await cluster.etcdctl(['get', 'k', '--print-value-only']), /^v\s*$/, "Debian's etcdctl 3.4 reads and writes it over the v3 API");
  });
}

t.test('a member can be killed, restarted with its data, paused and resumed', async (t) => {
  const cluster = await startEtcdCluster({ size: 3, heartbeatMs: 50, electionMs: 500 });
  t.teardown(() => cluster.close());
  const pids = cluster.members.map((m) => m.pid());
  t.ok(pids.every(alive), 'three etcd processes');

  const leader = await cluster.leader();
  const termBefore = await cluster.raftTerm();
  leader.pause();
  t.ok(leader.paused(), 'paused');
  // Silent for three election timeouts: the followers elect a new leader.
  await new Promise((r) => setTimeout(r, 1500));
  leader.resume();
  t.notOk(leader.paused(), 'resumed');
  const newLeader = await cluster.leader();
  t.not(newLeader.name, leader.name, 'a follower took over while the leader was stopped');
  t.ok((await cluster.raftTerm()) > termBefore, 'the raft term increased');

  const follower = cluster.members.find((m) => m !== newLeader);
  if (!follower) throw new Error('no follower');
  const id = await cluster.memberId(follower);
  const oldPid = follower.pid();
  await follower.kill();
  t.notOk(follower.running(), 'killed');
  t.notOk(alive(oldPid), 'process gone');
  t.equal(follower.pid(), undefined, 'no pid while stopped');
  await follower.start();
  t.ok(follower.running() && alive(follower.pid()), 'restarted');
  t.equal(await cluster.memberId(follower), id, 'same member (same data dir) after restart');
  await t.rejects(follower.start(), /already running/, 'start() of a running member is refused');

  // Leadership handed to a chosen member, as an operator does with etcdctl move-leader.
  const chosen = cluster.members.find((m) => m !== (newLeader as typeof m))!;
  const termBeforeMove = await cluster.raftTerm();
  await cluster.moveLeader(chosen);
  t.equal((await cluster.leader()).name, chosen.name, `moveLeader: ${chosen.name} leads, as etcdctl endpoint status says`);
  t.ok((await cluster.raftTerm()) > termBeforeMove, 'the transfer began a new term');

  // Compaction at the current revision, as kube-apiserver does: older revisions are gone.
  await cluster.put('compact/a', '1');
  await cluster.put('compact/a', '2');
  const revision = await cluster.compact();
  t.ok(revision >= 2, `compact() compacted at revision ${revision}`);
  await t.rejects(cluster.etcdctl(['get', 'compact/a', `--rev=${revision - 1}`]), /compacted/, 'a revision before it is compacted away');

  const all = cluster.members.map((m) => m.pid());
  await cluster.close();
  t.ok(all.every((p) => !alive(p)), 'no etcd left');
  t.notOk(existsSync(cluster.dir), 'no directory left');
});

t.test('TLS cluster: client certs required, metrics stay plain HTTP', async (t) => {
  const cluster = await startEtcdCluster({ tls: true });
  t.teardown(() => cluster.close());
  const [m] = cluster.members;
  if (!m || !cluster.pki) throw new Error('no member or pki');
  t.match(m.clientUrl, /^https:\/\//);
  t.match(m.metricsUrl, /^http:\/\//);
  t.ok(cluster.pki.dir.startsWith(cluster.dir), 'PKI inside the cluster dir');
  await cluster.put('tls', 'yes');
  t.match(await cluster.etcdctl(['get', 'tls', '--print-value-only']), /^yes/, 'etcdctl uses the client certs');
  t.match(await (await fetch(m.metricsUrl)).text(), /etcd_server_has_leader/);
});

t.test('wrap: the traced etcd is found and killed before the wrapper', async (t) => {
  const cluster = await startEtcdCluster({ wrap: ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=fdatasync'] });
  t.teardown(() => cluster.close());
  const [m] = cluster.members;
  if (!m) throw new Error('no member');
  const etcd = m.pid();
  const wrapper = m.spawnedPid();
  t.ok(etcd !== undefined && wrapper !== undefined && etcd !== wrapper, 'etcd and strace are different processes');
  t.match(readFileSync(`/proc/${etcd}/comm`, 'utf8'), /^etcd/);
  t.match(readFileSync(`/proc/${wrapper}/comm`, 'utf8'), /^strace/);
  await cluster.put('through', 'strace');
  await cluster.close();
  t.notOk(alive(etcd), 'etcd gone');
  t.notOk(alive(wrapper), 'strace gone');
  t.notOk(existsSync(cluster.dir));
});

t.test('a start that cannot succeed fails with the log tail, and leaves nothing', async (t) => {
  const before = new Set(await listClusterDirs());
  await t.rejects(startEtcdCluster({ extraArgs: ['--no-such-flag'], startTimeoutMs: 10_000 }), /exited .*before becoming ready[\s\S]*log tail[\s\S]*no-such-flag/);
  const after = (await listClusterDirs()).filter((d) => !before.has(d));
  t.same(after, [], 'its directory was removed');
});

async function listClusterDirs(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(tmpdir())).filter((d) => d.startsWith('etcd-cluster-'));
}

// A test process that crashes (uncaught exception) or is terminated (tap's timeout sends SIGTERM)
// must not leave etcd behind: the harness cleans up from process hooks.
for (const mode of ['throw', 'forget', 'sigterm'] as const) {
  t.test(`no etcd left when the test process ends by '${mode}'`, async (t) => {
    const scratch = await mkdtemp(join(tmpdir(), 'harness-crash-'));
    t.teardown(() => rm(scratch, { recursive: true, force: true }));
    const script = join(scratch, 'child.mjs');
    await writeFile(
      script,
      [
        `import { startEtcdCluster } from ${JSON.stringify(helperPath)};`,
        `const c = await startEtcdCluster({});`,
        `console.log(JSON.stringify({ pids: c.members.map((m) => m.pid()), dir: c.dir }));`,
        `const mode = process.argv[2];`,
        // Hold until the parent has seen etcd running, then end as told.
        `await new Promise((r) => process.stdin.once('data', r));`,
        `process.stdin.destroy();`,
        `if (mode === 'throw') throw new Error('test crashed');`,
        `if (mode === 'sigterm') setInterval(() => {}, 1000);`,
        // 'forget': nothing keeps the event loop alive; the process ends without close().
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', script, mode], {
      cwd: repoRoot,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    t.ok(await eventually(() => out.includes('\n'), 60_000), `child started a cluster (stderr: ${err.slice(-500)})`);
    const info = JSON.parse(out.trim().split('\n')[0] ?? '{}') as { pids: number[]; dir: string };
    t.ok(info.pids.length === 1 && info.pids.every(alive), 'etcd runs under the child');
    child.stdin.end('go\n');
    if (mode === 'sigterm') {
      t.ok(await eventually(() => child.stdin.writableFinished), 'child told to go on');
      child.kill('SIGTERM');
    }
    const how = await exited;
    if (mode === 'throw') t.equal(how.code, 1, 'child crashed');
    if (mode === 'forget') t.equal(how.code, 0, 'child ended normally');
    if (mode === 'sigterm') t.equal(how.signal, 'SIGTERM', 'child died of SIGTERM, as without the hook');
    t.ok(await eventually(() => info.pids.every((p) => !alive(p))), 'etcd killed');
    t.notOk(existsSync(info.dir), 'cluster dir removed');
  });
}
