// Property-based tests (fast-check) of what the etcd_config source parses: etcd's command line
// (/proc/<pid>/cmdline), its ETCD_* environment and the kubeadm static pod manifest (YAML, read by the
// agent's own small reader). No exception escapes on any input; valid input round-trips; the merge of
// the layers always yields positive whole milliseconds; and the inputs that are slow for a careless
// parser (megabyte lines, deep nesting) finish in bounded time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t from 'tap';
import { ms } from '../../src/lib/units.js';
import { configFileOf, ETCD_CONFIG_KEYS, parseEtcdArgs, parseEtcdEnv, resolveEtcdConfig, type EtcdConfigValues } from '../../src/host/etcd-flags.js';
import { parseManifest } from '../../src/host/kubeadm-manifest.js';

const RUNS = { numRuns: 400 };
const fixture = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'etcd', 'kubeadm-etcd.yaml'), 'utf8');

const anyText = fc.string({ unit: 'binary', maxLength: 60 });
const key = fc.constantFrom(...ETCD_CONFIG_KEYS);

// ─────────────────────────── command line and environment ───────────────────────────

t.test('parseEtcdArgs / parseEtcdEnv / configFileOf: any argv and environment, never a throw', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(anyText, key.map((k) => `--${k}`), key.map((k) => `-${k}=`)), { maxLength: 12 }), fc.dictionary(fc.oneof(anyText, key.map((k) => `ETCD_${k.toUpperCase().replace(/-/g, '_')}`)), anyText), (argv, env) => {
      const a = parseEtcdArgs(argv);
      const e = parseEtcdEnv(env);
      const cf = configFileOf(argv, env);
      return Object.keys(a).every((k) => (ETCD_CONFIG_KEYS as readonly string[]).includes(k)) && Object.values(e).every((v) => v !== '') && (cf === undefined || typeof cf === 'string');
    }),
    RUNS,
  );
  t.pass('no exception escaped');
});

t.test('parseEtcdArgs round-trips Go flag syntax in every style; the last occurrence wins', async (t) => {
  const style = fc.constantFrom('--k=v', '-k=v', '--k v', '-k v');
  const entry = fc.tuple(key, anyText, style);
  // Other flags around them, written so that Go would parse them the same way (a value only with `=`).
  const noise = fc.constantFrom('--enable-v2', '--cert-file=/c.crt', '--listen-client-urls=http://127.0.0.1:2379', '-v', '--heartbeat=5', '--data-dir-x=/x');
  // A boolean flag never takes the next argument: given bare it is true, as in Go.
  const isBool = (k: string): boolean => k === 'pre-vote' || k.startsWith('experimental-');
  fc.assert(
    fc.property(fc.array(fc.tuple(entry, fc.option(noise)), { maxLength: 10 }), (items) => {
      const argv = ['/usr/bin/etcd'];
      const want: EtcdConfigValues = {};
      for (const [[k, v, s], n] of items) {
        if (s === '--k=v') argv.push(`--${k}=${v}`);
        else if (s === '-k=v') argv.push(`-${k}=${v}`);
        else if (isBool(k)) argv.push(s === '--k v' ? `--${k}` : `-${k}`);
        else argv.push(s === '--k v' ? `--${k}` : `-${k}`, v);
        want[k] = isBool(k) && !s.includes('=') ? 'true' : v;
        if (n !== null) argv.push(n);
      }
      return JSON.stringify(sortKeys(parseEtcdArgs(argv))) === JSON.stringify(sortKeys(want));
    }),
    RUNS,
  );
  t.pass('round-trips');
});

t.test('parseEtcdEnv round-trips; empty values count as unset', async (t) => {
  fc.assert(
    fc.property(fc.dictionary(key, anyText), (values) => {
      const env: Record<string, string> = { PATH: '/usr/bin' };
      for (const [k, v] of Object.entries(values)) env[`ETCD_${k.toUpperCase().replace(/-/g, '_')}`] = v;
      const want = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
      return JSON.stringify(sortKeys(parseEtcdEnv(env))) === JSON.stringify(sortKeys(want));
    }),
    RUNS,
  );
  t.pass('round-trips');
});

