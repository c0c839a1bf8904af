import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type Outcome } from '../lib/outcome.js';
import { trimTrailingSlash } from '../lib/paths.js';
import { seconds, type Milliseconds, type Seconds } from '../lib/units.js';
import {
  containersFromLogFiles,
  devNumber,
  isEtcd,
  nameOwner,
  ownerKey,
  ownerOfCgroup,
  ownerText,
  parseBlkioServiceBytes,
  parseIoStat,
  podsFromLogDirs,
  type CgroupOwner,
  type ContainerName,
  type DevNumber,
  type NamedOwner,
  type PodName,
} from '../host/cgroup-io.js';
import { findMount } from '../host/proc-mountinfo.js';
import { resolveMountDevice } from '../host/sys-block.js';
import { readMountView, resolveExisting } from './diskstats.js';
import type { Source } from './source.js';

/** One writer on etcd's device: a pod's container, a system service or a cgroup, and its rate. */
export type CgroupWriter = NamedOwner & {
  /** How people read it: `kube-system/etcd-node1 etcd`, `containerd.service`, `/user.slice`. */
  readonly name: string;
  /** etcd itself (its pod's container or etcd.service): the workload, not a neighbour. */
  readonly etcd: boolean;
  readonly bytesPerSecond: number;
};

/** The writers on etcd's device from the kernel's cgroup I/O accounting. */
export interface CgroupIoSample {
  readonly hierarchy: 'v1' | 'v2';
  /** The directory of the hierarchy that was read (`/sys/fs/cgroup`, `/sys/fs/cgroup/blkio`, …). */
  readonly root: string;
  /** etcd's device(s) as major:minor: the device its data dir is mounted from and the whole disks under it. */
  readonly devices: readonly DevNumber[];
  /**
   * Whether the kernel counts I/O on etcd's device at all. v2's io.stat always does; v1's blkio
   * throttle files list a device only once blk-throttle is active on it (a throttle rule was set
   * for it in some cgroup), and count nothing before: then there are no figures, not "no writers".
   */
  readonly accounting: boolean;
  /** Busiest first, at most TOP_CGROUP_WRITERS above MIN_CGROUP_WRITER_RATE; etcd included. Empty on the first round. */
  readonly writers: readonly CgroupWriter[];
  /** Every other cgroup's writes summed, when any wrote. */
  readonly rest?: { readonly cgroups: number; readonly bytesPerSecond: number };
  /** The time between the two rounds the rates come from; absent on the first round. */
  readonly window?: Seconds;
  /** Cgroups read this round. */
  readonly cgroups: number;
  readonly notes?: readonly string[];
}

// ───────────────────────────── the source ─────────────────────────────
//
// Each round: every cgroup's written bytes on etcd's device(s) (v2 io.stat `wbytes`, v1
// blkio.throttle.io_service_bytes `Write`), minus the previous round's, is its rate. v2 counts are
// hierarchical (a cgroup's include its children's), so a cgroup's own rate is its rate minus its
// children's; v1's files count each cgroup's own. The rates are summed per owner (a pod's
// container, a unit, else the cgroup), the busiest named, the rest summed. Needs no capability:
// cgroup files are world-readable.
//
// What the kernel attributes: v2 charges buffered writes to the cgroup that dirtied the pages
// (writeback is cgroup-aware); v1 only direct and synchronous I/O issued in the process's context,
// buffered writeback going to the root cgroup (`/`).

/** Below this a cgroup is not a noisy neighbour (as processes' MIN_WRITER_RATE). */
export const MIN_CGROUP_WRITER_RATE = 16 * 1024;
export const TOP_CGROUP_WRITERS = 5;
/** Bounds one round's walk: kubelet's deepest is kubepods.slice/…/pod.slice/container.scope (4). */
export const MAX_CGROUP_DEPTH = 6;
export const MAX_CGROUPS = 4096;
/** Cgroups read between two yields to the event loop. */
const BATCH = 64;
/** How long etcd's device numbers are trusted before the data dir is resolved again (as diskstats). */
const RESOLVE_EVERY_MS = 60_000;

export interface CgroupIoOptions {
  etcdDataDir: string;
  procPath: string;
  sysPath: string;
  /** The host's cgroup mount: `/sys/fs/cgroup`, or where a pod mounts it. */
  cgroupPath: string;
  /** The host's /var/log, holding kubelet's `pods/` and `containers/` (names of pods and containers). */
  podLogsPath: string;
  /** This agent's own pod: its probe writes to etcd's disk on purpose and is not a neighbour. */
  selfPodUid?: string;
  interval: Milliseconds;
  maxCgroups?: number;
}

