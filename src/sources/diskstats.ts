import { access, lstat, readFile, readlink } from 'node:fs/promises';
import { isAbsolute, posix, resolve as resolvePath } from 'node:path';
import { ms, type DeviceName, type Milliseconds } from '../lib/units.js';
import { errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type Outcome } from '../lib/outcome.js';
import { type Source } from './source.js';
import { parseDiskstats } from '../host/proc-diskstats.js';
import { findMount, parseMountinfo, type MountEntry } from '../host/proc-mountinfo.js';
import { readRotational, readSysfsModel, resolveMountDevice } from '../host/sys-block.js';
import type { DeviceStats } from '../host/proc-diskstats.js';
import { trimTrailingSlash } from '../lib/paths.js';
import { normalizeAbsolute } from '../lib/paths.js';

/** Where etcd's data lives on disk, and the counters of those devices. */
export interface DiskSample {
  /** The path that was resolved: the data dir, or its nearest existing ancestor. */
  readonly path: string;
  readonly mountPoint: string;
  readonly fsType: string;
  /** The device the filesystem is mounted from (a partition, dm-N, or a whole disk). */
  readonly device: DeviceName;
  /** The whole disk(s) under that device: the parent of a partition, the slaves of a dm device. */
  readonly disks: readonly DeviceName[];
  /** Which of `/`, `/var/lib/containerd`, `/var/lib/kubelet`, `/var/log` (and more, configured) share one of `disks`. */
  readonly sharedWith: readonly string[];
  /** Counters of `device` and of every entry of `disks`. */
  readonly stats: readonly DeviceStats[];
  /** Static facts, when known (sysfs queue/rotational, systeminformation model). */
  readonly rotational?: boolean;
  readonly model?: string;
  /** What an operator should know about what is missing (the agent logs each note once when it appears). */
  readonly notes?: readonly string[];
}

// ───────────────────────────── the source ─────────────────────────────
//
// Each sample: etcd's data dir (or its nearest existing ancestor) → the mount holding it
// (mountinfo) → the device it is mounted from (sysfs) → the whole disks under that device →
// the counters of the device and of each disk (/proc/diskstats). The chain up to the disks is
// cached for RESOLVE_EVERY, and redone at once after any failure, because mounts change (a volume
// attached, a data dir moved) while /proc/diskstats is read every time.

/** Busy paths whose disk etcd should not share: the OS, container images, pod volumes, logs. */
export const DEFAULT_SHARED_PATHS: readonly string[] = ['/', '/var/lib/containerd', '/var/lib/kubelet', '/var/log'];

/** How long a resolved data dir → disks chain is trusted before it is resolved again. */
export const RESOLVE_EVERY: Milliseconds = ms(60_000);

/** systeminformation gets this long, once; slower than that, it is not worth the agent's time. */
const SYSTEMINFORMATION_BUDGET: Milliseconds = ms(1000);

export interface DiskstatsOptions {
  /** etcd's --data-dir, as etcd names it (a host path). */
  etcdDataDir: string;
  /** Where procfs is mounted: `/proc`, or the host's proc inside a pod (e.g. `/host/proc`). */
  procPath: string;
  /** Where sysfs is mounted: `/sys`, or the host's sys inside a pod (e.g. `/host/sys`). */
  sysPath: string;
  /** Paths whose disk is checked against etcd's; default DEFAULT_SHARED_PATHS. Paths that do not exist are skipped. */
  sharedPaths: readonly string[];
  interval: Milliseconds;
}

/** The part of a DiskSample that does not change between samples. */
type Placement = Omit<DiskSample, 'stats'>;

/** A mount table and the root under which its paths are found on this process's filesystem. */
export interface MountView {
  readonly file: string;
  /** Prefix that makes a path of this mount table openable here: '' or `${procPath}/1/root`. */
  readonly root: string;
  readonly entries: MountEntry[];
}

