// Faults of the world, on the whole agent as a process, against real etcd 3.4 members: etcd down at
// start and then started, killed and restarted, a member removed from its cluster; the host's /proc and
// /sys (fixture trees through --proc-path/--sys-path) without flush counters, missing a file, or
// unreadable. Throughout, a scraper checks that the agent keeps answering and that no counter ever
// goes backwards, and the log is checked for one line per state change, not one per retry.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { seriesValue, startAgentProcess, type AgentProcess, memberFlags } from '../../harness/agent-process.js';
import { startEtcdCluster, type EtcdCluster, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { diskstatsWithFields, makeFakeHost } from '../helpers/fake-host.js';
import { repeatedStateLines, Scraper, stateLines } from '../../harness/metrics-watch.js';

const P = 'etcd_latency_agent_';
const up = (text: string, source: string) => seriesValue(text, `${P}source_up{source="${source}"}`);

function agentArgs(m: EtcdMemberProcess, extra: string[] = []): string[] {
  return [
    ...memberFlags(m),
    '--etcd-api-interval=200ms',
    '--etcd-metrics-interval=300ms',
    '--etcd-timeout=1s',
    '--disk-interval=1s',
    '--probe-interval=500ms',
    '--etcd-manifest=/nonexistent/etcd.yaml',
    '--diagnosis-interval=500ms',
    ...extra,
  ];
}

/** Every check that holds for any fault: answering all along, counters monotonic, one log line per change. */
async function checkInvariants(tt: Test, agent: AgentProcess, scraper: Scraper, sources: readonly string[]): Promise<void> {
  await scraper.stop();
  tt.equal(scraper.failures(), 0, `/metrics and /healthz answered 200 in all ${scraper.scrapes.length} scrapes`);
  tt.same(scraper.violations(), [], 'no counter went backwards');
  for (const s of sources) tt.same(repeatedStateLines(stateLines(agent.log(), s)), [], `${s}: one log line per state change`);
}

async function removeMember(cluster: EtcdCluster, via: EtcdMemberProcess, id: string): Promise<void> {
  // etcd refuses a reconfiguration while the cluster has just started ("unhealthy cluster"): retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await cluster.etcdctl(['member', 'remove', id], { endpoints: [via.clientUrl] });
      return;
    } catch (err) {
      if (attempt >= 40) throw err;
      await sleep(500);
    }
  }
}

