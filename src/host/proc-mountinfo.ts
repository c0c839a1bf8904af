// Parser for /proc/<pid>/mountinfo (Documentation/filesystems/proc.rst, "mountinfo") and the
// lookup of the mount that holds a path. Pure: text in, entries out.
//
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   (1)(2) (3)   (4)   (5)     (6)      (7..)  (-)  (8)    (9)        (10)
//
// (1) mount id, (2) parent id, (3) major:minor of st_dev, (4) root of the mount inside its
// filesystem, (5) mount point, (6) per-mount options, (7) zero or more optional fields ended by a
// single `-`, (8) filesystem type, (9) mount source, (10) super-block options. The kernel escapes
// space, tab, newline and backslash in paths as octal (`\040`, `\011`, `\012`, `\134`).

import { isPathPrefix, normalizeAbsolute } from '../lib/paths.js';

export interface MountEntry {
  readonly mountId: number;
  readonly parentId: number;
  /** Major and minor of the filesystem's st_dev; major 0 means no block device (tmpfs, overlay, btrfs subvolume, NFS…). */
  readonly major: number;
  readonly minor: number;
  /** The directory of the filesystem that is mounted (not `/` for bind mounts and btrfs subvolumes). */
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  /** What was mounted: `/dev/vda1`, `/dev/mapper/vg-root`, `overlay`, `tmpfs`, `server:/export`… */
  readonly source: string;
}

const INT = /^\d+$/;
const MAJ_MIN = /^(\d+):(\d+)$/;

/** Decodes the kernel's octal escapes (`\040` → space). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text; malformed lines are skipped, never thrown on. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // Six fixed fields, the `-` separator (after zero or more optional fields), then fstype and source.
    const sep = f.indexOf('-', 6);
    if (f.length < 9 || sep < 6 || f.length < sep + 3) continue;
    const [id, parent, majMin, root, mountPoint] = f as [string, string, string, string, string];
    const mm = MAJ_MIN.exec(majMin);
    if (!INT.test(id) || !INT.test(parent) || !mm || !root.startsWith('/') || !mountPoint.startsWith('/')) continue;
    out.push({
      mountId: Number(id),
      parentId: Number(parent),
      major: Number(mm[1]),
      minor: Number(mm[2]),
      root: unescapeMountPath(root),
      mountPoint: unescapeMountPath(mountPoint),
      fsType: f[sep + 1]!,
      source: unescapeMountPath(f[sep + 2]!),
    });
  }
  return out;
}

/**
 * The mount that holds `path`: the entry with the longest mount point that is a whole-segment
 * prefix of the path (`/var/lib/etcd` holds `/var/lib/etcd/member` but not `/var/lib/etcd2`).
 * When mounts are stacked on one mount point, the last one in the list (the most recent, the one
 * visible) wins. `path` must be absolute and already free of symlinks, in the same mount namespace
 * as the entries.
 *
 * Not handled: a mount hidden because a later mount covers one of its ancestors (e.g. something
 * mounted on /var/lib after /var/lib/etcd was mounted); following parent ids would be needed.
 */
export function findMount(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  const p = normalizeAbsolute(path);
  if (p === undefined) return undefined;
  let best: MountEntry | undefined;
  for (const e of entries) {
    if (!isPathPrefix(e.mountPoint, p)) continue;
    if (best === undefined || e.mountPoint.length >= best.mountPoint.length) best = e;
  }
  return best;
}
