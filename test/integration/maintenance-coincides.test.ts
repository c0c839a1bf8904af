// Why elections come at night: etcd's maintenance on a slowed disk, on a real 3-member cluster (etcd
// 3.5, as SCS runs it) with one agent per member, each probing beside its member's data dir. The data is
// on an ext4 loop filesystem (backed by /dev/shm); one node's disk is then slowed by a real cgroup v1
// blkio rule holding its etcd and its agent (3 MiB/s of writes between them, as a network volume's
// bandwidth), so a small write queues behind a large one as on such a volume. Its database holds
// 40 MiB of live data and as much deleted and compacted away: a large fragmented DB.
// - Without maintenance: the leader frozen for 3 s (SIGSTOP) costs an election, and no agent says
//   maintenance_coincides — the election came with no maintenance.
// - With maintenance: etcdctl defrag on the slowed leader rewrites its 40 MiB through that bandwidth;
//   the fdatasyncs beside it wait behind the rewrite for seconds (the probe's stalls: what the WAL's
//   would be), and that member's agent — that one only — says maintenance_coincides, naming the
//   defragmentation. (Here etcd 3.5 kept its leadership through the ~7 s rewrite; a longer one blocks
//   it long enough to cost an election.)
// Needs root (losetup, mount, cgroups) and the etcd 3.5 build (npm test builds it).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import t from 'tap';
import { memberFlags, startAgentProcess, type AgentProcess } from '../../harness/agent-process.js';
import { startEtcdCluster, type EtcdMemberProcess } from '../../harness/etcd-cluster.js';
import { etcdBuild } from '../../harness/etcd-versions.js';
import { blkioUnavailable, createKubeletCgroups } from '../../harness/kubelet-cgroups.js';
import { Cleanups, scratchDirs } from '../../harness/processes.js';
import { loopUnavailable, makeLoopFs } from '../scenarios/faults.js';
import { PREFIX } from '../../src/export/prometheus/contract.js';

const build = etcdBuild('3.5');
const skip = loopUnavailable() ?? blkioUnavailable() ?? (build ? false : 'needs the etcd 3.5 build (npm test builds it)');

/** Bytes a second the leader's etcd may write to the loop device: the defragmentation's 40 MiB take about 15 s. */
const SLOW_BPS = 3 * 2 ** 20;
const MiB = 2 ** 20;

