// The CI subset of the scenarios: each kind of fault once, on a real 3-member etcd cluster of every
// version of the matrix (3.4, 3.5, 3.6, 3.7; noisy-shared, which tests the disk side, on 3.4 only) with
// one real agent per member and a real Prometheus. Assertions are on outcomes only (an election
// happened or did not, per etcdctl; each agent counted exactly the elections its member went through;
// a killed member's agent reports etcd down and then up again), never on timings. About 4 minutes a
// version.
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import { PROBE_BUCKETS } from '../../src/sources/fsync-probe.js';
import { CLI } from '../../harness/agent-process.js';
import { etcdVersionPlans, needsEtcd, type EtcdBuild } from '../../harness/etcd-versions.js';
import { cannotRun, runScenario } from './harness.js';
import type { ScenarioResult } from './report.js';
import { renderResult } from './report.js';
import { scenarioByName, withOverrides, type ScenarioSpec } from './scenarios.js';
import { PROMETHEUS_BIN } from './prometheus.js';
import { FIO_BIN, STRACE_BIN } from './faults.js';

t.setTimeout(20 * 60 * 1000);

const missing = [['/usr/bin/etcd', 'etcd-server'], ['/usr/bin/etcdctl', 'etcd-client'], [PROMETHEUS_BIN, 'prometheus'], [STRACE_BIN, 'strace'], [FIO_BIN, 'fio'], [CLI, 'the built agent (npm run build)']]
  .filter(([file]) => !existsSync(file!))
  .map(([, what]) => what);
const skipAll = missing.length > 0 ? `needs ${missing.join(', ')}` : false;

function spec(name: string, o: Partial<ScenarioSpec>): ScenarioSpec {
  const s = scenarioByName(name);
  if (!s) throw new Error(`no scenario ${name}`);
  return withOverrides(s, { warmupSeconds: 4, ...o });
}

async function run(tt: Test, s: ScenarioSpec, etcd?: EtcdBuild): Promise<ScenarioResult> {
  const r = await runScenario(s, { log: (l) => tt.comment(l), ...(etcd ? { etcd } : {}) });
  tt.comment(`\n${renderResult(r)}`);
  return r;
}

/** Every agent counted what etcdctl saw its own member go through (raft term increase). */
function agentsMatchObserved(tt: Test, r: ScenarioResult): void {
  for (const a of r.agents) {
    const m = r.observed.members.find((x) => x.member === a.member);
    tt.not(m?.termIncrease, undefined, `${a.member}: etcdctl answered before and after`);
    tt.equal(a.elections, m?.termIncrease, `${a.member}: the agent's election count equals its member's observed raft term increase`);
  }
}

// 2 s stalls, not the seed's 1.5 s: raft draws a follower's timeout once per term (10–19 ticks at
// 100/1000), and a 1.5 s stall (15–16 ticks of silence) elects only when some follower drew below
// that — 84–91% of terms, so about one run in six to eleven saw no election at all (it happened here;
// docs/election-model.md, "Validation"). 2 s is past every draw.
// Both lengths land in etcd's (1.024, 2.048] s bucket, so the agents recommend what they do for the
// seed case, and applying it against the longer stalls is the harder test.
const stalls = (o: Partial<ScenarioSpec>): ScenarioSpec => {
  const s = spec('slow-disk', o);
  return s.fault.kind === 'slow-disk' ? withOverrides(s, { fault: { ...s.fault, stallMs: 2000 } }) : s;
};

const healthy = scenarioByName('healthy')!;

/** A p99 (seconds) past the lower edge of the bucket that holds the target (ms): it may be over the target in a window a scrape longer or shorter. */
function reachesTargetBucket(p99: number | undefined, targetMs: number, buckets: readonly number[]): boolean {
  const below = buckets.filter((le) => le < targetMs / 1000).at(-1) ?? 0;
  return p99 !== undefined && p99 > below;
}