t.test('resolveEtcdConfig: any layers give positive whole milliseconds with a known origin', async (t) => {
  const values = fc.dictionary(key, fc.oneof(anyText, fc.nat().map(String), fc.constantFrom('0', '-1', '1e3', '99999999999999999999', ' 250 ')));
  const layer = fc.option(values, { nil: undefined });
  const flagMs = fc.option(fc.oneof(fc.double(), fc.integer({ min: 1, max: 100_000 })).map(ms), { nil: undefined });
  fc.assert(
    fc.property(layer, layer, layer, flagMs, flagMs, fc.option(fc.constantFrom('/', '/var/lib', 'relative'), { nil: undefined }), (manifest, cmdline, env, hb, et, cwd) => {
      const r = resolveEtcdConfig({
        flags: { ...(hb !== undefined ? { heartbeatInterval: hb } : {}), ...(et !== undefined ? { electionTimeout: et } : {}) },
        ...(manifest !== undefined ? { manifest } : {}),
        ...(cmdline !== undefined ? { cmdline } : {}),
        ...(env !== undefined ? { env } : {}),
        ...(cwd !== undefined ? { cwd } : {}),
      });
      if (r.heartbeatInterval === undefined) return manifest === undefined && cmdline === undefined && env === undefined && hb === undefined && et === undefined;
      for (const s of [r.heartbeatInterval, r.electionTimeout!]) {
        if (!(Number.isFinite(s.value) && s.value > 0)) return false;
        if (s.origin !== 'flag' && !Number.isSafeInteger(s.value)) return false;
      }
      return ['flag', 'cmdline', 'env', 'manifest', 'default'].includes(r.heartbeatInterval.origin) && typeof r.dataDir?.value === 'string';
    }),
    RUNS,
  );
  t.pass('always a usable value');
});

// ─────────────────────────── the manifest ───────────────────────────

/** A YAML scalar for `s` in one of the styles kubeadm or a person writes: plain (when safe), double- or single-quoted. */
function yamlScalar(s: string, style: 'plain' | 'double' | 'single'): string {
  if (style === 'plain' && /^[A-Za-z0-9_./=][A-Za-z0-9_./=,:-]*$/.test(s) && !/:$/.test(s) && !s.includes(': ')) return s;
  if (style === 'single' && !/[\r\n\u0085\u2028\u2029]/.test(s) && !/^\s|\s$/.test(s)) return `'${s.replace(/'/g, "''")}'`;
  return JSON.stringify(s); // JSON's escapes are a subset of YAML's double-quoted ones
}