export function createDiskstatsSource(opts: DiskstatsOptions): Source<DiskSample> {
  const procPath = trimTrailingSlash(opts.procPath);
  const sysPath = trimTrailingSlash(opts.sysPath);
  const models = new Map<DeviceName, Promise<string | undefined>>();
  let cached: { at: number; placement: Placement } | undefined;
  let flushNote: { devices: string; notes: readonly string[] } = { devices: '', notes: [] };

  const modelOf = (disk: DeviceName): Promise<string | undefined> => {
    let m = models.get(disk);
    if (m === undefined) {
      m = readModel(sysPath, disk);
      models.set(disk, m);
    }
    return m;
  };

  const place = async (): Promise<Outcome<Placement>> => {
    const view = await readMountView(procPath);
    if (!view.ok) return view;
    // Made absolute but not normalized: `..` after a symlink must be resolved physically, as etcd would.
    const dataDir = isAbsolute(opts.etcdDataDir) ? opts.etcdDataDir : resolvePath(opts.etcdDataDir);
    const dataDirNormal = normalizeAbsolute(dataDir);
    const at = await resolveExisting(view.value.root, dataDir);
    const mount = findMount(view.value.entries, at.path);
    if (mount === undefined) {
      return failure('not_found', `no mount in ${view.value.file} holds ${at.path} (etcd data dir ${dataDir}): check that procPath (${procPath}) is the proc of the host etcd runs on`);
    }
    const dev = await resolveMountDevice(sysPath, mount);
    if (!dev.ok) return failure(dev.reason, `etcd data dir ${dataDir}: ${dev.message}`);

    // A shared path counts when its mount sits on any of etcd's whole disks. It is left out only if
    // it is literally etcd's data dir (it cannot share with itself): '/' stays in the list when
    // the data dir lives on the root filesystem — that is the finding this list exists for.
    const sharedWith: string[] = [];
    for (const raw of opts.sharedPaths) {
      const p = normalizeAbsolute(raw);
      if (p === undefined || p === dataDirNormal || (p === at.path && at.exact)) continue;
      const r = await resolveExisting(view.value.root, p);
      if (!r.exact) continue; // nothing there to compete for the disk
      const m = findMount(view.value.entries, r.path);
      if (m === undefined) continue;
      if (m.mountId === mount.mountId) { sharedWith.push(p); continue; }
      const d = await resolveMountDevice(sysPath, m);
      if (d.ok && d.value.disks.some((x) => dev.value.disks.includes(x))) sharedWith.push(p);
    }

    const rotational = await readRotational(sysPath, dev.value.disks);
    const found = new Set<string>();
    for (const d of dev.value.disks) {
      const m = await modelOf(d);
      if (m !== undefined) found.add(m);
    }
    return success({
      path: at.path,
      mountPoint: mount.mountPoint,
      fsType: mount.fsType,
      device: dev.value.device,
      disks: dev.value.disks,
      sharedWith,
      ...(rotational !== undefined ? { rotational } : {}),
      ...(found.size > 0 ? { model: [...found].join(', ') } : {}),
    });
  };

  const sampleOnce = async (now: Date): Promise<Outcome<DiskSample>> => {
    const t = now.getTime();
    if (cached === undefined || t - cached.at >= RESOLVE_EVERY || t < cached.at) {
      cached = undefined;
      const p = await place();
      if (!p.ok) return p;
      cached = { at: t, placement: p.value };
    }
    const placement = cached.placement;
    const file = `${procPath}/diskstats`;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      return failure(reasonForError(err), `cannot read ${file}: ${errorMessage(err)}; check procPath (${procPath})`);
    }
    const all = parseDiskstats(text);
    const stats: DeviceStats[] = [];
    for (const d of new Set([placement.device, ...placement.disks])) {
      const s = all.get(d);
      if (s === undefined) {
        cached = undefined; // the device may have gone away: resolve again next time
        return failure('not_found', `${file} has no line for ${d} (device of etcd data dir ${opts.etcdDataDir}); it may have been removed, or procPath and sysPath are from different hosts`);
      }
      stats.push(s);
    }
    const noFlush = stats.filter((s) => s.flushRequests === undefined).map((s) => s.device).join(', ');
    if (noFlush !== flushNote.devices) {
      // Made once per set of devices, not per sample: history keeps an hour of samples.
      flushNote = { devices: noFlush, notes: noFlush === '' ? [] : [`${file} has no flush counters for ${noFlush} (kernels before 5.5): etcd_latency_agent_disk_flush_* are absent for them; the other disk metrics are not affected`] };
    }
    return success({ ...placement, stats, ...(flushNote.notes.length > 0 ? { notes: flushNote.notes } : {}) });
  };

  return {
    name: 'diskstats',
    interval: opts.interval,
    async sample(now: Date): Promise<Outcome<DiskSample>> {
      try {
        return await sampleOnce(now);
      } catch (err) {
        // Belt and braces: nothing above should throw, but a source must never crash the agent.
        cached = undefined;
        return failure(reasonForError(err), `diskstats for ${opts.etcdDataDir}: ${errorMessage(err)}`);
      }
    },
  };
}