/** The scenarios every etcd version must pass; `skip` says why this machine cannot run them at all. */
function scenarioBehaviours(etcd: EtcdBuild, versionSkip: { skip?: string }): void {
  const skipped = (why?: string): { skip?: string | false } => ({ skip: skipAll || versionSkip.skip || why || false });
  t.test(`etcd ${etcd.version}: healthy: no election, every agent counts none and raises nothing above info but disk latency etcd or the probe measured`, skipped(cannotRun(healthy)), async (tt) => {
    const r = await run(tt, spec('healthy', { measureSeconds: 30 }), etcd);
    tt.equal(r.observed.elections, 0, 'no raft term increase');
    tt.ok(r.observed.settled, 'the cluster agrees on term and leader at the end');
    tt.equal(r.observed.stalls, 0, 'nothing injected');
    tt.ok(r.observed.etcd.walFsyncCount > 0, "etcd's own WAL fsync histogram moved (the load ran)");
    agentsMatchObserved(tt, r);
    for (const a of r.agents) {
      tt.ok(a.probe.count > 0, `${a.member}: the probe ran`);
      tt.ok(a.severities !== undefined, `${a.member}: the agent served its diagnosis`);
      // The host's disk is shared with the whole run on 2 cores: when etcd's own WAL fsync p99 for this
      // member (its /metrics, read by the harness) reached the bucket that holds the 10 ms target — in
      // the window, or over what the agent's longer window saw since it started (warm-up included) —
      // the agent is right to warn about disk latency; when only its probe's histogram (its /metrics,
      // read by the harness) did, the probe's own finding and the shared disk it blames are right. Only
      // those are allowed; anything else above info fails. The bucket, not the target: the agent's
      // window starts and ends a scrape away from the harness's, and a p99 interpolated inside (8, 16]
      // moves past 10 ms with a few observations (etcd 3.7 in CI: 8.0 ms here, over 10 ms for the agent).
      const observed = r.observed.members.find((m) => m.member === a.member);
      const p99s = [observed?.walFsync?.p99, observed?.walFsyncSinceAgentStart?.p99].filter((p): p is number => p !== undefined);
      const walP99 = p99s.length > 0 ? Math.max(...p99s) : undefined;
      const probeP99 = a.probeSinceStart?.p99;
      const walSlow = reachesTargetBucket(walP99, DEFAULT_THRESHOLDS.walFsyncP99, ETCD_DISK_BUCKETS);
      const probeSlow = reachesTargetBucket(probeP99, DEFAULT_THRESHOLDS.probeP99, PROBE_BUCKETS);
      const slowForReal = walSlow || probeSlow;
      const allowed = new Set([...(walSlow ? ['wal_fsync_slow', 'backend_commit_slow'] : []), ...(slowForReal ? ['probe_fsync_slow', 'disk_shared'] : [])]);
      const loud = Object.entries(a.severities ?? {}).filter(([code, sev]) => sev !== 'info' && !(sev === 'warning' && allowed.has(code)));
      const ms = (p?: number) => (p === undefined ? '?' : (p * 1000).toFixed(1));
      tt.same(loud, [], `${a.member}: no finding above info but disk latency etcd or the probe measured (WAL p99 ${ms(walP99)} ms, probe p99 ${ms(probeP99)} ms; ${a.findings?.join(', ') || 'none'})`);
      tt.equal(a.verdict, slowForReal && Object.values(a.severities ?? {}).includes('warning') ? 'degraded' : 'healthy', `${a.member}: verdict follows (${a.verdict})`);
    }
  });

  t.test(`etcd ${etcd.version}: slow-disk: injected fdatasync stalls cause elections, and every agent counts them`, skipped(), async (tt) => {
    const r = await run(tt, stalls({ measureSeconds: 25 }), etcd);
    tt.ok(r.observed.stalls > 0, 'strace delayed some of etcd’s fdatasync calls');
    tt.ok((r.observed.probeStalls ?? 0) > 0, "strace delayed some of the agents' probe fdatasync calls");
    tt.ok(r.observed.elections > 0, 'the raft term rose: elections happened');
    agentsMatchObserved(tt, r);

    // The diagnosis' tuning, applied: the same stalls must no longer cost an election.
    const recs = r.agents.flatMap((a) => (a.recommendation ? [a.recommendation] : []));
    tt.ok(recs.length > 0, `the agents recommend tuning (${recs.map((x) => `${x.heartbeatMs}/${x.electionMs}`).join(', ')})`);
    if (recs.length === 0) return;
    const rec = recs.reduce((a, b) => (b.electionMs > a.electionMs ? b : a));
    tt.ok(rec.electionMs > 2000 + rec.heartbeatMs, 'the recommended election timeout covers a 2 s stall and a heartbeat');
    const tuned = await run(tt, stalls({ measureSeconds: 25, heartbeatMs: rec.heartbeatMs, electionMs: rec.electionMs }), etcd);
    tt.ok(tuned.observed.stalls > 0, 'the same stalls were injected');
    tt.equal(tuned.observed.elections, 0, `with hb ${rec.heartbeatMs} / et ${rec.electionMs} the stalls cause no election`);
    agentsMatchObserved(tt, tuned);
  });

  t.test(`etcd ${etcd.version}: frozen-leader: a SIGSTOPped leader is replaced, and every agent counts the election`, skipped(), async (tt) => {
    const r = await run(tt, spec('frozen-leader', { measureSeconds: 12 }), etcd);
    tt.ok(r.observed.elections >= 1, 'at least one election (two candidates can each start one)');
    tt.ok(r.observed.settled, 'the cluster agrees on term and leader at the end');
    tt.not(r.observed.leaderAfter, r.observed.fault?.['frozen'], 'the frozen member is no longer the leader');
    agentsMatchObserved(tt, r);
  });

  t.test(`etcd ${etcd.version}: member-down: the agent on a killed member reports etcd down, then up after the restart`, skipped(), async (tt) => {
    const r = await run(tt, spec('member-down', { measureSeconds: 20, fault: { kind: 'member-down', downMs: 10_000, target: 'follower', afterMs: 2000 } }), etcd);
    const killed = r.observed.fault?.['killed'] as string | undefined;
    tt.ok(killed, 'a member was killed');
    tt.not(r.observed.fault?.['agentSawDownAfterMs'], null, 'its agent reported source_up{source="etcd_api"} 0 while it was down');
    tt.not(r.observed.fault?.['agentSawUpAfterRestartMs'], null, 'and 1 again after the restart');
    const agent = r.agents.find((a) => a.member === killed);
    tt.same(agent?.etcdApiUp, { min: 0, last: 1 }, 'the polled source_up went to 0 and ended at 1');
    tt.equal(r.observed.elections, 0, 'killing a follower starts no election');
    agentsMatchObserved(tt, r);
  });
}

