import t from 'tap';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEtcdConfigSource, findEtcdProcesses, type EtcdConfigOptions } from '../../src/sources/etcd-config.js';
import { preVoteDefault } from '../../src/model/etcd-versions.js';
import { ms } from '../../src/lib/units.js';
import type { Outcome } from '../../src/lib/outcome.js';
import { configFileOf, parseEtcdArgs, parseEtcdEnv, resolveEtcdConfig, runningPreVote, type EtcdConfigSample, type EtcdConfigValues } from '../../src/host/etcd-flags.js';
import { parseManifest } from '../../src/host/kubeadm-manifest.js';

/** The sample's value; a failure fails the test with its reason and message. */
function valueOf<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`expected a sample, got ${o.reason}: ${o.message}`);
  return o.value;
}

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'etcd');
const fixture = (name: string): string => readFileSync(path.join(fixtures, name), 'utf8');

t.test('parseEtcdArgs reads the flags as Go flag parsing does', async (t) => {
  const cases: Array<[string, string[], EtcdConfigValues]> = [
    ['--flag=value', ['etcd', '--heartbeat-interval=250', '--election-timeout=2500'], { 'heartbeat-interval': '250', 'election-timeout': '2500' }],
    ['--flag value', ['etcd', '--heartbeat-interval', '250', '--data-dir', '/var/lib/etcd'], { 'heartbeat-interval': '250', 'data-dir': '/var/lib/etcd' }],
    ['-flag=value', ['etcd', '-election-timeout=1500', '-name=m1'], { 'election-timeout': '1500', name: 'm1' }],
    ['-flag value', ['/usr/bin/etcd', '-wal-dir', '/wal'], { 'wal-dir': '/wal' }],
    ['all five', ['--name=a', '--heartbeat-interval=1', '--election-timeout=5', '--data-dir=/d', '--wal-dir=/w'],
      { name: 'a', 'heartbeat-interval': '1', 'election-timeout': '5', 'data-dir': '/d', 'wal-dir': '/w' }],
    ['last occurrence wins', ['--heartbeat-interval=100', '--heartbeat-interval=300'], { 'heartbeat-interval': '300' }],
    ['value containing =', ['--data-dir=/srv/a=b'], { 'data-dir': '/srv/a=b' }],
    ['empty value kept raw', ['--wal-dir='], { 'wal-dir': '' }],
    ['other flags, with and without values, are skipped', ['etcd', '--enable-v2', '--cert-file', '/c.crt', '--listen-client-urls=http://127.0.0.1:2379', '--name', 'x'], { name: 'x' }],
    ['missing value at the end', ['etcd', '--heartbeat-interval'], {}],
    ['a bare value flag takes the next argument even if it starts with -', ['--name', '-weird'], { name: '-weird' }],
    ['-- ends the flags', ['etcd', '--name=a', '--', '--name=b'], { name: 'a' }],
    ['three dashes is not a flag', ['---name=x'], {}],
    ['prefixes of flag names do not match', ['--heartbeat=5', '--data-dir-x=/x', '--election-timeout-ms=9'], {}],
    ['case matters', ['--Name=x', '--HEARTBEAT-INTERVAL=5'], {}],
    ['nothing', [], {}],
  ];
  for (const [what, args, want] of cases) t.same(parseEtcdArgs(args), want, what);
});

t.test('parseEtcdEnv reads ETCD_* variables; empty counts as unset, like etcd', async (t) => {
  const cases: Array<[string, Record<string, string>, EtcdConfigValues]> = [
    ['all five', { ETCD_NAME: 'n', ETCD_HEARTBEAT_INTERVAL: '200', ETCD_ELECTION_TIMEOUT: '2000', ETCD_DATA_DIR: '/d', ETCD_WAL_DIR: '/w' },
      { name: 'n', 'heartbeat-interval': '200', 'election-timeout': '2000', 'data-dir': '/d', 'wal-dir': '/w' }],
    ['empty is unset', { ETCD_HEARTBEAT_INTERVAL: '', ETCD_DATA_DIR: '/d' }, { 'data-dir': '/d' }],
    ['others ignored', { PATH: '/usr/bin', ETCD_LISTEN_CLIENT_URLS: 'http://x', etcd_name: 'lower', ETCDCTL_API: '3' }, {}],
    ['nothing', {}, {}],
  ];
  for (const [what, env, want] of cases) t.same(parseEtcdEnv(env), want, what);
});