interface Hierarchy {
  readonly version: 'v1' | 'v2';
  readonly root: string;
  readonly file: string;
}

/** One cgroup's counter on etcd's device(s), with the cgroups below it that have one too. */
interface Reading {
  readonly path: string;
  /** undefined: the file has no line for etcd's devices (v1: accounting not active for them). */
  readonly bytes: number | undefined;
  readonly children: readonly string[];
}

interface Round {
  readonly at: number;
  readonly bytes: ReadonlyMap<string, number>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

export function createCgroupIoSource(opts: CgroupIoOptions): Source<CgroupIoSample> {
  const cgroupPath = trimTrailingSlash(opts.cgroupPath);
  const maxCgroups = opts.maxCgroups ?? MAX_CGROUPS;
  const names = createNamer(trimTrailingSlash(opts.podLogsPath));
  let devices: { at: number; value: DevNumber[] } | undefined;
  let previous: Round | undefined;
  let selfCgroups: Promise<ReadonlySet<string>> | undefined;

  const sampleOnce = async (now: Date): Promise<Outcome<CgroupIoSample>> => {
    const t = now.getTime();
    const h = findHierarchy(cgroupPath);
    if (!h.ok) return h;
    if (devices === undefined || t - devices.at >= RESOLVE_EVERY_MS || t < devices.at) {
      const d = await etcdDevices(opts);
      if (!d.ok) return d;
      devices = { at: t, value: d.value };
    }
    const devs = devices.value;
    const walked = await walk(h.value, devs, maxCgroups);
    if (!walked.ok) return walked;
    const readings = walked.value.readings;
    const round: Round = {
      at: t,
      bytes: new Map(readings.flatMap((r) => (r.bytes === undefined ? [] : [[r.path, r.bytes] as const]))),
      children: new Map(readings.map((r) => [r.path, r.children])),
    };
    const accounting = h.value.version === 'v2' || readings.some((r) => r.bytes !== undefined);
    const before = previous;
    previous = round;
    selfCgroups ??= ownCgroups();
    const own = ownRates(before, round, h.value.version);
    const excluded = await selfCgroups;
    const owners = sumByOwner(own, (p) => excluded.has(p), opts.selfPodUid);
    const { writers, rest } = await topWriters(owners, names);
    const notes = [
      ...(accounting ? [] : [noAccountingNote(h.value, devs)]),
      ...(walked.value.truncated ? [`more than ${maxCgroups} cgroups under ${h.value.root}: only the first ${maxCgroups} are read for etcd's writers`] : []),
    ];
    return success({
      hierarchy: h.value.version,
      root: h.value.root,
      devices: devs,
      accounting,
      writers: accounting ? writers : [],
      ...(accounting && rest ? { rest } : {}),
      ...(before ? { window: seconds((t - before.at) / 1000) } : {}),
      cgroups: readings.length,
      ...(notes.length > 0 ? { notes } : {}),
    });
  };

  return {
    name: 'cgroup_io',
    interval: opts.interval,
    async sample(now: Date): Promise<Outcome<CgroupIoSample>> {
      try {
        return await sampleOnce(now);
      } catch (err) {
        // Belt and braces: nothing above should throw, but a source must never crash the agent.
        devices = undefined;
        return failure(reasonForError(err), `cgroup I/O under ${cgroupPath}: ${errorMessage(err)}`);
      }
    },
  };
}

const readable = (file: string): boolean => {
  try {
    readFileSync(file, 'utf8');
    return true;
  } catch {
    return false;
  }
};

/**
 * v2 with the io controller (pure v2 at the mount, or hybrid's `unified/`), else v1's blkio
 * hierarchy. A v2 tree without io (hybrid hosts, this test machine) says nothing about disks.
 */
export function findHierarchy(cgroupPath: string): Outcome<Hierarchy> {
  for (const root of [cgroupPath, `${cgroupPath}/unified`]) {
    const controllers = (() => {
      try {
        return readFileSync(`${root}/cgroup.controllers`, 'utf8').split(/\s+/);
      } catch {
        return [];
      }
    })();
    if (controllers.includes('io')) return success({ version: 'v2', root, file: 'io.stat' });
  }
  const v1 = `${cgroupPath}/blkio`;
  if (readable(`${v1}/blkio.throttle.io_service_bytes`)) return success({ version: 'v1', root: v1, file: 'blkio.throttle.io_service_bytes' });
  return failure(
    'not_found',
    `no cgroup I/O accounting under ${cgroupPath}: neither cgroup v2 with the io controller (${cgroupPath}/cgroup.controllers) ` +
      `nor v1 blkio (${v1}/blkio.throttle.io_service_bytes); mount the host's /sys/fs/cgroup there (--cgroup-path)`,
  );
}

/** etcd's device and the whole disks under it as major:minor: cgroup files count bios on the disk they reach. */
async function etcdDevices(opts: CgroupIoOptions): Promise<Outcome<DevNumber[]>> {
  const procPath = trimTrailingSlash(opts.procPath);
  const sysPath = trimTrailingSlash(opts.sysPath);
  const view = await readMountView(procPath);
  if (!view.ok) return view;
  const dataDir = isAbsolute(opts.etcdDataDir) ? opts.etcdDataDir : resolvePath(opts.etcdDataDir);
  const at = await resolveExisting(view.value.root, dataDir);
  const mount = findMount(view.value.entries, at.path);
  if (mount === undefined) return failure('not_found', `no mount in ${view.value.file} holds ${at.path} (etcd data dir ${dataDir})`);
  const dev = await resolveMountDevice(sysPath, mount);
  if (!dev.ok) return failure(dev.reason, `etcd data dir ${dataDir}: ${dev.message}`);
  const out = new Set<DevNumber>();
  if (mount.major !== 0) out.add(devNumber(mount.major, mount.minor));
  for (const disk of dev.value.disks) {
    const text = await readFile(`${sysPath}/block/${disk}/dev`, 'utf8').catch(() => '');
    const m = /^(\d+):(\d+)/.exec(text.trim());
    if (m) out.add(devNumber(Number(m[1]), Number(m[2])));
  }
  if (out.size === 0) return failure('not_found', `no device number for etcd data dir ${dataDir} (${dev.value.device}) in ${sysPath}/block`);
  return success([...out]);
}

/**
 * Reads every cgroup's counter, breadth first, at most `max` cgroups and MAX_CGROUP_DEPTH levels.
 * cgroupfs is generated in memory and never waits for a disk, so it is read synchronously (as
 * processes reads /proc), in batches between yields to the event loop.
 */
async function walk(h: Hierarchy, devs: readonly DevNumber[], max: number): Promise<Outcome<{ readings: Reading[]; truncated: boolean }>> {
  const parse = h.version === 'v2' ? parseIoStat : parseBlkioServiceBytes;
  const readings: Reading[] = [];
  let level: string[] = ['/'];
  let truncated = false;
  for (let depth = 0; level.length > 0 && depth <= MAX_CGROUP_DEPTH; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i++) {
      const path = level[i]!;
      if (readings.length >= max) {
        truncated = true;
        break;
      }
      const dir = path === '/' ? h.root : h.root + path;
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        // The root unreadable is the source's failure; a cgroup removed meanwhile is not.
        if (path === '/') return failure(reasonForError(err), `cannot list ${dir}: ${errorMessage(err)}`);
        continue;
      }
      const children = depth < MAX_CGROUP_DEPTH ? entries.filter((e) => e.isDirectory()).map((e) => (path === '/' ? '/' : path + '/') + e.name) : [];
      const text = entries.some((e) => e.name === h.file) ? readOptional(`${dir}/${h.file}`) : undefined;
      readings.push({ path, bytes: text === undefined ? undefined : onDevices(parse(text), devs, h.version), children });
      next.push(...children);
      if (readings.length % BATCH === 0) await yieldToLoop();
    }
    level = next;
  }
  return success({ readings, truncated });
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A cgroup's bytes on etcd's device: the largest of its counters on etcd's devices, since a write
 * through a partition or a dm device is also counted on the disk under it. v2 lists only devices
 * with I/O (none listed is 0); v1 lists only devices with accounting active (none is unknown).
 */
