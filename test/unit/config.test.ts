import t from 'tap';
import { ALL_FLAGS, buildConfig, envName, splitArgs, usage } from '../../src/commands/config.js';
import { DEFAULT_THRESHOLDS } from '../../src/analysis/thresholds.js';
import { ConfigError } from '../../src/lib/errors.js';

const configFrom = (argv: string[], env: NodeJS.ProcessEnv = {}) => buildConfig(splitArgs(argv).values, env);

t.test('defaults let the agent run on a machine without Kubernetes', async (t) => {
  const c = configFrom([]);
  t.same(c.listenAddress, { host: '0.0.0.0', port: 9379 });
  t.same(c.etcdEndpoints, ['http://127.0.0.1:2379']);
  t.equal(c.etcdMetricsUrl, 'http://127.0.0.1:2381/metrics');
  t.equal(c.etcdDataDir, '/var/lib/etcd');
  t.equal(c.etcdManifest, '/etc/kubernetes/manifests/etcd.yaml');
  t.equal(c.probeInterval, 1000);
  t.equal(c.probeEnabled, true);
  t.equal(c.procPath, '/proc');
  t.equal(c.sysPath, '/sys');
  t.equal(c.probeDir, undefined);
});

t.test('flags are read as --name=value and --name value', async (t) => {
  const c = configFrom(['--probe-interval=500ms', '--etcd-endpoints', 'https://10.0.0.1:2379,https://10.0.0.2:2379/', '--listen-address', '[::1]:9000']);
  t.equal(c.probeInterval, 500);
  t.same(c.etcdEndpoints, ['https://10.0.0.1:2379', 'https://10.0.0.2:2379']);
  t.same(c.listenAddress, { host: '::1', port: 9000 });
});

t.test('every flag can be set from its environment variable, and the command line wins', async (t) => {
  t.equal(envName({ flag: 'probe-interval' }), 'ETCD_LATENCY_AGENT_PROBE_INTERVAL');
  t.equal(configFrom([], { ETCD_LATENCY_AGENT_PROBE_INTERVAL: '2s' }).probeInterval, 2000);
  t.equal(configFrom(['--probe-interval=3s'], { ETCD_LATENCY_AGENT_PROBE_INTERVAL: '2s' }).probeInterval, 3000);
  t.equal(configFrom([], { ETCD_LATENCY_AGENT_LOG_FORMAT: 'json' }).logFormat, 'json');
  t.equal(configFrom([], { ETCD_LATENCY_AGENT_PROBE_ENABLED: 'false' }).probeEnabled, false);
});

t.test('bad input is a ConfigError naming the flag or variable', async (t) => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--no-such-flag=1'], {}, /unknown flag --no-such-flag/],
    [['--probe-interval=10'], {}, /--probe-interval: "10" is not a duration/],
    [['--probe-interval=0s'], {}, /--probe-interval: .* longer than zero/],
    [['--etcd-metrics-url=localhost:2381'], {}, /--etcd-metrics-url: .*http/],
    [['--etcd-metrics-url=http://u:p@127.0.0.1:2381/metrics'], {}, /must not carry credentials/],
    [['--etcd-endpoints=,'], {}, /--etcd-endpoints: needs at least one URL/],
    [['--listen-address=9379'], {}, /--listen-address: "9379" is not HOST:PORT/],
    [['--listen-address=:99999'], {}, /--listen-address/],
    [['--log-level=verbose'], {}, /--log-level: "verbose" must be one of debug, info, warn, error/],
    [['--probe-file-size=lots'], {}, /--probe-file-size: "lots" is not a size/],
    [['--probe-writes=0'], {}, /--probe-writes/],
    [['--etcd-cert=/a.crt'], {}, /--etcd-cert and --etcd-key go together/],
    [['--etcd-heartbeat-interval=500ms', '--etcd-election-timeout=1s'], {}, /at least 5×/],
    [[], { ETCD_LATENCY_AGENT_PROBE_INTERVAL: 'soon' }, /ETCD_LATENCY_AGENT_PROBE_INTERVAL \(environment\): "soon"/],
    [['--probe-interval'], {}, /--probe-interval needs a value/],
    [['run', 'extra'], {}, /unexpected argument "extra"/],
    [['--candidate-dir=mnt/ssd'], {}, /--candidate-dir: "mnt\/ssd" is not an absolute path/],
    [['--candidate-dir=/mnt/ssd,/mnt/ssd/'], {}, /--candidate-dir: "\/mnt\/ssd" is given twice/],
    [['--candidate-dir=/a,/b,/c,/d,/e'], {}, /--candidate-dir: 5 directories: at most 4/],
    [['--candidate-interval=0s'], {}, /--candidate-interval: .* longer than zero/],
    [['--peer-agents=10.0.0.12:9379'], {}, /--peer-agents: .*or write auto for the other members' addresses/],
    [['--peer-agents=http://10.0.0.12:9379/api/v1/settings'], {}, /--peer-agents: .*base URL, like http:\/\/10\.0\.0\.12:9379, without a path/],
    [['--peer-agents=http://a:1,http://a:1/'], {}, /--peer-agents: "http:\/\/a:1" is given twice/],
    [['--peer-agents=ftp://10.0.0.12'], {}, /--peer-agents: .*must start with http/],
    [[`--peer-agents=${Array.from({ length: 9 }, (_, i) => `http://10.0.0.${i + 1}:9379`).join(',')}`], {}, /--peer-agents: 9 agents: at most 8/],
    [['--peer-agents-interval=0s'], {}, /--peer-agents-interval: .* longer than zero/],
  ];
  for (const [argv, env, want] of cases) {
    t.throws(() => configFrom(argv, env), { constructor: ConfigError, message: want }, argv.join(' ') || JSON.stringify(env));
  }
});

t.test('the command comes first and defaults to run', async (t) => {
  t.equal(splitArgs([]).command, 'run');
  t.equal(splitArgs(['diagnose', '--probe-interval=1s']).command, 'diagnose');
  t.ok(splitArgs(['--help']).help);
  t.ok(splitArgs(['--version']).version);
});

t.test('--help lists every flag with its environment variable', async (t) => {
  const text = usage('1.2.3');
  for (const f of ALL_FLAGS) {
    t.match(text, `--${f.flag}=`);
    t.match(text, envName(f));
  }
});

t.test('the README flag table is the rendering of the flag schema (run npm run generate after a change)', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { withFlagTable } = await import('../../generate/docs.js');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  t.equal(readme, withFlagTable(readme));
  for (const f of ALL_FLAGS) t.match(readme, `| \`--${f.flag}=`, `README has a row for --${f.flag}`);
});

