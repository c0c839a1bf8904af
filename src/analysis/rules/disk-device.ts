// The block device under etcd's data dir: saturated (busy, queue), and shared with the OS, container
// storage, kubelet or logs — the noisy neighbours of the problem statement.
import { fmtRatio, fmtSeconds } from '../../lib/format.js';
import { describeWriters, neighbours } from '../recommendation.js';
import type { Fact } from '../../model/diagnosis.js';
import { diskLooksSlow, reaches, type Rule } from './common.js';

export const diskSaturated: Rule = (ev, th) => {
  const d = ev.disk;
  if (!d) return undefined;
  const busy = reaches(d.busyFraction, th.diskBusyFraction);
  const queued = reaches(d.queueDepth, th.diskQueueDepth);
  if (!busy && !queued) return undefined;
  const facts: Fact[] = [
    { name: 'device', value: d.device },
    { name: 'busy', value: d.busyFraction, unit: 'ratio', window: d.window },
    { name: 'busy_threshold', value: th.diskBusyFraction, unit: 'ratio' },
    { name: 'queue_depth', value: d.queueDepth, unit: 'count', window: d.window },
    { name: 'queue_depth_threshold', value: th.diskQueueDepth, unit: 'count' },
  ];
  if (d.writeAwait !== undefined) facts.push({ name: 'write_await', value: d.writeAwait, unit: 'seconds', window: d.window });
  if (d.flushAwait !== undefined) facts.push({ name: 'flush_await', value: d.flushAwait, unit: 'seconds', window: d.window });
  const why = [busy ? `busy ${fmtRatio(d.busyFraction)} of the time` : '', queued ? `${d.queueDepth.toFixed(1)} requests in flight on average` : '']
    .filter(Boolean)
    .join(', ');
  const others = neighbours(ev.topWriters);
  const remedy =
    (others.length > 0 ? `Move the heaviest writers off etcd's disk (${describeWriters(others)}) or ` : 'Find what else writes to it (iotop) and move it off, or ') +
    "give etcd its own disk (or --wal-dir on one); meanwhile run etcd with ionice -c2 -n0 so its fsyncs are served first.";
  return {
    code: 'disk_saturated',
    severity: 'warning',
    summary: `etcd's device ${d.device} is saturated over the last ${fmtSeconds(d.window)}: ${why}`,
    facts,
    remedy,
  };
};

export const diskShared: Rule = (ev, th) => {
  const d = ev.disk;
  if (!d) return undefined;
  const others = neighbours(ev.topWriters);
  if (d.sharedWith.length === 0 && others.length === 0) return undefined;
  const slow = diskLooksSlow(ev, th);
  const facts: Fact[] = [
    { name: 'device', value: d.device },
    { name: 'shared_with', value: d.sharedWith.join(', ') },
    { name: 'disk_slow', value: slow ? 'yes' : 'no' },
  ];
  others.slice(0, 3).forEach((w, i) => {
    facts.push({ name: `top_writer_${i + 1}`, value: w.pid === undefined ? w.command : `${w.command} (pid ${w.pid})` });
    facts.push({ name: `top_writer_${i + 1}_write_rate`, value: w.bytesPerSecond, unit: 'bytes_per_second' });
  });
  const parts: string[] = [];
  if (d.sharedWith.length > 0) parts.push(`shared with ${d.sharedWith.join(', ')}`);
  if (others.length > 0) parts.push(`written to by ${describeWriters(others)}`);
  const consequence = slow ? ' and the disk is slow' : '; the disk keeps up for now';
  return {
    code: 'disk_shared',
    severity: slow ? 'warning' : 'info',
    summary: `etcd's device ${d.device} is ${parts.join(' and ')}${consequence}`,
    facts,
    remedy:
      "Give etcd its own disk: mount a dedicated volume at etcd's data dir, or at least at --wal-dir; " +
      'meanwhile run etcd with ionice -c2 -n0 so its fsyncs are served before the neighbours\' writes.',
  };
};