function onDevices(counts: ReadonlyMap<DevNumber, number>, devs: readonly DevNumber[], version: 'v1' | 'v2'): number | undefined {
  const found = devs.flatMap((d) => (counts.has(d) ? [counts.get(d)!] : []));
  if (found.length === 0) return version === 'v2' ? 0 : undefined;
  return Math.max(...found);
}

/**
 * Bytes per second each cgroup wrote itself between two rounds. A counter smaller than before is a
 * cgroup made anew under the same name: no rate. In v2 a cgroup's children are subtracted, and a
 * cgroup whose children changed gets no rate this round (a removed child's bytes stay in the parent).
 */
export function ownRates(before: Round | undefined, now: Round, version: 'v1' | 'v2'): Map<string, number> {
  const rates = new Map<string, number>();
  if (before === undefined) return rates;
  const dt = (now.at - before.at) / 1000;
  if (dt <= 0) return rates;
  const delta = (p: string): number | undefined => {
    const a = before.bytes.get(p);
    const b = now.bytes.get(p);
    return a === undefined || b === undefined || b < a ? undefined : b - a;
  };
  for (const path of now.bytes.keys()) {
    const d = delta(path);
    if (d === undefined) continue;
    if (version === 'v1') {
      rates.set(path, d / dt);
      continue;
    }
    const kids = (now.children.get(path) ?? []).filter((c) => now.bytes.has(c));
    const kidsBefore = (before.children.get(path) ?? []).filter((c) => before.bytes.has(c));
    if (kids.length !== kidsBefore.length || kids.some((c) => !kidsBefore.includes(c))) continue;
    const kidDeltas = kids.map(delta);
    if (kidDeltas.some((k) => k === undefined)) continue;
    rates.set(path, Math.max(0, d - kidDeltas.reduce((a: number, b) => a + b!, 0)) / dt);
  }
  return rates;
}

