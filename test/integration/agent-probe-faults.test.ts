// The probe's faults on the whole agent as a process, on a real, small, loop-mounted ext4 filesystem:
// free space below the floor and a full disk (the probe pauses, says why once, never grows, never
// takes the last blocks, resumes), its directory removed while it runs, and crashes (SIGKILL) followed
// by restarts (the stale file is reused, or cut back to size; nothing accumulates). Needs root.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, statfsSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { seriesValue, startAgentProcess, type AgentProcess } from '../../harness/agent-process.js';
import { repeatedStateLines, Scraper, stateLines } from '../../harness/metrics-watch.js';

const P = 'etcd_latency_agent_';
const MiB = 1024 * 1024;
const PROBE_FILE = 'etcd-latency-agent.probe';
const up = (text: string, source: string) => seriesValue(text, `${P}source_up{source="${source}"}`);

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'loop devices are Linux-only';
  if (process.getuid?.() !== 0) return 'needs root to mount a loop device';
  try {
    run('losetup', ['-f']);
    run('mkfs.ext4', ['-V']);
  } catch (err) {
    return `losetup/mkfs.ext4 unavailable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  return undefined;
}

interface Layout {
  mnt: string;
  dataDir: string;
  probeDir: string;
  args: string[];
}

/** A 32 MiB ext4 filesystem with etcd's layout and a probe dir beside the data dir; gone after the test. */
function loopFs(tt: Test): Layout {
  const root = mkdtempSync(join(tmpdir(), 'agent-probe-faults-'));
  const img = join(root, 'fs.img');
  const mnt = join(root, 'mnt');
  mkdirSync(mnt);
  run('truncate', ['-s', '32M', img]);
  run('mkfs.ext4', ['-q', '-m', '0', img]);
  run('mount', ['-o', 'loop', img, mnt]);
  tt.teardown(async () => {
    for (let i = 0; i < 20; i++) {
      try {
        run('umount', [mnt]);
        break;
      } catch {
        await sleep(200); // an agent still closing its probe file
      }
      if (i === 19) run('umount', ['-l', mnt]);
    }
    rmSync(root, { recursive: true, force: true });
  });
  const dataDir = join(mnt, 'etcd');
  const probeDir = join(mnt, 'etcd-latency-agent');
  mkdirSync(join(dataDir, 'member', 'wal'), { recursive: true });
  mkdirSync(probeDir);
  const args = [
    `--etcd-data-dir=${dataDir}`,
    '--etcd-endpoints=http://127.0.0.1:1',
    '--etcd-metrics-url=http://127.0.0.1:1/metrics',
    '--etcd-manifest=/nonexistent',
    '--probe-interval=200ms',
    '--probe-writes=5',
    '--probe-file-size=2MiB',
    '--probe-min-free=8MiB',
    '--disk-interval=1s',
  ];
  return { mnt, dataDir, probeDir, args };
}

const available = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

/** Writes `bytes` of filler (or until ENOSPC when undefined), synced. */
function fill(file: string, bytes?: number): void {
  const fd = openSync(file, 'a');
  try {
    const chunk = Buffer.alloc(64 * 1024, 0xaa);
    let left = bytes ?? Infinity;
    while (left > 0) {
      const n = Math.min(chunk.length, left);
      try {
        if (writeSync(fd, chunk, 0, n) < n) break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
      left -= n;
    }
    if (bytes === undefined) {
      // the last blocks, down to 1 KiB writes
      const small = Buffer.alloc(1024, 0xaa);
      for (;;) {
        try {
          if (writeSync(fd, small) < small.length) break;
        } catch {
          break;
        }
      }
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function start(layout: Layout, tt: Test): Promise<AgentProcess> {
  const agent = await startAgentProcess(layout.args, { probeDir: layout.probeDir });
  tt.teardown(() => agent.stop().catch(() => undefined));
  return agent;
}

const skip = whyNot();

t.test('free space below the floor, then a full disk: paused with one line, file never grows, nothing written; resumes', { skip }, async (t) => {
  const fs = loopFs(t);
  const agent = await start(fs, t);
  const scraper = new Scraper(agent);
  const file = join(fs.probeDir, PROBE_FILE);
  await agent.waitForMetrics((x) => up(x, 'fsync_probe') === 1, 'probe up');
  t.equal(statSync(file).size, 2 * MiB, 'the probe file is preallocated to --probe-file-size');

  const filler = join(fs.mnt, 'filler');
  fill(filler, available(fs.mnt) - 4 * MiB); // 4 MiB left: below the 8 MiB floor
  const paused = await agent.waitForMetrics((x) => up(x, 'fsync_probe') === 0, 'probe paused below the floor');
  t.equal(seriesValue(paused, `${P}probe_paused`), 1, 'probe_paused says so');
  t.match(paused, /source_errors_total\{source="fsync_probe",reason="no_space"\} [1-9]/);
  const status = JSON.parse((await agent.get('/api/v1/status')).body) as { sources: { fsync_probe: { lastError: { message: string } } } };
  t.match(status.sources.fsync_probe.lastError.message, /paused: \d+ bytes free .* below the floor of 8388608 bytes; nothing written/, 'the status says why');
  const freeWhilePaused = available(fs.mnt);
  const written = seriesValue(paused, `${P}probe_written_bytes_total`);
  await sleep(1500); // seven rounds
  t.equal(available(fs.mnt), freeWhilePaused, 'no block used while paused');
  t.equal(seriesValue(await agent.metrics(), `${P}probe_written_bytes_total`), written, 'no byte written while paused');

  fill(filler); // now really full: ENOSPC for anyone
  t.ok(available(fs.mnt) < 64 * 1024, `the filesystem is full (${available(fs.mnt)} bytes left)`);
  await sleep(1500);
  t.equal(statSync(file).size, 2 * MiB, 'the probe file kept its size through ENOSPC');
  t.equal((await agent.get('/healthz')).status, 200, 'the agent is up');
  const lines = stateLines(agent.log(), 'fsync_probe');
  t.same(lines.map((l) => `${l.kind}${l.reason ? ':' + l.reason : ''}`), ['up', 'failed:no_space'], 'one line when it paused, none per round');

  rmSync(filler);
  await agent.waitForMetrics((x) => up(x, 'fsync_probe') === 1, 'probe resumed');
  t.equal(stateLines(agent.log(), 'fsync_probe').at(-1)?.kind, 'recovered', 'one line when it resumed');
  t.equal(readdirSync(fs.probeDir).length, 1, 'one probe file, never a second');
  t.equal(statSync(file).size, 2 * MiB);
  await scraper.stop();
  t.equal(scraper.failures(), 0, 'answered throughout');
  t.same(scraper.violations(), [], 'counters monotonic');
});

t.test('probe dir removed while running: reported once, not recreated, resumes when it is back', { skip }, async (t) => {
  const fs = loopFs(t);
  const agent = await start(fs, t);
  await agent.waitForMetrics((x) => up(x, 'fsync_probe') === 1, 'probe up');
  rmSync(fs.probeDir, { recursive: true });
  const down = await agent.waitForMetrics((x) => up(x, 'fsync_probe') === 0, 'probe down without its dir');
  t.match(down, /source_errors_total\{source="fsync_probe",reason="not_found"\} [1-9]/);
  await sleep(1500);
  t.notOk(existsSync(fs.probeDir), 'the agent does not recreate a directory an operator removed');
  t.same(repeatedStateLines(stateLines(agent.log(), 'fsync_probe')), [], 'one line per change');
  mkdirSync(fs.probeDir);
  await agent.waitForMetrics((x) => up(x, 'fsync_probe') === 1, 'probe resumed');
  t.same(readdirSync(fs.probeDir), [PROBE_FILE]);
  t.equal(statSync(join(fs.probeDir, PROBE_FILE)).size, 2 * MiB);
  t.equal(await agent.stop(), 0, 'SIGTERM still exits 0');
  t.notOk(existsSync(join(fs.probeDir, PROBE_FILE)), 'and removes the file');
});

t.test('SIGKILL and restart, five times: the stale file is reused, nothing accumulates; a wrong-sized one is cut back', { skip }, async (t) => {
  const fs = loopFs(t);
  const file = join(fs.probeDir, PROBE_FILE);
  const freeAtStart = available(fs.mnt);
  let inode: number | undefined;
  for (let i = 0; i < 5; i++) {
    const agent = await startAgentProcess(fs.args, { probeDir: fs.probeDir });
    await agent.waitForMetrics((x) => (seriesValue(x, `${P}probe_fdatasync_duration_seconds_count`) ?? 0) > 0, `run ${i}: probe writing`);
    const st = statSync(file);
    if (inode === undefined) inode = st.ino;
    else t.equal(st.ino, inode, `run ${i}: the file left by the killed run is reused (same inode)`);
    t.equal(st.size, 2 * MiB, `run ${i}: its size is --probe-file-size`);
    t.equal(await agent.stop('SIGKILL'), null, `run ${i}: killed`);
    t.ok(existsSync(file), `run ${i}: a crash leaves the file`);
  }
  t.same(readdirSync(fs.probeDir), [PROBE_FILE], 'one file after five crashes');
  t.ok(freeAtStart - available(fs.mnt) <= 2 * MiB + 64 * 1024, `space used: ${freeAtStart - available(fs.mnt)} bytes, one probe file`);

  // A stale file of another size (a run with another --probe-file-size, or cut short) is laid out again.
  writeFileSync(file, Buffer.alloc(5 * MiB, 1));
  const grown = await startAgentProcess(fs.args, { probeDir: fs.probeDir });
  await grown.waitForMetrics((x) => up(x, 'fsync_probe') === 1, 'probe up over a 5 MiB stale file');
  t.equal(statSync(file).size, 2 * MiB, 'a larger stale file is cut back to --probe-file-size');
  await grown.stop('SIGKILL');
  truncateSync(file, 100_000);
  const cut = await startAgentProcess(fs.args, { probeDir: fs.probeDir });
  await cut.waitForMetrics((x) => up(x, 'fsync_probe') === 1, 'probe up over a truncated stale file');
  t.equal(statSync(file).size, 2 * MiB, 'a truncated one is laid out to full size again');
  t.equal(await cut.stop(), 0);
  t.same(readdirSync(fs.probeDir), [], 'a clean stop leaves nothing');

  // Something else where the probe file goes: refused, and the agent keeps running.
  mkdirSync(file);
  const blocked = await startAgentProcess(fs.args, { probeDir: fs.probeDir });
  t.teardown(() => blocked.stop().catch(() => undefined));
  await blocked.waitForMetrics((x) => up(x, 'fsync_probe') === 0, 'probe refuses a directory in its place');
  t.equal((await blocked.waitForMetrics((x) => up(x, 'diskstats') !== undefined, 'diskstats sampled').then((x) => up(x, 'diskstats'))), 1, 'the other sources run');
  t.match(JSON.parse((await blocked.get('/api/v1/status')).body).sources.fsync_probe.lastError.message, /etcd-latency-agent\.probe/, 'the message names the path');
  t.ok(statSync(file).isDirectory(), 'the directory was not touched');
});
