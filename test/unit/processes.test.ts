// The processes source on a /proc tree built by hand: <pid>/io, <pid>/comm and <pid>/fd/N as
// symlinks to real files (a stat follows them as it follows the kernel's magic links). etcd's data
// dir is in the test's temp dir; "another device" is a file under /dev/shm (tmpfs).
import t, { type Test } from 'tap';
import { promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { neighbours } from '../../src/analysis/recommendation.js';
import {
  createProcessesSource,
  MIN_WRITER_RATE,
  NODE_PROC_FS,
  parseWriteBytes,
  TOP_WRITERS,
  type ProcessesSample,
  type ProcFs,
} from '../../src/sources/processes.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { ms } from '../../src/lib/units.js';

const T0 = new Date('2025-03-01T12:00:00Z');
const after = (s: number): Date => new Date(T0.getTime() + s * 1000);
const RATE = 1024 * 1024; // well above MIN_WRITER_RATE

interface Host {
  proc: string;
  dataDir: string;
  etcdFile: string;
  otherDeviceFile: string;
}

async function host(t: Test): Promise<Host> {
  const root = t.testdir({ proc: {}, etcd: { member: { wal: { '0.wal': '' } } } });
  const shm = await fsp.mkdtemp(path.join('/dev/shm', 'processes-test-'));
  t.teardown(() => fsp.rm(shm, { recursive: true, force: true }));
  const otherDeviceFile = path.join(shm, 'scratch');
  await fsp.writeFile(otherDeviceFile, '');
  return { proc: path.join(root, 'proc'), dataDir: path.join(root, 'etcd'), etcdFile: path.join(root, 'etcd/member/wal/0.wal'), otherDeviceFile };
}

/** One process of the fixture: its write counter, its name and the files it holds open. */
async function proc(h: Host, pid: number, writeBytes: number, comm: string, files: readonly string[]): Promise<void> {
  const dir = path.join(h.proc, String(pid));
  await fsp.mkdir(path.join(dir, 'fd'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'io'), `rchar: 1\nwchar: ${writeBytes}\nsyscr: 1\nsyscw: 1\nread_bytes: 0\nwrite_bytes: ${writeBytes}\ncancelled_write_bytes: 0\n`);
  await fsp.writeFile(path.join(dir, 'comm'), `${comm}\n`);
  await Promise.all(files.map((f, i) => fsp.symlink(f, path.join(dir, 'fd', String(i))).catch(() => undefined)));
}

function ok(t: Test, o: Outcome<ProcessesSample>): ProcessesSample {
  if (!o.ok) {
    t.fail(`${o.reason}: ${o.message}`);
    throw new Error('sample failed');
  }
  return o.value;
}

/** The real file operations, except that reading `failing` throws an error with `code`. */
function failingOn(failing: (p: string) => boolean, code: string): ProcFs {
  const fail = (p: string) => Object.assign(new Error(`${code}: ${p}`), { code });
  return {
    ...NODE_PROC_FS,
    readFile: (p) => (failing(p) ? Promise.reject(fail(p)) : NODE_PROC_FS.readFile(p)),
    readdir: (p) => (failing(p) ? Promise.reject(fail(p)) : NODE_PROC_FS.readdir(p)),
  };
}

const source = (h: Host, fs?: ProcFs, maxProcesses?: number) =>
  createProcessesSource({ etcdDataDir: h.dataDir, procPath: h.proc, interval: ms(10_000), ...(fs ? { fs } : {}), ...(maxProcesses ? { maxProcesses } : {}) });

t.test('parseWriteBytes reads the write_bytes line and nothing else', async (t) => {
  t.equal(parseWriteBytes('rchar: 5\nwchar: 7\nread_bytes: 3\nwrite_bytes: 4096\ncancelled_write_bytes: 12\n'), 4096);
  t.equal(parseWriteBytes('cancelled_write_bytes: 12\n'), undefined, 'not confused with cancelled_write_bytes');
  t.equal(parseWriteBytes(''), undefined);
});

t.test('rates come from two samples: the first round has none, the second divides by the time between', async (t) => {
  const h = await host(t);
  await proc(h, 100, 1000, 'backup', [h.etcdFile]);
  const s = source(h);
  t.same(ok(t, await s.sample(T0)).writers, [], 'no previous counter, no rate');
  await proc(h, 100, 1000 + 10 * RATE, 'backup', []);
  const second = ok(t, await s.sample(after(10)));
  t.same(second.writers, [{ pid: 100, command: 'backup', bytesPerSecond: RATE }]);
  t.equal(second.readable, 1);
});

t.test('a process that exits between samples drops out; one that vanishes mid-round is counted as exited', async (t) => {
  const h = await host(t);
  await proc(h, 100, 0, 'gone', [h.etcdFile]);
  await proc(h, 101, 0, 'racing', [h.etcdFile]);
  await proc(h, 102, 0, 'stays', [h.etcdFile]);
  let racing = false;
  const s = source(h, failingOn((p) => p === path.join(h.proc, '101/io') && racing, 'ESRCH'));
  ok(t, await s.sample(T0));
  await fsp.rm(path.join(h.proc, '100'), { recursive: true });
  await proc(h, 102, 10 * RATE, 'stays', []);
  racing = true;
  const second = ok(t, await s.sample(after(10)));
  t.same(second.writers.map((w) => w.pid), [102]);
  t.equal(second.exited, 1, 'the ESRCH of pid 101 is counted');
});

t.test('EACCES on one process is counted, noted and not fatal; on every process the source fails', async (t) => {
  const h = await host(t);
  await proc(h, 100, 0, 'root-daemon', [h.etcdFile]);
  await proc(h, 101, 0, 'mine', [h.etcdFile]);
  const denyOne = source(h, failingOn((p) => p.startsWith(path.join(h.proc, '100/')), 'EACCES'));
  const first = ok(t, await denyOne.sample(T0));
  t.equal(first.denied, 1);
  t.equal(first.readable, 1);
  t.match(first.notes?.[0], /permission denied.*CAP_SYS_PTRACE/);

  const denyAll = source(h, failingOn((p) => p.endsWith('/io'), 'EACCES'));
  const failed = await denyAll.sample(T0);
  t.equal(failed.ok, false);
  if (!failed.ok) {
    t.equal(failed.reason, 'permission');
    t.match(failed.message, /any of 2 processes \(2 permission denied/);
  }
});

t.test('an unreadable /proc fails the source', async (t) => {
  const h = await host(t);
  const o = await createProcessesSource({ etcdDataDir: h.dataDir, procPath: path.join(h.proc, 'missing'), interval: ms(10_000) }).sample(T0);
  t.equal(o.ok, false);
  if (!o.ok) t.equal(o.reason, 'not_found');
});

t.test("a writer whose files are all on another device is not on etcd's device", async (t) => {
  const h = await host(t);
  t.not(statSync(h.otherDeviceFile).dev, statSync(h.dataDir).dev, 'the fixture needs /dev/shm on another device');
  await proc(h, 100, 0, 'elsewhere', [h.otherDeviceFile, '/dev/null']);
  await proc(h, 101, 0, 'neighbour', ['/dev/null', h.etcdFile]);
  const s = source(h);
  ok(t, await s.sample(T0));
  await proc(h, 100, 50 * RATE, 'elsewhere', []);
  await proc(h, 101, 10 * RATE, 'neighbour', []);
  t.same(ok(t, await s.sample(after(10))).writers.map((w) => w.command), ['neighbour']);
});

t.test('a process below the minimum rate is not a writer, and a new data dir falls back to its parent', async (t) => {
  const h = await host(t);
  await proc(h, 100, 0, 'trickle', [h.etcdFile]);
  const s = createProcessesSource({ etcdDataDir: path.join(h.dataDir, 'not-yet'), procPath: h.proc, interval: ms(10_000) });
  ok(t, await s.sample(T0));
  await proc(h, 100, 10 * MIN_WRITER_RATE - 10, 'trickle', []);
  t.same(ok(t, await s.sample(after(10))).writers, []);
});

t.test('etcd itself is kept in the top writers, and neighbours() filters it out', async (t) => {
  const h = await host(t);
  await proc(h, 100, 0, 'etcd', [h.etcdFile]);
  await proc(h, 101, 0, 'containerd', [h.etcdFile]);
  const s = source(h);
  ok(t, await s.sample(T0));
  await proc(h, 100, 20 * RATE, 'etcd', []);
  await proc(h, 101, 10 * RATE, 'containerd', []);
  const writers = ok(t, await s.sample(after(10))).writers;
  t.same(writers.map((w) => w.command), ['etcd', 'containerd']);
  t.same(neighbours(writers).map((w) => w.command), ['containerd']);
});

t.test('the agent itself (procfs self) is never a writer: its probe writes there on purpose', async (t) => {
  const h = await host(t);
  await proc(h, 100, 0, 'node', [h.etcdFile]);
  await fsp.symlink('100', path.join(h.proc, 'self'));
  const s = source(h);
  ok(t, await s.sample(T0));
  await proc(h, 100, 10 * RATE, 'node', []);
  t.same(ok(t, await s.sample(after(10))).writers, []);
});

t.test('caps: at most TOP_WRITERS writers, busiest first; at most maxProcesses processes read, said in a note', async (t) => {
  const h = await host(t);
  const pids = [100, 101, 102, 103, 104, 105, 106];
  for (const pid of pids) await proc(h, pid, 0, `w${pid}`, [h.etcdFile]);
  const s = source(h);
  ok(t, await s.sample(T0));
  for (const pid of pids) await proc(h, pid, (pid - 99) * 10 * RATE, `w${pid}`, []);
  const writers = ok(t, await s.sample(after(10))).writers;
  t.equal(writers.length, TOP_WRITERS);
  t.same(writers.map((w) => w.pid), [106, 105, 104, 103, 102]);

  const capped = source(h, undefined, 2);
  const first = ok(t, await capped.sample(T0));
  t.equal(first.readable, 2, 'only the first two pids are read');
  t.match(first.notes, [/more than 2 processes/]);
});