interface OwnerRate {
  readonly owner: CgroupOwner;
  readonly bytesPerSecond: number;
}

/** Rates summed per owner (a container's cgroups, a unit's), the agent's own left out. */
function sumByOwner(rates: ReadonlyMap<string, number>, isSelf: (path: string) => boolean, selfPodUid: string | undefined): OwnerRate[] {
  const byKey = new Map<string, OwnerRate>();
  for (const [path, rate] of rates) {
    if (isSelf(path)) continue;
    const owner = ownerOfCgroup(path);
    if (owner.kind === 'pod' && owner.podUid === selfPodUid?.toLowerCase()) continue;
    const key = ownerKey(owner);
    byKey.set(key, { owner, bytesPerSecond: (byKey.get(key)?.bytesPerSecond ?? 0) + rate });
  }
  return [...byKey.values()].sort((a, b) => b.bytesPerSecond - a.bytesPerSecond);
}

async function topWriters(owners: readonly OwnerRate[], names: Namer): Promise<{ writers: CgroupWriter[]; rest?: { cgroups: number; bytesPerSecond: number } }> {
  const top = owners.filter((o) => o.bytesPerSecond >= MIN_CGROUP_WRITER_RATE).slice(0, TOP_CGROUP_WRITERS);
  const others = owners.slice(top.length);
  const writers: CgroupWriter[] = [];
  for (const o of top) {
    const named = await names(o.owner);
    writers.push({ ...named, name: ownerText(named), etcd: isEtcd(named), bytesPerSecond: o.bytesPerSecond });
  }
  const restRate = others.reduce((a, o) => a + o.bytesPerSecond, 0);
  return restRate > 0 ? { writers, rest: { cgroups: others.filter((o) => o.bytesPerSecond > 0).length, bytesPerSecond: restRate } } : { writers };
}

type Namer = (o: CgroupOwner) => Promise<NamedOwner>;

/**
 * Names pods from kubelet's log directories. They are listed again only when a pod or container is
 * not known yet (a new pod), at most once per round's interval, so a steady node lists them rarely.
 */
function createNamer(podLogsPath: string): Namer {
  let pods = new Map<string, PodName>();
  let containers = new Map<string, ContainerName>();
  let listedAt = -Infinity;
  const list = async (dir: string): Promise<string[]> => readdir(`${podLogsPath}/${dir}`).catch(() => []);
  return async (o) => {
    const unknown = o.kind === 'pod' && (!pods.has(o.podUid) || (o.containerId !== undefined && !containers.has(o.containerId)));
    if (unknown && performance.now() - listedAt > 1000) {
      listedAt = performance.now();
      pods = podsFromLogDirs(await list('pods'));
      containers = containersFromLogFiles(await list('containers'));
    }
    return nameOwner(o, pods, containers);
  };
}

/** This process's own cgroups (outside a pod, or a pod sharing the host's cgroup namespace). */
async function ownCgroups(): Promise<ReadonlySet<string>> {
  const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const paths = text
    .split('\n')
    .map((l) => /^\d+:([^:]*):(\/.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && (m[1] === '' || m[1]!.split(',').includes('blkio')))
    .map((m) => m[2]!)
    // `/` is the root, or only this cgroup namespace's root: excluding it would hide real writers.
    .filter((p) => p !== '/');
  return new Set(paths);
}

function noAccountingNote(h: Hierarchy, devs: readonly DevNumber[]): string {
  return (
    `cgroup v1 blkio counts no I/O for etcd's device ${devs.join(', ')} (no line for it in ${h.root}/**/${h.file}): on recent kernels ` +
    `blk-throttle counts a device's I/O only once a throttle rule was set for that device in some cgroup; until then there are no ` +
    `per-cgroup figures (not "no writers"). cgroup v2's io.stat always counts; the processes source (--processes-enabled, CAP_SYS_PTRACE) does not need it`
  );
}
