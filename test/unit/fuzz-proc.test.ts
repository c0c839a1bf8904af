// Property-based tests (fast-check) of the /proc parsers: /proc/diskstats and /proc/<pid>/mountinfo.
// Arbitrary text never throws and yields at most one entry per line; well-formed lines of every
// kernel layout round-trip (counters, ms → s, octal-escaped paths); malformed lines are skipped
// without hiding their neighbours; findMount only ever answers with a mount that holds the path.
import fc from 'fast-check';
import t from 'tap';
import { parseDiskstats } from '../../src/host/proc-diskstats.js';
import { findMount, parseMountinfo, unescapeMountPath, type MountEntry } from '../../src/host/proc-mountinfo.js';
import { isPathPrefix } from '../../src/lib/paths.js';

const RUNS = { numRuns: 500 };

const procText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: fc.constantFrom(...'0123456789 \t\n-:/abcsd\\'.split('')), maxLength: 300 }),
);

// ─────────────────────────── /proc/diskstats ───────────────────────────

const counter = fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const deviceName = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const diskLine = fc.record({
  major: fc.nat({ max: 4095 }),
  minor: fc.nat({ max: 1_048_575 }),
  name: deviceName,
  fields: fc.constantFrom(14, 18, 20, 21, 24),
  counters: fc.array(counter, { minLength: 21, maxLength: 21 }),
});
type DiskLine = typeof diskLine extends fc.Arbitrary<infer T> ? T : never;

function renderDisk(d: Omit<DiskLine, 'fields'> & { fields: number }, pad: string): string {
  return [String(d.major).padStart(4), String(d.minor).padStart(7), d.name, ...d.counters.slice(0, d.fields - 3)].join(pad);
}

t.test('diskstats: arbitrary text never throws; at most one device per line, with finite non-negative counters', async (t) => {
  fc.assert(
    fc.property(procText, (text) => {
      const out = parseDiskstats(text);
      if (out.size > text.split('\n').length) return false;
      for (const s of out.values()) {
        for (const v of [s.writesCompleted, s.writeTime, s.inFlight, s.ioTime, s.weightedIoTime, s.flushRequests ?? 0, s.flushTime ?? 0]) {
          if (!Number.isFinite(v) || v < 0) return false;
        }
      }
      return true;
    }),
    RUNS,
  );
  t.pass('never threw, output bounded');
});

t.test('diskstats: every kernel layout round-trips; flush counters only with 20+ fields', async (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(diskLine, { maxLength: 8, selector: (d) => d.name }), fc.constantFrom(' ', '\t', '   '), (lines, pad) => {
      const out = parseDiskstats(lines.map((d) => renderDisk(d, pad)).join('\n') + '\n');
      if (out.size !== lines.length) return false;
      return lines.every((d) => {
        const s = out.get(d.name as never);
        const c = (i: number): number => d.counters[i - 3]!;
        if (s === undefined) return false;
        const base = s.writesCompleted === c(7) && s.writeTime === c(10) / 1000 && s.inFlight === c(11) && s.ioTime === c(12) / 1000 && s.weightedIoTime === c(13) / 1000;
        const flush = d.fields >= 20 ? s.flushRequests === c(18) && s.flushTime === c(19) / 1000 : !('flushRequests' in s) && !('flushTime' in s);
        return base && flush;
      });
    }),
    RUNS,
  );
  t.pass('round-trips');
});

