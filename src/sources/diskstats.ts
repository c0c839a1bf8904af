import type { DeviceName, Seconds } from '../units.js';

/** Cumulative counters of one block device from /proc/diskstats. */
export interface DeviceStats {
  readonly device: DeviceName;
  readonly writesCompleted: number;
  readonly writeTime: Seconds;
  readonly ioTime: Seconds;
  readonly weightedIoTime: Seconds;
  readonly inFlight: number;
  /** Present only on kernels that report flush statistics (5.5+). */
  readonly flushRequests?: number;
  readonly flushTime?: Seconds;
}

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
}
