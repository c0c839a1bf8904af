// The processes source against this machine's real /proc: two child processes write and fsync, one
// into a directory on the filesystem of a fake etcd data dir, the other into /dev/shm (tmpfs, another
// device). Only the first is one of etcd's top writers. Needs root: /proc/<pid>/io of other
// processes, even our own children, is readable only with ptrace rights over them.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProcessesSource, type ProcessesSample } from '../../src/sources/processes.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { ms } from '../../src/lib/units.js';

const skip = process.platform !== 'linux' ? 'needs Linux /proc' : process.getuid?.() !== 0 ? 'needs root to read other processes\' /proc/<pid>/io' : false;

/** 64 KiB written and fsync'ed every 10 ms into `file`, until killed; "ready" once the file is open. */
const WRITER = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'w');
const block = Buffer.alloc(65536, 120);
let n = 0;
setInterval(() => {
  if (++n % 64 === 0) fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, block, 0, block.length, (n % 64) * block.length);
  fs.fsyncSync(fd);
}, 10);
process.stdout.write('ready\\n');
`;

async function startWriter(file: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', WRITER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve());
  });
  return child;
}

function ok(o: Outcome<ProcessesSample>): ProcessesSample {
  if (!o.ok) throw new Error(`${o.reason}: ${o.message}`);
  return o.value;
}

t.test('a writer on the data dir\'s filesystem is a top writer; one writing to /dev/shm is not', { skip }, async (t) => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'processes-it-'));
  const shm = await fsp.mkdtemp(path.join('/dev/shm', 'processes-it-'));
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) c.kill('SIGKILL');
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.rm(shm, { recursive: true, force: true });
  });
  const dataDir = path.join(root, 'etcd');
  await fsp.mkdir(path.join(root, 'neighbour'), { recursive: true });
  await fsp.mkdir(dataDir);
  t.not(statSync(shm).dev, statSync(dataDir).dev, '/dev/shm is another device than the data dir');

  const neighbour = await startWriter(path.join(root, 'neighbour', 'busy.log'));
  const elsewhere = await startWriter(path.join(shm, 'busy.log'));
  children.push(neighbour, elsewhere);

  const source = createProcessesSource({ etcdDataDir: dataDir, procPath: '/proc', interval: ms(10_000) });
  const first = ok(await source.sample(new Date()));
  await sleep(2000);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const second = ok(await source.sample(new Date()));
  const used = process.cpuUsage(cpu);
  t.comment(`one round over ${second.readable} processes: ${(performance.now() - started).toFixed(1)} ms wall, ${((used.user + used.system) / 1000).toFixed(1)} ms CPU`);

  t.same(first.writers, [], 'the first round has no rates');
  const pids = second.writers.map((w) => w.pid);
  t.ok(pids.includes(neighbour.pid!), `the neighbour (pid ${neighbour.pid}) is listed: ${JSON.stringify(second.writers)}`);
  t.notOk(pids.includes(elsewhere.pid!), `the /dev/shm writer (pid ${elsewhere.pid}) is not`);
  const w = second.writers.find((x) => x.pid === neighbour.pid);
  // The kernel's name for it, as ps and top show it: Node.js 24 calls its main thread, and so a
  // single-threaded-looking node process, "MainThread".
  t.equal(w?.command, readFileSync(`/proc/${neighbour.pid}/comm`, 'utf8').trim(), 'the command is the process\'s comm');
  t.ok(w !== undefined && w.bytesPerSecond > 1024 * 1024, `its rate is megabytes per second (${w?.bytesPerSecond})`);
  t.notOk(pids.includes(process.pid), 'the sampling process itself is never listed');
  // Even root may be denied a few (a sandbox's init here): counted, and the round still succeeds.
  t.ok(second.readable > second.denied, `most processes readable (${second.readable} read, ${second.denied} denied)`);
});