t.test('diskstats: a malformed line is skipped and hides none of its neighbours', async (t) => {
  const bad = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }).map((s) => s.replace(/\n/g, ' ')),
    diskLine.map((d) => renderDisk({ ...d, fields: 15 }, ' ')), // a count between the known layouts
    diskLine.map((d) => renderDisk(d, ' ').replace(/ (\d+)$/, ' -$1')), // a negative counter
  );
  fc.assert(
    fc.property(fc.uniqueArray(diskLine, { minLength: 1, maxLength: 5, selector: (d) => d.name }), fc.array(bad, { maxLength: 5 }), (good, noise) => {
      const text = good.flatMap((d, i) => [renderDisk(d, ' '), ...(noise[i] !== undefined ? [noise[i]!] : [])]).join('\n');
      const out = parseDiskstats(text);
      // Noise may happen to be a valid line of its own (random text rarely is); the good ones are all there.
      return good.every((d) => out.get(d.name as never)?.writesCompleted === d.counters[4]);
    }),
    RUNS,
  );
  t.pass('neighbours kept');
});

// ─────────────────────────── mountinfo ───────────────────────────

/** How the kernel writes a path in mountinfo (fs/proc_namespace.c: mangle " \t\n\\"). */
const escapeMountPath = (s: string): string => s.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));

const pathSegment = fc.string({ unit: fc.constantFrom(...'abc .\t\n\\-_é💾'.split('')), minLength: 1, maxLength: 6 }).filter((s) => s !== '.' && s !== '..');
const absPath = fc.array(pathSegment, { maxLength: 4 }).map((segs) => '/' + segs.join('/'));
const mountEntry: fc.Arbitrary<MountEntry> = fc.record({
  mountId: fc.nat({ max: 100_000 }),
  parentId: fc.nat({ max: 100_000 }),
  major: fc.nat({ max: 4095 }),
  minor: fc.nat({ max: 1_048_575 }),
  root: absPath,
  mountPoint: absPath,
  fsType: fc.constantFrom('ext4', 'xfs', 'tmpfs', 'overlay', 'btrfs', 'fuse.sshfs'),
  source: fc.oneof(absPath, fc.constantFrom('tmpfs', 'overlay', 'server:/export')),
});

function renderMount(e: MountEntry, optional: readonly string[]): string {
  return [e.mountId, e.parentId, `${e.major}:${e.minor}`, escapeMountPath(e.root), escapeMountPath(e.mountPoint), 'rw,relatime', ...optional, '-', e.fsType, escapeMountPath(e.source), 'rw'].join(' ');
}

t.test('mountinfo: arbitrary text never throws; at most one entry per line; paths absolute', async (t) => {
  fc.assert(
    fc.property(procText, (text) => {
      const out = parseMountinfo(text);
      return out.length <= text.split('\n').length && out.every((e) => e.mountPoint.startsWith('/') && e.root.startsWith('/') && Number.isSafeInteger(e.major));
    }),
    RUNS,
  );
  t.pass('never threw, output bounded');
});

t.test('mountinfo: entries round-trip through the kernel escaping, with any optional fields', async (t) => {
  const optional = fc.array(fc.constantFrom('shared:1', 'master:7', 'propagate_from:2', 'unbindable'), { maxLength: 3 });
  fc.assert(
    fc.property(fc.array(fc.tuple(mountEntry, optional), { maxLength: 8 }), (entries) => {
      const out = parseMountinfo(entries.map(([e, o]) => renderMount(e, o)).join('\n') + '\n');
      return out.length === entries.length && out.every((got, i) => JSON.stringify(got) === JSON.stringify(entries[i]![0]));
    }),
    RUNS,
  );
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => unescapeMountPath(escapeMountPath(s)) === s), RUNS);
  t.pass('round-trips');
});

t.test('findMount answers with the longest mount point holding the path, or nothing', async (t) => {
  fc.assert(
    fc.property(fc.array(mountEntry, { maxLength: 10 }), absPath, (entries, p) => {
      const m = findMount(entries, p);
      const holders = entries.filter((e) => isPathPrefix(e.mountPoint, p));
      if (m === undefined) return holders.length === 0;
      return isPathPrefix(m.mountPoint, p) && holders.every((h) => h.mountPoint.length <= m.mountPoint.length);
    }),
    RUNS,
  );
  t.equal(findMount([], 'relative/path'), undefined, 'a relative path has no mount');
});
