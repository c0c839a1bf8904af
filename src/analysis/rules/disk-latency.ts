// Disk latency as etcd and the probe see it: p99 against etcd's targets, and the share over target
// computed from the buckets (exact on a bucket edge, interpolated otherwise — and said which).
import { fmtSeconds } from '../../lib/format.js';
import type { Fact, HistogramWindow, RawFinding } from '../../model/diagnosis.js';
import { msToSeconds, type Milliseconds, type Seconds } from '../../lib/units.js';
import { latencyFacts, maxOf, pointsIn, shareWords, slowTail, type Rule } from './common.js';
import type { Thresholds } from '../thresholds.js';

const DISK_REMEDY =
  "Give etcd's WAL a low-latency disk: a dedicated disk for etcd's data dir, or at least --wal-dir on one " +
  '(local SSD/NVMe flavor); meanwhile run etcd with ionice -c2 -n0. Verify with `etcd-latency-agent bench` (fdatasync p99 < 10 ms).';

interface LatencyRuleSpec {
  readonly code: string;
  readonly prefix: string;
  /** "etcd's WAL fsync" */
  readonly subject: string;
  /** "fsyncs" */
  readonly what: string;
  readonly remedy: string;
}

function latencyFinding(spec: LatencyRuleSpec, w: HistogramWindow | undefined, targetMs: Milliseconds, th: Thresholds, extra: Fact[] = []): RawFinding | undefined {
  const target: Seconds = msToSeconds(targetMs);
  const s = slowTail(w, target, th.minTailObservations);
  if (!w || !s) return undefined;
  return {
    code: spec.code,
    severity: 'warning',
    summary:
      `${spec.subject} p99 is ${fmtSeconds(s.p99)} over the last ${fmtSeconds(w.window)} (target ≤ ${fmtSeconds(target)}); ` +
      shareWords(s.over, target, spec.what),
    facts: [...latencyFacts(spec.prefix, s, target, w.window), ...extra],
    remedy: spec.remedy,
  };
}

/** etcd's WAL fsync p99 over the target (etcd FAQ: < 10 ms). */
export const walFsyncSlow: Rule = (ev, th) =>
  latencyFinding(
    { code: 'wal_fsync_slow', prefix: 'wal_fsync', subject: "etcd's WAL fsync", what: 'fsyncs', remedy: DISK_REMEDY },
    ev.walFsync,
    th.walFsyncP99,
    th,
  );

/** etcd's backend (bbolt) commit p99 over the target (etcd FAQ: < 25 ms). */
export const backendCommitSlow: Rule = (ev, th) =>
  latencyFinding(
    {
      code: 'backend_commit_slow',
      prefix: 'backend_commit',
      subject: "etcd's backend commit",
      what: 'commits',
      remedy: `${DISK_REMEDY} If the disk is fast, compact and defragment etcd (etcdctl defrag, one member at a time): a large, fragmented DB commits slower.`,
    },
    ev.backendCommit,
    th.backendCommitP99,
    th,
  );

/** The probe's own view of the disk under etcd's data dir: seen even without etcd metrics. */
export const probeFsyncSlow: Rule = (ev, th) => {
  const extra: Fact[] = [];
  const max = maxOf(pointsIn(ev.probePoints, ev.now, th.window));
  if (max !== undefined) extra.push({ name: 'probe_fsync_max', value: max, unit: 'seconds', window: th.window });
  return latencyFinding(
    {
      code: 'probe_fsync_slow',
      prefix: 'probe_fsync',
      subject: "The probe's fdatasync on etcd's filesystem",
      what: 'probe writes',
      remedy: DISK_REMEDY,
    },
    ev.probe,
    th.probeP99,
    th,
    extra,
  );
};

/**
 * The probe was asked for and is off: its directory is on another filesystem than etcd's data dir,
 * which is what a node looks like after etcd got the disk of its own that separate_disk recommends.
 * Info: etcd's own histograms and the device's counters still measure etcd's disk.
 */
export const probeNotOnEtcdFilesystem: Rule = (ev) => {
  if (ev.probeOff === undefined) return undefined;
  const { dir, etcdDataDir } = ev.probeOff;
  return {
    code: 'probe_not_on_etcd_filesystem',
    severity: 'info',
    summary:
      `The fsync probe is off: its directory ${dir} is on another filesystem than etcd's data dir ${etcdDataDir} ` +
      "(etcd has a disk of its own?), and it would time the wrong disk; etcd's own WAL fsync and commit histograms still measure etcd's",
    facts: [
      { name: 'probe_dir', value: dir },
      { name: 'etcd_data_dir', value: etcdDataDir },
    ],
    remedy:
      `Give the probe a directory on etcd's filesystem, outside its member/ directory: in the DaemonSet, point the probe volume's hostPath ` +
      `and ETCD_LATENCY_AGENT_PROBE_DIR at e.g. ${etcdDataDir.replace(/\/+$/, '')}/etcd-latency-agent (etcd logs one "found invalid file under data ` +
      'directory" warning for it when it starts), or mount etcd\'s disk at a parent of the data dir and keep the probe beside it.',
  };
};
