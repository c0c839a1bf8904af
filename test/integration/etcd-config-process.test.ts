// A real etcd (Debian's /usr/bin/etcd) is started on free loopback ports, and the etcd_config source
// must find it through /proc: once with its settings on the command line, once in ETCD_* variables.
// Other etcd processes may run on this machine at the same time (other tests), so the source is
// pointed at ours by its data dir, and also given a proc directory holding only ours (a symlink to
// the real /proc/<pid>), where every value must come from the process itself.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEtcdConfigSource, findEtcdProcesses, type EtcdConfigOptions } from '../../src/sources/etcd-config.js';
import { ms } from '../../src/lib/units.js';
import type { Outcome } from '../../src/lib/outcome.js';

/** The sample's value; a failure fails the test with its reason and message. */
function valueOf<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`expected a sample, got ${o.reason}: ${o.message}`);
  return o.value;
}

const ETCD = '/usr/bin/etcd';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly dir: string;
}

/** Starts etcd and waits until it answers /health; stops it and removes its files in teardown. */
async function startEtcd(
  t: { teardown(fn: () => Promise<void> | void): void },
  build: (ports: { client: number; peer: number }, dir: string) => { args: string[]; env: Record<string, string> },
): Promise<Started> {
  const dir = mkdtempSync(path.join(tmpdir(), 'etcd-config-it-'));
  const ports = { client: await freePort(), peer: await freePort() };
  const { args, env } = build(ports, dir);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD')));
  const child = spawn(ETCD, args, { cwd: dir, env: { ...inherited, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => { child.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) { child.kill('SIGKILL'); await exited; }
    }
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  });
  if (child.pid === undefined) throw new Error(`cannot start ${ETCD}`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${ports.client}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd did not become healthy in 20 s: ${stderr}`);
    await sleep(100);
  }
  return { child, pid: child.pid, dir };
}

const urls = (p: { client: number; peer: number }, name: string): string[] => [
  `--listen-client-urls=http://127.0.0.1:${p.client}`,
  `--advertise-client-urls=http://127.0.0.1:${p.client}`,
  `--listen-peer-urls=http://127.0.0.1:${p.peer}`,
  `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
  `--initial-cluster=${name}=http://127.0.0.1:${p.peer}`,
];

/** A proc directory in which the only process is `pid` (a symlink to the real /proc/<pid>). */
function procWithOnly(dir: string, pid: number): string {
  const proc = path.join(dir, 'proc-only');
  mkdirSync(proc);
  symlinkSync(`/proc/${pid}`, path.join(proc, String(pid)));
  return proc;
}

const options = (procPath: string, flags: EtcdConfigOptions['flags'] = {}): EtcdConfigOptions => ({
  procPath, manifestPath: '/nonexistent/etc/kubernetes/manifests/etcd.yaml', flags, interval: ms(30_000),
});

t.test('etcd with its settings on the command line', { skip: !existsSync(ETCD) && `${ETCD} is not installed` }, async (t) => {
  const etcd = await startEtcd(t, (ports, dir) => ({
    args: ['--name=cmdmember', '--heartbeat-interval=150', '--election-timeout', '1500', '--data-dir', path.join(dir, 'data'), ...urls(ports, 'cmdmember')],
    env: {},
  }));
  const dataDir = path.join(etcd.dir, 'data');

  const started = Date.now();
  const all = await findEtcdProcesses('/proc');
  t.comment(`scanned /proc in ${Date.now() - started} ms, ${all.length} etcd process(es)`);
  const mine = all.find((p) => p.pid === etcd.pid);
  t.ok(mine, 'findEtcdProcesses sees the etcd we started');
  t.equal(mine?.args[0], ETCD);
  t.ok(mine?.args.includes('--heartbeat-interval=150'));
  t.equal(mine?.cwd, etcd.dir);

  const viaProc = valueOf(await createEtcdConfigSource(options('/proc', { dataDir })).sample(new Date()));
  t.same(viaProc.heartbeatInterval, { value: 150, origin: 'cmdline' });
  t.same(viaProc.electionTimeout, { value: 1500, origin: 'cmdline' });
  t.same(viaProc.name, { value: 'cmdmember', origin: 'cmdline' });
  t.same(viaProc.dataDir, { value: dataDir, origin: 'flag' });
  t.same(viaProc.walDir, { value: path.join(dataDir, 'member', 'wal'), origin: 'default' });
  t.match(viaProc.foundIn ?? '', new RegExp(`^/proc/${etcd.pid}/cmdline`));
  t.ok(existsSync(path.join(dataDir, 'member', 'wal')), 'the default WAL dir is where etcd put its WAL');

  const alone = valueOf(await createEtcdConfigSource(options(procWithOnly(etcd.dir, etcd.pid))).sample(new Date()));
  t.same(alone, {
    name: { value: 'cmdmember', origin: 'cmdline' },
    heartbeatInterval: { value: 150, origin: 'cmdline' },
    electionTimeout: { value: 1500, origin: 'cmdline' },
    dataDir: { value: dataDir, origin: 'cmdline' },
    walDir: { value: path.join(dataDir, 'member', 'wal'), origin: 'default' },
    foundIn: path.join(etcd.dir, 'proc-only', String(etcd.pid), 'cmdline'),
  });
});

t.test('etcd configured through ETCD_* variables', { skip: !existsSync(ETCD) && `${ETCD} is not installed` }, async (t) => {
  const etcd = await startEtcd(t, (ports, dir) => ({
    args: urls(ports, 'envmember'), // no --data-dir: etcd's default, envmember.etcd in its working directory
    env: { ETCD_NAME: 'envmember', ETCD_HEARTBEAT_INTERVAL: '120', ETCD_ELECTION_TIMEOUT: '1800', ETCD_WAL_DIR: path.join(dir, 'wal') },
  }));
  const dataDir = path.join(etcd.dir, 'envmember.etcd');
  t.ok(existsSync(dataDir), 'etcd made its default data dir in its working directory');

  const viaProc = valueOf(await createEtcdConfigSource(options('/proc', { dataDir })).sample(new Date()));
  t.same(viaProc.heartbeatInterval, { value: 120, origin: 'env' });
  t.same(viaProc.electionTimeout, { value: 1800, origin: 'env' });
  t.match(viaProc.foundIn ?? '', new RegExp(`^/proc/${etcd.pid}/cmdline`), 'the data dir flag selects our etcd through its default data dir');

  const alone = valueOf(await createEtcdConfigSource(options(procWithOnly(etcd.dir, etcd.pid))).sample(new Date()));
  t.same(alone, {
    name: { value: 'envmember', origin: 'env' },
    heartbeatInterval: { value: 120, origin: 'env' },
    electionTimeout: { value: 1800, origin: 'env' },
    dataDir: { value: dataDir, origin: 'default' },
    walDir: { value: path.join(etcd.dir, 'wal'), origin: 'env' },
    foundIn: path.join(etcd.dir, 'proc-only', String(etcd.pid), 'cmdline'),
  });
  t.ok(existsSync(path.join(etcd.dir, 'wal')), 'etcd wrote its WAL where the env said');
});

t.test('a real process that is not etcd is not taken for one', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'etcd-config-it-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const proc = path.join(dir, 'proc');
  mkdirSync(proc);
  symlinkSync('/proc/self', path.join(proc, String(process.pid)));
  const got = await createEtcdConfigSource(options(proc)).sample(new Date());
  t.match(got, { ok: false, reason: 'not_found', message: /no etcd process in .*proc\/\*\/cmdline/ });
});