t.test('configFileOf finds --config-file and ETCD_CONFIG_FILE', async (t) => {
  t.equal(configFileOf(['etcd', '--config-file=/etc/etcd.yml']), '/etc/etcd.yml');
  t.equal(configFileOf(['etcd', '-config-file', '/e.yml']), '/e.yml');
  t.equal(configFileOf(['etcd'], { ETCD_CONFIG_FILE: '/env.yml' }), '/env.yml');
  t.equal(configFileOf(['etcd', '--name=x'], {}), undefined);
});

t.test('parseManifest reads kubeadm manifests', async (t) => {
  const tuned = parseManifest(fixture('kubeadm-etcd.yaml'));
  t.ok(tuned, 'the tuned kubeadm manifest parses');
  t.equal(tuned?.args[0], 'etcd');
  t.equal(tuned?.args.length, 22);
  t.ok(tuned?.args.includes('--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.11:2379'));
  t.same(tuned?.env, {});
  t.same(parseEtcdArgs(tuned?.args ?? []), {
    name: 'cp-1', 'data-dir': '/var/lib/etcd', 'heartbeat-interval': '250', 'election-timeout': '2500',
    'experimental-initial-corrupt-check': 'true',
  });
  const plain = parseManifest(fixture('kubeadm-etcd-default.yaml'));
  t.same(parseEtcdArgs(plain?.args ?? []), { name: 'cp-1', 'data-dir': '/var/lib/etcd', 'experimental-initial-corrupt-check': 'true' }, 'the default manifest has no tuning');
});

t.test('pre-vote: as Go reads a boolean flag; unset it follows the version (off in 3.4, on from 3.5)', async (t) => {
  const cases: Array<[string, string[], boolean | undefined]> = [
    ['bare flag', ['etcd', '--pre-vote'], true],
    ['bare flag does not take the next argument', ['etcd', '--pre-vote', '--heartbeat-interval=250'], true],
    ['=false', ['etcd', '--pre-vote=false'], false],
    ['Go spellings', ['etcd', '-pre-vote=F'], false],
    ['=1', ['etcd', '--pre-vote=1'], true],
    ['last wins', ['etcd', '--pre-vote=false', '--pre-vote'], true],
    ['not a boolean: ignored', ['etcd', '--pre-vote=yes'], undefined],
    ['absent', ['etcd', '--heartbeat-interval=250'], undefined],
  ];
  for (const [name, argv, want] of cases) {
    t.equal(resolveEtcdConfig({ cmdline: parseEtcdArgs(argv) }).preVote?.value, want, name);
  }
  t.match(resolveEtcdConfig({ cmdline: parseEtcdArgs(['etcd', '--pre-vote=yes']) }).notes, [/ignored --pre-vote="yes" from cmdline: not a boolean/]);
  t.same(resolveEtcdConfig({ env: parseEtcdEnv({ ETCD_PRE_VOTE: 'false' }) }).preVote, { value: false, origin: 'env' });

  const versions: Array<[string, boolean | undefined]> = [['3.4.23', false], ['3.5.0', true], ['3.6.17', true], ['3.7.4', true], ['4.0.0', true], ['3.3.27', false], ['', undefined], ['dev', undefined]];
  for (const [version, want] of versions) t.equal(preVoteDefault(version), want, `default of ${JSON.stringify(version)}`);
  const unset = resolveEtcdConfig({ cmdline: parseEtcdArgs(['etcd']) });
  t.same(runningPreVote(unset, '3.4.23'), { value: false, origin: 'default' });
  t.same(runningPreVote(unset, '3.6.17'), { value: true, origin: 'default' });
  t.equal(runningPreVote(unset, undefined), undefined, 'unset and no version: unknown');
  t.same(runningPreVote(resolveEtcdConfig({ manifest: parseEtcdArgs(['etcd', '--pre-vote=false']) }), '3.6.17'), { value: false, origin: 'manifest' }, 'set beats the default');
});

