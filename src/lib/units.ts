// Branded numbers: a value's unit is part of its type, so a millisecond figure cannot be
// passed where seconds are expected without an explicit conversion.
export type Milliseconds = number & { readonly __unit: 'ms' };
export type Seconds = number & { readonly __unit: 's' };
export type Bytes = number & { readonly __unit: 'bytes' };
/** A block device name as the kernel names it in /proc/diskstats, e.g. `vda`, `nvme0n1`, `dm-0`. */
export type DeviceName = string & { readonly __kind: 'device' };

export const ms = (n: number): Milliseconds => n as Milliseconds;
export const seconds = (n: number): Seconds => n as Seconds;
export const bytes = (n: number): Bytes => n as Bytes;
export const deviceName = (s: string): DeviceName => s as DeviceName;
export const msToSeconds = (v: Milliseconds): Seconds => seconds(v / 1000);

const DURATION = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)$/;
const DURATION_FACTORS_MS: Record<string, number> = { us: 0.001, 'µs': 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `10s`, `1m`, `1.5h`; returns undefined for anything else, and for a value too large to be finite. */
export function parseDuration(text: string): Milliseconds | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const v = Number(m[1]) * DURATION_FACTORS_MS[m[2]!]!;
  return Number.isFinite(v) ? ms(v) : undefined;
}

/** Whether `text` is written as a duration, whatever its magnitude: tells "not a duration" from "too long". */
export const isDurationSyntax = (text: string): boolean => DURATION.test(text.trim());

const SIZE = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$/;
const SIZE_FACTORS: Record<string, number> = {
  B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
};

/** Parses `2300`, `64MiB`, `1GB`; returns undefined for anything else, and for more than 2^53 - 1 bytes (8 PiB). */
export function parseSize(text: string): Bytes | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const v = Math.floor(Number(m[1]) * SIZE_FACTORS[m[2] ?? 'B']!);
  return Number.isSafeInteger(v) ? bytes(v) : undefined;
}

/** Whether `text` is written as a size, whatever its magnitude: tells "not a size" from "too large". */
export const isSizeSyntax = (text: string): boolean => SIZE.test(text.trim());

export function formatDuration(v: Milliseconds): string {
  if (v >= 60_000 && v % 60_000 === 0) return `${v / 60_000}m`;
  if (v >= 1000 && v % 1000 === 0) return `${v / 1000}s`;
  return `${v}ms`;
}
