// From a mount to the block devices under it, through sysfs. Every sysfs path is built from the
// configured `sysPath` so the agent can read the host's /sys from a container (mounted e.g. at
// /host/sys); sysfs symlinks are relative (`../../devices/...`), so they stay inside that mount.
//
//   mount 254:1 ──/sys/dev/block/254:1──▶ vda1 ──class/block/vda1/partition──▶ vda (whole disk)
//   mount 253:0 ──/sys/dev/block/253:0──▶ dm-0 ──block/dm-0/slaves/*──▶ sda2 ──▶ sda
//
// Failures are values: a mount without a block device (tmpfs, overlay, NFS, …) is a normal state
// of the world, answered with a reason and a message saying what to do.

import { readFile, readdir, readlink, realpath, access } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { deviceName, type DeviceName } from '../lib/units.js';
import { errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type Outcome } from '../lib/outcome.js';
import type { MountEntry } from './proc-mountinfo.js';

/** The device a filesystem is mounted from and the whole disks that hold it. */
export interface ResolvedDevice {
  /** A partition, dm-N, md-N, loopN or a whole disk. */
  readonly device: DeviceName;
  /** Whole disks, sorted and without duplicates: the parent of a partition, the slaves of dm/md (recursively). */
  readonly disks: readonly DeviceName[];
}

/** Deep enough for partition → LUKS → LVM → md → partitions, and a guard against sysfs loops. */
const MAX_DEPTH = 8;

