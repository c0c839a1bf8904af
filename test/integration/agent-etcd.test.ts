// The whole agent, as a process, against real etcd members on loopback, on every etcd version of the
// matrix (3.4 from Debian, 3.5, 3.6 and 3.7 built from etcd's Go modules): what an operator sees on
// /metrics, /readyz and /api/v1/status, through etcd restarts and elections.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import t from 'tap';
import { seriesValue, startAgentProcess, memberFlags } from '../../harness/agent-process.js';
import { startEtcdCluster, type EtcdCluster, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { etcdVersionPlans, needsEtcd, type EtcdBuild } from '../../harness/etcd-versions.js';

const P = 'etcd_latency_agent_';

/** promtool's lint of an exposition: no output and status 0 means no problems. */
function promtoolCheck(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return `${r.status} ${r.stdout}${r.stderr}`.trim();
}

function agentArgs(cluster: EtcdCluster, m: EtcdMemberProcess, extra: string[] = []): string[] {
  const args = [
    ...memberFlags(m),
    '--etcd-api-interval=200ms',
    '--etcd-metrics-interval=500ms',
    '--etcd-timeout=1s',
    '--disk-interval=1s',
    '--probe-interval=500ms',
    '--etcd-manifest=/nonexistent/etcd.yaml',
    '--diagnosis-interval=500ms',
  ];
  if (cluster.pki) args.push(`--etcd-cacert=${cluster.pki.ca}`, `--etcd-cert=${cluster.pki.clientCert}`, `--etcd-key=${cluster.pki.clientKey}`);
  return [...args, ...extra];
}

const up = (text: string, source: string) => seriesValue(text, `${P}source_up{source="${source}"}`);

t.test('without etcd: probe and disk metrics are served, etcd is reported down, the exposition is clean', async (t) => {
  const agent = await startAgentProcess(['--etcd-endpoints=http://127.0.0.1:1', '--etcd-metrics-url=http://127.0.0.1:1/metrics', '--etcd-manifest=/nonexistent']);
  t.teardown(() => agent.stop());
  const text = await agent.waitForMetrics((m) => up(m, 'fsync_probe') === 1 && up(m, 'diskstats') === 1 && up(m, 'etcd_api') === 0, 'sources sampled');
  t.equal(up(text, 'etcd_metrics'), 0, 'etcd metrics down');
  t.ok((seriesValue(text, `${P}probe_fdatasync_duration_seconds_count`) ?? 0) > 0, 'probe observations');
  t.match(text, new RegExp(`${P}disk_io_time_seconds_total\\{device="[^"]+"\\} `), 'disk I/O time of some device');
  t.match(text, new RegExp(`${P}source_errors_total\\{source="etcd_api",reason="unreachable"\\} `));
  t.equal(promtoolCheck(text), '0', 'promtool check metrics reports no problems');
  const selfFamilies = [...text.matchAll(/^# TYPE ((?:process|nodejs)_\w+) /gm)].map((m) => m[1]).sort();
  t.same(
    selfFamilies,
    [
      'nodejs_external_memory_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_version_info',
      'process_cpu_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_user_seconds_total',
      'process_max_fds', 'process_open_fds', 'process_resident_memory_bytes', 'process_start_time_seconds',
    ],
    'about itself: the standard process_* set and the heap totals, none of the per-space, GC or event-loop series',
  );
  t.equal((await agent.get('/readyz')).status, 200, 'ready once every source was attempted');
  const status = JSON.parse((await agent.get('/api/v1/status')).body) as { sources: Record<string, { up: boolean; lastError: { reason: string; message: string } | null }> };
  t.equal(status.sources.etcd_api!.up, false);
  t.match(status.sources.etcd_api!.lastError!.message, /127\.0\.0\.1:1/, 'the error names the endpoint');
  t.equal(status.sources.fsync_probe!.up, true);
  t.match(agent.log(), /source failed; retrying.*source=etcd_api/, 'the log says etcd is unreachable');
  t.equal((await agent.get('/metrics')).headers.get('x-powered-by'), null);
  t.equal((await fetch(agent.url + '/metrics', { method: 'POST' })).status, 405, 'only GET and HEAD');
});

/** The etcd-facing behaviours, each on every version of the matrix. */
function etcdBehaviours(etcd: EtcdBuild, options: { skip?: string }): void {
  t.test(`etcd ${etcd.version}: with a real etcd member: etcd families re-exported, config discovered, elections counted, clean exposition`, options, async (t) => {
    const cluster = await startEtcdCluster({ etcd, size: 1, heartbeatMs: 100, electionMs: 1000 });
    t.teardown(() => cluster.close());
    const m = cluster.members[0]!;
    const agent = await startAgentProcess(agentArgs(cluster, m));
    t.teardown(() => agent.stop());
    for (let i = 0; i < 20; i++) await cluster.put(`k${i}`, 'v');
    const text = await agent.waitForMetrics(
      (x) => up(x, 'etcd_api') === 1 && up(x, 'etcd_metrics') === 1 && up(x, 'etcd_config') === 1 && x.includes(`${P}etcd_wal_fsync_duration_seconds_count`),
      'etcd sources up',
    );
    const member = `{member="${m.name}"}`;
    t.ok((seriesValue(text, `${P}etcd_wal_fsync_duration_seconds_count${member}`) ?? 0) > 0, 'WAL fsync histogram with member label');
    t.ok((seriesValue(text, `${P}etcd_backend_commit_duration_seconds_count${member}`) ?? 0) > 0, 'backend commit histogram');
    t.equal(seriesValue(text, `${P}etcd_has_leader${member}`), 1);
    t.equal(seriesValue(text, `${P}etcd_is_leader${member}`), 1);
    t.ok((seriesValue(text, `${P}etcd_raft_term${member}`) ?? 0) >= 1, 'raft term from the API');
    t.equal(seriesValue(text, `${P}etcd_heartbeat_interval_seconds{source="cmdline"}`), 0.1, 'heartbeat from the etcd process');
    t.equal(seriesValue(text, `${P}etcd_election_timeout_seconds{source="cmdline"}`), 1, 'election timeout from the etcd process');
    t.equal(promtoolCheck(text), '0', 'promtool check metrics reports no problems');
    t.match(text, /etcd_latency_agent_probe_info\{path="[^"]+",same_filesystem_as_etcd="true"\} 1/, "probe on etcd's filesystem");
    const version = /etcd_latency_agent_etcd_member_info\{[^}]*version="([^"]+)"/.exec(text)?.[1] ?? '';
    t.ok(version === etcd.version || version.startsWith(`${etcd.version}.`), `the member's version is a label of etcd_member_info (${version})`);
    const versionLines = agent.log().split('\n').filter((l) => l.includes(`etcd member ${m.name} runs etcd ${version}`));
    t.equal(versionLines.length, 1, 'the log names the version once, not on every sample');
    t.notMatch(agent.log(), /has no etcd_|not tested with/, 'nothing of this version is missing or untested');

    const withDiagnosis = await agent.waitForMetrics((x) => x.includes(`${P}verdict{verdict="healthy"}`), 'a diagnosis');
    t.equal(promtoolCheck(withDiagnosis), '0', 'the diagnosis metrics are clean too');
    t.match(withDiagnosis, new RegExp(`${P}predicted_elections_per_day\\{settings="current"\\} `), 'a prediction for the running settings');
    const res = await agent.get('/api/v1/diagnosis');
    t.equal(res.status, 200);
    const d = JSON.parse(res.body) as { member: string; verdict: string; findings: Array<{ code: string; severity: string }>; current?: { heartbeat: number; election: number } };
    t.equal(d.member, m.name);
    // This machine's disk is shared with the other tests: a slow probe round may make it "degraded".
    const worst = d.findings.some((f) => f.severity === 'critical') ? 'at_risk' : d.findings.some((f) => f.severity === 'warning') ? 'degraded' : 'healthy';
    t.equal(d.verdict, worst, `the verdict follows the findings (${d.findings.map((f) => f.code).join(', ') || 'none'})`);
    t.notOk(d.findings.some((f) => ['etcd_unreachable', 'no_leader', 'frequent_elections'].includes(f.code)), 'nothing wrong with etcd itself');
    t.same([d.current?.heartbeat, d.current?.election], [100, 1000], 'the model runs on the discovered settings');
  });

  t.test(`etcd ${etcd.version}: etcd killed and restarted: reported down once, recovers, counters stay monotonic`, options, async (t) => {
    const cluster = await startEtcdCluster({ etcd, size: 1 });
    t.teardown(() => cluster.close());
    const m = cluster.members[0]!;
    const agent = await startAgentProcess(agentArgs(cluster, m));
    t.teardown(() => agent.stop());
    for (let i = 0; i < 20; i++) await cluster.put(`a${i}`, 'v');
    const member = `{member="${m.name}"}`;
    const walCount = (x: string) => seriesValue(x, `${P}etcd_wal_fsync_duration_seconds_count${member}`) ?? 0;
    const before = await agent.waitForMetrics((x) => walCount(x) > 0 && up(x, 'etcd_api') === 1, 'first etcd sample');
    const countBefore = walCount(before);

    await m.kill('SIGKILL');
    const down = await agent.waitForMetrics((x) => up(x, 'etcd_api') === 0 && up(x, 'etcd_metrics') === 0, 'etcd reported down');
    t.equal(walCount(down), countBefore, 'the last known totals stay while etcd is down');
    await new Promise((r) => setTimeout(r, 1500)); // several failed retries of each source
    const downLines = agent.log().split('\n').filter((l) => /source failed/.test(l) && /source=etcd_api/.test(l));
    t.equal(downLines.length, 1, 'one log line for the state change, not one per retry');

    await m.start();
    for (let i = 0; i < 5; i++) await cluster.put(`b${i}`, 'v');
    const after = await agent.waitForMetrics((x) => up(x, 'etcd_api') === 1 && up(x, 'etcd_metrics') === 1 && walCount(x) > countBefore, 'recovery');
    t.ok(walCount(after) > countBefore, `WAL fsync count kept growing across the restart (${countBefore} → ${walCount(after)})`);
    t.match(agent.log(), /source recovered.*source=etcd_api/);
    t.ok((seriesValue(after, `${P}source_errors_total{source="etcd_api",reason="unreachable"}`) ?? 0) +
      (seriesValue(after, `${P}source_errors_total{source="etcd_api",reason="timeout"}`) ?? 0) > 0, 'the failures were counted');
  });

  t.test(`etcd ${etcd.version}: a TLS member requiring client certificates is read with the given certs`, options, async (t) => {
    const cluster = await startEtcdCluster({ etcd, size: 1, tls: true });
    t.teardown(() => cluster.close());
    const m = cluster.members[0]!;
    const agent = await startAgentProcess(agentArgs(cluster, m));
    t.teardown(() => agent.stop());
    const text = await agent.waitForMetrics((x) => up(x, 'etcd_api') === 1, 'etcd_api up over TLS');
    t.match(text, new RegExp(`${P}etcd_member_info\\{member="${m.name}",member_id="[0-9a-f]+"`));
    const status = (await agent.get('/api/v1/status')).body;
    t.notMatch(status, /BEGIN|PRIVATE KEY/, 'no key material in the status API');
    t.notMatch(text, /BEGIN|PRIVATE KEY/, 'no key material in the metrics');
  });

  t.test(`etcd ${etcd.version}: 3-member cluster: a forced leader change is counted as an election by the agent`, options, async (t) => {
    const cluster = await startEtcdCluster({ etcd, size: 3, heartbeatMs: 100, electionMs: 1000 });
    t.teardown(() => cluster.close());
    const leader = await cluster.leader();
    const watched = cluster.members.find((x) => x !== leader)!;
    const agent = await startAgentProcess(agentArgs(cluster, watched));
    t.teardown(() => agent.stop());
    const member = `{member="${watched.name}"}`;
    const elections = (x: string) => seriesValue(x, `${P}etcd_elections_total${member}`);
    const start = await agent.waitForMetrics((x) => up(x, 'etcd_api') === 1 && x.includes(`${P}etcd_cluster_members 3`), 'agent sees 3 members');
    t.equal(elections(start), 0, 'no election counted at start');
    const termBefore = await cluster.raftTerm();

    leader.pause(); // a frozen leader, as one stuck in fdatasync: followers elect a new one
    const after = await agent.waitForMetrics((x) => (elections(x) ?? 0) >= 1, 'an election counted', 30_000);
    leader.resume();
    await cluster.leader();
    const termAfter = await cluster.raftTerm();
    t.ok(termAfter > termBefore, `etcdctl saw the term rise (${termBefore} → ${termAfter})`);
    const final = await agent.waitForMetrics((x) => seriesValue(x, `${P}etcd_raft_term${member}`) === termAfter, 'agent caught up with the term');
    t.equal(elections(final), termAfter - termBefore, 'the agent counted exactly the term increase etcdctl observed');
    t.ok((elections(after) ?? 0) >= 1);
  });

  t.test(`etcd ${etcd.version}: a DB whose data was deleted and compacted away is fragmented until etcdctl defrag returns the pages`, options, async (t) => {
    const cluster = await startEtcdCluster({ etcd, size: 1 });
    t.teardown(() => cluster.close());
    const m = cluster.members[0]!;
    // A size floor of 1 MiB instead of 100: the same rule on a DB this test can fill in seconds.
    const agent = await startAgentProcess(agentArgs(cluster, m, ['--db-fragmented-min-mib=1', '--finding-clear-after=1s']));
    t.teardown(() => agent.stop());
    const fragmented = (x: string) => seriesValue(x, `${P}finding{code="db_fragmented",severity="info"}`);
    const fresh = await agent.waitForMetrics((x) => up(x, 'etcd_metrics') === 1 && x.includes(`${P}verdict{`), 'a diagnosis with etcd up');
    t.equal(fragmented(fresh), undefined, 'a fresh DB is not fragmented');

    const client = new Etcd3({ hosts: m.clientUrl });
    t.teardown(() => client.close());
    const value = Buffer.alloc(512 * 1024, 'x');
    for (let i = 0; i < 16; i++) await client.put(`bulk/${i}`).value(value);
    await client.delete().prefix('bulk/');
    const revision = (await client.get('bulk/none').exec()).header.revision;
    await cluster.etcdctl(['compact', revision, '--physical']);
    // etcd 3.4 updates the in-use size at the next backend commit, not the compaction's: one more write,
    // as any cluster has all the time.
    await client.put('after-compaction').value('x');
    const dirty = await agent.waitForMetrics((x) => fragmented(x) === 1, 'db_fragmented after delete + compact');
    const size = seriesValue(dirty, `${P}etcd_db_size_in_use_bytes{member="${m.name}"}`);
    t.ok(size !== undefined && size < 4 * 2 ** 20, `the DB's in-use size fell back (${size} bytes) while its file kept the 8 MiB`);
    const d = JSON.parse((await agent.get('/api/v1/diagnosis')).body) as { findings: Array<{ code: string; remedy: string; facts: Array<{ name: string; value: number }> }> };
    const f = d.findings.find((x) => x.code === 'db_fragmented');
    t.ok((f?.facts.find((x) => x.name === 'db_free_fraction')?.value ?? 0) >= 0.45, 'at least 45 % of it free', { facts: f?.facts });
    t.match(f?.remedy ?? '', /followers first and the leader last/, 'with the order to defragment in');

    await cluster.etcdctl(['defrag'], { endpoints: [m.clientUrl] });
    await agent.waitForMetrics((x) => fragmented(x) === undefined, 'db_fragmented cleared after etcdctl defrag');
    t.pass('etcdctl defrag returned the pages: the finding cleared');
  });
}

for (const plan of etcdVersionPlans()) etcdBehaviours(plan.build, needsEtcd(plan));

t.test('SIGTERM: the agent exits 0 and removes its probe file', async (t) => {
  const agent = await startAgentProcess(['--etcd-endpoints=http://127.0.0.1:1', '--etcd-metrics-url=http://127.0.0.1:1/metrics']);
  await agent.waitForMetrics((x) => up(x, 'fsync_probe') === 1, 'probe up');
  const file = join(agent.probeDir, 'etcd-latency-agent.probe');
  t.ok(existsSync(file), 'the probe file exists while running');
  t.equal(await agent.stop('SIGTERM'), 0, 'exit status 0');
  t.notOk(existsSync(file), 'the probe file is removed');
});