const argText = fc.oneof(
  fc.stringMatching(/^--[a-z-]{1,20}=[A-Za-z0-9_./:,=-]{0,30}$/),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const scalarStyle = fc.constantFrom('plain', 'double', 'single') as fc.Arbitrary<'plain' | 'double' | 'single'>;

/** A static pod manifest with one etcd container: kubeadm's layout (2 spaces, sequences at their key's column) or a wider one. */
function renderPod(command: ReadonlyArray<[string, 'plain' | 'double' | 'single']>, env: ReadonlyArray<[string, string]>, flow: boolean, wide: boolean): string {
  const I = wide ? '    ' : '  ';
  const dash = wide ? '-   ' : '- ';
  const itemAt = wide ? I + I : I; // the containers' dash
  const keyAt = itemAt + ' '.repeat(dash.length); // the container's keys
  const seqAt = wide ? keyAt + I : keyAt; // kubeadm writes a sequence at its key's column
  const lines = ['apiVersion: v1', 'kind: Pod', 'metadata:', `${I}name: etcd`, 'spec:', `${I}containers:`, `${itemAt}${dash}name: etcd`];
  if (flow) lines.push(`${keyAt}command: [${command.map(([a, st]) => yamlScalar(a, st)).join(', ')}]`);
  else lines.push(`${keyAt}command:`, ...command.map(([a, st]) => `${seqAt}${dash}${yamlScalar(a, st)}`));
  if (env.length > 0) {
    lines.push(`${keyAt}env:`);
    for (const [k, v] of env) lines.push(`${seqAt}${dash}name: ${k}`, `${seqAt}${' '.repeat(dash.length)}value: ${JSON.stringify(v)}`);
  }
  lines.push(`${keyAt}image: registry.k8s.io/etcd:3.5.12-0`, `${I}hostNetwork: true`, '');
  return lines.join('\n');
}

t.test('parseManifest round-trips the etcd container in block and flow style, any argument text', async (t) => {
  const envEntry = fc.tuple(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/), fc.string({ unit: 'binary', maxLength: 20 }));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(argText, scalarStyle), { maxLength: 8 }),
      fc.uniqueArray(envEntry, { maxLength: 3, selector: ([k]) => k }),
      fc.boolean(),
      fc.boolean(),
      (args, env, flow, wide) => {
        const command: Array<[string, 'plain' | 'double' | 'single']> = [['etcd', 'plain'], ...args];
        const text = renderPod(command, env, flow, wide);
        const got = parseManifest(text);
        const ok = got !== undefined && JSON.stringify(got.args) === JSON.stringify(command.map(([a]) => a)) && JSON.stringify(sortKeys(got.env)) === JSON.stringify(sortKeys(Object.fromEntries(env)));
        if (!ok) t.comment(`manifest that did not round-trip:\n${text}\ngot ${JSON.stringify(got)}`);
        return ok;
      },
    ),
    RUNS,
  );
  t.pass('round-trips');
});

t.test('parseManifest: random edits of a real kubeadm manifest never throw', async (t) => {
  const edit = fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.oneof(anyText, fc.constantFrom('', ':', '- ', '\n', '\t', '"', "'", '[', '{', '#', '&a ', '*a', '|', '>', '? ', '---\n', '  ')));
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
      let text = fixture;
      for (const [at, del, ins] of edits) {
        const i = at % (text.length + 1);
        text = text.slice(0, i) + ins + text.slice(i + del);
      }
      const r = parseManifest(text);
      return r === undefined || (r.args.every((a) => typeof a === 'string') && Object.values(r.env).every((v) => typeof v === 'string'));
    }),
    { numRuns: 1000 },
  );
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => parseManifest(s) === undefined || true), RUNS);
  t.pass('no exception escaped');
});

t.test('parseManifest: pathological inputs up to the 1 MiB limit finish quickly', async (t) => {
  const MiB = 1 << 20;
  const cases: Array<[string, string]> = [
    ['a line of blanks ending in a character (quadratic with /[ \\t]+$/)', `spec:\n  containers:\n  - name: etcd${' '.repeat(MiB - 64)}x\n`],
    ['a line of tabs and blanks', `a: ${' \t'.repeat(MiB / 2 - 16)}b\n`],
    ['deep dashes', '- '.repeat(MiB / 2 - 8) + 'x\n'],
    ['deep flow', `spec: ${'[{'.repeat(MiB / 2 - 8)}`],
    ['one long double-quoted scalar full of escapes', `spec: "${'\\"'.repeat(MiB / 2 - 16)}"\n`],
    ['many keys', Array.from({ length: 40_000 }, (_, i) => `k${i}: v`).join('\n')],
    ['a long plain scalar with inner comments', `a: ${'x #'.repeat(MiB / 3 - 8)}\n`],
    ['continuation lines', `a: b\n${'  c\n'.repeat(MiB / 4 - 8)}`],
  ];
  for (const [what, text] of cases) {
    const started = performance.now();
    t.doesNotThrow(() => parseManifest(text), what);
    const elapsed = performance.now() - started;
    t.ok(elapsed < 3000, `${what}: ${elapsed.toFixed(0)} ms`);
  }
});

function sortKeys<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;
}
