// Runs one scenario end to end on this machine: a real 3-member etcd cluster with the scenario's
// heartbeat/election settings (each member in the cgroup of a kubeadm static pod where the host has
// cgroup v1 blkio, test/scenarios/static-pods.ts), one agent per member (each pointed at its own member, as the
// DaemonSet would be), a real Prometheus scraping all of them, a steady write load, the fault, a
// measurement window, and a teardown that leaves no process, mount, loop device or directory behind
// (also on SIGINT, and when a step fails).
//
// Ground truth never comes from the agent: elections are raft term increases read with etcdctl,
// stalls are counted in strace's logs, fsync/commit quantiles come from etcd's own /metrics.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEtcdCluster, type EtcdCluster, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import type { EtcdBuild } from '../../harness/etcd-versions.js';
import { P, startScenarioAgent, type ScenarioAgent } from './agents.js';
import { countBetween, etcdFiles, readStraceLog, etcdStraceLog, etcdStraceWrap, fioSummary, loopUnavailable, makeLoopFs, startFio, type StallSpec } from './faults.js';
import { startLoad, type Load } from './load.js';
import { etcdAsStaticPods } from './static-pods.js';
import { blkioUnavailable } from '../../harness/kubelet-cgroups.js';
import { addHistograms, histogramOf, memberStatus, parseFamilies, scrapeEtcd, scrapeIsLeader, settledStatuses, valueOf, windowQuantiles, type EtcdMetricsSnapshot, type MemberStatus } from './observe.js';
import { startPrometheus, targetOf, type PrometheusServer } from './prometheus.js';
import { Cleanups, errorText, signal, waitUntil } from '../../harness/processes.js';
import type { AgentReport, MemberObservation, ScenarioResult } from './report.js';
import { describeFault, type ScenarioSpec } from './scenarios.js';
import { histogramDelta, type HistogramSnapshot } from '../../src/lib/histogram.js';
import { SCRAPE_JOB } from '../../src/export/prometheus/contract.js';

export interface RunOptions {
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
  /** Keep the scenario's directory (logs, strace logs, Prometheus data) instead of removing it. */
  readonly keepDir?: boolean;
  /** Which etcd the cluster runs (default Debian's 3.4). */
  readonly etcd?: EtcdBuild;
  /**
   * Each agent also probes a candidate filesystem (--candidate-dir, every second): a directory in the
   * scenario's own, on this machine's disk, when etcd is on a loop device of its own.
   */
  readonly candidates?: boolean;
  /** Compacts the keyspace once, halfway through the window, as kube-apiserver does every 5 minutes (maintenance to see). */
  readonly compaction?: boolean;
}

/** The start of the note a result carries when etcd could not run in pod cgroups here. */
export const OUTSIDE_POD_CGROUPS = 'etcd runs outside pod cgroups';

/** Why this machine cannot run `spec`, or undefined when it can. */
export function cannotRun(spec: ScenarioSpec): string | undefined {
  if (spec.fault.kind === 'noisy' || spec.storage === 'ram-disk') return loopUnavailable();
  return undefined;
}

