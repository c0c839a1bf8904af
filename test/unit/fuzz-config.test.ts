// Property-based tests (fast-check) of the flag parser and the unit parsers: whatever argv and
// environment the agent is given, only a ConfigError (exit status 2 with a message) can come out of
// it, and a config that comes out is usable: every duration fits a Node.js timer, every size and
// count is a finite whole number. Durations and sizes round-trip through their written form.
import fc from 'fast-check';
import t from 'tap';
import { ALL_FLAGS, buildConfig, envName, FLAGS, splitArgs, type Config } from '../../src/commands/config.js';
import { formatDuration, ms, parseDuration, parseSize } from '../../src/lib/units.js';
import { ConfigError } from '../../src/lib/errors.js';

const RUNS = { numRuns: 1000 };
/** Node.js timers take at most 2^31 - 1 ms; a longer one fires after 1 ms instead (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const flagNames = ALL_FLAGS.map((f) => f.flag);
const anyText = fc.string({ unit: 'binary', maxLength: 30 });
/** Values shaped like the real ones, and near their edges, as well as junk. */
const flagValue = fc.oneof(
  anyText,
  fc.tuple(fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2 ** 31, 2 ** 53, 1e21), fc.double({ min: 0, noNaN: true })), fc.constantFrom('', 'us', 'ms', 's', 'm', 'h', 'B', 'KiB', 'MiB', 'GiB', 'TiB', 'GB')).map(([n, u]) => `${n}${u}`),
  fc.constantFrom('9'.repeat(400) + 's', '9'.repeat(400), '1e400', '0', '-1', 'true', 'false', ':9379', '[::1]:0', 'http://127.0.0.1:2379', 'https://u:p@h:1', '', ' ', 'NaN', 'Infinity', '0x10', '100000000000000000000h'),
);
const argv = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom(...flagNames), flagValue).map(([f, v]) => [`--${f}=${v}`]),
    fc.tuple(fc.constantFrom(...flagNames), flagValue).map(([f, v]) => [`--${f}`, v]),
    fc.constantFrom(['--help'], ['--version'], ['run'], ['diagnose'], ['--'], ['-x'], ['--=1']),
    anyText.map((s) => [s]),
  ),
  { maxLength: 6 },
).map((parts) => parts.flat());
const env = fc.dictionary(fc.constantFrom(...ALL_FLAGS.map((f) => envName(f)), 'PATH', 'ETCD_LATENCY_AGENT_'), flagValue, { maxKeys: 4 });

/** The durations, sizes and counts of a config: each must be a finite number a timer or a buffer can take. */
function numbersOf(c: Config): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const spec of FLAGS) {
    const v = c[spec.key];
    if (typeof v === 'number') out.push([spec.flag, v]);
  }
  for (const [k, v] of Object.entries(c.thresholds)) out.push([k, v]);
  out.push(['listen port', c.listenAddress.port]);
  return out;
}

const DURATION_FLAGS = new Set(FLAGS.filter((f) => f.metavar === 'DURATION').map((f) => f.key as string));

t.test('splitArgs + buildConfig: any argv and environment give a usable Config or a ConfigError, nothing else', async (t) => {
  fc.assert(
    fc.property(argv, env, (args, environment) => {
      let config: Config;
      try {
        config = buildConfig(splitArgs(args, { diagnose: { valued: ['duration', 'from'], boolean: ['json'] } }).values, environment);
      } catch (err) {
        if (err instanceof ConfigError) return err.message.length > 0 && err.message.length < 2000;
        throw err;
      }
      for (const [what, v] of numbersOf(config)) {
        if (!Number.isFinite(v) || v < 0) throw new Error(`${what} = ${v} from ${JSON.stringify(args)} ${JSON.stringify(environment)}`);
      }
      for (const spec of FLAGS) {
        const v = config[spec.key];
        if (DURATION_FLAGS.has(spec.key) && typeof v === 'number' && v > MAX_TIMER_MS) throw new Error(`--${spec.flag} = ${v} ms overflows a timer`);
      }
      if (!Number.isSafeInteger(config.probeFileSize) || !Number.isSafeInteger(config.etcdMetricsMaxBytes) || !Number.isSafeInteger(config.probeMinFree)) throw new Error('a size is not a safe integer');
      if (config.probeFileSize < 2300) throw new Error(`--probe-file-size ${config.probeFileSize} is below one probe write`);
      return true;
    }),
    RUNS,
  );
  t.pass('only ConfigError escaped, and every accepted config was usable');
});

t.test('the edges that were found: timer overflow, infinite sizes, a probe file smaller than a write, absurd write counts', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--etcd-config-interval=720h'], /--etcd-config-interval: .*at most/],
    [['--probe-interval=' + '9'.repeat(400) + 's'], /--probe-interval: .*at most/],
    [['--etcd-timeout=100000000000000000000h'], /--etcd-timeout: .*at most/],
    [['--probe-file-size=' + '9'.repeat(400)], /--probe-file-size: .*too large/],
    [['--probe-file-size=100'], /--probe-file-size.*2300/],
    [['--probe-writes=100000000000000000000'], /--probe-writes: .*at most/],
  ];
  for (const [args, want] of cases) t.throws(() => buildConfig(splitArgs(args).values, {}), { constructor: ConfigError, message: want }, args.join(' ').slice(0, 60));
  t.equal(buildConfig(splitArgs(['--etcd-config-interval=596h']).values, {}).configInterval, 596 * 3_600_000, 'the longest whole-hour timer is accepted');
});

t.test('parseDuration / parseSize: any text gives undefined or a finite non-negative number, never a throw', async (t) => {
  fc.assert(
    fc.property(fc.oneof(anyText, flagValue), (s) => {
      const d = parseDuration(s);
      const z = parseSize(s);
      return (d === undefined || (d >= 0 && !Number.isNaN(d))) && (z === undefined || (z >= 0 && Number.isInteger(z)));
    }),
    RUNS,
  );
  t.pass();
});

t.test('durations round-trip through formatDuration; sizes through their byte count', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: MAX_TIMER_MS }), (n) => parseDuration(formatDuration(ms(n))) === n), RUNS);
  fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom('us', 'ms', 's', 'm', 'h'), (n, unit) => formatDuration(parseDuration(`${n}${unit}`)!) !== undefined), RUNS);
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => parseSize(String(n)) === n), RUNS);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 20 }), fc.constantFrom(['KiB', 2 ** 10], ['MiB', 2 ** 20], ['GiB', 2 ** 30], ['KB', 1e3], ['MB', 1e6], ['GB', 1e9]) as fc.Arbitrary<[string, number]>, (n, [unit, factor]) => parseSize(`${n}${unit}`) === n * factor),
    RUNS,
  );
  t.pass();
});
