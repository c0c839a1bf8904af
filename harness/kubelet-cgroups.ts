// What kubelet leaves on a node for the agent's cgroup_io source to read, made for real on this host's
// cgroup v1 blkio hierarchy: cgroups named as kubelet's cgroupfs driver names a pod and its containers
// (and as systemd names a service), and the /var/log/pods and /var/log/containers entries that give
// them their names. No kubelet runs; the processes a test puts in these cgroups are real, and so is
// the kernel's accounting of what they write.
//
// The cgroups live under one blkio cgroup of the host, bind-mounted as `<view>/blkio`, so an agent
// given `--cgroup-path=<view>` walks only them (as a pod walks the host's /sys/fs/cgroup mounted
// elsewhere). On recent kernels v1 counts a device's I/O only once a throttle rule was set for it in
// some cgroup (cgroup v2's io.stat always counts): `countDevice` sets one that limits nothing. That
// state lives as long as the device does, so tests give it a loop device of their own.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanups } from './processes.js';

export const BLKIO = '/sys/fs/cgroup/blkio';

/** Why this machine cannot make blkio cgroups, or undefined when it can. */
export function blkioUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (cgroups, mount)';
  if (!existsSync(`${BLKIO}/blkio.throttle.io_service_bytes`)) return `needs cgroup v1 blkio at ${BLKIO}`;
  return undefined;
}

/** A pod as kubelet names it: `/var/log/pods/<namespace>_<pod>_<uid>`, containers by their 64-hex id. */
export interface PodIdentity {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string;
  /** kubelet's QoS class directory under kubepods/ ('' for guaranteed). */
  readonly qos: '' | 'burstable' | 'besteffort';
  readonly containers: ReadonlyArray<{ readonly name: string; readonly id: string }>;
}

/** A pod with a fresh UID and container ids, as the API server and the container runtime give them. */
export function newPod(namespace: string, pod: string, containers: readonly string[], qos: PodIdentity['qos'] = 'burstable'): PodIdentity {
  return { namespace, pod, uid: randomUUID(), qos, containers: containers.map((name) => ({ name, id: randomBytes(32).toString('hex') })) };
}

export interface KubeletCgroups {
  /** What the agent reads as the host's /sys/fs/cgroup (`--cgroup-path`). */
  readonly cgroupPath: string;
  /** What the agent reads as the host's /var/log (`--pod-logs-path`). */
  readonly podLogsPath: string;
  /** The real cgroup directory of `rel` (relative to the tree's root), made on first use. */
  cgroup(rel: string): string;
  /** The cgroup kubelet's cgroupfs driver makes for a pod's container. */
  containerCgroup(pod: PodIdentity, container: string): string;
  /** Writes the pod's kubelet log entries, so the source can name it. */
  addPod(pod: PodIdentity): void;
  /** A shell line that moves the shell running it (and what it then execs) into the cgroup `rel`. */
  enterLine(rel: string): string;
  /** Turns v1 accounting on for a device (`maj:min`) with a throttle rule that limits nothing (10 GB/s). */
  countDevice(dev: string): void;
}

/** Makes the tree under `dir` (the view and the log directories) and registers its removal. */
export function createKubeletCgroups(cleanups: Cleanups, dir: string, tag: string): KubeletCgroups {
  const real = `${BLKIO}/elat-${tag}-${process.pid}`;
  const view = join(dir, 'cgroup');
  const logs = join(dir, 'log');
  const made: string[] = [];
  const mkdirOnce = (d: string) => {
    if (existsSync(d)) return;
    mkdirSync(d);
    made.push(d);
  };
  const removeAll = () => {
    // Deepest first, each emptied of a process that outlived its test first (rmdir refuses otherwise).
    for (const d of made.splice(0).reverse()) {
      if (!existsSync(d)) continue;
      for (const pid of readFileSync(`${d}/cgroup.procs`, 'utf8').split('\n').filter((p) => p !== '')) {
        try {
          writeFileSync(`${BLKIO}/cgroup.procs`, pid);
        } catch {
          // Exited meanwhile.
        }
      }
      rmdirSync(d);
    }
  };
  mkdirOnce(real);
  cleanups.add(`rmdir ${real}`, removeAll, removeAll);
  mkdirSync(join(view, 'blkio'), { recursive: true });
  execFileSync('mount', ['--bind', real, join(view, 'blkio')]);
  const umount = () => void execFileSync('umount', ['-l', join(view, 'blkio')]);
  cleanups.add(`umount ${view}/blkio`, umount, umount);
  mkdirSync(join(logs, 'pods'), { recursive: true });
  mkdirSync(join(logs, 'containers'), { recursive: true });

  const cgroup = (rel: string): string => {
    let d = real;
    for (const part of rel.split('/').filter((p) => p !== '')) mkdirOnce((d = `${d}/${part}`));
    return d;
  };
  return {
    cgroupPath: view,
    podLogsPath: logs,
    cgroup,
    containerCgroup: (pod, container) => {
      const c = pod.containers.find((x) => x.name === container);
      if (c === undefined) throw new Error(`pod ${pod.namespace}/${pod.pod} has no container ${container}`);
      return ['kubepods', pod.qos, `pod${pod.uid}`, c.id].filter((p) => p !== '').join('/');
    },
    addPod: (pod) => {
      mkdirSync(join(logs, 'pods', `${pod.namespace}_${pod.pod}_${pod.uid}`), { recursive: true });
      for (const c of pod.containers) writeFileSync(join(logs, 'containers', `${pod.pod}_${pod.namespace}_${c.name}-${c.id}.log`), '');
    },
    enterLine: (rel) => `echo $$ > '${cgroup(rel)}/cgroup.procs'`,
    countDevice: (dev) => writeFileSync(`${real}/blkio.throttle.write_bps_device`, `${dev} 10000000000`),
  };
}