t.test('thresholds are flags: defaults from the analysis, values checked', async (t) => {
  t.same(configFrom([]).thresholds, DEFAULT_THRESHOLDS);
  const c = configFrom(['--wal-fsync-p99=20ms', '--analysis-window=10m', '--disk-busy-fraction=0.8'], { ETCD_LATENCY_AGENT_TARGET_ELECTIONS_PER_DAY: '0.1' });
  t.equal(c.thresholds.walFsyncP99, 20);
  t.equal(c.thresholds.window, 600, 'a window is in seconds');
  t.equal(c.thresholds.diskBusyFraction, 0.8);
  t.equal(c.thresholds.targetElectionsPerDay, 0.1);
  t.throws(() => configFrom(['--disk-busy-fraction=1.5']), { message: /--disk-busy-fraction: "1.5" must be a fraction/ });
  t.throws(() => configFrom(['--wal-fsync-p99=10']), { message: /--wal-fsync-p99: "10" is not a duration/ });
  t.throws(() => configFrom(['--target-elections-per-day=-1']), { message: /--target-elections-per-day/ });
  t.throws(() => configFrom(['--elections-per-day-warning=50']), { message: /--elections-per-day-warning must not exceed --elections-per-day-critical/ });
});

t.test('peer agents: off by default; auto; base URLs, trailing slashes dropped, every 30 s', async (t) => {
  t.equal(configFrom([]).peerAgents, 'off');
  t.equal(configFrom([]).peerAgentsInterval, 30_000);
  t.equal(configFrom(['--peer-agents=auto']).peerAgents, 'auto');
  t.same(configFrom(['--peer-agents=http://10.0.0.12:9379/, https://[fd00::13]:9379']).peerAgents, ['http://10.0.0.12:9379', 'https://[fd00::13]:9379']);
  t.equal(configFrom([], { ETCD_LATENCY_AGENT_PEER_AGENTS: 'auto' }).peerAgents, 'auto');
});

t.test('candidate filesystems: none by default; absolute directories, trailing slashes dropped, every 10 s', async (t) => {
  t.same(configFrom([]).candidateDirs, []);
  t.equal(configFrom([]).candidateInterval, 10_000);
  const c = configFrom(['--candidate-dir=/mnt/local-ssd/, /mnt/volume', '--candidate-interval=30s']);
  t.same(c.candidateDirs, ['/mnt/local-ssd', '/mnt/volume']);
  t.equal(c.candidateInterval, 30_000);
  t.same(configFrom([], { ETCD_LATENCY_AGENT_CANDIDATE_DIR: '/' }).candidateDirs, ['/'], 'the root itself keeps its slash');
});
