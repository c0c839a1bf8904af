// A real etcd on loopback, for integration and scenario tests and the benchmarks: Debian's 3.4 by
// default, or any build of the version matrix (`etcd` option, from ./etcd-versions.ts).
//
// Every cluster gets its own temporary directory (data dirs, logs, PKI) and ports chosen free at run
// time, so tests can run in parallel with each other and with other people's tests on the same host.
// `close()` kills every process it started and removes the directory; the same clean-up also runs on
// process 'exit' and on SIGINT/SIGTERM/SIGHUP, so a crashing test leaves no etcd behind.
//
// Ground truth (`leader()`, `raftTerm()`) comes from `etcdctl`, never from the agent's own code.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_ETCD_BIN, type EtcdBuild } from './etcd-versions.js';

export const ETCD_BIN = DEBIAN_ETCD_BIN;
export const ETCDCTL_BIN = '/usr/bin/etcdctl';
export const OPENSSL_BIN = 'openssl';

// ───────────────────────────────────────────── ports

/** Ports handed out by this process, so two calls never return the same one while both are in use. */
const handedOut = new Set<number>();

/** Binds 127.0.0.1:0, closes, returns the port. Never returns a port it already returned. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const address = server.address();
        const p = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no fresh port after 50 attempts');
}

// ───────────────────────────────────────────── PKI

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA unrelated to `ca`, for wrong-CA tests. */
  otherCa: string;
  /** Signed by `ca`, valid 2020-01-01 to 2020-01-02 (made with `openssl ca -startdate/-enddate`). */
  expiredClientCert: string;
  expiredClientKey: string;
}

function run(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`.trim()));
      else resolve(stdout);
    });
  });
}

const OPENSSL_CNF = `
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = ./index.txt
new_certs_dir = ./issued
serial = ./serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
# etcd's grpc-gateway dials its own client port with the server certificate, so it is a client too.
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

/**
 * Makes a CA, a server certificate (SAN IP:127.0.0.1, DNS:localhost), a client certificate, an expired
 * client certificate signed by the same CA, and an unrelated CA, with `openssl` (P-256 keys, fast).
 */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await mkdir(join(dir, 'issued'), { recursive: true });
  await writeFile(join(dir, 'openssl.cnf'), OPENSSL_CNF);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), `${randomBytes(8).toString('hex').toUpperCase()}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, OPENSSL_CONF: join(dir, 'openssl.cnf') };
  const ssl = (args: readonly string[]): Promise<string> => run(OPENSSL_BIN, args, { cwd: dir, env });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  const selfSigned = (name: string, cn: string): Promise<string> =>
    ssl(['req', '-config', 'openssl.cnf', '-x509', ...key, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '3650', '-subj', `/CN=${cn}`, '-extensions', 'ca_ext']);
  const csr = (name: string, cn: string): Promise<string> =>
    ssl(['req', '-config', 'openssl.cnf', '-new', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  // `openssl ca` signs sequentially (it owns index.txt/serial); `-startdate/-enddate` let it make an
  // already-expired certificate without faketime (OpenSSL 3.0's `x509` has no -not_after).
  const sign = (name: string, ext: string, validity: readonly string[]): Promise<string> =>
    ssl(['ca', '-batch', '-config', 'openssl.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.crt`, '-extensions', ext, '-notext', ...validity]);

  await selfSigned('ca', 'etcd-latency-agent test CA');
  await selfSigned('other-ca', 'unrelated test CA');
  await Promise.all([csr('server', 'etcd-server'), csr('client', 'etcd-client'), csr('expired-client', 'etcd-client-expired')]);
  await sign('server', 'server_ext', ['-days', '3650']);
  await sign('client', 'client_ext', ['-days', '3650']);
  await sign('expired-client', 'client_ext', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);

  return {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    otherCa: join(dir, 'other-ca.crt'),
    expiredClientCert: join(dir, 'expired-client.crt'),
    expiredClientKey: join(dir, 'expired-client.key'),
  };
}

// ───────────────────────────────────────────── processes

