// Bad input exits with status 2 before anything starts, with a message naming the flag.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../../harness/agent-process.js';
import { makeTestPki } from '../../harness/etcd-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('bad flags and values exit 2 naming the flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--no-such-flag=1'], /unknown flag --no-such-flag/],
    [['--etcd-metrics-url=not a url'], /--etcd-metrics-url: .*not a URL/],
    [['--etcd-endpoints=ftp://127.0.0.1:2379'], /--etcd-endpoints: .*http/],
    [['--probe-interval=fast'], /--probe-interval: "fast" is not a duration/],
    [['--log-format=xml'], /--log-format/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ];
  for (const [args, want] of cases) {
    const r = await runCli(args);
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, want, `${args.join(' ')} names the problem`);
  }
});

t.test('a bad value from the environment exits 2 naming the variable', async (t) => {
  const r = await runCli([], { ETCD_LATENCY_AGENT_PROBE_INTERVAL: 'soon' });
  t.equal(r.code, 2);
  t.match(r.stderr, /ETCD_LATENCY_AGENT_PROBE_INTERVAL/);
});

t.test('missing, unreadable or mismatched TLS files (etcd\'s, the peer agents\') exit 2 naming the file', async (t) => {
  const pki = await makeTestPki(join(dir, 'pki'));
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  const aDir = join(dir, 'a-dir');
  mkdirSync(aDir);
  const emptyToken = join(dir, 'empty-token');
  writeFileSync(emptyToken, ' \n');
  const cases: Array<[string[], RegExp]> = [
    [['--etcd-cacert=/nonexistent/ca.crt'], /--etcd-cacert: \/nonexistent\/ca.crt does not exist/],
    [[`--etcd-cacert=${notPem}`], /--etcd-cacert: .*not.pem is not a PEM certificate/],
    [[`--etcd-cacert=${aDir}`], /--etcd-cacert: .*a-dir/],
    [[`--etcd-cert=${pki.clientCert}`, '--etcd-key=/nonexistent/client.key'], /--etcd-key: \/nonexistent\/client.key does not exist/],
    [[`--etcd-cert=${pki.clientCert}`, `--etcd-key=${pki.serverKey}`], /--etcd-key: .* does not belong to the certificate/],
    [[`--etcd-cert=${pki.clientCert}`], /--etcd-cert and --etcd-key go together/],
    [['--peer-agents=auto', '--peer-agents-ca-file=/nonexistent/ca.crt'], /--peer-agents-ca-file: \/nonexistent\/ca.crt does not exist/],
    [['--peer-agents=auto', `--peer-agents-ca-file=${notPem}`], /--peer-agents-ca-file: .*not.pem is not a PEM certificate/],
    [['--peer-agents=auto', `--peer-agents-token-file=${emptyToken}`], /--peer-agents-token-file: .*empty-token is empty/],
  ];
  for (const [args, want] of cases) {
    const r = await runCli(args);
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, want);
    t.notMatch(r.stderr, /BEGIN/, 'no key or certificate material in the message');
  }
});

t.test('an explicit probe dir that is missing exits 2 naming the flag', async (t) => {
  const missing = await runCli(['--probe-dir=/nonexistent/probe']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--probe-dir: .*\/nonexistent\/probe/);
});

t.test("a probe dir on another filesystem than etcd's data dir (etcd moved to a disk of its own) turns the probe off, with a finding, and the agent runs on", async (t) => {
  // /dev/shm is a tmpfs, the data dir below is on the temp dir's filesystem: two different st_dev.
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const r = await runCli(['diagnose', '--duration=1s', '--json', `--etcd-data-dir=${dataDir}`, '--probe-dir=/dev/shm', '--etcd-endpoints=http://127.0.0.1:9', '--etcd-metrics-url=http://127.0.0.1:9/metrics']);
  t.equal(r.code, 1, 'a diagnosis, not a start-up failure (1: etcd is unreachable here)', { stderr: r.stderr });
  t.match(r.stderr, /warning: the fsync probe is off: its directory \/dev\/shm is on another filesystem than etcd's data dir/);
  const d = JSON.parse(r.stdout) as { findings: Array<{ code: string; severity: string; facts: Array<{ name: string; value: unknown }> }> };
  const f = d.findings.find((x) => x.code === 'probe_not_on_etcd_filesystem');
  t.equal(f?.severity, 'info');
  t.same(f?.facts.map((x) => [x.name, x.value]), [['probe_dir', '/dev/shm'], ['etcd_data_dir', dataDir]]);
});

t.test('--help and --version exit 0', async (t) => {
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--etcd-metrics-url=URL/);
  t.match(help.stdout, /ETCD_LATENCY_AGENT_PROBE_DIR/);
  const version = await runCli(['--version']);
  t.equal(version.code, 0);
  t.match(version.stdout, /^etcd-latency-agent \d+\.\d+\.\d+/);
});

t.test('a listen address in use exits 2 naming the flag', async (t) => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const r = await runCli([`--listen-address=127.0.0.1:${port}`, '--probe-enabled=false']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--listen-address/);
});
