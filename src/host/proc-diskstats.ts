// Parser for /proc/diskstats (Documentation/admin-guide/iostats.rst). Pure: text in, counters out.
//
// Each line is `major minor name` followed by the counters. Their number depends on the kernel:
//   14 fields in all: 11 counters (reads, writes, in-flight, io time, weighted io time) — every kernel;
//   18 fields: + 4 discard counters — kernel 4.18+;
//   20 fields: + 2 flush counters (flush requests completed, ms spent flushing) — kernel 5.5+.
// Times are reported in milliseconds and converted to seconds here, so callers never see a raw ms.

import { deviceName, ms, msToSeconds, type DeviceName, type Seconds } from '../lib/units.js';

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

// Zero-based column indexes into one whitespace-split line (0 = major, 1 = minor, 2 = name).
const COL = {
  major: 0,
  minor: 1,
  name: 2,
  writesCompleted: 7, // iostats field 5
  writeTimeMs: 10, // field 8
  inFlight: 11, // field 9
  ioTimeMs: 12, // field 10
  weightedIoTimeMs: 13, // field 11
  flushRequests: 18, // field 16 (5.5+)
  flushTimeMs: 19, // field 17 (5.5+)
} as const;

const BASE_FIELDS = 14;
const WITH_DISCARD = 18;
const WITH_FLUSH = 20;
const UNSIGNED = /^\d+$/;

/**
 * Parses /proc/diskstats into counters keyed by device name. Lines with another shape (too few
 * fields, a count between the known layouts, a non-numeric counter) are skipped, never thrown on:
 * one odd line must not hide the device etcd is on. Later kernels that append more counters are
 * accepted (≥ 20 fields), reading the known columns only.
 */
export function parseDiskstats(text: string): Map<DeviceName, DeviceStats> {
  const out = new Map<DeviceName, DeviceStats>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const n = f.length;
    if (n !== BASE_FIELDS && n !== WITH_DISCARD && n < WITH_FLUSH) continue;
    const name = f[COL.name]!;
    if (name === '' || !UNSIGNED.test(f[COL.major]!) || !UNSIGNED.test(f[COL.minor]!)) continue;
    const counters = f.slice(3);
    if (!counters.every((v) => UNSIGNED.test(v))) continue;
    const num = (i: number): number => Number(f[i]);
    const stats: DeviceStats = {
      device: deviceName(name),
      writesCompleted: num(COL.writesCompleted),
      writeTime: msToSeconds(ms(num(COL.writeTimeMs))),
      inFlight: num(COL.inFlight),
      ioTime: msToSeconds(ms(num(COL.ioTimeMs))),
      weightedIoTime: msToSeconds(ms(num(COL.weightedIoTimeMs))),
      ...(n >= WITH_FLUSH
        ? { flushRequests: num(COL.flushRequests), flushTime: msToSeconds(ms(num(COL.flushTimeMs))) }
        : {}),
    };
    out.set(stats.device, stats);
  }
  return out;
}