export interface EtcdMemberProcess {
  name: string;
  clientUrl: string;
  peerUrl: string;
  /** http://127.0.0.1:PORT/metrics (`--listen-metrics-urls`, plain HTTP even when the client port is TLS). */
  metricsUrl: string;
  dataDir: string;
  logFile: string;
  /** The etcd process itself (the traced child when `wrap` is used), while it runs. */
  pid(): number | undefined;
  /** The process this harness spawned: the wrapper when `wrap` is used, else etcd. */
  spawnedPid(): number | undefined;
  running(): boolean;
  paused(): boolean;
  /** Sends `signal` (default SIGKILL) to etcd, then to the wrapper; waits for exit (SIGKILL after a grace). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * (Re)starts with the same data dir and ports. Waits until `/health` says true (needs a quorum), or
   * with `wait: 'listening'` only until the metrics listener answers at all. `args` are added after the
   * cluster's flags for this start and those after it (etcd takes a flag's last value): an operator's
   * edit of this member's manifest, such as other timing settings.
   */
  start(opts?: { wait?: 'healthy' | 'listening'; timeoutMs?: number; args?: readonly string[] }): Promise<void>;
  /** SIGSTOP: the member is alive but silent (a leader stuck in fdatasync, for raft). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
}

export interface EtcdCluster {
  members: EtcdMemberProcess[];
  endpoints: string[];
  pki?: TestPki;
  dir: string;
  /** The leader by `etcdctl endpoint status` of the running, unpaused members; waits (bounded) for one. */
  leader(): Promise<EtcdMemberProcess>;
  /** The highest raft term any running, unpaused member reports through `etcdctl endpoint status`. */
  raftTerm(): Promise<number>;
  /** The member's id, hex as etcdctl prints it. */
  memberId(member: EtcdMemberProcess): Promise<string>;
  /** Hands leadership to `target` (etcdctl move-leader against the leader); resolves once every member agrees. */
  moveLeader(target: EtcdMemberProcess, timeoutMs?: number): Promise<void>;
  put(key: string, value: string): Promise<void>;
  /** Compacts the keyspace at its current revision, as kube-apiserver does every 5 minutes; returns that revision. */
  compact(): Promise<number>;
  /** Runs etcdctl (ETCDCTL_API=3, certs when TLS) against `endpoints` (default: running members). */
  etcdctl(args: readonly string[], opts?: { endpoints?: readonly string[] }): Promise<string>;
  close(): Promise<void>;
}

export interface EtcdClusterOptions {
  size?: number;
  /** Which etcd runs (default Debian's 3.4). */
  etcd?: EtcdBuild;
  heartbeatMs?: number;
  electionMs?: number;
  /** Client TLS with --client-cert-auth; metrics stay plain HTTP. */
  tls?: boolean;
  /** Command prefix, e.g. ['strace', '-f', ...]. The traced etcd is killed before the wrapper. */
  wrap?: readonly string[];
  env?: Record<string, string>;
  extraArgs?: readonly string[];
  /** Bound on the wait for the cluster to become healthy (default 60 s). */
  startTimeoutMs?: number;
  /** Where the cluster's temporary directory (data dirs, logs) is made; default os.tmpdir(). E.g. a loop-mounted filesystem. */
  baseDir?: string;
}

const live = new Set<ClusterImpl>();
let hooksInstalled = false;
const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onSignal(signal: NodeJS.Signals): void {
  cleanUpAllSync();
  // Step aside and raise the signal again: with no other listener the process dies of it, as it would
  // have without us; a signal-exit style listener (tap's) sees itself alone now and does the same.
  for (const s of EXIT_SIGNALS) process.removeListener(s, onSignal);
  hooksInstalled = false;
  process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Only a harness that owns processes hooks the signals; onSignal removes itself after one use.
  process.on('exit', cleanUpAllSync);
  for (const s of EXIT_SIGNALS) process.on(s, onSignal);
}

/** With no cluster left, the process's signals are none of our business any more. */
function uninstallHooksIfIdle(): void {
  if (!hooksInstalled || live.size > 0) return;
  hooksInstalled = false;
  process.removeListener('exit', cleanUpAllSync);
  for (const s of EXIT_SIGNALS) process.removeListener(s, onSignal);
}

function cleanUpAllSync(): void {
  for (const c of live) c.destroySync();
  live.clear();
}

function trySignal(pid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

function sleep(msec: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msec));
}

/** The pids of processes in process group `pgid` whose command name is `comm`. */
function processesInGroup(pgid: number, comm: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const name = stat.slice(open + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    if (name === comm && Number(rest[2]) === pgid) found.push(Number(entry));
  }
  return found;
}

