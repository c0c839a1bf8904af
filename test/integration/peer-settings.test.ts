// Do all members run the same heartbeat interval and election timeout? On a real 3-member etcd 3.5
// cluster with one real agent per member, each reading its member's settings from etcd's own command
// line (/proc) and asking the other two agents (--peer-agents) for theirs:
// - all at 100/1000: no agent raises timing_settings_differ, and each page says the members agree;
// - one member restarted with 250/2500 (an operator half-way through a rollout): every agent raises it,
//   naming that member, with the pair most members run as the remedy and the rollout one node at a
//   time; the status page carries the note;
// - that member's agent stopped, and a URL that is etcd's metrics listener rather than an agent: the
//   other agents say which peers did not answer and why (peer_agents_unanswered), and go on.
// And secured peers (--web-config-file: https and a bearer token), as the web-config component runs
// them: answered with the CA, the certificate's name and the token; refused with a name the
// certificate does not carry, or without the token.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { memberFlags, startAgentProcess, type AgentProcess } from '../../harness/agent-process.js';
import { freePort, makeTestPki, startEtcdCluster } from '../../harness/etcd-cluster.js';
import { etcdBuild } from '../../harness/etcd-versions.js';
import { Cleanups, waitUntil } from '../../harness/processes.js';
import { PREFIX } from '../../src/export/prometheus/contract.js';
import type { DiagnosisDocument } from '../../src/export/api/diagnosis-json.js';

const build = etcdBuild('3.5');
const skip = build ? false : 'needs the etcd 3.5 build (npm test builds it)';

const finding = (text: string, code: string) => new RegExp(`^${PREFIX}finding\\{code="${code}",severity="[a-z]+"\\} 1$`, 'm').test(text);

