// A control-plane node in namespaces, and pods run on it the way the kubelet and a container runtime
// would run them — without either. For tests that must see the agent as it runs on a kubeadm node.
//
// The node: one process (`unshare --uts --net --pid --mount`) is its init. It has its own hostname
// (the node name), a network namespace with only `lo` (so the fixed ports 2379/2380/2381/9379 collide
// with nothing; the node IP is a loopback address), its own PID namespace and /proc, and its own mount
// table: an overlay on /etc whose upper layer holds /etc/kubernetes (written by the test before boot),
// and a directory of a loop-mounted ext4 filesystem as /var/lib, so /var/lib/etcd and the agent's
// probe directory share one real block device, as on a kubeadm node; a /var/log of its own with the
// kubelet's /var/log/pods and /var/log/containers. Nothing of the machine changes.
//
// A pod: entered into the node's namespaces (hostNetwork: the node's network and hostname), with a
// PID and mount namespace of its own. Its root is an overlay whose base layer is the machine's root
// filesystem (standing for the image's base), the image's own files bound on top (`ImageConfig.files`)
// and a throw-away writable layer; then what a runtime adds (/proc of the pod's PID namespace, /sys
// read-only, a small /dev), then the hostPath volumes in the order of volumeMounts (`--rbind`, read-only
// where the mount says so; types checked or created on the node first, as the kubelet does), then the
// root remounted read-only for readOnlyRootFilesystem. The process is started with `chroot` and
// `setpriv`: its UID/GID, a bounding set of the runtime's default capabilities minus `drop` plus `add`
// (empty for drop ALL), no_new_privs for allowPrivilegeEscalation: false, the image's and the
// container's environment only.
//
// Not emulated: the kubelet (no restarts, no liveness kills, probes are run by the test when it asks),
// cgroups (no CPU or memory limits), seccomp and AppArmor profiles, user namespaces, the pod's
// /etc/hosts and /etc/resolv.conf, image pulls (the machine's root stands for every image's base).
// The node's and pods' scratch directories must be on a filesystem other than the machine's root
// (e.g. /dev/shm), or every pod would see them through its base layer.
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { basename, dirname, join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerSpec, HttpProbe, ImageConfig, PodSpec } from './pod-spec.js';
import { childrenOf, spawnGroup, tail, waitUntil, type Cleanups, type GroupChild } from '../../harness/processes.js';
import { loopUnavailable } from '../scenarios/faults.js';