async function logTail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${err instanceof Error ? err.message : String(err)})`;
  }
}

interface MemberConfig {
  name: string;
  clientPort: number;
  peerPort: number;
  metricsPort: number;
}

class MemberImpl implements EtcdMemberProcess {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly metricsUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private etcdPid: number | undefined;
  private isPaused = false;

  constructor(
    cfg: MemberConfig,
    private readonly cluster: ClusterImpl,
  ) {
    this.name = cfg.name;
    const scheme = cluster.pki ? 'https' : 'http';
    this.clientUrl = `${scheme}://127.0.0.1:${cfg.clientPort}`;
    this.peerUrl = `http://127.0.0.1:${cfg.peerPort}`;
    this.metricsUrl = `http://127.0.0.1:${cfg.metricsPort}/metrics`;
    this.dataDir = join(cluster.dir, `${cfg.name}.etcd`);
    this.logFile = join(cluster.dir, `${cfg.name}.log`);
  }

  /** This member's own flags after the cluster's (start's `args`). */
  private ownArgs: readonly string[] = [];

  private args(): string[] {
    const c = this.cluster;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${c.initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${c.token}`,
      `--listen-metrics-urls=${this.metricsUrl.replace(/\/metrics$/, '')}`,
      `--heartbeat-interval=${c.opts.heartbeatMs ?? 100}`,
      `--election-timeout=${c.opts.electionMs ?? 1000}`,
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    if (c.pki) {
      args.push(`--cert-file=${c.pki.serverCert}`, `--key-file=${c.pki.serverKey}`, `--trusted-ca-file=${c.pki.ca}`, '--client-cert-auth');
    }
    args.push(...(c.opts.extraArgs ?? []), ...this.ownArgs);
    return args;
  }

  spawnedPid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  pid(): number | undefined {
    if (!this.running()) return undefined;
    if (this.etcdPid !== undefined) return this.etcdPid;
    const spawned = this.child?.pid;
    if (spawned === undefined) return undefined;
    if (!this.cluster.opts.wrap?.length) return (this.etcdPid = spawned);
    // Wrapped: etcd is a descendant in the wrapper's process group (spawned detached = group leader),
    // or the wrapper itself once a wrapper that only sets things up has exec'd it.
    const pids = processesInGroup(spawned, 'etcd');
    this.etcdPid = pids.find((p) => p !== spawned) ?? pids.find((p) => p === spawned);
    return this.etcdPid;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  paused(): boolean {
    return this.running() && this.isPaused;
  }

  pause(): void {
    const pid = this.pid();
    if (pid === undefined) throw new Error(`${this.name}: not running`);
    process.kill(pid, 'SIGSTOP');
    this.isPaused = true;
  }

  resume(): void {
    const pid = this.pid();
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
    this.isPaused = false;
  }

  async start(opts: { wait?: 'healthy' | 'listening'; timeoutMs?: number; args?: readonly string[] } = {}): Promise<void> {
    if (this.running()) throw new Error(`${this.name}: already running (pid ${this.child?.pid})`);
    if (this.cluster.closed) throw new Error(`${this.name}: cluster is closed`);
    if (opts.args) this.ownArgs = [...opts.args];
    const wrap = this.cluster.opts.wrap ?? [];
    const bin = this.cluster.opts.etcd?.bin ?? ETCD_BIN;
    const [file, ...prefix] = wrap.length > 0 ? wrap : [bin];
    const argv = wrap.length > 0 ? [...prefix, bin, ...this.args()] : this.args();
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_') && !k.startsWith('ETCDCTL_')) env[k] = v;
    Object.assign(env, this.cluster.opts.env ?? {});

    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(file!, argv, { stdio: ['ignore', fd, fd], env, detached: true });
    } finally {
      closeSync(fd);
    }
    // Unreferenced: a test that forgets close() still ends, and the 'exit' hook then kills etcd.
    child.unref();
    this.child = child;
    this.etcdPid = undefined;
    this.isPaused = false;
    this.exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.once('error', () => undefined); // spawn failures surface through 'exit' and the log
    installHooks();
    await this.waitReady(opts.wait ?? 'healthy', opts.timeoutMs ?? 60_000);
  }

  /** Polls `/health` on the metrics listener until it answers (and, for 'healthy', says true). */
  async waitReady(wait: 'healthy' | 'listening', timeoutMs: number): Promise<void> {
    const healthUrl = this.metricsUrl.replace(/\/metrics$/, '/health');
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running()) {
        throw new Error(`etcd member ${this.name} exited (${this.child?.exitCode ?? this.child?.signalCode}) before becoming ready; log tail of ${this.logFile}:\n${await logTail(this.logFile)}`);
      }
      try {
        const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2000) });
        const body = await res.text();
        last = `HTTP ${res.status} ${body.trim()}`;
        if (wait === 'listening') return;
        const parsed: unknown = JSON.parse(body);
        if (typeof parsed === 'object' && parsed !== null && (parsed as { health?: unknown }).health === 'true') return;
      } catch (err) {
        last = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      }
      await sleep(100);
    }
    throw new Error(`etcd member ${this.name} not ${wait} after ${timeoutMs} ms (last /health: ${last}); log tail of ${this.logFile}:\n${await logTail(this.logFile)}`);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    const etcd = this.pid();
    const wrapper = child.pid;
    trySignal(etcd ?? wrapper, signal);
    if (this.isPaused && signal !== 'SIGKILL' && signal !== 'SIGSTOP') trySignal(etcd, 'SIGCONT');
    const wrapped = wrapper !== etcd;
    if (wrapped) {
      // Let the wrapper (strace) see its tracee die, then make sure it goes too.
      const etcdGone = await waitUntil(() => !trySignal(etcd, 0) || isZombie(etcd), Math.min(graceMs, 5000));
      if (!etcdGone) trySignal(etcd, 'SIGKILL');
    }
    const timer = sleep(wrapped ? 2000 : graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      trySignal(etcd, 'SIGKILL');
      if (wrapper !== undefined) trySignal(-wrapper, 'SIGKILL');
      await this.exited;
    }
    this.isPaused = false;
    this.etcdPid = undefined;
  }

  /** For the exit hook: no awaiting possible, so SIGKILL etcd, then the whole process group. */
  killSync(): void {
    if (!this.running()) return;
    const etcd = this.pid();
    trySignal(etcd, 'SIGKILL');
    const wrapper = this.child?.pid;
    if (wrapper !== undefined) {
      trySignal(-wrapper, 'SIGKILL');
      trySignal(wrapper, 'SIGKILL');
    }
  }
}

function isZombie(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

interface EndpointStatus {
  endpoint: string;
  memberId: string; // hex
  leaderId: string; // hex, '0' when none
  raftTerm: number;
}

/** etcdctl's JSON prints uint64 ids as bare numbers: quote the long ones before JSON.parse rounds them. */
function parseBigJson(text: string): unknown {
  return JSON.parse(text.replace(/([:\[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

const hex = (v: unknown): string => BigInt(String(v)).toString(16);

class ClusterImpl implements EtcdCluster {
  members: MemberImpl[] = [];
  endpoints: string[] = [];
  pki: TestPki | undefined;
  readonly token = `test-${randomBytes(6).toString('hex')}`;
  initialCluster = '';
  closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly opts: EtcdClusterOptions,
  ) {}

  async layout(): Promise<void> {
    const size = this.opts.size ?? 1;
    const configs: MemberConfig[] = [];
    for (let i = 0; i < size; i++) {
      configs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), metricsPort: await freePort() });
    }
    this.members = configs.map((c) => new MemberImpl(c, this));
    this.endpoints = this.members.map((m) => m.clientUrl);
    this.initialCluster = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  private tlsArgs(): string[] {
    return this.pki ? [`--cacert=${this.pki.ca}`, `--cert=${this.pki.clientCert}`, `--key=${this.pki.clientKey}`] : [];
  }

  private liveEndpoints(): string[] {
    return this.members.filter((m) => m.running() && !m.paused()).map((m) => m.clientUrl);
  }

  etcdctl(args: readonly string[], opts: { endpoints?: readonly string[] } = {}): Promise<string> {
    const endpoints = opts.endpoints ?? this.liveEndpoints();
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_') && !k.startsWith('ETCD_')) env[k] = v;
    env.ETCDCTL_API = '3';
    return run(ETCDCTL_BIN, [`--endpoints=${endpoints.join(',')}`, ...this.tlsArgs(), '--dial-timeout=2s', '--command-timeout=5s', ...args], { env, timeoutMs: 20_000 });
  }

  private async statuses(): Promise<EndpointStatus[]> {
    const results = await Promise.all(
      this.liveEndpoints().map(async (endpoint): Promise<EndpointStatus | undefined> => {
        try {
          const parsed = parseBigJson(await this.etcdctl(['endpoint', 'status', '-w', 'json'], { endpoints: [endpoint] }));
          const first = Array.isArray(parsed) ? (parsed[0] as { Status?: { header?: { member_id?: unknown }; leader?: unknown; raftTerm?: unknown } }) : undefined;
          const s = first?.Status;
          if (!s?.header) return undefined;
          return { endpoint, memberId: hex(s.header.member_id), leaderId: hex(s.leader ?? 0), raftTerm: Number(s.raftTerm ?? 0) };
        } catch {
          return undefined;
        }
      }),
    );
    return results.filter((s): s is EndpointStatus => s !== undefined);
  }

  async memberIds(): Promise<Map<string, string>> {
    // Simple output: "<hex id>, started, <name>, <peer urls>, <client urls>, <is learner>"
    const out = await this.etcdctl(['member', 'list']);
    const byName = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [id, , name] = line.split(',').map((f) => f.trim());
      if (id && name) byName.set(name, id);
    }
    return byName;
  }

  async memberId(member: EtcdMemberProcess): Promise<string> {
    const id = (await this.memberIds()).get(member.name);
    if (!id) throw new Error(`member ${member.name} not in the member list`);
    return id;
  }

  async compact(): Promise<number> {
    const got = parseBigJson(await this.etcdctl(['get', 'compaction-revision', '-w', 'json'])) as { header?: { revision?: unknown } };
    const revision = Number(got.header?.revision);
    if (!Number.isSafeInteger(revision) || revision < 1) throw new Error(`compact: no revision in etcdctl get's answer`);
    await this.etcdctl(['compact', String(revision)]);
    return revision;
  }

  async moveLeader(target: EtcdMemberProcess, timeoutMs = 30_000): Promise<void> {
    const leader = await this.leader(timeoutMs);
    if (leader === target) return;
    await this.etcdctl(['move-leader', await this.memberId(target)], { endpoints: [leader.clientUrl] });
    const deadline = Date.now() + timeoutMs;
    while ((await this.leader(timeoutMs)) !== target) {
      if (Date.now() > deadline) throw new Error(`moveLeader: ${target.name} did not become leader within ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  async leader(timeoutMs = 30_000): Promise<EtcdMemberProcess> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no status';
    while (Date.now() < deadline) {
      const statuses = await this.statuses();
      const top = Math.max(0, ...statuses.map((s) => s.raftTerm));
      const votes = statuses.filter((s) => s.raftTerm === top && s.leaderId !== '0').map((s) => s.leaderId);
      const leaderId = votes[0];
      if (leaderId !== undefined && votes.every((v) => v === leaderId)) {
        const own = statuses.find((s) => s.memberId === leaderId);
        let member = own ? this.members.find((m) => m.clientUrl === own.endpoint) : undefined;
        if (!member) {
          const ids = await this.memberIds().catch(() => new Map<string, string>());
          const name = [...ids].find(([, id]) => id === leaderId)?.[0];
          member = this.members.find((m) => m.name === name);
        }
        if (member) return member;
      }
      last = JSON.stringify(statuses);
      await sleep(200);
    }
    throw new Error(`no agreed leader within ${timeoutMs} ms; last statuses: ${last}`);
  }

  async raftTerm(): Promise<number> {
    const statuses = await this.statuses();
    if (statuses.length === 0) throw new Error('raftTerm: no running member answered etcdctl endpoint status');
    return Math.max(...statuses.map((s) => s.raftTerm));
  }

  async put(key: string, value: string): Promise<void> {
    await this.etcdctl(['put', key, value]);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await Promise.all(this.members.map((m) => m.kill('SIGKILL').catch(() => m.killSync())));
      await rm(this.dir, { recursive: true, force: true });
      live.delete(this);
      uninstallHooksIfIdle();
    })();
    return this.closing;
  }

  destroySync(): void {
    this.closed = true;
    for (const m of this.members) m.killSync();
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
}

/**
 * Starts `size` (default 1) members on free loopback ports under a fresh temporary directory and waits
 * until every member reports healthy. A start that fails because a port was taken in between is
 * retried with new ports.
 */
export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const bin = opts.etcd?.bin ?? ETCD_BIN;
  if (!existsSync(bin)) throw new Error(`etcd ${opts.etcd?.version ?? '3.4'}: no binary at ${bin} (Debian's etcd-server, or node scripts/build-etcd.mjs for the built versions)`);
  const dir = await mkdtemp(join(opts.baseDir ?? tmpdir(), 'etcd-cluster-'));
  const cluster = new ClusterImpl(dir, opts);
  live.add(cluster);
  installHooks();
  try {
    if (opts.tls) cluster.pki = await makeTestPki(join(dir, 'pki'));
    for (let attempt = 1; ; attempt++) {
      await cluster.layout();
      try {
        await Promise.all(cluster.members.map((m) => m.start({ timeoutMs: opts.startTimeoutMs ?? 60_000 })));
        return cluster;
      } catch (err) {
        await Promise.all(cluster.members.map((m) => m.kill('SIGKILL')));
        const logs = await Promise.all(cluster.members.map((m) => logTail(m.logFile, 200)));
        if (attempt >= 3 || !logs.some((l) => l.includes('address already in use'))) throw err;
        await Promise.all(cluster.members.map((m) => rm(m.dataDir, { recursive: true, force: true })));
      }
    }
  } catch (err) {
    await cluster.close();
    throw err;
  }
}