t.test('etcd down at start, then started, killed and restarted: up 0 then 1, one line per change, counters monotonic', async (t) => {
  const cluster = await startEtcdCluster({ size: 1 });
  t.teardown(() => cluster.close());
  const m = cluster.members[0]!;
  await m.kill('SIGKILL'); // down before the agent starts
  const agent = await startAgentProcess(agentArgs(m));
  t.teardown(() => agent.stop());
  const scraper = new Scraper(agent);

  await agent.waitForMetrics((x) => up(x, 'etcd_api') === 0 && up(x, 'etcd_metrics') === 0, 'etcd reported down');
  await sleep(2000); // ten retries of etcd_api, six of etcd_metrics
  for (const s of ['etcd_api', 'etcd_metrics']) {
    const lines = stateLines(agent.log(), s);
    t.equal(lines.length, 1, `${s}: one line while down at start (${lines.map((l) => l.reason).join(',')})`);
    t.equal(lines[0]?.kind, 'failed');
  }
  t.equal((await agent.get('/readyz')).status, 200, 'ready: every source was attempted, etcd being down is a value');
  t.match(JSON.parse((await agent.get('/api/v1/status')).body).sources.etcd_api.lastError.message, new RegExp(m.clientUrl.replace(/^http:\/\//, '')), 'the error names the endpoint');

  await m.start();
  for (let i = 0; i < 10; i++) await cluster.put(`k${i}`, 'v');
  const member = `{member="${m.name}"}`;
  const walCount = (x: string) => seriesValue(x, `${P}etcd_wal_fsync_duration_seconds_count${member}`) ?? 0;
  const first = await agent.waitForMetrics((x) => up(x, 'etcd_api') === 1 && up(x, 'etcd_metrics') === 1 && walCount(x) > 0, 'etcd seen once started');
  for (const s of ['etcd_api', 'etcd_metrics']) t.equal(stateLines(agent.log(), s).at(-1)?.kind, 'recovered', `${s}: recovered, logged once`);

  for (let round = 1; round <= 2; round++) {
    await m.kill('SIGKILL');
    await agent.waitForMetrics((x) => up(x, 'etcd_api') === 0 && up(x, 'etcd_metrics') === 0, `down again (${round})`);
    await sleep(1500);
    await m.start();
    for (let i = 0; i < 5; i++) await cluster.put(`r${round}-${i}`, 'v');
    await agent.waitForMetrics((x) => up(x, 'etcd_api') === 1 && up(x, 'etcd_metrics') === 1, `recovered (${round})`);
  }
  const last = await agent.waitForMetrics((x) => walCount(x) > walCount(first), 'WAL fsyncs after the restarts');
  t.ok(walCount(last) > walCount(first), `the WAL fsync count kept growing across three etcd starts (${walCount(first)} → ${walCount(last)})`);
  for (const s of ['etcd_api', 'etcd_metrics']) {
    const lines = stateLines(agent.log(), s);
    t.equal(lines.filter((l) => l.kind === 'recovered').length, 3, `${s}: three recoveries logged`);
    t.ok(lines.length <= 9, `${s}: ${lines.length} state lines for 3 outages of ~${Math.round(3 * 1.5 / 0.2)} retries`);
  }
  await checkInvariants(t, agent, scraper, ['etcd_api', 'etcd_metrics', 'fsync_probe', 'diskstats']);
});

t.test('a member removed from its cluster: its agent reports it down once and stays up; a neighbour sees 2 members', async (t) => {
  const cluster = await startEtcdCluster({ size: 3, heartbeatMs: 100, electionMs: 1000 });
  t.teardown(() => cluster.close());
  const [m0, , m2] = cluster.members as [EtcdMemberProcess, EtcdMemberProcess, EtcdMemberProcess];
  const removed = await startAgentProcess(agentArgs(m2));
  t.teardown(() => removed.stop());
  const neighbour = await startAgentProcess(agentArgs(m0));
  t.teardown(() => neighbour.stop());
  const scrapers = [new Scraper(removed), new Scraper(neighbour)];
  for (const a of [removed, neighbour]) await a.waitForMetrics((x) => up(x, 'etcd_api') === 1 && x.includes(`${P}etcd_cluster_members 3`), 'three members');
  const id = await cluster.memberId(m2);

  await removeMember(cluster, m0, id);
  const gone = await removed.waitForMetrics((x) => up(x, 'etcd_api') === 0 && up(x, 'etcd_metrics') === 0, 'the removed member reported down');
  await neighbour.waitForMetrics((x) => x.includes(`${P}etcd_cluster_members 2`) && up(x, 'etcd_api') === 1, 'the neighbour sees two members');
  await sleep(2000);
  t.equal((await removed.get('/healthz')).status, 200, 'the agent of the removed member stays up');
  t.equal(up(gone, 'fsync_probe'), 1, 'its probe keeps measuring the disk');
  const lines = stateLines(removed.log(), 'etcd_api');
  // Down for good: one "failed" line, or two when the reason changes as the member shuts itself down
  // (etcd answers "member removed" for a moment before it exits); never one per retry, never "recovered".
  t.equal(lines[0]?.kind, 'up', 'etcd_api was up');
  t.ok(lines.slice(1).every((l) => l.kind === 'failed') && lines.length >= 2 && lines.length <= 3, `etcd_api then down: ${lines.map((l) => `${l.kind}${l.reason ? ':' + l.reason : ''}`).join(', ')}`);
  const electionsBefore = seriesValue(gone, `${P}etcd_elections_total{member="${m2.name}"}`);
  t.ok(electionsBefore !== undefined, 'the elections counter of the removed member is still exported');
  for (const [i, s] of scrapers.entries()) await checkInvariants(t, [removed, neighbour][i]!, s, ['etcd_api', 'etcd_metrics']);
});

t.test('/proc and /sys of an old kernel (no flush counters), a missing /proc/diskstats, an unreadable /sys', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'agent-fake-host-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const host = await makeFakeHost(base, 18);
  const probeDir = join(base, 'probe');
  mkdirSync(probeDir);
  // Run as nobody: root reads any file whatever its mode, so "unreadable" needs an ordinary user.
  const asNobody = process.getuid?.() === 0;
  if (asNobody) {
    chmodSync(base, 0o755);
    chownSync(probeDir, 65534, 65534);
  }
  const agent = await startAgentProcess(
    [`--proc-path=${host.proc}`, `--sys-path=${host.sys}`, '--etcd-data-dir=/var/lib/etcd', '--disk-interval=300ms', '--probe-interval=300ms',
      '--etcd-endpoints=http://127.0.0.1:1', '--etcd-metrics-url=http://127.0.0.1:1/metrics', '--etcd-manifest=/nonexistent', '--etcd-api-interval=1s', '--etcd-metrics-interval=1s'],
    { probeDir, ...(asNobody ? { uid: 65534, gid: 65534 } : {}) },
  );
  t.teardown(() => agent.stop());
  const scraper = new Scraper(agent);
  const io = (x: string, dev: string) => seriesValue(x, `${P}disk_io_time_seconds_total{device="${dev}"}`);

  const old = await agent.waitForMetrics((x) => up(x, 'diskstats') === 1 && up(x, 'fsync_probe') === 1, 'diskstats up on the old kernel');
  t.ok((io(old, 'dm-2') ?? 0) > 0 && (io(old, 'sda') ?? 0) > 0, 'dm-2 and its disk sda have I/O time');
  t.notMatch(old, new RegExp(`^${P}disk_flush_\\w+\\{`, 'm'), 'no flush series without flush counters');
  t.match(old, /etcd_latency_agent_disk_info\{device="dm-2",disk="sda"/, 'the device chain is resolved through the fixture /sys');
  await sleep(1500); // five more samples
  const noteLines = agent.log().split('\n').filter((l) => /has no flush counters/.test(l));
  t.equal(noteLines.length, 1, 'one clear log line says the flush counters are missing and why');
  t.match(noteLines[0] ?? '', /dm-2, sda \(kernels before 5\.5\): etcd_latency_agent_disk_flush_\* are absent/);

  rmSync(join(host.proc, 'diskstats'));
  const missing = await agent.waitForMetrics((x) => up(x, 'diskstats') === 0, 'diskstats down without /proc/diskstats');
  t.equal(up(missing, 'fsync_probe'), 1, 'the probe is not affected');
  t.match(missing, /source_errors_total\{source="diskstats",reason="not_found"\} [1-9]/);
  await sleep(1500);
  writeFileSync(join(host.proc, 'diskstats'), diskstatsWithFields(20));
  const back = await agent.waitForMetrics((x) => up(x, 'diskstats') === 1 && x.includes(`${P}disk_flush_requests_total{device="dm-2"}`), 'diskstats back, with flush counters');
  t.ok((seriesValue(back, `${P}disk_flush_time_seconds_total{device="sda"}`) ?? 0) > 0, 'flush time of sda');

  if (asNobody) {
    chmodSync(join(host.sys, 'dev', 'block'), 0o000);
    // The device chain is cached for a minute; an unreadable /proc/diskstats fails at once.
    chmodSync(join(host.proc, 'diskstats'), 0o000);
    const denied = await agent.waitForMetrics((x) => up(x, 'diskstats') === 0, 'diskstats down when unreadable');
    t.match(denied, /source_errors_total\{source="diskstats",reason="permission"\} [1-9]/, 'counted as a permission error');
    t.match(JSON.parse((await agent.get('/api/v1/status')).body).sources.diskstats.lastError.message, /diskstats.*EACCES|permission denied/i, 'the status names the file and the problem');
    await sleep(1500);
    chmodSync(join(host.proc, 'diskstats'), 0o644);
    chmodSync(join(host.sys, 'dev', 'block'), 0o755);
    await agent.waitForMetrics((x) => up(x, 'diskstats') === 1, 'readable again');
  } else {
    t.comment('not root: the unreadable case needs to run the agent as another user');
  }
  const lines = stateLines(agent.log(), 'diskstats');
  t.ok(lines.length <= 5, `diskstats: ${lines.length} state lines for two outages of ~5 retries each`);
  t.equal(readdirSync(probeDir).length, 1, 'the probe dir holds one file');
  await checkInvariants(t, agent, scraper, ['diskstats', 'fsync_probe']);
});

t.test('SIGINT with etcd connected: stops sampling, exits 0 well within a pod grace period, removes the probe file', async (t) => {
  const cluster = await startEtcdCluster({ size: 1 });
  t.teardown(() => cluster.close());
  const m = cluster.members[0]!;
  // The probe beside etcd's data dir (same filesystem), kept after stop so its content can be checked.
  const probeDir = mkdtempSync(join(tmpdir(), 'agent-sigint-'));
  t.teardown(() => rmSync(probeDir, { recursive: true, force: true }));
  const agent = await startAgentProcess(agentArgs(m), { probeDir });
  await agent.waitForMetrics((x) => up(x, 'etcd_api') === 1 && up(x, 'etcd_metrics') === 1 && up(x, 'fsync_probe') === 1, 'all connected');
  const probeFile = join(probeDir, 'etcd-latency-agent.probe');
  t.ok(readdirSync(probeDir).length === 1, 'the probe file exists');
  const started = Date.now();
  t.equal(await agent.stop('SIGINT'), 0, 'exit status 0');
  const took = Date.now() - started;
  t.ok(took < 5000, `exited ${took} ms after SIGINT (Kubernetes' default grace period: 30 s)`);
  t.match(agent.log(), /stopping.*signal=SIGINT[\s\S]*stopped/, 'said so in the log');
  t.notOk(existsSync(probeFile), 'the probe file is removed');
  t.same(readdirSync(probeDir), [], 'and nothing else is left');
});