for (const plan of etcdVersionPlans()) scenarioBehaviours(plan.build, needsEtcd(plan));

// Which member: only a leader's stalls start elections. On the version SCS runs (3.5) only: the rule
// is raft's, the same in every version, and each run costs a minute of CI.
const followerPlan = etcdVersionPlans().find((p) => p.build.minor === '3.5');
const slowFollower = scenarioByName('slow-follower')!;
t.test("slow-follower: one member's disk stalls while it follows: no election, and its agent says so instead of recommending tuning for the cluster", {
  skip: skipAll || (followerPlan ? needsEtcd(followerPlan).skip : 'no etcd 3.5 in the matrix') || (cannotRun(slowFollower) ?? false),
}, async (tt) => {
  const s = spec('slow-follower', { measureSeconds: 30 });
  const slowed = s.fault.kind === 'slow-disk' ? `m${s.fault.members?.[0]}` : '?';
  const r = await run(tt, s, followerPlan!.build);
  tt.ok((r.observed.members.find((m) => m.member === slowed)?.stalls ?? 0) > 0, `strace delayed ${slowed}'s fdatasync calls`);
  tt.equal(r.observed.stalls, r.observed.members.find((m) => m.member === slowed)?.stalls, 'and no other member\'s');
  tt.not(r.observed.leaderBefore, slowed, `${slowed} followed when the window opened`);
  tt.equal(r.observed.elections, 0, "a follower's stalls start no election");
  agentsMatchObserved(tt, r);
  const agent = r.agents.find((a) => a.member === slowed)!;
  tt.equal(agent.leadership?.role, 'follower', 'its agent knows it follows');
  tt.equal(agent.leadership?.electionsPerDayNow, 0, 'and predicts no election now');
  tt.ok((agent.leadership?.electionsPerDayIfLeader ?? 0) > DEFAULT_THRESHOLDS.targetElectionsPerDay, `but many if it led (${agent.leadership?.electionsPerDayIfLeader?.toFixed(0)}/day)`);
  tt.equal(agent.severities?.['stalls_threaten_leadership'], 'warning', 'its stalls finding stays at warning');
  tt.match(agent.remedies?.['stalls_threaten_leadership'] ?? '', /etcdctl move-leader/, 'and advises keeping leadership off it');
  for (const other of r.agents.filter((a) => a.member !== slowed)) {
    tt.notOk(other.severities?.['stalls_threaten_leadership'], `${other.member}: no stalls finding on an untraced member`);
    tt.equal(other.leadership?.electionsPerDayNow ?? 0, 0, `${other.member}: predicts no election now`);
  }
  // Its agent still says what it would need to lead (recommended_*), but the cluster's alert waits for
  // every member to need it: not even pending while the others keep up.
  tt.ok(agent.recommendation, `its agent gives the tuning it would need to lead (${agent.recommendation?.heartbeatMs}/${agent.recommendation?.electionMs})`);
  tt.same(r.alertHistory?.['EtcdTuningRecommended'] ?? { pending: 0, firing: 0 }, { pending: 0, firing: 0 }, 'EtcdTuningRecommended is not even pending while other members keep up');
});

