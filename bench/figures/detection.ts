// detection latency, on a real 3-member etcd cluster (a simpler set-up than the scenario harness,
// same ingredients: etcd 3.4 members, strace fdatasync injection, the built agent):
// - stall → finding: the agent runs under strace, which delays one fdatasync per probe thread
//   (its K-th, K varied per repetition so the stall falls at any phase of the probe and diagnosis
//   schedules); from the stall's entry time in strace's log (-ttt) to the first poll of
//   /api/v1/diagnosis that lists a stall finding;
// - term change → election counter: `etcdctl move-leader` makes a new term at a random phase of the
//   agent's 1 s etcd API schedule; from the first poll (every 20 ms, straight to the member's gRPC
//   status) that sees the new term, to the first poll of /api/v1/status whose election count grew.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import type { EtcdCluster } from '../../harness/etcd-cluster.js';
import { fmtMs, numberOption, say, type BenchOptions, type FigureResult } from '../lib/common.js';
import { fmtSpread, spread } from '../lib/stats.js';
import { probeDirFor, startCluster, startDefaultAgent, withWorkspace, type Workspace } from '../lib/setup.js';
import type { BenchAgent } from '../lib/agent.js';

/** The finding a stall of half the election timeout or more raises (probe_fsync_slow is a p99 over 5 minutes: this disk's own noise trips it). */
const STALL_CODES = new Set(['stalls_threaten_leadership']);
const POLL_MS = 20;

/** Entry times (epoch ms) of the fdatasyncs strace delayed, from a `-f -ttt` log. */
function delayedEntries(logFile: string): number[] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const unfinished = new Map<string, number>();
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) +(\d+\.\d+) (.*)$/.exec(line);
    if (!m || !m[3]!.includes('fdatasync')) continue;
    const at = Number(m[2]) * 1000;
    if (m[3]!.endsWith('<unfinished ...>')) {
      unfinished.set(m[1]!, at);
      continue;
    }
    const entry = m[3]!.startsWith('<...') ? (unfinished.get(m[1]!) ?? at) : at;
    if (m[3]!.endsWith('(DELAYED)')) out.push(entry);
  }
  return out.sort((a, b) => a - b);
}

async function findingCodes(agent: BenchAgent): Promise<string[] | undefined> {
  try {
    const r = await agent.get('/api/v1/diagnosis', 2000);
    if (r.status !== 200) return undefined;
    const raw = JSON.parse(r.body) as { diagnosis?: { findings?: Array<{ code?: string }> }; findings?: Array<{ code?: string }> };
    const findings = raw.diagnosis?.findings ?? raw.findings ?? [];
    return findings.map((f) => String(f.code));
  } catch {
    return undefined;
  }
}

interface StallRun {
  readonly rep: number;
  readonly findingsBefore?: readonly string[];
  readonly invalid?: string;
  readonly k: number;
  readonly stallMs: number;
  readonly firstStallAt?: number;
  readonly stalls: number;
  readonly findingAt?: number;
  readonly finding?: string;
  /** From the stall's entry to the finding. */
  readonly detectionMs?: number;
  /** From the stall's end (entry + injected delay) to the finding. */
  readonly afterStallMs?: number;
}