/**
 * The mount table that names etcd's data dir. With the default `/proc`, it is this process's own
 * (`self/mountinfo`): the agent and etcd see the same tree. Inside a pod, procPath is the host's
 * /proc mounted elsewhere (e.g. `/host/proc`), and there `self` is still this process — whose
 * mount namespace is the pod's, listing the container's overlay root and volumes instead of the
 * host paths etcd's --data-dir names. `${procPath}/1` is the host's init, so its mountinfo is the
 * host's mount table, and `${procPath}/1/root` is the host's `/`, through which the data dir is
 * looked up (symlinks resolved on the host's tree). If the host's init cannot be read (no
 * privileges), fall back to `self` and to this process's filesystem.
 */
export async function readMountView(procPath: string): Promise<Outcome<MountView>> {
  if (procPath !== '/proc') {
    const file = `${procPath}/1/mountinfo`;
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const root = `${procPath}/1/root`;
      const usable = await access(root).then(() => true, () => false);
      return success({ file, root: usable ? root : '', entries: parseMountinfo(text) });
    }
  }
  const file = `${procPath}/self/mountinfo`;
  try {
    return success({ file, root: '', entries: parseMountinfo(await readFile(file, 'utf8')) });
  } catch (err) {
    return failure(reasonForError(err), `cannot read ${file}: ${errorMessage(err)}; check procPath (${procPath})`);
  }
}

/**
 * Resolves symlinks in an absolute path component by component, under `root` (so that an absolute
 * link target stays in the host's tree when root is `${procPath}/1/root`). Stops at the nearest
 * existing ancestor when a component is missing or unreadable; `exact` says whether the whole path
 * exists.
 */
export async function resolveExisting(root: string, path: string): Promise<{ path: string; exact: boolean }> {
  let rest = path.split('/').filter((c) => c !== '');
  let cur = '/';
  let links = 0;
  while (rest.length > 0) {
    const c = rest.shift()!;
    if (c === '.') continue;
    if (c === '..') { cur = posix.dirname(cur); continue; }
    const next = posix.join(cur, c);
    const st = await lstat(root + next).catch(() => undefined);
    if (st === undefined) return { path: cur, exact: false };
    if (st.isSymbolicLink()) {
      const target = links++ < 40 ? await readlink(root + next).catch(() => undefined) : undefined;
      if (target === undefined) return { path: cur, exact: false };
      if (target.startsWith('/')) cur = '/';
      rest = [...target.split('/').filter((x) => x !== ''), ...rest];
      continue;
    }
    cur = next;
  }
  return { path: cur, exact: true };
}

/**
 * A disk's model, read once per disk. sysfs first (`device/model`): it honours sysPath, costs one
 * read, and is what tests can fake. systeminformation's blockDevices() (lsblk) is asked only when
 * sysfs has no model and sysPath is the local /sys: it reads this process's /sys and cannot be
 * pointed at a host's sysfs mounted elsewhere, so in a pod its answer would describe the wrong
 * machine. It runs at most once per process, within a 1 s budget; slower or failing, it is
 * dropped for good (on virtio disks, common on cloud VMs, neither knows a model: none is reported).
 */
async function readModel(sysPath: string, disk: DeviceName): Promise<string | undefined> {
  const fromSysfs = await readSysfsModel(sysPath, disk);
  if (fromSysfs !== undefined || sysPath !== '/sys') return fromSysfs;
  const devices = await systeminformationDevices();
  const m = devices?.find((d) => d.name === disk)?.model.trim();
  return m === undefined || m === '' ? undefined : m;
}

let siDevices: Promise<Array<{ name: string; model: string }> | undefined> | undefined;

function systeminformationDevices(): Promise<Array<{ name: string; model: string }> | undefined> {
  siDevices ??= (async () => {
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<undefined>((res) => {
      timer = setTimeout(() => res(undefined), SYSTEMINFORMATION_BUDGET);
      timer.unref();
    });
    try {
      // Caught here too: if the budget wins, a later rejection must not go unhandled.
      const devices = import('systeminformation').then((si) => si.blockDevices()).catch(() => undefined);
      return await Promise.race([devices, budget]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  })();
  return siDevices;
}