const noisy = scenarioByName('noisy-shared')!;
t.test('noisy-shared: fio beside etcd on one loop-mounted filesystem', { skip: skipAll || (cannotRun(noisy) ?? false) }, async (tt) => {
  // Heavier neighbours than the grid's: on a fast, quiet host disk two 64 KiB writers leave etcd's WAL
  // p99 under 10 ms (8 ms measured here), and the agents then rightly recommend nothing.
  const heavier = noisy.fault.kind === 'noisy' ? { fault: { ...noisy.fault, fioJobs: 4, fioBlockSize: '1m' } } : {};
  const r = await run(tt, spec('noisy-shared', { measureSeconds: 20, ...heavier }));
  const fio = r.observed.fault?.['fio'] as { writeMiBps?: number } | undefined;
  tt.ok((fio?.writeMiBps ?? 0) > 0, 'fio wrote');
  tt.ok(r.observed.etcd.walFsyncCount > 0, "etcd's own WAL fsync histogram moved");
  for (const a of r.agents) tt.match(a.disk?.device, /^loop\d+$/, `${a.member}: the agent found etcd's data on the loop device`);
  // Whether the neighbours made etcd miss its target depends on this host's disk that day: when
  // etcd's own WAL p99 (the window, or the agents' longer windows) missed it, a disk remedy must be
  // recommended; when it did not, the agents must still have seen the shared device, and recommending
  // nothing is right (a recommendation is then allowed only from what the agent's window saw).
  const p99s = r.observed.members.flatMap((m) => [m.walFsync?.p99, m.walFsyncSinceAgentStart?.p99]).filter((p): p is number => p !== undefined);
  const slow = p99s.some((p) => p * 1000 > DEFAULT_THRESHOLDS.walFsyncP99);
  const remedies = r.agents.map((a) => `${a.member}: ${a.diskRemedies?.join('+') ?? 'none'}`).join('; ');
  tt.comment(`etcd's WAL p99 ${slow ? 'missed' : 'met'} the target (max ${(Math.max(...p99s) * 1000).toFixed(1)} ms)`);
  if (slow) tt.ok(r.agents.some((a) => (a.diskRemedies ?? []).length > 0), `the disk recommendation appears (${remedies})`);
  else for (const a of r.agents) tt.ok(a.findings?.includes('disk_shared'), `${a.member}: the shared device is found even though etcd met its target (${remedies})`);
  agentsMatchObserved(tt, r);
});