t.test("feature gates: 3.6's --feature-gates and the --experimental-* flags they replace; unknown gates ignored, the rest read", async (t) => {
  const gates = (argv: string[]) => resolveEtcdConfig({ manifest: parseEtcdArgs(argv) });
  t.same(gates(['etcd', '--feature-gates=InitialCorruptCheck=true,StopGRPCServiceOnDefrag=false']).featureGates, {
    value: { InitialCorruptCheck: true, StopGRPCServiceOnDefrag: false }, origin: 'manifest',
  });
  t.same(gates(['etcd', '--experimental-initial-corrupt-check=true', '--experimental-compact-hash-check-enabled']).featureGates?.value, {
    InitialCorruptCheck: true, CompactHashCheck: true,
  }, 'the 3.5 spellings');
  const odd = gates(['etcd', '--feature-gates= InitialCorruptCheck = true , NewIn38=true,CompactHashCheck,TxnModeWriteWithSharedBuffer=maybe,,', '--heartbeat-interval=250']);
  t.same(odd.featureGates?.value, { InitialCorruptCheck: true }, 'blanks trimmed; the known, well-formed gate read');
  t.match(odd.notes, [
    /ignored feature gate "NewIn38" from manifest: not one of etcd 3.6's/,
    /ignored --feature-gates item "CompactHashCheck" from manifest: not NAME=true or NAME=false/,
    /ignored --feature-gates item "TxnModeWriteWithSharedBuffer=maybe"/,
  ]);
  t.equal(odd.heartbeatInterval?.value, 250, 'the other flags are still read');
  t.equal(gates(['etcd', '--feature-gates=']).featureGates, undefined, 'an empty list sets nothing');
});

t.test("kubeadm 1.34's etcd 3.6 manifest: renamed flags and feature gates change nothing the agent reads", async (t) => {
  const argv = [
    'etcd', '--advertise-client-urls=https://10.0.0.11:2379', '--cert-file=/etc/kubernetes/pki/etcd/server.crt',
    '--client-cert-auth=true', '--data-dir=/var/lib/etcd', '--feature-gates=InitialCorruptCheck=true',
    '--initial-advertise-peer-urls=https://10.0.0.11:2380', '--initial-cluster=cp-1=https://10.0.0.11:2380',
    '--key-file=/etc/kubernetes/pki/etcd/server.key', '--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.11:2379',
    '--listen-metrics-urls=http://0.0.0.0:2381', '--listen-peer-urls=https://10.0.0.11:2380', '--name=cp-1',
    '--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt', '--peer-client-cert-auth=true', '--peer-key-file=/etc/kubernetes/pki/etcd/peer.key',
    '--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt', '--snapshot-count=10000', '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
    '--watch-progress-notify-interval=5s', '--heartbeat-interval=250', '--election-timeout=2500',
  ];
  const got = resolveEtcdConfig({ manifest: parseEtcdArgs(argv) });
  t.same([got.name?.value, got.heartbeatInterval?.value, got.electionTimeout?.value, got.dataDir?.value], ['cp-1', 250, 2500, '/var/lib/etcd']);
  t.same(got.featureGates?.value, { InitialCorruptCheck: true });
  t.equal(got.preVote, undefined, 'kubeadm does not set --pre-vote: the version decides');
  t.equal(got.notes, undefined, 'nothing ignored');
});

const pod = (container: string, before = ''): string => `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
${before}${container}
  hostNetwork: true
`;