const coincides = (text: string) => /etcd_latency_agent_finding\{code="maintenance_coincides",severity="[a-z]+"\} 1/.test(text);
const counter = (text: string, name: string, labels: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${PREFIX}${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

t.test(
  'a defragmentation of a large fragmented DB on the slowed leader raises maintenance_coincides on that member alone; an election without maintenance raises it nowhere',
  { skip, timeout: 6 * 60_000 },
  async (t) => {
    const cleanups = new Cleanups();
    t.teardown(async () => {
      await cleanups.run();
    });
    const { shm, root } = scratchDirs(cleanups, 'maintenance');
    const fs = makeLoopFs(cleanups, join(shm, 'etcd.img'), join(root, 'etcd'), 768);
    const cluster = await startEtcdCluster({ etcd: build!, size: 3, baseDir: fs.mountpoint, extraArgs: ['--quota-backend-bytes=1073741824'] });
    cleanups.add('etcd cluster', () => cluster.close(), () => undefined);

    const agents = new Map<string, AgentProcess>();
    for (const m of cluster.members) {
      const probeDir = join(fs.mountpoint, `probe-${m.name}`);
      mkdirSync(probeDir);
      const agent = await startAgentProcess([
        ...memberFlags(m),
        '--etcd-api-interval=500ms',
        '--etcd-metrics-interval=1s',
        '--etcd-timeout=2s',
        '--etcd-manifest=/nonexistent/etcd.yaml',
        '--etcd-heartbeat-interval=100ms',
        '--etcd-election-timeout=1000ms',
        '--diagnosis-interval=1s',
        '--processes-enabled=false',
        '--probe-interval=250ms',
      ], { probeDir });
      agents.set(m.name, agent);
      cleanups.add(`agent ${m.name}`, () => void agent.stop(), () => agent.child.kill('SIGKILL'));
    }
    const metricsOf = async () => new Map(await Promise.all([...agents].map(async ([name, a]) => [name, await a.metrics()] as const)));

    // A large fragmented DB: 40 MiB live, 40 MiB deleted and compacted away.
    const client = new Etcd3({ hosts: cluster.members.map((m) => m.clientUrl) });
    cleanups.add('etcd client', () => client.close(), () => undefined);
    const value = Buffer.alloc(512 * 1024, 'x');
    for (let i = 0; i < 80; i++) await client.put(`${i < 40 ? 'live' : 'old'}/${i}`).value(value);
    await client.delete().prefix('old/');
    await cluster.compact();

    // Writes go on, as a cluster's do: 5 small puts a second.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await client.put(`load/${i % 100}`).value(String(i)).catch(() => undefined);
        await sleep(200);
      }
    })();
    cleanups.add('writer', async () => {
      writing = false;
      await writer;
    }, () => undefined);

    // One node's disk slowed: its etcd and its agent in a blkio cgroup with a write-rate rule on the loop device.
    const cgroups = createKubeletCgroups(cleanups, root, 'maintenance');
    const dev = execFileSync('lsblk', ['-dno', 'MAJ:MIN', fs.device], { encoding: 'utf8' }).trim();
    const slowed = cgroups.cgroup('slow-disk');
    writeFileSync(`${slowed}/blkio.throttle.write_bps_device`, `${dev} ${SLOW_BPS}`);
    const slow = (m: EtcdMemberProcess) => {
      for (const pid of [m.pid(), agents.get(m.name)!.child.pid]) writeFileSync(`${slowed}/cgroup.procs`, String(pid));
    };

    // Past the compaction's own ±10 s, so that nothing below can be counted against it.
    await sleep(15_000);

    // ── an election without maintenance: the leader frozen for 3 s
    const first = await cluster.leader();
    const termBefore = await cluster.raftTerm();
    first.pause();
    await sleep(3000);
    first.resume();
    const termAfter = await cluster.raftTerm();
    t.ok(termAfter > termBefore, `the frozen leader cost an election (term ${termBefore} → ${termAfter})`);
    await sleep(5000); // the agents' next evaluations
    for (const [name, text] of await metricsOf()) t.notOk(coincides(text), `${name}: no maintenance_coincides after an election without maintenance`);

    // ── a defragmentation on the slowed leader
    const target = await cluster.leader();
    slow(target);
    t.comment(`defragmenting ${target.name}, the leader, its node's writes limited to ${SLOW_BPS / MiB} MiB/s`);
    const defragTermBefore = await cluster.raftTerm();
    // etcdctl gives up after its command timeout; etcd goes on until the DB is rewritten.
    const defrag = cluster.etcdctl(['defrag'], { endpoints: [target.clientUrl] }).catch((err: unknown) => String(err));
    const agent = agents.get(target.name)!;
    const seen = await agent.waitForMetrics(
      (text) => (counter(text, 'etcd_maintenance_total', `member="${target.name}",kind="defrag"`) ?? 0) >= 1 && coincides(text),
      `${target.name}'s agent: the defragmentation done and maintenance_coincides`,
      180_000,
    );
    t.comment(`etcdctl defrag: ${(await defrag).trim().split('\n').at(-1)}`);
    const defragTermAfter = await cluster.raftTerm();
    t.comment(`raft term ${defragTermBefore} → ${defragTermAfter} over the defragmentation`);
    const seconds = counter(seen, 'etcd_maintenance_seconds_total', `member="${target.name}",kind="defrag"`)!;
    t.ok(seconds > 1, `the defragmentation took ${seconds.toFixed(1)} s through the slowed disk`);
    const d = JSON.parse((await agent.get('/api/v1/diagnosis')).body) as { findings: Array<{ code: string; severity: string; summary: string; remedy: string }> };
    const f = d.findings.find((x) => x.code === 'maintenance_coincides')!;
    t.comment(f.summary);
    t.equal(f.severity, 'warning', 'a warning: on the leader (whose stalls start elections), or with an election');
    t.match(f.summary, /came during etcd's defragmentation on this member/, 'naming the defragmentation');
    t.match(f.summary, /^[1-9]\d* stalls? threatening leadership and \d+ elections? in the last/, 'the stalls beside the rewrite');
    t.match(f.summary, defragTermAfter > defragTermBefore ? /[1-9]\d* elections? in the last/ : /which leads/, 'and why it matters: the election it cost, or that this member leads');
    t.match(f.remedy, /followers first and the leader last, after moving leadership away \(etcdctl move-leader\)/, 'with the order to defragment in');
    await sleep(3000);
    for (const [name, text] of await metricsOf()) {
      if (name !== target.name) t.notOk(coincides(text), `${name}: saw the election too, but no maintenance of its own: silent`);
    }
  },
);
