// Candidate filesystems (--candidate-dir): where etcd could move — a new volume, the instance's local
// disk — measured the way the probe measures etcd's own (WAL-sized writes, each followed by fdatasync,
// into a preallocated file), at a low rate (--candidate-interval), so a volume in use is barely
// touched. Each directory has its own result: one that vanished, is read-only, full or not writable
// reports that and leaves the others measured. A candidate on etcd's own filesystem is refused before
// any write: it would time the disk etcd already has, and add load to it.
import type { Outcome } from '../lib/outcome.js';
import type { CandidateProblem } from '../model/diagnosis.js';
import { errorMessage } from '../lib/errors.js';
import { reasonForError, success } from '../lib/outcome.js';
import type { Bytes, Milliseconds } from '../lib/units.js';
import { createFsyncProbe, DEFAULT_WRITE_SIZE, sameFilesystem, type ProbeSample } from './fsync-probe.js';
import type { Source } from './source.js';

export type CandidateResult =
  | { readonly dir: string; readonly ok: true; readonly round: ProbeSample }
  | { readonly dir: string; readonly ok: false; readonly reason: CandidateProblem; readonly message: string };

/** One round over every candidate, in the order they were given. */
export interface CandidateSample {
  readonly results: readonly CandidateResult[];
}

export interface CandidateOptions {
  readonly dirs: readonly string[];
  /** etcd's data dir: the filesystem a candidate must not be on. */
  readonly etcdDataDir: string;
  readonly etcdWalDir: string;
  readonly fileSize: Bytes;
  readonly writesPerRound: number;
  readonly minFreeBytes: Bytes;
  readonly interval: Milliseconds;
}

export function createCandidateProbe(opts: CandidateOptions): Source<CandidateSample> & { close(): Promise<void> } {
  const probes = opts.dirs.map((dir) => ({
    dir,
    probe: createFsyncProbe({
      dir,
      etcdWalDir: opts.etcdWalDir,
      fileSize: opts.fileSize,
      writeSize: DEFAULT_WRITE_SIZE,
      writesPerRound: opts.writesPerRound,
      minFreeBytes: opts.minFreeBytes,
      interval: opts.interval,
    }),
  }));

  async function measure(dir: string, probe: (typeof probes)[number]['probe']): Promise<CandidateResult> {
    try {
      // Either of the two: a data dir that does not exist yet leaves the WAL dir's answer.
      const onEtcd = (await sameFilesystem(dir, opts.etcdDataDir)) ?? (await sameFilesystem(dir, opts.etcdWalDir));
      if (onEtcd === true) {
        // Never written there: the file a round before this one left is removed with the probe's close.
        return { dir, ok: false, reason: 'on_etcd_filesystem', message: `candidate ${dir} is on etcd's own filesystem (that of ${opts.etcdDataDir}): it would time the disk etcd has; name a directory on the filesystem etcd could move to` };
      }
    } catch (err) {
      return { dir, ok: false, reason: reasonForError(err), message: `candidate ${dir}: ${errorMessage(err)}` };
    }
    const outcome: Outcome<ProbeSample> = await probe.sample(new Date());
    return outcome.ok ? { dir, ok: true, round: withoutExtras(outcome.value) } : { dir, ok: false, reason: outcome.reason, message: outcome.message.replace(/^fsync probe/, 'candidate probe') };
  }

  return {
    name: 'candidate_probe',
    interval: opts.interval,
    async sample() {
      const results: CandidateResult[] = [];
      // One after the other: rounds on two candidates must not time each other.
      for (const { dir, probe } of probes) results.push(await measure(dir, probe));
      return success({ results });
    },
    async close() {
      await Promise.all(probes.map((p) => p.probe.close()));
    },
  };
}

/** What the state keeps of a round: the probe's layout and notes are for the probe's own log lines. */
function withoutExtras(r: ProbeSample): ProbeSample {
  return { file: r.file, sameFilesystemAsEtcd: r.sameFilesystemAsEtcd, durations: r.durations, writtenBytes: r.writtenBytes, freeBytes: r.freeBytes };
}