export async function runScenario(spec: ScenarioSpec, opts: RunOptions = {}): Promise<ScenarioResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[${spec.name}] ${line}\n`));
  const why = cannotRun(spec);
  if (why) throw new Error(`scenario ${spec.name} cannot run here: ${why}`);
  const cleanups = new Cleanups();
  let result: ScenarioResult | undefined;
  let failure: unknown;
  try {
    result = await runInside(spec, cleanups, log, opts);
  } catch (err) {
    failure = err;
  }
  log('tearing down');
  const problems = await cleanups.run();
  for (const p of problems) log(`teardown: ${p}`);
  if (failure !== undefined) throw failure;
  return problems.length > 0 ? { ...result!, notes: [...result!.notes, ...problems.map((p) => `teardown: ${p}`)] } : result!;
}

// ───────────────────────────────────────────── the agent's side

interface AgentSnapshot {
  readonly raftTerm?: number;
  readonly elections: number;
  readonly probe?: HistogramSnapshot;
  readonly disk?: { device: string; sharedWith: string; ioTime?: number; writeTime?: number; writes?: number; flushTime?: number; flushes?: number };
  readonly etcdApiUp?: number;
  readonly probeMax?: number;
  readonly at: number;
}

const AGENT_FAMILIES = [
  `${P}etcd_raft_term`,
  `${P}etcd_elections_total`,
  `${P}probe_fdatasync_duration_seconds`,
  `${P}probe_fdatasync_max_duration_seconds`,
  `${P}source_up`,
  `${P}disk_info`,
  `${P}disk_io_time_seconds_total`,
  `${P}disk_write_time_seconds_total`,
  `${P}disk_writes_completed_total`,
  `${P}disk_flush_time_seconds_total`,
  `${P}disk_flush_requests_total`,
];

function agentSnapshot(text: string, member: string): AgentSnapshot {
  const s = parseFamilies(text, AGENT_FAMILIES);
  const info = (s.get(`${P}disk_info`) ?? [])[0]?.labels;
  const dev = info?.['device'];
  const byDev = (f: string) => (dev === undefined ? undefined : valueOf(s, `${P}${f}`, { device: dev }));
  const raftTerm = valueOf(s, `${P}etcd_raft_term`, { member });
  const probe = histogramOf(s, `${P}probe_fdatasync_duration_seconds`);
  const etcdApiUp = valueOf(s, `${P}source_up`, { source: 'etcd_api' });
  const probeMax = valueOf(s, `${P}probe_fdatasync_max_duration_seconds`);
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    at: Date.now(),
    elections: valueOf(s, `${P}etcd_elections_total`, { member }) ?? 0,
    ...opt('raftTerm', raftTerm),
    ...opt('probe', probe),
    ...opt('etcdApiUp', etcdApiUp),
    ...opt('probeMax', probeMax),
    ...(dev !== undefined
      ? {
          disk: {
            device: dev,
            sharedWith: info?.['shared_with'] ?? '',
            ...opt('ioTime', byDev('disk_io_time_seconds_total')),
            ...opt('writeTime', byDev('disk_write_time_seconds_total')),
            ...opt('writes', byDev('disk_writes_completed_total')),
            ...opt('flushTime', byDev('disk_flush_time_seconds_total')),
            ...opt('flushes', byDev('disk_flush_requests_total')),
          },
        }
      : {}),
  };
}

/** Each member's status for the comparison: the one read together with its agent's counter when that synced, else the settled read. */
function termsAt(settled: Map<string, MemberStatus>, synced: Map<string, { status?: MemberStatus; synced: boolean }>): Map<string, MemberStatus> {
  const out = new Map(settled);
  for (const [name, s] of synced) if (s.synced && s.status) out.set(name, s.status);
  return out;
}

/**
 * The agent's counters at a moment when its raft term equals what etcdctl says its member's term
 * is: its election count then corresponds to that term, so the two can be compared. Bounded; on
 * timeout the last snapshot is used and `synced` is false.
 */
async function syncedAgentSnapshot(cluster: EtcdCluster, member: EtcdMemberProcess, agent: ScenarioAgent, timeoutMs = 15_000): Promise<{ snap?: AgentSnapshot; status?: MemberStatus; synced: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let snap: AgentSnapshot | undefined;
  let status: MemberStatus | undefined;
  while (Date.now() < deadline) {
    status = await memberStatus(cluster, member);
    snap = await agent.metrics().then((t) => agentSnapshot(t, member.name), () => undefined);
    if (status && snap?.raftTerm === status.raftTerm) {
      // and still the same afterwards, on both sides: no election slipped in between the reads
      const again = await memberStatus(cluster, member);
      const snap2 = await agent.metrics().then((t) => agentSnapshot(t, member.name), () => undefined);
      if (again?.raftTerm === status.raftTerm && snap2?.raftTerm === snap.raftTerm && snap2.elections === snap.elections) return { snap, status, synced: true };
    }
    await sleep(200);
  }
  return { ...(snap ? { snap } : {}), ...(status ? { status } : {}), synced: false };
}

/**
 * Hands leadership to the last member not in `avoid` (etcdctl move-leader against the leader), and
 * waits until the cluster agrees on it: the stalling members then follow. Always the same member, so
 * a run moves leadership whenever the first election chose another, not only when a stalling one won.
 */
async function moveLeaderOff(cluster: EtcdCluster, avoid: ReadonlySet<string>, log: (l: string) => void): Promise<void> {
  const target = cluster.members.filter((m) => !avoid.has(m.name)).at(-1);
  if (!target) throw new Error('moveLeaderOff: every member is to be avoided');
  const leader = await cluster.leader();
  if (leader === target) return;
  log(`moving leadership from ${leader.name} to ${target.name} (etcdctl move-leader)`);
  await cluster.moveLeader(target);
}

interface DiagnosisView {
  verdict?: string;
  findings?: string[];
  severities?: Record<string, string>;
  recommendation?: { heartbeatMs: number; electionMs: number };
  prediction?: { electionsPerDay: number; electionsInWindow: number; stallWindowSeconds: number };
  diskRemedies?: string[];
  leadership?: { role: string; electionsPerDayNow: number; electionsPerDayIfLeader: number };
  remedies?: Record<string, string>;
}

/** GET /api/v1/diagnosis when the agent serves it (200); else nothing. */
async function diagnosisOf(agent: ScenarioAgent): Promise<DiagnosisView> {
  try {
    const r = await agent.get('/api/v1/diagnosis');
    if (r.status !== 200) return {};
    const raw = JSON.parse(r.body) as Record<string, unknown>;
    const d = (typeof raw['diagnosis'] === 'object' && raw['diagnosis'] !== null ? raw['diagnosis'] : raw) as {
      verdict?: unknown;
      findings?: Array<{ code?: unknown; severity?: unknown; remedy?: unknown }>;
      leadership?: { role?: unknown; electionsPerDayNow?: unknown; electionsPerDayIfLeader?: unknown };
      tuning?: { recommended?: { heartbeat?: unknown; election?: unknown } };
      current?: { electionsPerDay?: unknown; electionsInWindow?: unknown; stallWindow?: unknown };
      disk?: { remedies?: unknown };
    };
    const out: DiagnosisView = {};
    if (typeof d.verdict === 'string') out.verdict = d.verdict;
    if (Array.isArray(d.findings)) {
      out.findings = d.findings.map((f) => String(f?.code ?? '?'));
      out.severities = Object.fromEntries(d.findings.map((f) => [String(f?.code ?? '?'), String(f?.severity ?? '?')]));
      out.remedies = Object.fromEntries(d.findings.map((f) => [String(f?.code ?? '?'), String(f?.remedy ?? '')]));
    }
    const l = d.leadership;
    if (l && typeof l.role === 'string') {
      out.leadership = { role: l.role, electionsPerDayNow: Number(l.electionsPerDayNow), electionsPerDayIfLeader: Number(l.electionsPerDayIfLeader) };
    }
    const perDay = Number(d.current?.electionsPerDay);
    const inWindow = Number(d.current?.electionsInWindow);
    const window = Number(d.current?.stallWindow);
    if ([perDay, inWindow, window].every(Number.isFinite)) out.prediction = { electionsPerDay: perDay, electionsInWindow: inWindow, stallWindowSeconds: window };
    if (Array.isArray(d.disk?.remedies)) out.diskRemedies = d.disk.remedies.map(String);
    const rec = d.tuning?.recommended;
    const hb = Number(rec?.heartbeat);
    const et = Number(rec?.election);
    if (rec && Number.isFinite(hb) && Number.isFinite(et)) out.recommendation = { heartbeatMs: hb, electionMs: et };
    return out;
  } catch {
    return {};
  }
}

/**
 * Polls during the window: each agent every 500 ms (lowest/last etcd_api up, largest probe round
 * maximum), and each member's own /metrics in its own loop (etcd_server_is_leader), so stalls can be
 * placed against who was leader when they began. A member that does not answer in time (etcd's
 * /metrics can wait on a backend commit stuck in fdatasync) keeps its last known claim: a leader stuck
 * in fdatasync still claims leadership, which is what matters here.
 */
function startPoller(agents: readonly ScenarioAgent[], members: readonly EtcdMemberProcess[], t0: number) {
  const seen = new Map<string, { min?: number; last?: number; probeMax?: number }>(agents.map((a) => [a.member, {}]));
  const timeline: Array<{ atMs: number; leaders: string[] }> = [];
  const claims = new Map<string, boolean>();
  let stopped = false;
  const record = (atMs: number) => {
    const leaders = members.map((m) => m.name).filter((n) => claims.get(n) === true);
    const prev = timeline[timeline.length - 1];
    if (!prev || prev.leaders.join() !== leaders.join()) timeline.push({ atMs, leaders });
  };
  const agentLoop = (async () => {
    while (!stopped) {
      const tick = Date.now();
      await Promise.all(
        agents.map(async (a) => {
          const snap = await a.metrics().then((t) => agentSnapshot(t, a.member), () => undefined);
          const s = seen.get(a.member)!;
          // an agent that does not answer says nothing about etcd; only its own values count
          if (snap?.etcdApiUp !== undefined) {
            s.min = Math.min(s.min ?? Infinity, snap.etcdApiUp);
            s.last = snap.etcdApiUp;
          }
          if (snap?.probeMax !== undefined) s.probeMax = Math.max(s.probeMax ?? 0, snap.probeMax);
        }),
      );
      await sleep(Math.max(0, 500 - (Date.now() - tick)));
    }
  })();
  const memberLoops = members.map(async (m) => {
    while (!stopped) {
      const tick = Date.now();
      // a killed member claims nothing; a frozen one keeps its last claim
      const claim = m.running() ? await scrapeIsLeader(m, 3000) : false;
      if (claim !== undefined && claims.get(m.name) !== claim) {
        claims.set(m.name, claim);
        record(tick - t0);
      }
      await sleep(Math.max(0, 250 - (Date.now() - tick)));
    }
  });
  return {
    seen,
    timeline,
    /** Members claiming leadership at `atMs` (relative to the window's start), per the last poll before it. */
    leadersAt(atMs: number): string[] {
      let cur: string[] = [];
      for (const e of timeline) {
        if (e.atMs > atMs) break;
        cur = e.leaders;
      }
      return cur;
    },
    async stop() {
      stopped = true;
      await Promise.all([agentLoop, ...memberLoops]);
    },
  };
}

/** Waits (bounded) until the agent's etcd_api source_up is `value`; returns ms waited or undefined. */
async function waitForEtcdApiUp(agent: ScenarioAgent, value: number, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  const ok = await waitUntil(async () => (await agent.metrics().then((t) => agentSnapshot(t, agent.member).etcdApiUp, () => undefined)) === value, timeoutMs, 200);
  return ok ? Date.now() - started : undefined;
}

// ───────────────────────────────────────────── the run

/** Compacts the cluster's keyspace at `when` (ms since the epoch); a failure is logged, not thrown: it is not the fault under test. */
async function compactAt(cluster: EtcdCluster, when: number, log: (l: string) => void): Promise<void> {
  await sleep(Math.max(0, when - Date.now()));
  try {
    log(`compacted the keyspace at revision ${await cluster.compact()}`);
  } catch (err) {
    log(`compaction failed: ${errorText(err)}`);
  }
}

async function runInside(spec: ScenarioSpec, cleanups: Cleanups, log: (l: string) => void, opts: RunOptions): Promise<ScenarioResult> {
  const notes: string[] = [];
  const startedAt = new Date().toISOString();
  const dir = mkdtempSync(join(tmpdir(), `scenario-${spec.name}-`));
  if (opts.keepDir) log(`keeping ${dir}`);
  else cleanups.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }), () => rmSync(dir, { recursive: true, force: true }));
  const fault = spec.fault;
  const names = Array.from({ length: spec.size }, (_, i) => `m${i}`);

  // ── the fault's preparations: strace wrapper, loop filesystems
  let wrap: string[] | undefined;
  let baseDir: string | undefined;
  let fioDir: string | undefined;
  let etcdLoop: string | undefined;
  const stallFor = (i: number): StallSpec | undefined =>
    fault.kind === 'slow-disk' && (fault.members === undefined || fault.members.includes(i))
      ? { stallMs: fault.stallMs, every: fault.every, first: fault.first[i % fault.first.length]! }
      : undefined;
  if (fault.kind === 'slow-disk') {
    wrap = etcdStraceWrap(dir, fault, new Map(names.flatMap((n, i) => { const st = stallFor(i); return st ? [[n, st.first] as const] : []; })));
  }
  if (spec.storage === 'ram-disk') {
    const shm = mkdtempSync(join('/dev/shm', `scenario-${spec.name}-`));
    cleanups.add(`rm ${shm}`, () => rmSync(shm, { recursive: true, force: true }), () => rmSync(shm, { recursive: true, force: true }));
    const fs = makeLoopFs(cleanups, join(shm, 'etcd.img'), join(dir, 'mnt-etcd'), 512);
    baseDir = fs.mountpoint;
    etcdLoop = fs.device;
    log(`etcd and the probes on ${fs.device} (ext4, backed by /dev/shm)`);
  }
  if (fault.kind === 'noisy') {
    if (fault.placement === 'shared') {
      const fs = makeLoopFs(cleanups, join(dir, 'shared.img'), join(dir, 'mnt-shared'), 1024);
      baseDir = fs.mountpoint;
      etcdLoop = fs.device;
      fioDir = join(fs.mountpoint, 'fio');
      log(`etcd and fio share ${fs.device} (ext4, ${fs.mountpoint})`);
    } else {
      const etcdFs = makeLoopFs(cleanups, join(dir, 'etcd.img'), join(dir, 'mnt-etcd'), 512);
      // fio's image on another device than etcd's: /dev/shm (RAM) when it exists, else the temp dir.
      const shm = mkdtempSync(join('/dev/shm', `scenario-${spec.name}-`));
      cleanups.add(`rm ${shm}`, () => rmSync(shm, { recursive: true, force: true }), () => rmSync(shm, { recursive: true, force: true }));
      const fioFs = makeLoopFs(cleanups, join(shm, 'fio.img'), join(dir, 'mnt-fio'), 512);
      baseDir = etcdFs.mountpoint;
      etcdLoop = etcdFs.device;
      fioDir = fioFs.mountpoint;
      log(`etcd on ${etcdFs.device} (backed by ${dir}), fio on ${fioFs.device} (backed by /dev/shm)`);
    }
    mkdirSync(fioDir, { recursive: true });
  }
  const pods = etcdAsStaticPods(cleanups, dir, names);
  if (pods === undefined) notes.push(`${OUTSIDE_POD_CGROUPS}: ${blkioUnavailable()}`);
  // Only on a device the scenario made: the kernel keeps counting it for as long as the device exists.
  if (pods !== undefined && etcdLoop !== undefined) pods.countLoopDevice(etcdLoop);
  if (pods !== undefined) wrap = [...pods.wrap, ...(wrap ?? [])];

  // ── etcd
  log(`starting ${spec.size} etcd ${opts.etcd?.version ?? '3.4'} members (hb ${spec.heartbeatMs} ms, et ${spec.electionMs} ms${fault.kind === 'slow-disk' ? ', under strace' : ''}${pods ? ', as static pods' : ''})`);
  const cluster = await startEtcdCluster({
    ...(opts.etcd ? { etcd: opts.etcd } : {}),
    size: spec.size,
    heartbeatMs: spec.heartbeatMs,
    electionMs: spec.electionMs,
    startTimeoutMs: 90_000,
    ...(wrap ? { wrap } : {}),
    ...(baseDir ? { baseDir } : {}),
  });
  const killMembersSync = () => {
    for (const m of cluster.members) {
      signal(m.pid(), 'SIGKILL');
      const g = m.spawnedPid();
      if (g !== undefined) {
        signal(-g, 'SIGKILL');
        signal(g, 'SIGKILL');
      }
    }
  };
  cleanups.add('etcd cluster', () => cluster.close(), () => {
    killMembersSync();
    rmSync(cluster.dir, { recursive: true, force: true });
  });
  // Before the agents start: an agent that saw its member lead through stalls would keep that finding's
  // severity for --finding-clear-after (hysteresis), past a short window.
  if (fault.kind === 'slow-disk' && fault.members !== undefined) {
    await moveLeaderOff(cluster, new Set(fault.members.map((i) => names[i]!)), log);
  }
  if (baseDir && !cluster.dir.startsWith(baseDir + '/')) {
    throw new Error(`the etcd cluster was made in ${cluster.dir}, not under ${baseDir}: harness/etcd-cluster.ts needs its baseDir option`);
  }

  // ── agents, one per member, probe beside the member's data dir (same filesystem)
  log('starting one agent per member');
  const candidateArgs = (name: string): string[] => {
    if (!opts.candidates || baseDir === undefined) return [];
    const candidate = join(dir, `candidate-${name}`);
    mkdirSync(candidate, { recursive: true });
    return [`--candidate-dir=${candidate}`, '--candidate-interval=1s'];
  };
  const agents = await Promise.all(
    cluster.members.map((m, i) =>
      startScenarioAgent(cleanups, {
        member: m,
        dir,
        probeDir: join(dirname(m.dataDir), `probe-${m.name}`),
        heartbeatMs: spec.heartbeatMs,
        electionMs: spec.electionMs,
        ...(fault.kind === 'slow-disk' && fault.traceAgents && stallFor(i) ? { stall: stallFor(i)! } : {}),
        extraArgs: [...(pods?.agentArgs ?? []), ...candidateArgs(m.name)],
      }),
    ),
  );
  const agentOf = (m: EtcdMemberProcess) => agents.find((a) => a.member === m.name)!;
  await Promise.all(
    agents.map(async (a) => {
      if ((await waitForEtcdApiUp(a, 1, 30_000)) === undefined) throw new Error(`agent for ${a.member} never reached its etcd member; log: ${a.logFile}`);
    }),
  );
  // Where the agents' own windows begin (about): they judge etcd's histograms from here, warm-up included.
  const etcdAtAgentStart = new Map<string, EtcdMetricsSnapshot | undefined>(await Promise.all(cluster.members.map(async (m) => [m.name, await scrapeEtcd(m)] as const)));

  // ── Prometheus
  log('starting Prometheus');
  const prom: PrometheusServer = await startPrometheus(cleanups, join(dir, 'prometheus'), {
    [SCRAPE_JOB]: agents.map((a) => targetOf(`${a.url}/metrics`, { node: a.member })),
    etcd: cluster.members.map((m) => targetOf(m.metricsUrl, { node: m.name })),
  });
  for (const r of prom.rules.rejected) notes.push(`rule file not loaded: ${r.file}: ${r.reason}`);
  if (prom.rules.loaded.length === 0 && prom.rules.rejected.length === 0) notes.push('no alert rules yet (deploy/prometheus/*.rules.yaml absent)');
  await prom.waitForTargets(30_000).catch((err: unknown) => notes.push(errorText(err)));

  // ── load and warm-up
  log(`load ${spec.loadRate} puts/s; warming up ${spec.warmupSeconds} s`);
  const load: Load = startLoad(cluster.endpoints, { rate: spec.loadRate });
  cleanups.add('load', () => load.stop(), () => undefined);
  await sleep(spec.warmupSeconds * 1000);

  // ── window opens: baselines
  const settledBefore = await settledStatuses(cluster, 15_000);
  if (!settledBefore.settled) notes.push('the cluster had not settled when the window opened (elections already under way)');
  const leaderOf = (st: Map<string, MemberStatus>) => {
    const id = [...st.values()][0]?.leaderId;
    return [...st.values()].find((s) => s.memberId === id)?.member;
  };
  const leaderBefore = leaderOf(settledBefore.statuses);
  const etcdBefore = new Map<string, EtcdMetricsSnapshot | undefined>(await Promise.all(cluster.members.map(async (m) => [m.name, await scrapeEtcd(m)] as const)));
  const agentBefore = new Map(await Promise.all(cluster.members.map(async (m) => [m.name, await syncedAgentSnapshot(cluster, m, agentOf(m))] as const)));
  for (const [name, a] of agentBefore) if (!a.synced) notes.push(`agent ${name}: its raft term did not match etcdctl's when the window opened`);
  // Each member's term at the window's start is the one read with its agent's counter (an election can
  // slip in between the settled read and this one while stalls go on).
  const before = termsAt(settledBefore.statuses, agentBefore);
  const termBefore = Math.max(0, ...[...before.values()].map((s) => s.raftTerm));
  load.reset();
  const t0 = Date.now();
  const poller = startPoller(agents, cluster.members, t0);
  log(`window open (term ${termBefore}, leader ${leaderBefore ?? '?'}); fault: ${describeFault(fault)}`);

  const compacted = opts.compaction ? compactAt(cluster, t0 + (spec.measureSeconds * 1000) / 2, log) : undefined;

  // ── the fault
  const faultFacts: Record<string, unknown> = {};
  let fioLog: string | undefined;
  if (fault.kind === 'noisy') {
    fioLog = join(dir, 'fio.log');
    startFio(cleanups, { dir: fioDir!, seconds: spec.measureSeconds, sizeMiB: fault.fioSizeMiB, jobs: fault.fioJobs, blockSize: fault.fioBlockSize }, fioLog);
  } else if (fault.kind === 'frozen-leader') {
    await sleep(fault.afterMs);
    const leader = await cluster.leader();
    const pid = leader.pid();
    log(`SIGSTOP leader ${leader.name} (pid ${pid}) for ${fault.pauseMs} ms`);
    const resumeSync = () => signal(pid, 'SIGCONT');
    const unregister = cleanups.add(`SIGCONT ${leader.name}`, () => leader.resume(), resumeSync);
    const paused = Date.now();
    leader.pause();
    await sleep(fault.pauseMs);
    leader.resume();
    unregister();
    Object.assign(faultFacts, { frozen: leader.name, pausedMs: Date.now() - paused });
  } else if (fault.kind === 'member-down') {
    await sleep(fault.afterMs);
    const leader = await cluster.leader();
    const target = fault.target === 'leader' ? leader : cluster.members.find((m) => m !== leader)!;
    const agent = agentOf(target);
    log(`SIGKILL ${fault.target} ${target.name} for ${fault.downMs} ms`);
    const killedAt = Date.now();
    await target.kill('SIGKILL');
    const sawDown = await waitForEtcdApiUp(agent, 0, fault.downMs);
    const rest = fault.downMs - (Date.now() - killedAt);
    if (rest > 0) await sleep(rest);
    log(`restarting ${target.name}`);
    await target.start({ wait: 'healthy', timeoutMs: 60_000 });
    const restartedAt = Date.now();
    const sawUp = await waitForEtcdApiUp(agent, 1, 30_000);
    Object.assign(faultFacts, {
      killed: target.name,
      downMs: restartedAt - killedAt,
      agentSawDownAfterMs: sawDown ?? null,
      agentSawUpAfterRestartMs: sawUp ?? null,
    });
  }
  const remaining = t0 + spec.measureSeconds * 1000 - Date.now();
  if (remaining > 0) await sleep(remaining);
  await compacted;

  // ── window closes: stop the load, let the cluster settle, read everything
  const loadStats = load.stats();
  await load.stop();
  await poller.stop();
  log('window closed; waiting for the cluster to settle');
  const settledAfter = await settledStatuses(cluster, 20_000);
  if (!settledAfter.settled) notes.push('the cluster had not settled (same term and leader everywhere) 20 s after the window');
  const leaderAfter = leaderOf(settledAfter.statuses);
  const etcdAfter = new Map<string, EtcdMetricsSnapshot | undefined>(await Promise.all(cluster.members.map(async (m) => [m.name, await scrapeEtcd(m)] as const)));
  const agentAfter = new Map(await Promise.all(cluster.members.map(async (m) => [m.name, await syncedAgentSnapshot(cluster, m, agentOf(m))] as const)));
  for (const [name, a] of agentAfter) if (!a.synced) notes.push(`agent ${name}: its raft term did not match etcdctl's when the window closed`);
  const after = termsAt(settledAfter.statuses, agentAfter);
  const termAfter = Math.max(0, ...[...after.values()].map((s) => s.raftTerm));
  const tEnd = Date.now();
  const durationSeconds = (tEnd - t0) / 1000;
  const straceLogs = new Map(names.map((n) => [n, readStraceLog(etcdStraceLog(dir, n))]));
  // which fd is the WAL and which the bbolt db, read while etcd still runs
  const filesOf = new Map(cluster.members.map((m) => [m.name, etcdFiles(m.pid())]));
  const diagnoses = new Map(await Promise.all(agents.map(async (a) => [a.member, await diagnosisOf(a)] as const)));
  const alerts = await prom.firedWithin(durationSeconds + 2).catch((err: unknown) => {
    notes.push(`alerts query failed: ${errorText(err)}`);
    return [] as string[];
  });
  const alertHistory = await prom.alertHistory(durationSeconds + 2).catch(() => ({}));
  const scrapeFailures = await prom.scrapeFailures(durationSeconds + 2).catch(() => ({}));
  if (Object.keys(scrapeFailures).length > 0) notes.push(`failed Prometheus scrapes in the window: ${JSON.stringify(scrapeFailures)}`);
  const alertsPending = await prom.alerts().then(
    (as) => [...new Set(as.filter((a) => a.state === 'pending').map((a) => a.name))].sort(),
    () => [] as string[],
  );
  if (fioLog) Object.assign(faultFacts, { fio: fioSummary(fioLog) });

  // ── the result
  const slow = fault.kind === 'slow-disk';
  const stallFacts = (name: string) => {
    const logged = straceLogs.get(name)!;
    const files = filesOf.get(name)!;
    const inWindow = logged.delayed.filter((d) => d.at >= t0 && d.at <= tEnd).map((d) => ({ atMs: Math.round(d.at - t0), file: files.get(d.fd) ?? 'other' }));
    const onLeader = inWindow.filter((d) => poller.leadersAt(d.atMs).includes(name));
    return {
      stalls: inWindow.length,
      walStalls: inWindow.filter((d) => d.file === 'wal').length,
      stallsWhileLeader: onLeader.length,
      walStallsWhileLeader: onLeader.filter((d) => d.file === 'wal').length,
      fdatasyncCalls: countBetween(logged.calls, t0, tEnd),
      stallTimesMs: inWindow.map((d) => d.atMs),
      stallFiles: inWindow.map((d) => d.file),
    };
  };
  const members: MemberObservation[] = cluster.members.map((m) => {
    const b = before.get(m.name);
    const a = after.get(m.name);
    const eb = etcdBefore.get(m.name);
    const ea = etcdAfter.get(m.name);
    const counterDelta = (x?: number, y?: number) => (y === undefined ? undefined : x === undefined || y < x ? y : y - x);
    const walFsync = windowQuantiles(eb?.walFsync, ea?.walFsync);
    const walFsyncSinceAgentStart = windowQuantiles(etcdAtAgentStart.get(m.name)?.walFsync, ea?.walFsync);
    const backendCommit = windowQuantiles(eb?.backendCommit, ea?.backendCommit);
    const leaderChanges = counterDelta(eb?.leaderChanges, ea?.leaderChanges);
    const heartbeatFailures = counterDelta(eb?.heartbeatFailures, ea?.heartbeatFailures);
    return {
      member: m.name,
      ...(b ? { termBefore: b.raftTerm } : {}),
      ...(a ? { termAfter: a.raftTerm } : {}),
      ...(a && b ? { termIncrease: a.raftTerm - b.raftTerm } : {}),
      ...(slow ? stallFacts(m.name) : {}),
      ...(leaderChanges !== undefined ? { leaderChanges } : {}),
      ...(heartbeatFailures !== undefined ? { heartbeatFailures } : {}),
      ...(walFsync ? { walFsync } : {}),
      ...(walFsyncSinceAgentStart ? { walFsyncSinceAgentStart } : {}),
      ...(backendCommit ? { backendCommit } : {}),
    };
  });
  const delta = (b?: HistogramSnapshot, a?: HistogramSnapshot) => (a === undefined ? undefined : b === undefined ? a : histogramDelta(b, a));
  const walAll = addHistograms(cluster.members.map((m) => delta(etcdBefore.get(m.name)?.walFsync, etcdAfter.get(m.name)?.walFsync)));
  const commitAll = addHistograms(cluster.members.map((m) => delta(etcdBefore.get(m.name)?.backendCommit, etcdAfter.get(m.name)?.backendCommit)));
  const walQ = windowQuantiles(undefined, walAll);
  const commitQ = windowQuantiles(undefined, commitAll);

  const agentReports: AgentReport[] = cluster.members.map((m) => {
    const b = agentBefore.get(m.name)?.snap;
    const a = agentAfter.get(m.name)?.snap;
    const obs = members.find((x) => x.member === m.name);
    const elections = a && b ? a.elections - b.elections : undefined;
    const probeQ = windowQuantiles(b?.probe, a?.probe);
    const probeAll = windowQuantiles(undefined, a?.probe);
    const polled = poller.seen.get(m.name);
    const dt = a && b ? (a.at - b.at) / 1000 : undefined;
    const d = (x?: number, y?: number) => (x === undefined || y === undefined ? undefined : y - x);
    let disk: AgentReport['disk'];
    if (a?.disk) {
      const bd = b?.disk?.device === a.disk.device ? b.disk : undefined;
      const io = d(bd?.ioTime, a.disk.ioTime);
      const wt = d(bd?.writeTime, a.disk.writeTime);
      const wn = d(bd?.writes, a.disk.writes);
      const ft = d(bd?.flushTime, a.disk.flushTime);
      const fn = d(bd?.flushes, a.disk.flushes);
      disk = {
        device: a.disk.device,
        sharedWith: a.disk.sharedWith,
        ...(io !== undefined && dt ? { busy: io / dt } : {}),
        ...(wt !== undefined && wn ? { writeAwaitMs: (wt / wn) * 1000 } : {}),
        ...(ft !== undefined && fn ? { flushAwaitMs: (ft / fn) * 1000 } : {}),
      };
    }
    const diag = diagnoses.get(m.name) ?? {};
    const view = b && a ? { termBefore: b.raftTerm, termAfter: a.raftTerm, countBefore: b.elections, countAfter: a.elections } : undefined;
    return {
      member: m.name,
      ...(elections !== undefined ? { elections } : {}),
      ...(obs?.termIncrease !== undefined ? { observedTermIncrease: obs.termIncrease } : {}),
      ...(elections !== undefined && obs?.termIncrease !== undefined ? { electionsMatch: elections === obs.termIncrease } : {}),
      probe: {
        count: probeQ?.count ?? 0,
        ...(probeQ?.p50 !== undefined ? { p50: probeQ.p50 } : {}),
        ...(probeQ?.p99 !== undefined ? { p99: probeQ.p99 } : {}),
        ...(polled?.probeMax !== undefined ? { max: polled.probeMax } : {}),
      },
      ...(probeAll ? { probeSinceStart: { count: probeAll.count, ...(probeAll.p99 !== undefined ? { p99: probeAll.p99 } : {}) } } : {}),
      ...(disk ? { disk } : {}),
      ...(view && (view.termBefore !== undefined || view.termAfter !== undefined) ? { agentView: view } : {}),
      ...(polled?.min !== undefined && polled.last !== undefined ? { etcdApiUp: { min: polled.min, last: polled.last } } : {}),
      ...diag,
    };
  });

  const stalls = slow ? members.reduce((s, m) => s + (m.stalls ?? 0), 0) : 0;
  const stallsOnLeader = slow ? members.reduce((s, m) => s + (m.stallsWhileLeader ?? 0), 0) : undefined;
  const walStallsOnLeader = slow ? members.reduce((s, m) => s + (m.walStallsWhileLeader ?? 0), 0) : undefined;
  const probeStalls =
    slow && fault.traceAgents ? agents.reduce((s, a) => s + (a.straceLog ? countBetween(readStraceLog(a.straceLog).delayed.map((d) => d.at), t0, tEnd) : 0), 0) : undefined;

  return {
    scenario: spec.name,
    startedAt,
    settings: { heartbeatMs: spec.heartbeatMs, electionMs: spec.electionMs, members: spec.size, etcd: opts.etcd?.version ?? '3.4' },
    fault: { kind: fault.kind, description: describeFault(fault) },
    expect: spec.expect,
    durationSeconds,
    observed: {
      elections: termAfter - termBefore,
      termBefore,
      termAfter,
      ...(members.some((m) => m.leaderChanges !== undefined) ? { leaderChanges: Math.max(...members.map((m) => m.leaderChanges ?? 0)) } : {}),
      settled: settledAfter.settled,
      ...(leaderBefore ? { leaderBefore } : {}),
      ...(leaderAfter ? { leaderAfter } : {}),
      stalls,
      ...(stallsOnLeader !== undefined ? { stallsOnLeader } : {}),
      ...(walStallsOnLeader !== undefined ? { walStallsOnLeader } : {}),
      ...(probeStalls !== undefined ? { probeStalls } : {}),
      leaderTimeline: poller.timeline,
      etcd: {
        walFsyncCount: walQ?.count ?? 0,
        ...(walQ?.p50 !== undefined ? { walFsyncP50: walQ.p50 } : {}),
        ...(walQ?.p99 !== undefined ? { walFsyncP99: walQ.p99 } : {}),
        backendCommitCount: commitQ?.count ?? 0,
        ...(commitQ?.p50 !== undefined ? { backendCommitP50: commitQ.p50 } : {}),
        ...(commitQ?.p99 !== undefined ? { backendCommitP99: commitQ.p99 } : {}),
      },
      members,
      ...(Object.keys(faultFacts).length > 0 ? { fault: faultFacts } : {}),
    },
    load: loadStats,
    agents: agentReports,
    alerts,
    alertsPending,
    alertHistory,
    ruleFiles: prom.rules.loaded.map((f) => relative(process.cwd(), f)),
    notes,
  };
}
