import type { Bytes, Seconds } from '../units.js';

/** One probe round: a few WAL-sized writes, each followed by fdatasync. */
export interface ProbeSample {
  /** Absolute path of the preallocated probe file. */
  readonly file: string;
  /** Whether the probe file is on the filesystem of etcd's WAL dir (same st_dev); undefined if that dir is not found. */
  readonly sameFilesystemAsEtcd: boolean | undefined;
  /** Duration of each fdatasync of this round, in order. */
  readonly durations: readonly Seconds[];
  readonly writtenBytes: Bytes;
  readonly freeBytes: Bytes;
}