export interface NodeOptions {
  readonly name: string;
  /** A loopback address other than 127.0.0.1 (kubeadm listens on both, and a port can be bound once). */
  readonly ip: string;
  /** Scratch directory for the node and its pods; not on the machine's root filesystem. */
  readonly dir: string;
  /** The directory that becomes the node's /var/lib (on the filesystem etcd's disk stands for). */
  readonly varLib: string;
  /** A filesystem of its own mounted at the node's /var/lib/etcd: etcd moved to a disk of its own. */
  readonly etcdDisk?: string;
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningPod {
  readonly name: string;
  readonly container: ContainerSpec;
  /** The container's process, as this machine numbers it. */
  readonly pid: number;
  /** Everything the container wrote to stdout and stderr so far. */
  log(): string;
  /** Runs `argv` in the container as `kubectl exec` would: its namespaces, root, user, capabilities, environment. */
  exec(argv: readonly string[]): Promise<ExecResult>;
  /** SIGTERM, SIGKILL after the pod's grace period; the container's exit status. */
  stop(): Promise<number | null>;
}

export interface KubeadmNode {
  readonly name: string;
  readonly ip: string;
  /** Where a path of the node's /etc/kubernetes, /var/lib or /var/log is on this machine (write /etc only before boot). */
  file(nodePath: string): string;
  boot(): Promise<void>;
  runPod(pod: PodSpec, container: string, image: ImageConfig): Promise<RunningPod>;
  /** A GET on the node's network, from outside it. */
  http(host: string, port: number, path: string): Promise<HttpResult>;
  /** Runs a probe of the pod's container until it succeeds (as the kubelet would); throws with the last answer. */
  waitForProbe(pod: RunningPod, probe: 'startupProbe' | 'readinessProbe', timeoutMs: number): Promise<HttpResult>;
  /** Runs a program of this machine on the node's network (etcdctl as an operator on the node would). */
  netExec(file: string, args: readonly string[]): Promise<ExecResult>;
}

/** Why a node cannot be emulated here, or undefined. */
export function kubeadmNodeUnavailable(scratchDir: string): string | undefined {
  if (process.platform !== 'linux') return 'namespaces are Linux-only';
  if (process.getuid?.() !== 0) return 'needs root for namespaces, mounts and loop devices';
  const loop = loopUnavailable();
  if (loop !== undefined) return loop;
  for (const [cmd, pkg] of [['unshare', 'util-linux'], ['nsenter', 'util-linux'], ['setpriv', 'util-linux'], ['chroot', 'coreutils'], ['ip', 'iproute2'], ['kubectl', 'kubectl'], ['openssl', 'openssl']] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      return `${cmd} is missing (Debian package ${pkg})`;
    }
  }
  if (!readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n')) return 'the kernel has no overlay filesystem';
  if (!existsSync(scratchDir) || statSync(scratchDir).dev === statSync('/').dev) return `${scratchDir} is missing or on the root filesystem; a separate tmpfs is needed`;
  return undefined;
}

// ───────────────────────────────────────────── shell

/** One shell word. */
function q(s: string): string {
  return /^[A-Za-z0-9_./:=+,@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const script = (lines: readonly string[]): string => ['set -eu', ...lines].join('\n');

// ───────────────────────────────────────────── capabilities

/** containerd's (and Docker's) default capabilities of a non-privileged container. */
export const RUNTIME_DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'] as const;

/** The container's bounding set, as `setpriv --bounding-set` takes it. */
function boundingSet(c: ContainerSpec): string {
  const norm = (s: string) => s.toUpperCase().replace(/^CAP_/, '');
  const drop = new Set(c.capabilities.drop.map(norm));
  const kept = drop.has('ALL') ? [] : RUNTIME_DEFAULT_CAPS.filter((cap) => !drop.has(cap));
  const caps = [...new Set([...kept, ...c.capabilities.add.map(norm)])];
  return ['-all', ...caps.map((cap) => `+${cap.toLowerCase()}`)].join(',');
}

/** The credentials part of the container's process: `setpriv` arguments. */
function privileges(pod: PodSpec, c: ContainerSpec, image: ImageConfig): string[] {
  const uid = c.runAsUser ?? pod.runAsUser ?? image.uid;
  const gid = c.runAsGroup ?? pod.runAsGroup ?? image.gid;
  return [
    `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups',
    '--inh-caps=-all', '--ambient-caps=-all', `--bounding-set=${boundingSet(c)}`,
    ...(c.allowPrivilegeEscalation ? [] : ['--no-new-privs']),
  ];
}

// ───────────────────────────────────────────── the pod's filesystem

/** The kubelet's check (and creation) of a hostPath before the container starts, as shell. */
function hostPathCheck(path: string, type: string): string[] {
  const fail = (what: string) => `{ echo ${q(`hostPath ${path} (${type}): ${what}`)} >&2; exit 1; }`;
  switch (type) {
    case 'Directory': return [`[ -d ${q(path)} ] || ${fail('not a directory')}`];
    case 'DirectoryOrCreate': return [`[ -d ${q(path)} ] || mkdir -p -m 0755 ${q(path)}`];
    case 'File': return [`[ -f ${q(path)} ] || ${fail('not a file')}`];
    case 'FileOrCreate': return [`[ -f ${q(path)} ] || { mkdir -p ${q(posix.dirname(path))}; : > ${q(path)}; }`];
    default: return [];
  }
}

/** Makes `target` a mount point like `source` (a directory or a file), then bind-mounts it. */
function bindLines(source: string, target: string, opts: { recursive: boolean; readOnly: boolean }): string[] {
  return [
    `if [ -d ${q(source)} ]; then mkdir -p ${q(target)}; else mkdir -p ${q(posix.dirname(target))}; [ -e ${q(target)} ] || : > ${q(target)}; fi`,
    `mount ${opts.recursive ? '--rbind' : '--bind'} ${q(source)} ${q(target)}`,
    ...(opts.readOnly ? [`mount -o remount,bind,ro ${q(target)}`] : []),
  ];
}

/** What a runtime gives every container: its own /proc, /sys read-only, a minimal /dev. */
function runtimeMounts(root: string): string[] {
  const dev = `${root}/dev`;
  return [
    `mount -t proc -o nosuid,nodev,noexec proc ${q(`${root}/proc`)}`,
    `mount --rbind /sys ${q(`${root}/sys`)}`,
    `mount -o remount,bind,ro ${q(`${root}/sys`)}`,
    `mount -t tmpfs -o nosuid,mode=755,size=65536k tmpfs ${q(dev)}`,
    ...['null', 'zero', 'full', 'random', 'urandom', 'tty'].flatMap((d) => [`: > ${q(`${dev}/${d}`)}`, `mount --bind /dev/${d} ${q(`${dev}/${d}`)}`]),
    `ln -s /proc/self/fd ${q(`${dev}/fd`)}`,
    ...['stdin', 'stdout', 'stderr'].map((s, i) => `ln -s /proc/self/fd/${i} ${q(`${dev}/${s}`)}`),
    `mkdir ${q(`${dev}/shm`)}`,
    `mount -t tmpfs -o nosuid,nodev,noexec,size=65536k shm ${q(`${dev}/shm`)}`,
  ];
}

interface PodPlan {
  readonly argv: readonly string[];
  readonly env: readonly string[];
  readonly workdir: string;
  readonly setpriv: readonly string[];
  readonly script: string;
}

function planPod(node: { name: string; ip: string }, pod: PodSpec, c: ContainerSpec, image: ImageConfig, scratch: string): PodPlan {
  if (!pod.hostNetwork) throw new Error(`container ${c.name}: only hostNetwork pods are emulated`);
  const argv = [...(c.command ?? image.entrypoint), ...(c.args ?? (c.command ? [] : image.cmd))];
  if (argv.length === 0) throw new Error(`container ${c.name}: nothing to run`);
  const env: Record<string, string> = { ...image.env, HOSTNAME: node.name };
  // The API server gives each pod a UID; no kubelet here makes a cgroup or log directory for it.
  const fields = { nodeName: node.name, nodeIP: node.ip, podUID: randomUUID() } as const;
  for (const [name, v] of c.env) env[name] = 'value' in v ? v.value : fields[v.field];
  const root = `${scratch}/root`;
  const lines = [
    // the kubelet, on the node, before the container exists
    ...c.mounts.flatMap((m) => {
      const v = pod.volumes.get(m.name);
      if (v === undefined) throw new Error(`container ${c.name}: volumeMount ${m.name} has no volume`);
      return hostPathCheck(v.path, v.type);
    }),
    // the image: the machine's root as its base, its own files on top, a writable layer
    `mount -t overlay overlay -o ${q(`lowerdir=/,upperdir=${scratch}/upper,workdir=${scratch}/work`)} ${q(root)}`,
    ...image.files.flatMap(([inImage, here]) => bindLines(here, root + inImage, { recursive: false, readOnly: true })),
    ...runtimeMounts(root),
    ...c.mounts.flatMap((m) => bindLines(pod.volumes.get(m.name)!.path, root + m.mountPath, { recursive: true, readOnly: m.readOnly })),
    ...(c.readOnlyRootFilesystem ? [`mount -o remount,bind,ro ${q(root)}`] : []),
  ];
  const envWords = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const setpriv = privileges(pod, c, image);
  const workdir = c.workingDir ?? image.workdir;
  const exec = ['chroot', root, '/usr/bin/env', '-i', ...envWords, '/usr/bin/setpriv', ...setpriv, '--', '/usr/bin/env', `--chdir=${workdir}`, ...argv];
  lines.push(`exec ${exec.map(q).join(' ')}`);
  return { argv, env: envWords, workdir, setpriv, script: script(lines) };
}

// ───────────────────────────────────────────── a way in from outside

/**
 * Runs in the node's network namespace and listens on a unix socket (sockets in the filesystem are
 * reachable across network namespaces): a client sends `host port\n`, then talks to host:port.
 */
const RELAY = `
const net = require('node:net');
net.createServer((c) => {
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) return;
    c.pause();
    c.off('data', onData);
    const [host, port] = head.subarray(0, nl).toString().split(' ');
    const u = net.connect(Number(port), host, () => { u.write(head.subarray(nl + 1)); c.pipe(u); u.pipe(c); c.resume(); });
    u.on('error', () => c.destroy());
    c.on('error', () => u.destroy());
  };
  c.on('data', onData);
}).listen(process.env.RELAY_SOCKET);
`;

function relayGet(socket: string, host: string, port: number, path: string, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        path,
        method: 'GET',
        headers: { host: `${host}:${port}`, 'user-agent': 'kube-probe/emulated' },
        createConnection: () => {
          const s = net.connect(socket);
          s.write(`${host} ${port}\n`);
          return s;
        },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${host}:${port}${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function run(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: 30_000, maxBuffer: 16 * 2 ** 20, ...(env ? { env } : {}) }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

// ───────────────────────────────────────────── the node

async function waitForFile(file: string, timeoutMs: number, group: GroupChild): Promise<void> {
  const ok = await waitUntil(() => existsSync(file) || !group.running(), timeoutMs);
  if (!ok || !existsSync(file)) throw new Error(`${group.name} did not come up:\n${tail(group.logFile)}`);
}

/** The only child of `pid`, once it has one. */
async function childOf(pid: number, timeoutMs: number): Promise<number> {
  let child: number | undefined;
  await waitUntil(() => (child = childrenOf(pid)[0]?.pid) !== undefined, timeoutMs);
  if (child === undefined) throw new Error(`process ${pid} has no child after ${timeoutMs} ms`);
  return child;
}

/** The file a process runs (the last exec of a chain `chroot … env … setpriv … node`), or undefined once it is gone. */
function program(pid: number): string | undefined {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return undefined;
  }
}

export function createKubeadmNode(cleanups: Cleanups, o: NodeOptions): KubeadmNode {
  const etcUpper = join(o.dir, 'etc.upper');
  const varLog = join(o.dir, 'var.log');
  const relaySocket = join(o.dir, 'relay.sock');
  let initPid: number | undefined;
  let pods = 0;

  const pid = (): number => {
    if (initPid === undefined) throw new Error(`node ${o.name} is not booted`);
    return initPid;
  };

  const file = (nodePath: string): string => {
    const p = posix.normalize(nodePath);
    if (p === '/etc/kubernetes' || p.startsWith('/etc/kubernetes/')) return join(etcUpper, p.slice('/etc/'.length));
    if (o.etcdDisk !== undefined && (p === '/var/lib/etcd' || p.startsWith('/var/lib/etcd/'))) return join(o.etcdDisk, p.slice('/var/lib/etcd'.length));
    if (p.startsWith('/var/lib/')) return join(o.varLib, p.slice('/var/lib/'.length));
    if (p.startsWith('/var/log/')) return join(varLog, p.slice('/var/log/'.length));
    throw new Error(`${nodePath}: only /etc/kubernetes, /var/lib and /var/log are the node's own`);
  };

  const spawnOnNode = (name: string, file: string, args: readonly string[], logFile: string): GroupChild => {
    // mount, ip and hostname live in sbin, which a non-login PATH may lack.
    const path = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
    return spawnGroup(name, file, args, { logFile, env: { PATH: path } });
  };

  const boot = async (): Promise<void> => {
    await mkdir(join(o.dir, 'etc.work'), { recursive: true });
    await mkdir(etcUpper, { recursive: true });
    if (o.etcdDisk !== undefined) await mkdir(join(o.varLib, 'etcd'), { recursive: true });
    // The kubelet makes these at start; the agent names pods from them.
    await Promise.all(['pods', 'containers'].map((d) => mkdir(join(varLog, d), { recursive: true, mode: 0o755 })));
    const ready = join(o.dir, 'node.ready');
    const init = script([
      `hostname ${q(o.name)}`,
      'ip link set lo up',
      `mount -t overlay overlay -o ${q(`lowerdir=/etc,upperdir=${etcUpper},workdir=${join(o.dir, 'etc.work')}`)} /etc`,
      `mount --bind ${q(o.varLib)} /var/lib`,
      `mount --bind ${q(varLog)} /var/log`,
      ...(o.etcdDisk !== undefined ? [`mount --bind ${q(o.etcdDisk)} /var/lib/etcd`] : []),
      `: > ${q(ready)}`,
      'exec sleep infinity',
    ]);
    const g = spawnOnNode('node', 'unshare', ['--uts', '--net', '--pid', '--fork', '--mount', '--propagation', 'private', '--mount-proc', '--', '/bin/sh', '-c', init],
      join(o.dir, 'node.log'));
    // The node's init ignores SIGTERM (PID 1 without a handler): only SIGKILL ends it, and with it every pod.
    cleanups.add(`node ${o.name}`, () => g.stop({ sig: 'SIGKILL', graceMs: 2000 }), () => g.killSync());
    await waitForFile(ready, 10_000, g);
    initPid = await childOf(g.pgid, 5000);

    const relay = spawnGroup('relay', 'nsenter', [`--target=${initPid}`, '--net', '--', process.execPath, '-e', RELAY],
      { logFile: join(o.dir, 'relay.log'), env: { PATH: process.env.PATH, RELAY_SOCKET: relaySocket } });
    cleanups.add(`relay of ${o.name}`, () => relay.stop({ graceMs: 2000 }), () => relay.killSync());
    await waitForFile(relaySocket, 10_000, relay);
  };

  const runPod = async (pod: PodSpec, containerName: string, image: ImageConfig): Promise<RunningPod> => {
    const c = pod.containers.find((x) => x.name === containerName);
    if (c === undefined) throw new Error(`no container ${containerName} in the pod`);
    const scratch = join(o.dir, `pod-${++pods}-${c.name}`);
    await Promise.all(['root', 'upper', 'work'].map((d) => mkdir(join(scratch, d), { recursive: true })));
    const plan = planPod({ name: o.name, ip: o.ip }, pod, c, image, scratch);
    const g = spawnOnNode(`pod ${c.name}`, 'nsenter', [`--target=${pid()}`, '--uts', '--net', '--pid', '--mount', '--wd=/', '--',
      'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--', '/bin/sh', '-c', plan.script], `${scratch}.log`);
    let containerPid: number | undefined;
    const graceMs = pod.terminationGracePeriodSeconds * 1000;
    const stop = async (): Promise<number | null> => {
      await g.stop({ tracee: () => containerPid, graceMs });
      return (await g.exited).code;
    };
    cleanups.add(`pod ${c.name}`, async () => void (await stop()), () => g.killSync(() => containerPid));
    // nsenter → unshare (in the node's PID namespace) → the pod's init, which execs the container's process.
    const cpid = await childOf(g.pgid, 5000).then((unshare) => childOf(unshare, 5000)).catch((err: unknown) => {
      throw new Error(`container ${c.name} did not start (${err instanceof Error ? err.message : String(err)}):\n${tail(g.logFile, 60)}`);
    });
    containerPid = cpid;
    const started = await waitUntil(() => program(cpid) === basename(plan.argv[0]!) || !g.running(), 15_000);
    if (!started || !g.running()) throw new Error(`container ${c.name} did not start:\n${tail(g.logFile, 60)}`);
    return {
      name: c.name,
      container: c,
      pid: cpid,
      log: () => {
        try {
          return readFileSync(g.logFile, 'utf8');
        } catch {
          return '';
        }
      },
      exec: (argv) => run('nsenter', [`--target=${cpid}`, '--mount', '--pid', '--net', '--uts', '--root', '--wd', '--',
        '/usr/bin/env', '-i', ...plan.env, '/usr/bin/setpriv', ...plan.setpriv, '--', ...argv]),
      stop,
    };
  };

  const httpOnNode = (host: string, port: number, path: string): Promise<HttpResult> => relayGet(relaySocket, host, port, path);

  const waitForProbe = async (p: RunningPod, which: 'startupProbe' | 'readinessProbe', timeoutMs: number): Promise<HttpResult> => {
    const probe: HttpProbe | undefined = p.container[which];
    if (probe === undefined) throw new Error(`container ${p.name} has no ${which}`);
    if (probe.scheme !== 'HTTP') throw new Error(`${p.name} ${which}: only HTTP probes are emulated`);
    const port = typeof probe.port === 'number' ? probe.port : p.container.ports.get(probe.port);
    if (port === undefined) throw new Error(`${p.name} ${which}: no container port named ${probe.port}`);
    const host = probe.host ?? o.ip; // the pod's IP, which with hostNetwork is the node's
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (program(p.pid) === undefined) throw new Error(`${p.name} exited:\n${p.log().slice(-4000)}`);
      try {
        const r = await httpOnNode(host, port, probe.path);
        if (r.status >= 200 && r.status < 400) return r;
        last = `HTTP ${r.status} ${r.body.slice(0, 300)}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(250);
    }
    throw new Error(`${p.name} ${which} (GET ${host}:${port}${probe.path}) failed for ${timeoutMs} ms; last: ${last}\n${p.log().slice(-4000)}`);
  };

  const netExec = (f: string, args: readonly string[]): Promise<ExecResult> => run('nsenter', [`--target=${pid()}`, '--net', '--', f, ...args]);

  return { name: o.name, ip: o.ip, file, boot, runPod, http: httpOnNode, waitForProbe, netExec };
}

/** Makes a directory of the node's own (see `file`) with the mode kubeadm gives it, e.g. /var/lib/etcd 0700. */
export async function makeNodeDir(node: KubeadmNode, nodePath: string, mode: number): Promise<string> {
  const dir = node.file(nodePath);
  await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
  await mkdir(dir, { recursive: true, mode });
  return dir;
}