t.test('parseManifest: forms of the etcd container', async (t) => {
  const cases: Array<[string, string, { args: string[]; env: Record<string, string> } | undefined]> = [
    ['quoted items, comments and a trailing comment', pod(`  - command:
    - "etcd"   # the binary
    - '--heartbeat-interval=250'
    - "--name=it's \\"quoted\\""
    - '--data-dir=/var/lib/it''s'
    # - --election-timeout=9999
    - --election-timeout=2500 # raised
    name: etcd`), { args: ['etcd', '--heartbeat-interval=250', '--name=it\'s "quoted"', "--data-dir=/var/lib/it's", '--election-timeout=2500'], env: {} }],
    ['command and args are concatenated', pod(`  - name: etcd
    image: registry.k8s.io/etcd:3.5.12-0
    command: [etcd]
    args:
      - --heartbeat-interval=300
      - "--election-timeout=3000"`), { args: ['etcd', '--heartbeat-interval=300', '--election-timeout=3000'], env: {} }],
    ['flow sequence on several lines', pod(`  - name: etcd
    command: ["etcd", "--heartbeat-interval=150",
      "--data-dir=/d"]`), { args: ['etcd', '--heartbeat-interval=150', '--data-dir=/d'], env: {} }],
    ['env name/value pairs; valueFrom skipped', pod(`  - name: etcd
    command:
    - etcd
    env:
    - name: ETCD_HEARTBEAT_INTERVAL
      value: "200"
    - name: ETCD_ELECTION_TIMEOUT
      value: '2000'
    - name: POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    - {name: ETCD_DATA_DIR, value: /var/lib/etcd-env}`),
    { args: ['etcd'], env: { ETCD_HEARTBEAT_INTERVAL: '200', ETCD_ELECTION_TIMEOUT: '2000', ETCD_DATA_DIR: '/var/lib/etcd-env' } }],
    ['etcd is not the first container', pod(`  - name: etcd
    command:
    - /usr/local/bin/etcd
    - --name=second`, `  - name: sidecar
    command:
    - /bin/sh
    - -c
    - |
      while true; do
        sleep 3600   # etcd --name=not-this
      done
`), { args: ['/usr/local/bin/etcd', '--name=second'], env: {} }],
    ['found by its command when not named etcd', pod(`  - name: member
    command:
      - /usr/bin/etcd
      - --name=by-command`), { args: ['/usr/bin/etcd', '--name=by-command'], env: {} }],
    ['named etcd without command: image entrypoint, flags in args', pod(`  - name: etcd
    args: ["--name=a"]`), { args: ['--name=a'], env: {} }],
    ['CRLF line endings and a document marker', '---\r\n' + pod(`  - name: etcd\r\n    command:\r\n    - etcd\r\n    - --heartbeat-interval=400`).replaceAll('\n', '\r\n'),
      { args: ['etcd', '--heartbeat-interval=400'], env: {} }],
    ['JSON', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'etcd', command: ['etcd', '--heartbeat-interval=120'], env: [{ name: 'ETCD_NAME', value: 'j' }] }] } }, null, 2),
      { args: ['etcd', '--heartbeat-interval=120'], env: { ETCD_NAME: 'j' } }],
    ['tags and anchors are stripped', pod(`  - name: etcd
    command: &cmd
    - !!str etcd
    - !!str --heartbeat-interval=111`), { args: ['etcd', '--heartbeat-interval=111'], env: {} }],
    ['deeper indentation of sequences', `spec:
    containers:
        -   name: etcd
            command:
                -   etcd
                -   --name=deep
`, { args: ['etcd', '--name=deep'], env: {} }],
    ['no etcd container', pod(`  - name: kube-apiserver
    command:
    - kube-apiserver
    - --etcd-servers=https://127.0.0.1:2379`), undefined],
    ['no containers', 'apiVersion: v1\nkind: Pod\nspec:\n  hostNetwork: true\n', undefined],
    ['command is not a list of strings', pod(`  - name: etcd
    command:
    - etcd
    - nested:
        map: here`), undefined],
  ];
  for (const [what, text, want] of cases) t.same(parseManifest(text), want, what);
});