const exists = async (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** `${sysPath}/dev/block/MAJ:MIN` is a symlink to the device's sysfs dir; its basename is the kernel's name. */
export async function deviceForMajMin(sysPath: string, major: number, minor: number): Promise<Outcome<DeviceName>> {
  const link = `${sysPath}/dev/block/${major}:${minor}`;
  try {
    return success(deviceName(basename(await readlink(link))));
  } catch (err) {
    const reason = reasonForError(err);
    const hint = reason === 'not_found'
      ? `no block device ${major}:${minor} in ${sysPath}; if the agent runs in a container, mount the host's /sys and point sysPath at it`
      : `cannot read ${link}: ${errorMessage(err)}`;
    return failure(reason, `${link}: ${hint}`);
  }
}

/** The whole disk of a partition (`${sysPath}/class/block/NAME/partition` exists), or undefined if NAME is not a partition. */
export async function parentOfPartition(sysPath: string, name: string): Promise<DeviceName | undefined> {
  const dir = `${sysPath}/class/block/${name}`;
  if (!(await exists(`${dir}/partition`))) return undefined;
  // class/block/sda2 → ../../devices/…/block/sda/sda2: the partition's dir sits inside its disk's.
  const real = await realpath(dir).catch(() => undefined);
  return real === undefined ? undefined : deviceName(basename(dirname(real)));
}

/** The devices a dm/md device is built on (`${sysPath}/block/NAME/slaves/*`); empty for a plain disk. */
export async function slavesOf(sysPath: string, name: string): Promise<DeviceName[]> {
  const names = await readdir(`${sysPath}/block/${name}/slaves`).catch(() => [] as string[]);
  return names.sort().map(deviceName);
}

/**
 * The whole disks under a device: a partition's parent, the slaves of a dm or md device followed
 * recursively down to disks (LVM on a partition: dm-0 → sda2 → sda), or the device itself.
 */
export async function wholeDisks(sysPath: string, name: DeviceName): Promise<Outcome<DeviceName[]>> {
  const found = new Set<DeviceName>();
  const walk = async (n: DeviceName, depth: number): Promise<boolean> => {
    if (depth > MAX_DEPTH) return false;
    const disk = (await parentOfPartition(sysPath, n)) ?? n;
    const slaves = await slavesOf(sysPath, disk);
    if (slaves.length === 0) {
      found.add(disk);
      return true;
    }
    for (const s of slaves) if (!(await walk(s, depth + 1))) return false;
    return true;
  };
  if (!(await walk(name, 0))) {
    return failure('other', `${sysPath}/block/${name}/slaves: more than ${MAX_DEPTH} levels of stacked devices; check the device stack with \`lsblk -s /dev/${name}\``);
  }
  return success([...found].sort());
}

/**
 * Resolves the device of a mount. Mounts without a block device (major 0) get a failure that names
 * the filesystem and what to do — except btrfs, whose st_dev is an anonymous 0:N device even on a
 * real disk: its devices are found through `${sysPath}/fs/btrfs/<uuid>/devices/`.
 */
export async function resolveMountDevice(sysPath: string, mount: MountEntry): Promise<Outcome<ResolvedDevice>> {
  let dev: DeviceName;
  let members: DeviceName[];
  if (mount.major !== 0) {
    const d = await deviceForMajMin(sysPath, mount.major, mount.minor);
    if (!d.ok) return d;
    dev = d.value;
    members = [dev];
  } else if (mount.fsType === 'btrfs') {
    const b = await btrfsDevices(sysPath, mount);
    if (!b.ok) return b;
    ({ device: dev, members } = b.value);
  } else {
    return failure('not_found', noBlockDeviceMessage(mount));
  }
  const disks = new Set<DeviceName>();
  for (const m of members) {
    const w = await wholeDisks(sysPath, m);
    if (!w.ok) return w;
    for (const d of w.value) disks.add(d);
  }
  return success({ device: dev, disks: [...disks].sort() });
}

function noBlockDeviceMessage(m: MountEntry): string {
  const where = `mount ${m.mountPoint} (${m.fsType} from ${m.source}, device ${m.major}:${m.minor})`;
  switch (m.fsType) {
    case 'overlay': case 'aufs': case 'fuse-overlayfs':
      return `${where} is a container's overlay root, not etcd's disk: mount the host's data dir into the pod (hostPath) at the same path, or point procPath at the host's /proc (with hostPID) so the host's mount table is read`;
    case 'tmpfs': case 'ramfs':
      return `${where} is memory, not a disk: there is no disk latency to measure (and etcd's data there is lost on reboot); check the data dir setting`;
    case 'nfs': case 'nfs4': case 'cifs': case 'smb3': case 'ceph': case 'glusterfs': case '9p': case 'virtiofs':
      return `${where} is a network or shared filesystem without a local block device: diskstats cannot see it; rely on the fsync probe`;
    case 'zfs':
      return `${where} is ZFS, whose pool devices are not mapped in sysfs: diskstats cannot attribute I/O to it; rely on the fsync probe`;
    default:
      return `${where} has no block device (major 0): diskstats cannot see it; rely on the fsync probe`;
  }
}

/** btrfs: find the filesystem listing the mount source among its devices, and take all of them. */
async function btrfsDevices(sysPath: string, m: MountEntry): Promise<Outcome<{ device: DeviceName; members: DeviceName[] }>> {
  const root = `${sysPath}/fs/btrfs`;
  let source = basename(m.source);
  if (m.source.startsWith('/dev/mapper/')) {
    // /dev/mapper/NAME → dm-N whose dm/name is NAME.
    for (const n of await readdir(`${sysPath}/block`).catch(() => [] as string[])) {
      const dmName = await readFile(`${sysPath}/block/${n}/dm/name`, 'utf8').catch(() => undefined);
      if (dmName?.trim() === source) { source = n; break; }
    }
  }
  for (const fs of await readdir(root).catch(() => [] as string[])) {
    const members = await readdir(`${root}/${fs}/devices`).catch(() => [] as string[]);
    if (members.includes(source)) return success({ device: deviceName(source), members: members.sort().map(deviceName) });
  }
  return failure(
    'not_found',
    `mount ${m.mountPoint} is btrfs from ${m.source} (anonymous device 0:${m.minor}) and no ${root}/*/devices/ lists ${source}: mount the host's /sys and point sysPath at it, or rely on the fsync probe`,
  );
}

/** `${sysPath}/block/DISK/queue/rotational` of each disk: true if any is rotational, undefined if none could be read. */
export async function readRotational(sysPath: string, disks: readonly DeviceName[]): Promise<boolean | undefined> {
  let result: boolean | undefined;
  for (const d of disks) {
    const v = (await readFile(`${sysPath}/block/${d}/queue/rotational`, 'utf8').catch(() => undefined))?.trim();
    if (v === '1') return true;
    if (v === '0') result = false;
  }
  return result;
}

/** `${sysPath}/block/DISK/device/model` (SCSI/SATA, NVMe), with the vendor for SCSI; undefined where the kernel has none (virtio). */
export async function readSysfsModel(sysPath: string, disk: DeviceName): Promise<string | undefined> {
  const read = (f: string): Promise<string> =>
    readFile(`${sysPath}/block/${disk}/device/${f}`, 'utf8').then((s) => s.trim(), () => '');
  const model = await read('model');
  if (model === '') return undefined;
  const vendor = await read('vendor'); // SCSI: "ATA", "QEMU"; virtio/NVMe: a hex id or nothing
  return vendor !== '' && !vendor.startsWith('0x') && !model.startsWith(vendor) ? `${vendor} ${model}` : model;
}