t.test(
  "members' timing settings compared through their agents: silent while equal, raised on every agent when one member runs other values, peers that do not answer named",
  { skip, timeout: 4 * 60_000 },
  async (t) => {
    const cleanups = new Cleanups();
    t.teardown(() => cleanups.run());
    const cluster = await startEtcdCluster({ etcd: build!, size: 3, heartbeatMs: 100, electionMs: 1000 });
    cleanups.add('etcd cluster', () => cluster.close(), () => undefined);

    // Ports first: each agent must know the others' URLs when it starts.
    const ports = await Promise.all(cluster.members.map(() => freePort()));
    const urlOf = (i: number) => `http://127.0.0.1:${ports[i]}`;
    const agents: AgentProcess[] = [];
    for (const [i, m] of cluster.members.entries()) {
      const peers = cluster.members.map((_, j) => j).filter((j) => j !== i).map(urlOf);
      // m0 also names etcd's metrics listener, which answers but is no agent.
      if (i === 0) peers.push(new URL(cluster.members[2]!.metricsUrl).origin);
      const agent = await startAgentProcess([
        ...memberFlags(m),
        // No manifest and no setting flags: the agent reads its member's settings from etcd's command line.
        '--etcd-manifest=/nonexistent/etcd.yaml',
        '--etcd-config-interval=1s',
        '--etcd-api-interval=500ms',
        '--etcd-metrics-interval=1s',
        '--diagnosis-interval=1s',
        '--processes-enabled=false',
        '--cgroup-io-enabled=false',
        `--peer-agents=${peers.join(',')}`,
        '--peer-agents-interval=1s',
      ], { port: ports[i]! });
      agents.push(agent);
      cleanups.add(`agent ${m.name}`, () => void agent.stop(), () => agent.child.kill('SIGKILL'));
    }
    const diagnosis = async (a: AgentProcess) => JSON.parse((await a.get('/api/v1/diagnosis')).body) as DiagnosisDocument;

    // Each agent serves its own member's settings, read from etcd's command line.
    for (const [i, a] of agents.entries()) {
      const ok = await waitUntil(async () => {
        const s = JSON.parse((await a.get('/api/v1/settings')).body) as { heartbeatMs?: number; electionMs?: number; member?: string };
        return s.heartbeatMs === 100 && s.electionMs === 1000 && s.member === cluster.members[i]!.name;
      }, 30_000);
      t.ok(ok, `${cluster.members[i]!.name}'s agent serves 100/1000 at /api/v1/settings`);
    }
    // Equal settings: nobody complains, and each page says the members agree.
    for (const a of agents) await a.waitForMetrics((m) => /source_up\{source="peer_agents"\} 1/.test(m) && /finding\{code="settings_unknown"/.test(m) === false, 'the peer agents asked');
    await waitUntil(async () => (await Promise.all(agents.map((a) => a.get('/')))).every((p) => p.body.includes('Every member that answered runs the same settings as this one.')), 30_000);
    for (const [i, a] of agents.entries()) {
      const name = cluster.members[i]!.name;
      t.notOk(finding(await a.metrics(), 'timing_settings_differ'), `${name}: no timing_settings_differ while every member runs 100/1000`);
      t.match((await a.get('/')).body, 'Every member that answered runs the same settings as this one.', `${name}: the page says the members agree`);
    }

    // An operator half-way through a rollout: m2 runs 250/2500 now.
    const changed = cluster.members[2]!;
    await changed.kill('SIGTERM');
    await changed.start({ args: ['--heartbeat-interval=250', '--election-timeout=2500'] });
    for (const [i, a] of agents.entries()) {
      const name = cluster.members[i]!.name;
      await a.waitForMetrics((m) => finding(m, 'timing_settings_differ'), `${name}: timing_settings_differ`, 60_000);
      const f = (await diagnosis(a)).findings.find((x) => x.code === 'timing_settings_differ');
      t.equal(f?.severity, 'warning', `${name}: timing_settings_differ is a warning`);
      t.equal(f?.facts.find((x) => x.name === 'members_differing')?.value, i === 2 ? 'm0, m1' : 'm2', `${name}: it names the other members' difference from its own`);
      t.match(f?.summary, /m0[^,]* 100\/1000.*m1[^,]* 100\/1000.*m2[^,]* 250\/2500/, `${name}: the summary lists every member's settings`);
      t.match(f?.remedy, /--heartbeat-interval=100 --election-timeout=1000 on every member \(what most members run\)\. Roll it out one control-plane node at a time/, `${name}: the remedy is the majority's pair, rolled out one node at a time`);
    }
    const page = (await agents[0]!.get('/')).body;
    t.match(page, /<p class="settings-differ" role="note"><strong>The members' settings differ\.<\/strong>/, "m0's page carries the note");
    t.match(page, /m2 \(<code>http:\/\/127\.0\.0\.1:\d+<\/code>\): <code>--heartbeat-interval=250 --election-timeout=2500<\/code>/, "m0's page lists m2's settings");

    // m0 named etcd's metrics listener as a peer from the start: no agent there.
    const m0 = (await diagnosis(agents[0]!)).findings.find((x) => x.code === 'peer_agents_unanswered');
    t.match(m0?.summary, /^1 of 3 peer agents did not answer.*\(http_status: .*HTTP 404/, 'm0: the metrics listener is named, answering 404');

    // m2's agent goes away: m1 says so, and still compares what it can.
    await agents[2]!.stop();
    await agents[1]!.waitForMetrics((m) => finding(m, 'peer_agents_unanswered'), 'm1: peer_agents_unanswered', 30_000);
    const m1 = (await diagnosis(agents[1]!)).findings.find((x) => x.code === 'peer_agents_unanswered');
    t.match(m1?.summary, new RegExp(`^1 of 2 peer agents did not answer.*${urlOf(2).replace(/[.:/]/g, '\\$&')} \\(unreachable: `), "m1: m2's agent is named unreachable");
    t.match((await agents[1]!.get('/api/v1/status')).body, /"peer_agents":\{"up":true/, 'm1: the peer source stays up for the peers that answer');
  },
);

t.test(
  "secured peers: asked over https with the CA, the certificate's name and the token; a wrong name or no token is named as the reason",
  { timeout: 2 * 60_000 },
  async (t) => {
    const cleanups = new Cleanups();
    t.teardown(() => cleanups.run());
    const dir = mkdtempSync(join(tmpdir(), 'peer-settings-'));
    cleanups.add('scratch', () => rmSync(dir, { recursive: true, force: true }), () => undefined);
    const pki = await makeTestPki(join(dir, 'pki'));
    const token = join(dir, 'token');
    writeFileSync(token, `peer-${'5ec2e7'.repeat(6)}\n`, { mode: 0o600 });
    const webConfig = join(dir, 'web-config.yml');
    writeFileSync(webConfig, `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\nbearer_token_file: ${token}\n`);
    // No etcd: each agent's settings are its flags, which is what /api/v1/settings serves.
    const agent = async (timing: string, peerFlags: readonly string[]) => {
      const a = await startAgentProcess([
        '--etcd-endpoints=http://127.0.0.1:1', '--etcd-metrics-url=http://127.0.0.1:1/metrics', '--etcd-manifest=/nonexistent',
        '--diagnosis-interval=300ms', '--processes-enabled=false', '--cgroup-io-enabled=false',
        `--etcd-heartbeat-interval=${timing.split('/')[0]}ms`, `--etcd-election-timeout=${timing.split('/')[1]}ms`,
        `--web-config-file=${webConfig}`, '--peer-agents-interval=500ms', ...peerFlags,
      ], { https: { ca: readFileSync(pki.ca) }, headers: { authorization: `Bearer ${readFileSync(token, 'utf8').trim()}` } });
      cleanups.add(`agent ${a.url}`, () => void a.stop(), () => a.child.kill('SIGKILL'));
      return a;
    };
    const peer = await agent('250/2500', []);
    const asking = (flags: readonly string[]) => agent('100/1000', [`--peer-agents=${peer.url}`, `--peer-agents-ca-file=${pki.ca}`, ...flags]);
    const [good, wrongName, noToken] = await Promise.all([
      asking(['--peer-agents-server-name=localhost', `--peer-agents-token-file=${token}`]),
      asking(['--peer-agents-server-name=etcd-latency-agent', `--peer-agents-token-file=${token}`]),
      asking(['--peer-agents-server-name=localhost']),
    ]);
    const findingOf = async (a: AgentProcess, code: string) => (JSON.parse((await a.get('/api/v1/diagnosis')).body) as DiagnosisDocument).findings.find((f) => f.code === code);

    await good.waitForMetrics((m) => finding(m, 'timing_settings_differ'), 'timing_settings_differ over https');
    t.match((await findingOf(good, 'timing_settings_differ'))?.summary, /this member \(this member\) 100\/1000, \S+ 250\/2500/, 'the secured peer answered: its 250/2500 against this 100/1000');
    t.notOk(await findingOf(good, 'peer_agents_unanswered'), 'and nothing is unanswered');

    await wrongName.waitForMetrics((m) => finding(m, 'peer_agents_unanswered'), 'peer_agents_unanswered (wrong name)');
    t.match((await findingOf(wrongName, 'peer_agents_unanswered'))?.summary, /\(tls: .*etcd-latency-agent/, "a name the peer's certificate does not carry: tls, naming it");
    await noToken.waitForMetrics((m) => finding(m, 'peer_agents_unanswered'), 'peer_agents_unanswered (no token)');
    t.match((await findingOf(noToken, 'peer_agents_unanswered'))?.summary, /\(http_status: .*HTTP 401/, 'without the token: refused with 401');
  },
);