t.test('parseManifest: garbage gives undefined and never throws', async (t) => {
  const garbage: Array<[string, string]> = [
    ['empty', ''],
    ['a word', 'etcd'],
    ['colons', ':::\n: : :'],
    ['unbalanced flow', 'spec: {containers: [{name: etcd, command: [etcd'],
    ['unterminated quote', pod(`  - name: etcd\n    command:\n    - "etcd\n    - --x`)],
    ['tab indentation', 'spec:\n\tcontainers:\n\t- name: etcd\n'],
    ['mis-indented key', 'spec:\n  containers:\n  - name: etcd\n    command:\n    - etcd\n   oops: 1\n'],
    ['mapping value after a scalar', 'spec: x\n  containers: y\n'],
    ['duplicate keys', 'spec:\n  containers: []\n  containers: []\n'],
    ['alias', pod(`  - name: etcd\n    command: *cmd`)],
    ['binary', '\u0000\u0001\u0002\uffff\ud800 {[ "'],
    ['deep flow nesting', `spec: ${'['.repeat(5000)}`],
    ['deep block nesting', Array.from({ length: 500 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')],
    ['a list at top level', '- etcd\n- --name=x\n'],
    ['JSON array', '[{"spec": {}}]'],
    ['too large', `# ${'x'.repeat(1 << 21)}\n${pod('  - name: etcd\n    command: [etcd]')}`],
  ];
  for (const [what, text] of garbage) {
    t.doesNotThrow(() => parseManifest(text), what);
    t.equal(parseManifest(text), undefined, what);
  }
});

t.test('resolveEtcdConfig: nothing found gives an empty sample, not defaults', async (t) => {
  t.same(resolveEtcdConfig({}), {});
  t.same(resolveEtcdConfig({ flags: {} }), {});
  t.same(resolveEtcdConfig({ flags: { heartbeatInterval: undefined } }), {});
  t.same(resolveEtcdConfig({ cwd: '/tmp' }), {}, 'a cwd alone is not etcd');
});

t.test('resolveEtcdConfig: etcd found with nothing set gives etcd defaults', async (t) => {
  const want: EtcdConfigSample = {
    name: { value: 'default', origin: 'default' },
    heartbeatInterval: { value: ms(100), origin: 'default' },
    electionTimeout: { value: ms(1000), origin: 'default' },
    dataDir: { value: 'default.etcd', origin: 'default' },
    walDir: { value: 'default.etcd/member/wal', origin: 'default' },
  };
  t.same(resolveEtcdConfig({ cmdline: {} }), want, 'process with no flags');
  t.same(resolveEtcdConfig({ manifest: {} }), want, 'manifest with no flags');
  t.same(resolveEtcdConfig({ env: {} }), want, 'environment only');
  t.same(resolveEtcdConfig({ cmdline: { name: 'm1' }, cwd: '/srv' }), {
    ...want,
    name: { value: 'm1', origin: 'cmdline' },
    dataDir: { value: '/srv/m1.etcd', origin: 'default' },
    walDir: { value: '/srv/m1.etcd/member/wal', origin: 'default' },
  }, 'the default data dir is ${name}.etcd in etcd\'s working directory');
});

t.test('resolveEtcdConfig: precedence flag > cmdline > env > manifest > default, with origins', async (t) => {
  const env: EtcdConfigValues = { name: 'e', 'heartbeat-interval': '40', 'election-timeout': '400', 'data-dir': '/env', 'wal-dir': '/env-wal' };
  const cmdline: EtcdConfigValues = { 'heartbeat-interval': '30', 'election-timeout': '300', 'data-dir': '/cmd' };
  const manifest: EtcdConfigValues = { 'heartbeat-interval': '20' };
  type Row = [string, Parameters<typeof resolveEtcdConfig>[0], Record<string, [string | number, string]>];
  const rows: Row[] = [
    ['env only', { env }, { name: ['e', 'env'], heartbeatInterval: [40, 'env'], electionTimeout: [400, 'env'], dataDir: ['/env', 'env'], walDir: ['/env-wal', 'env'] }],
    ['cmdline over env', { env, cmdline }, { name: ['e', 'env'], heartbeatInterval: [30, 'cmdline'], electionTimeout: [300, 'cmdline'], dataDir: ['/cmd', 'cmdline'], walDir: ['/env-wal', 'env'] }],
    ['the running process over the manifest', { env, cmdline, manifest }, { heartbeatInterval: [30, 'cmdline'], electionTimeout: [300, 'cmdline'], dataDir: ['/cmd', 'cmdline'] }],
    ['the manifest fills what the process does not say', { cmdline: {}, manifest }, { heartbeatInterval: [20, 'manifest'], electionTimeout: [1000, 'default'] }],
    ['flags over everything', { env, cmdline, manifest, flags: { heartbeatInterval: ms(10), dataDir: '/flag', walDir: '/flag-wal' } },
      { heartbeatInterval: [10, 'flag'], electionTimeout: [300, 'cmdline'], dataDir: ['/flag', 'flag'], walDir: ['/flag-wal', 'flag'] }],
    ['flags only: the rest are defaults', { flags: { electionTimeout: ms(2500) } },
      { heartbeatInterval: [100, 'default'], electionTimeout: [2500, 'flag'], dataDir: ['default.etcd', 'default'], walDir: ['default.etcd/member/wal', 'default'] }],
    ['default WAL dir follows the chosen data dir', { cmdline: { 'data-dir': '/var/lib/etcd' } }, { walDir: ['/var/lib/etcd/member/wal', 'default'] }],
    ['default WAL dir follows a data dir flag', { cmdline: { 'data-dir': '/var/lib/etcd' }, flags: { dataDir: '/mnt/etcd/' } }, { walDir: ['/mnt/etcd/member/wal', 'default'] }],
    ['an empty dir counts as unset', { cmdline: { 'data-dir': '', 'wal-dir': '' }, env: { 'data-dir': '/env' } }, { dataDir: ['/env', 'env'], walDir: ['/env/member/wal', 'default'] }],
    ['relative dirs are resolved in etcd\'s cwd', { cmdline: { 'data-dir': 'data', 'wal-dir': '../wal' }, cwd: '/srv/etcd' }, { dataDir: ['/srv/etcd/data', 'cmdline'], walDir: ['/srv/wal', 'cmdline'] }],
    ['but not a relative flag', { cmdline: {}, flags: { dataDir: 'rel' }, cwd: '/srv/etcd' }, { dataDir: ['rel', 'flag'], walDir: ['/srv/etcd/rel/member/wal', 'default'] }],
  ];
  for (const [what, layers, want] of rows) {
    const got = resolveEtcdConfig(layers) as Record<string, { value: string | number; origin: string } | undefined>;
    for (const [field, [value, origin]] of Object.entries(want)) t.same(got[field], { value, origin }, `${what}: ${field}`);
  }
});

t.test('resolveEtcdConfig: invalid durations are skipped with a note', async (t) => {
  const bad = ['abc', '', '0', '-5', '1.5', '100ms', '1e3', '0x64', '99999999999999999999'];
  for (const raw of bad) {
    const got = resolveEtcdConfig({ cmdline: { 'heartbeat-interval': raw }, env: { 'heartbeat-interval': '70' } });
    t.same(got.heartbeatInterval, { value: 70, origin: 'env' }, `${JSON.stringify(raw)} falls through to the next layer`);
    t.match(got.notes?.[0] ?? '', /ignored --heartbeat-interval=.* from cmdline/, `${JSON.stringify(raw)} is noted`);
  }
  const onlyBad = resolveEtcdConfig({ manifest: { 'election-timeout': 'soon' } });
  t.same(onlyBad.electionTimeout, { value: 1000, origin: 'default' });
  t.equal(onlyBad.notes?.length, 1);
  t.same(resolveEtcdConfig({ cmdline: { 'heartbeat-interval': ' 250 ' } }).heartbeatInterval, { value: 250, origin: 'cmdline' }, 'surrounding spaces are fine');
  const badFlag = resolveEtcdConfig({ cmdline: {}, flags: { heartbeatInterval: ms(Number.NaN) } });
  t.same(badFlag.heartbeatInterval, { value: 100, origin: 'default' });
  t.match(badFlag.notes?.[0] ?? '', /agent flag/);
  t.equal(resolveEtcdConfig({ cmdline: { 'heartbeat-interval': '250' } }).notes, undefined, 'no notes when all is well');
});

t.test('resolveEtcdConfig: notes a manifest that disagrees with the running process', async (t) => {
  const got = resolveEtcdConfig({ manifest: { 'heartbeat-interval': '250' }, cmdline: { 'heartbeat-interval': '100' } });
  t.same(got.heartbeatInterval, { value: 100, origin: 'cmdline' }, 'what runs is what counts');
  t.match(got.notes?.join('\n') ?? '', /running etcd has --heartbeat-interval=100 but the manifest has --heartbeat-interval=250/);
});

// ─────────────────────────── a fake /proc for the I/O parts ───────────────────────────

interface FakeProc { pid: number; argv: string[]; env?: string[] | 'missing'; cwd?: string }

function fakeProc(t: { teardown(fn: () => void): void }, procs: FakeProc[], extra: (root: string) => void = () => {}): string {
  const root = mkdtempSync(path.join(tmpdir(), 'etcd-config-proc-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const p of procs) {
    const dir = path.join(root, String(p.pid));
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'cmdline'), p.argv.length === 0 ? '' : `${p.argv.join('\0')}\0`);
    if (p.env !== 'missing') writeFileSync(path.join(dir, 'environ'), (p.env ?? ['PATH=/usr/bin']).map((e) => `${e}\0`).join(''));
  }
  mkdirSync(path.join(root, 'self'));
  mkdirSync(path.join(root, 'sys'));
  writeFileSync(path.join(root, 'uptime'), '1 1\n');
  extra(root);
  return root;
}

t.test('findEtcdProcesses finds etcd by argv[0] only, ordered by pid', async (t) => {
  const long = `--initial-cluster=${'m=http://127.0.0.1:2380,'.repeat(400)}`;
  const root = fakeProc(t, [
    { pid: 100, argv: ['/usr/bin/etcd', '--name=b', long, '--heartbeat-interval=300'], env: ['ETCD_ELECTION_TIMEOUT=3000', 'SECRET=x', 'ETCD_EMPTY='] },
    { pid: 99, argv: ['etcd', '--name=a'], env: 'missing' },
    { pid: 7, argv: [] }, // kernel thread
    { pid: 8, argv: ['etcdctl', 'get', 'x'] },
    { pid: 9, argv: ['/bin/sh', '-c', 'etcd --name=c'] },
    { pid: 10, argv: ['strace', '-f', 'etcd'] },
    { pid: 11, argv: ['/opt/etcd-3.5/etcd.bak'] },
    { pid: 12, argv: ['x'.repeat(5000)] },
  ]);
  const found = await findEtcdProcesses(root);
  t.same(found.map((p) => p.pid), [99, 100]);
  t.same(found[0], { pid: 99, args: ['etcd', '--name=a'] }, 'an unreadable environ leaves env undefined');
  t.equal(found[1]?.args.length, 4, 'a cmdline longer than the first read is read in full');
  t.equal(found[1]?.args[2], long);
  t.same(found[1]?.env, { ETCD_ELECTION_TIMEOUT: '3000', ETCD_EMPTY: '' }, 'only ETCD_* variables are kept');
  await t.rejects(findEtcdProcesses(path.join(root, 'nope')), 'an unlistable proc path throws');
});

const opts = (procPath: string, manifestPath: string, flags: EtcdConfigOptions['flags'] = {}): EtcdConfigOptions => ({ procPath, manifestPath, flags, interval: ms(60_000) });

t.test('the source: nothing found and no flags is a not_found failure naming the places looked at', async (t) => {
  const root = fakeProc(t, [{ pid: 1, argv: ['/sbin/init'] }]);
  const source = createEtcdConfigSource(opts(root, path.join(root, 'etcd.yaml')));
  t.equal(source.name, 'etcd_config');
  t.equal(source.interval, 60_000);
  const got = await source.sample(new Date());
  t.same(got, {
    ok: false,
    reason: 'not_found',
    message: `no etcd found: no manifest at ${root}/etcd.yaml, no etcd process in ${root}/*/cmdline; pass --etcd-heartbeat-interval/--etcd-election-timeout`,
  });
});

t.test('the source: flags alone succeed, with defaults flagged as unobserved', async (t) => {
  const root = fakeProc(t, []);
  const got = valueOf(await createEtcdConfigSource(opts(root, path.join(root, 'etcd.yaml'), { heartbeatInterval: ms(250), electionTimeout: ms(2500) })).sample(new Date()));
  t.same(got.heartbeatInterval, { value: 250, origin: 'flag' });
  t.same(got.electionTimeout, { value: 2500, origin: 'flag' });
  t.equal(got.foundIn, 'agent flags');
  t.match(got.notes?.join('\n') ?? '', /not observed/);
});

t.test('the source: kubeadm manifest without hostPID', async (t) => {
  const root = fakeProc(t, [{ pid: 1, argv: ['/sbin/init'] }]);
  const got = valueOf(await createEtcdConfigSource(opts(root, path.join(fixtures, 'kubeadm-etcd.yaml'))).sample(new Date()));
  t.same(got, {
    name: { value: 'cp-1', origin: 'manifest' },
    heartbeatInterval: { value: 250, origin: 'manifest' },
    electionTimeout: { value: 2500, origin: 'manifest' },
    dataDir: { value: '/var/lib/etcd', origin: 'manifest' },
    walDir: { value: '/var/lib/etcd/member/wal', origin: 'default' },
    featureGates: { value: { InitialCorruptCheck: true }, origin: 'manifest' },
    foundIn: path.join(fixtures, 'kubeadm-etcd.yaml'),
  });
  const plain = valueOf(await createEtcdConfigSource(opts(root, path.join(fixtures, 'kubeadm-etcd-default.yaml'))).sample(new Date()));
  t.same(plain.heartbeatInterval, { value: 100, origin: 'default' });
  t.same(plain.electionTimeout, { value: 1000, origin: 'default' });
});

t.test('the source: manifest and the kubeadm etcd process, and a manifest the agent cannot read', async (t) => {
  const argv = parseManifest(fixture('kubeadm-etcd-default.yaml'))?.args ?? [];
  const root = fakeProc(t, [{ pid: 4242, argv, env: ['ETCD_HEARTBEAT_INTERVAL=999'] }], (r) => {
    writeFileSync(path.join(r, 'etcd.yaml'), fixture('kubeadm-etcd.yaml'));
    writeFileSync(path.join(r, 'broken.yaml'), 'spec: [\n');
  });
  const got = valueOf(await createEtcdConfigSource(opts(root, path.join(root, 'etcd.yaml'))).sample(new Date()));
  t.same(got.heartbeatInterval, { value: 999, origin: 'env' }, "the running process's environment wins over the manifest");
  t.same(got.electionTimeout, { value: 2500, origin: 'manifest' }, 'the manifest fills what the process does not set');
  t.equal(got.foundIn, `${root}/etcd.yaml, ${root}/4242/cmdline`);
  t.equal(got.notes, undefined, 'flags absent from both are not a disagreement');

  const broken = valueOf(await createEtcdConfigSource(opts(root, path.join(root, 'broken.yaml'))).sample(new Date()));
  t.same(broken.heartbeatInterval, { value: 999, origin: 'env' });
  t.same(broken.name, { value: 'cp-1', origin: 'cmdline' });
  t.equal(broken.foundIn, `${root}/4242/cmdline`);
  t.match(broken.notes?.join('\n') ?? '', /no etcd container in .*broken\.yaml/);

  const dir = await createEtcdConfigSource(opts(root, root)).sample(new Date());
  t.ok(dir.ok, 'a manifest path that is a directory is noted, not fatal');
  if (dir.ok) t.match(dir.value.notes?.join('\n') ?? '', /cannot read/);
});

t.test('the source: several etcd processes', async (t) => {
  const root = fakeProc(t, [
    { pid: 300, argv: ['etcd', '--name=m3', '--data-dir=/tmp/c/m3', '--heartbeat-interval=130'] },
    { pid: 200, argv: ['etcd', '--name=m2', '--data-dir', '/tmp/c/m2', '--heartbeat-interval=120'] },
    { pid: 1000, argv: ['etcd', '--name=m1'], env: ['ETCD_DATA_DIR=/tmp/c/m1', 'ETCD_HEARTBEAT_INTERVAL=110'] },
  ]);
  const none = path.join(root, 'none.yaml');
  const first = valueOf(await createEtcdConfigSource(opts(root, none)).sample(new Date()));
  t.same(first.heartbeatInterval, { value: 120, origin: 'cmdline' }, 'the lowest pid without a data dir to match');
  t.equal(first.foundIn, `${root}/200/cmdline (1 of 3 etcd processes)`);
  t.match(first.notes?.join('\n') ?? '', /3 etcd processes: pids 200, 300, 1000/);

  const byDir = valueOf(await createEtcdConfigSource(opts(root, none, { dataDir: '/tmp/c/m3/' })).sample(new Date()));
  t.same(byDir.heartbeatInterval, { value: 130, origin: 'cmdline' }, 'the data dir flag picks the member');
  t.equal(byDir.foundIn, `${root}/300/cmdline (1 of 3 etcd processes)`);

  const byHint = valueOf(await createEtcdConfigSource({ ...opts(root, none), dataDirHint: '/tmp/c/m3' }).sample(new Date()));
  t.same(byHint.heartbeatInterval, { value: 130, origin: 'cmdline' }, "the agent's --etcd-data-dir picks the member too");
  t.same(byHint.dataDir, { value: '/tmp/c/m3', origin: 'cmdline' }, 'without claiming the data dir came from a flag');

  const byEnvDir = valueOf(await createEtcdConfigSource(opts(root, none, { dataDir: '/tmp/c/m1' })).sample(new Date()));
  t.same(byEnvDir.heartbeatInterval, { value: 110, origin: 'env' }, 'a data dir set in the environment matches too');

  const noMatch = valueOf(await createEtcdConfigSource(opts(root, none, { dataDir: '/elsewhere' })).sample(new Date()));
  t.same(noMatch.heartbeatInterval, { value: 120, origin: 'cmdline' });
  t.match(noMatch.notes?.join('\n') ?? '', /no etcd process uses --data-dir \/elsewhere/);
});

t.test('the source: --config-file is noted', async (t) => {
  const root = fakeProc(t, [{ pid: 5, argv: ['etcd', '--config-file=/etc/etcd/etcd.conf.yml'] }]);
  const got = valueOf(await createEtcdConfigSource(opts(root, path.join(root, 'none.yaml'))).sample(new Date()));
  t.same(got.heartbeatInterval, { value: 100, origin: 'default' });
  t.match(got.notes?.join('\n') ?? '', /--config-file=\/etc\/etcd\/etcd.conf.yml/);
});

t.test('the source: an unlistable proc path is noted; with nothing else it fails', async (t) => {
  const root = fakeProc(t, []);
  const got = valueOf(await createEtcdConfigSource(opts(path.join(root, 'host-proc'), path.join(fixtures, 'kubeadm-etcd.yaml'))).sample(new Date()));
  t.match(got.notes?.join('\n') ?? '', /cannot list .*host-proc/);
  const none = await createEtcdConfigSource(opts(path.join(root, 'host-proc'), path.join(root, 'none.yaml'))).sample(new Date());
  t.match(none, { ok: false, reason: 'not_found', message: /cannot list .*host-proc/ });
});