async function stallRun(ws: Workspace, cluster: EtcdCluster, rep: number, k: number, stallMs: number, timeoutMs: number): Promise<StallRun> {
  const m = cluster.members[0]!;
  const log = join(ws.dir, `strace-stall-${rep}.log`);
  const wrap = ['strace', '-f', '-qq', '-ttt', '--seccomp-bpf', '-e', 'signal=none', '-o', log, '-e', 'trace=fdatasync', '-e', `inject=fdatasync:delay_enter=${stallMs}ms:when=${k}`];
  const agent = await startDefaultAgent(ws, m, `stall-${rep}`, [], { wrap, probeDir: probeDirFor(m, `probe-stall-${rep}`) });
  let started = Date.now();
  // The baseline is the first diagnosis (one --diagnosis-interval after start), before any stall.
  let first: string[] | undefined;
  while (first === undefined && Date.now() - started < 30_000) {
    first = await findingCodes(agent);
    if (first === undefined) await sleep(100);
  }
  const before = new Set(first ?? []);
  started = Date.now();
  let findingAt: number | undefined;
  let finding: string | undefined;
  while (Date.now() - started < timeoutMs) {
    const tick = Date.now();
    const codes = await findingCodes(agent);
    const fresh = codes?.find((c) => STALL_CODES.has(c) && !before.has(c));
    if (fresh) {
      findingAt = tick;
      finding = fresh;
      break;
    }
    await sleep(Math.max(0, POLL_MS - (Date.now() - tick)));
  }
  await agent.stop();
  const delayed = delayedEntries(log);
  const firstStall = delayed[0];
  // A finding seen before the first injected stall came from the disk itself: not this measurement.
  const valid = firstStall !== undefined && findingAt !== undefined && findingAt >= firstStall;
  return {
    rep,
    k,
    stallMs,
    stalls: delayed.length,
    ...(before.size > 0 ? { findingsBefore: [...before] } : {}),
    ...(firstStall !== undefined ? { firstStallAt: firstStall } : {}),
    ...(findingAt !== undefined ? { findingAt } : {}),
    ...(finding ? { finding } : {}),
    ...(findingAt !== undefined && !valid ? { invalid: 'the finding appeared before the first injected stall' } : {}),
    ...(valid && findingAt !== undefined ? { detectionMs: findingAt - firstStall, afterStallMs: findingAt - firstStall - stallMs } : {}),
  };
}

interface ElectionRun {
  readonly rep: number;
  readonly termBefore: number;
  readonly termAfter?: number;
  readonly termSeenAt?: number;
  readonly counterAt?: number;
  readonly latencyMs?: number;
  readonly moveLeaderMs: number;
}

async function electionRuns(ws: Workspace, cluster: EtcdCluster, reps: number): Promise<ElectionRun[]> {
  const m = cluster.members[0]!;
  const agent = await startDefaultAgent(ws, m, 'elections');
  const client = new Etcd3({ hosts: [m.clientUrl], dialTimeout: 2000 });
  ws.defer('etcd3 status client', () => client.close());
  const term = async () => Number((await client.maintenance.status()).header.raft_term);
  const elections = async () => {
    try {
      const r = await agent.get('/api/v1/status', 2000);
      return (JSON.parse(r.body) as { elections?: number }).elections;
    } catch {
      return undefined;
    }
  };
  const ids = await cluster.etcdctl(['member', 'list', '-w', 'json']).then((t) => (JSON.parse(t.replace(/("ID":)(\d+)/g, '$1"$2"')) as { members: Array<{ ID: string; name: string }> }).members);
  const out: ElectionRun[] = [];
  await sleep(3000);
  for (let rep = 1; rep <= reps; rep++) {
    // A random phase against the agent's 1 s etcd API schedule.
    await sleep(2000 + Math.random() * 1000);
    const leader = await cluster.leader();
    const target = cluster.members.find((x) => x !== leader)!;
    const targetId = BigInt(ids.find((x) => x.name === target.name)!.ID).toString(16);
    const termBefore = await term();
    const countBefore = await elections();
    let termSeenAt: number | undefined;
    let termAfter: number | undefined;
    let counterAt: number | undefined;
    const deadline = Date.now() + 15_000;
    let done = false;
    const termPoll = (async () => {
      while (!done && Date.now() < deadline) {
        const tick = Date.now();
        const t = await term().catch(() => undefined);
        if (t !== undefined && t > termBefore) {
          termSeenAt = tick;
          termAfter = t;
          return;
        }
        await sleep(Math.max(0, POLL_MS - (Date.now() - tick)));
      }
    })();
    const counterPoll = (async () => {
      while (!done && Date.now() < deadline) {
        const tick = Date.now();
        const c = await elections();
        if (c !== undefined && countBefore !== undefined && c > countBefore) {
          counterAt = tick;
          return;
        }
        await sleep(Math.max(0, POLL_MS - (Date.now() - tick)));
      }
    })();
    const t0 = performance.now();
    await cluster.etcdctl(['move-leader', targetId], { endpoints: [leader.clientUrl] });
    const moveLeaderMs = performance.now() - t0;
    await Promise.all([termPoll, counterPoll]);
    done = true;
    const run: ElectionRun = {
      rep,
      termBefore,
      moveLeaderMs,
      ...(termAfter !== undefined ? { termAfter } : {}),
      ...(termSeenAt !== undefined ? { termSeenAt } : {}),
      ...(counterAt !== undefined ? { counterAt } : {}),
      ...(termSeenAt !== undefined && counterAt !== undefined ? { latencyMs: counterAt - termSeenAt } : {}),
    };
    say('detection-latency', `election ${rep}/${reps}: term ${termBefore} → ${termAfter ?? '?'}; counter after ${run.latencyMs ?? '?'} ms`);
    out.push(run);
  }
  await agent.stop();
  return out;
}

export async function detectionLatency(o: BenchOptions): Promise<FigureResult> {
  const F = 'detection-latency';
  const stallReps = o.runs ?? (o.smoke ? 1 : 8);
  const electionReps = o.runs ?? (o.smoke ? 1 : 12);
  const stallMs = numberOption(o, 'stall', 600);
  const probeIntervalMs = 1000; // the default --probe-interval
  return withWorkspace(F, async (ws) => {
    const cluster = await startCluster(ws, { size: 3 });
    const stalls: StallRun[] = [];
    for (let rep = 1; rep <= stallReps; rep++) {
      const k = o.smoke ? 8 : 25 + Math.floor(Math.random() * 16);
      say(F, `stall ${rep}/${stallReps}: ${stallMs} ms on the ${k}th fdatasync of each probe thread`);
      const r = await stallRun(ws, cluster, rep, k, stallMs, 60_000);
      say(F, `  ${r.invalid ? `invalid: ${r.invalid}` : `finding ${r.finding ?? 'none'} ${r.detectionMs ?? '?'} ms after the first stall began`} (${r.stalls} stalls)`);
      stalls.push(r);
    }
    const elections = await electionRuns(ws, cluster, electionReps);
    const det = spread(stalls.map((s) => (s.detectionMs ?? NaN) / 1000));
    const after = spread(stalls.map((s) => (s.afterStallMs ?? NaN) / 1000));
    const el = spread(elections.map((e) => (e.latencyMs ?? NaN) / 1000));
    const invalidStalls = stalls.filter((s) => s.invalid !== undefined).length;
    const missedStalls = stalls.filter((s) => s.detectionMs === undefined && s.invalid === undefined).length;
    const missedElections = elections.filter((e) => e.latencyMs === undefined).length;
    const stallMet = missedStalls === 0 && det.max <= (2 * probeIntervalMs) / 1000;
    const electionMet = missedElections === 0 && el.max <= 1;
    return {
      figure: F,
      target: 'stall → finding ≤ 2 probe intervals (2 s at the default 1 s); term change → election counter ≤ 1 s',
      targetMet: stallMet && electionMet,
      summary: [
        `stall (${stallMs} ms) → finding: ${fmtSpread(det, fmtMs)} from the stall's start; ${fmtSpread(after, fmtMs)} from its end${missedStalls ? `; ${missedStalls} never detected` : ''}${invalidStalls ? `; ${invalidStalls} runs void (the disk stalled by itself first)` : ''}`,
        `term change → election counter: ${fmtSpread(el, fmtMs)}${missedElections ? `; ${missedElections} not seen` : ''}`,
        `targets: stall ≤ 2 s ${stallMet ? 'met' : det.median <= 2 ? 'met by the median, not by every run' : 'MISSED'}; election ≤ 1 s ${electionMet ? 'met' : el.median <= 1 ? 'met by the median, not by every run' : 'MISSED'}`,
      ],
      method: {
        cluster: '3-member etcd 3.4 (heartbeat 100 ms, election timeout 1000 ms) on loopback; the agent watches m0 at default settings',
        stall: `agent under strace --seccomp-bpf -e inject=fdatasync:delay_enter=${stallMs}ms:when=K (K-th fdatasync of each libuv thread, K in 25…40); a stall finding is ${[...STALL_CODES].join(' or ')} appearing in /api/v1/diagnosis, polled every ${POLL_MS} ms; a fresh agent per repetition`,
        election: `etcdctl move-leader to a follower; the new term seen by polling m0's maintenance status every ${POLL_MS} ms; the counter by polling the agent's /api/v1/status every ${POLL_MS} ms`,
      },
      results: { stallToFinding: det, stallEndToFinding: after, termToCounter: el, missedStalls, invalidStalls, missedElections },
      raw: { stalls, elections },
    };
  });
}
