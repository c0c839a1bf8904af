// The agent on a control-plane node as kubeadm lays it out, run as the shipped DaemonSet runs it
// (issue 16, item 3). For kubeadm 1.31 with etcd 3.5 and kubeadm 1.34 with etcd 3.6:
//
// - the node's files are kubeadm's: the etcd PKI (test/helpers/kubeadm-pki.ts: kubeadm's subjects,
//   SANs, usages, key modes) and the static pod manifest exactly as that kubeadm writes it with the SCS
//   cluster templates' etcd extraArgs (test/fixtures/kubeadm/, its README says where each line comes
//   from);
// - etcd runs from that manifest: its command, its volumes at their paths, on the node's network;
// - the agent runs from `kubectl kustomize deploy/base` and the Dockerfile, not retyped: the DaemonSet's
//   args and env, its hostPath volumes at their mount paths (read-only where it says so), hostNetwork,
//   UID 0 with every capability dropped, no_new_privs, a read-only root (test/helpers/kubeadm-node.ts).
//
// It pins that this agent becomes ready, reports every source the DaemonSet enables up, reads 250/2500
// (and the corrupt-check gate, in either kubeadm spelling) for the member, and diagnoses the healthy
// member (etcdctl says so) as healthy; that it did so as UID 0 without capabilities, on a read-only
// root, seeing of the PKI only the three files it mounts; and that with etcd not running (a node
// rebooting: the kubelet may start the agent first) it takes 250/2500 from the manifest alone. While
// etcd runs, the agent reports them with source="cmdline": etcd's command line in the host's /proc,
// which the DaemonSet mounts, outranks the manifest (src/sources/etcd-config.ts), and the two agree.
//
// What it does not emulate (see test/helpers/kubeadm-node.ts): no kubelet (nothing restarts, probes run
// when the test asks), no container runtime and no real images (the machine's root filesystem is every
// image's base, with the etcd build or Node.js and the repository bound in), no cgroup limits, no
// seccomp or AppArmor profile, one node rather than three. The node's /var/lib is an ext4 filesystem on
// a loop device backed by /dev/shm, so "healthy" does not depend on this machine's shared disk.
import { chown, chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { SOURCE_NAMES } from '../../src/sources/source.js';
import { etcdVersionPlans, needsEtcd, type EtcdBuild } from '../../harness/etcd-versions.js';
import { createKubeadmNode, kubeadmNodeUnavailable, makeNodeDir, type KubeadmNode, type RunningPod } from '../helpers/kubeadm-node.js';
import { certificateExtension, certificateSubject, ETCD_PKI_FILES, etcdAltNames, writeKubeadmEtcdPki } from '../helpers/kubeadm-pki.js';
import { DOCKER_DEFAULT_PATH, imageFromDockerfile, kustomizedDaemonSet, readStaticPod, type ContainerSpec, type ImageConfig, type PodSpec } from '../helpers/pod-spec.js';
import { makeLoopFs } from '../scenarios/faults.js';
import { alive, Cleanups } from '../../harness/processes.js';
import { parseEtcdArgs } from '../../src/host/etcd-flags.js';
import { parseManifest } from '../../src/host/kubeadm-manifest.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(REPO, 'test', 'fixtures', 'kubeadm');
/** A tmpfs apart from the machine's root: pods see the root filesystem as their image's base. */
const SCRATCH = '/dev/shm';
const ETCDCTL = '/usr/bin/etcdctl';

interface Case {
  readonly kubeadm: string;
  readonly etcd: string;
  readonly manifest: string;
}

const CASES: readonly Case[] = [
  { kubeadm: '1.31', etcd: '3.5', manifest: 'etcd-1.31.yaml' },
  { kubeadm: '1.34', etcd: '3.6', manifest: 'etcd-1.34.yaml' },
];

interface SourceStatus {
  up: boolean | null;
  lastError: { reason: string; message: string } | null;
  latest: { value: unknown } | null;
}
interface Status {
  ready: boolean;
  sources: Record<string, SourceStatus>;
}
interface Diagnosis {
  at: string;
  verdict: string;
  member: string;
  findings: Array<{ code: string; severity: string; summary: string }>;
}
interface EtcdConfigSample {
  heartbeatInterval?: { value: number; origin: string };
  electionTimeout?: { value: number; origin: string };
  featureGates?: { value: Record<string, boolean>; origin: string };
  foundIn?: string;
  notes?: string[];
}

/** Skipped with the reason on a developer's machine; on CI (CI set) the test runs and fails instead. */
function needsNode(): { skip?: string } {
  const why = kubeadmNodeUnavailable(SCRATCH);
  return why !== undefined && !process.env.CI ? { skip: why } : {};
}

function skipFor(c: Case): { skip?: string } {
  const plan = etcdVersionPlans().find((p) => p.build.minor === c.etcd);
  if (plan === undefined) return { skip: `etcd ${c.etcd} is not in ETCD_VERSIONS` };
  const etcd = needsEtcd(plan);
  return etcd.skip !== undefined ? etcd : needsNode();
}

/** The value of `--flag=` in a command line. */
function flag(argv: readonly string[], name: string): string {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (a === undefined) throw new Error(`no --${name} in ${argv.join(' ')}`);
  return a.slice(name.length + 3);
}

/** The image the kubelet would pull for the agent: the Dockerfile's runtime config, Node.js and the repository. */
function agentImage(): ImageConfig {
  if (!existsSync(join(REPO, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run npm run build first');
  return imageFromDockerfile(join(REPO, 'Dockerfile'), [['/usr/local/bin/node', process.execPath], ['/app', REPO]]);
}

/** registry.k8s.io/etcd: distroless, etcd at /usr/local/bin/etcd, root, no entrypoint of its own. */
function etcdImage(build: EtcdBuild): ImageConfig {
  return { entrypoint: [], cmd: [], env: { PATH: DOCKER_DEFAULT_PATH }, workdir: '/', uid: 0, gid: 0, files: [['/usr/local/bin/etcd', build.bin]] };
}

/**
 * The sources the container's environment leaves on (the agent's --probe-enabled / --processes-enabled),
 * and the candidate probe only where candidates are named (--candidate-dir: no default).
 */
function enabledSources(c: ContainerSpec): string[] {
  const env = new Map(c.env.map(([k, v]) => [k, 'value' in v ? v.value : undefined]));
  const off = (name: string) => env.get(name) === 'false';
  return SOURCE_NAMES.filter(
    (s) =>
      !(s === 'fsync_probe' && off('ETCD_LATENCY_AGENT_PROBE_ENABLED')) &&
      !(s === 'processes' && off('ETCD_LATENCY_AGENT_PROCESSES_ENABLED')) &&
      !(s === 'candidate_probe' && !env.get('ETCD_LATENCY_AGENT_CANDIDATE_DIR')),
  );
}

/** `name{labels} value` lines of one metric: the labels as a map, the value. */
function series(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** The mount options of the topmost mount at `mountPoint` in a process's mountinfo. */
function mountOptions(mountinfo: string, mountPoint: string): string[] | undefined {
  let found: string[] | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f[4] === mountPoint) found = (f[5] ?? '').split(',');
  }
  return found;
}

/** Fields of /proc/PID/status, e.g. CapEff → '0000000000000000'. */
function procStatus(pid: number): Map<string, string> {
  return new Map(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim().replace(/\s+/g, ' ')] as const;
  }));
}

async function getJson<T>(node: KubeadmNode, port: number, path: string): Promise<{ status: number; body: T | undefined }> {
  const r = await node.http(node.ip, port, path);
  return { status: r.status, body: r.status === 200 ? (JSON.parse(r.body) as T) : undefined };
}

/**
 * Waits until every enabled source is up and the agent has evaluated its diagnosis since (the first
 * evaluation after that is the one that sees the probe and etcd). Returns what it saw then; throws
 * with the last status when that does not happen in time.
 */
async function settle(node: KubeadmNode, port: number, expected: readonly string[], agent: RunningPod, timeoutMs: number): Promise<{ status: Status; diagnosis: Diagnosis }> {
  const deadline = Date.now() + timeoutMs;
  let allUpAt: number | undefined;
  let last = '';
  while (Date.now() < deadline) {
    const status = (await getJson<Status>(node, port, '/api/v1/status').catch(() => ({ body: undefined }))).body;
    last = JSON.stringify(status?.sources ?? {}, (k, v: unknown) => (k === 'latest' ? undefined : v));
    if (status !== undefined && expected.every((s) => status.sources[s]?.up === true)) {
      allUpAt ??= Date.now();
      const diagnosis = (await getJson<Diagnosis>(node, port, '/api/v1/diagnosis')).body;
      if (diagnosis !== undefined && Date.parse(diagnosis.at) > allUpAt) return { status, diagnosis };
    } else {
      allUpAt = undefined;
    }
    await sleep(500);
  }
  throw new Error(`the agent did not settle within ${timeoutMs} ms; last status: ${last}\nagent log:\n${agent.log().slice(-4000)}`);
}

/** What the container may and may not do, tried from inside it (`kubectl exec`). */
const INSIDE = `
const fs = require('node:fs');
const out = {};
const attempt = (what, f) => { try { f(); out[what] = 'ok'; } catch (e) { out[what] = e.code; } };
attempt('write /', () => fs.writeFileSync('/kubeadm-node-test', 'x'));
attempt('write /var/lib/etcd', () => fs.writeFileSync('/var/lib/etcd/kubeadm-node-test', 'x'));
attempt('write the probe dir', () => { fs.writeFileSync('/var/lib/etcd-latency-agent/exec-test', 'x'); fs.unlinkSync('/var/lib/etcd-latency-agent/exec-test'); });
attempt("read another user's 0600 file", () => fs.readFileSync('/var/lib/etcd-latency-agent/not-root-0600'));
attempt('read the healthcheck client key', () => fs.readFileSync('/etc/kubernetes/pki/etcd/healthcheck-client.key'));
attempt('read the etcd CA key', () => fs.readFileSync('/etc/kubernetes/pki/etcd/ca.key'));
attempt('read the etcd server key', () => fs.readFileSync('/etc/kubernetes/pki/etcd/server.key'));
console.log(JSON.stringify(out));
`;

interface LaidOut {
  readonly node: KubeadmNode;
  readonly pki: string;
  readonly manifestText: string;
  readonly etcdPod: PodSpec;
}

/**
 * The node's files as `kubeadm init` leaves them: PKI, manifest, /var/lib/etcd; then the node boots.
 * With `separateEtcdDisk`, /var/lib/etcd is a filesystem of its own, as after the separate_disk remedy.
 */
async function layOutNode(t: Test, cleanups: Cleanups, dir: string, c: Case, separateEtcdDisk = false): Promise<LaidOut> {
  const manifestText = await readFile(join(FIXTURES, c.manifest), 'utf8');
  const { pod: etcdPod, annotations } = readStaticPod(manifestText, c.manifest);
  const nodeName = flag(etcdPod.containers[0]?.command ?? [], 'name');
  const nodeIp = new URL(annotations['kubeadm.kubernetes.io/etcd.advertise-client-urls'] ?? '').hostname;
  // etcd's disk: ext4 on a loop device backed by RAM, larger than the probe's default 1 GiB free-space floor.
  const disk = makeLoopFs(cleanups, join(dir, 'disk.img'), join(dir, 'disk'), 2048);
  const etcdDisk = separateEtcdDisk ? makeLoopFs(cleanups, join(dir, 'etcd-disk.img'), join(dir, 'etcd-disk'), 1024).mountpoint : undefined;
  const node = createKubeadmNode(cleanups, { name: nodeName, ip: nodeIp, dir: join(dir, 'node'), varLib: join(disk.mountpoint, 'var-lib'), ...(etcdDisk ? { etcdDisk } : {}) });
  await makeNodeDir(node, '/var/lib/etcd', 0o700);
  const pki = node.file('/etc/kubernetes/pki/etcd');
  await writeKubeadmEtcdPki(pki, { nodeName, advertiseAddress: nodeIp });
  const manifestFile = join(await makeNodeDir(node, '/etc/kubernetes/manifests', 0o755), 'etcd.yaml');
  await writeFile(manifestFile, manifestText, { mode: 0o600 });
  await chown(manifestFile, 0, 0);

  const sans = etcdAltNames({ nodeName, advertiseAddress: nodeIp }).map((s) => s.replace(/^IP:::1$/, 'IP Address:0:0:0:0:0:0:0:1').replace(/^IP:/, 'IP Address:'));
  t.same(await certificateExtension(join(pki, 'server.crt'), 'subjectAltName'), sans, "the etcd server certificate has kubeadm's SANs");
  t.equal(await certificateSubject(join(pki, 'healthcheck-client.crt')), 'CN=kube-etcd-healthcheck-client,O=system:masters', "the healthcheck client is kubeadm's");
  t.same(ETCD_PKI_FILES.map((f) => statSync(join(pki, f))).map((st) => [st.mode & 0o777, st.uid]),
    ETCD_PKI_FILES.map((f) => [f.endsWith('.key') ? 0o600 : 0o644, 0]), 'keys 0600 and certificates 0644, owned by root');
  await node.boot();
  return { node, pki, manifestText, etcdPod };
}

/** etcd as the kubelet starts it from the manifest, up once its startup probe passes. */
async function startEtcd(t: Test, n: LaidOut, build: EtcdBuild): Promise<RunningPod> {
  const etcd = await n.node.runPod(n.etcdPod, 'etcd', etcdImage(build));
  await n.node.waitForProbe(etcd, 'startupProbe', 60_000);
  const tls = [`--cacert=${join(n.pki, 'ca.crt')}`, `--cert=${join(n.pki, 'healthcheck-client.crt')}`, `--key=${join(n.pki, 'healthcheck-client.key')}`];
  const health = await n.node.netExec(ETCDCTL, ['--endpoints=https://127.0.0.1:2379', ...tls, 'endpoint', 'health']);
  t.match(health.stdout + health.stderr, /is healthy/, 'etcdctl with the healthcheck client certificate finds the member healthy (ground truth)');
  return etcd;
}

/** Ready, every enabled source up, 250/2500 and the corrupt-check gate, the member's version, its /readyz, healthy. */
async function checkAgentOnLiveNode(t: Test, n: LaidOut, agent: RunningPod, port: number, c: Case, build: EtcdBuild): Promise<void> {
  t.equal((await n.node.waitForProbe(agent, 'readinessProbe', 60_000)).status, 200, '/readyz answers 200');
  const expected = enabledSources(agent.container);
  const { status, diagnosis } = await settle(n.node, port, expected, agent, 60_000);
  t.same(Object.keys(status.sources).sort(), [...expected].sort(), 'the sources are those the DaemonSet enables');
  for (const s of expected) t.equal(status.sources[s]?.up, true, `${s} is up`, { lastError: status.sources[s]?.lastError });

  const metrics = (await n.node.http(n.node.ip, port, '/metrics')).body;
  const heartbeat = series(metrics, 'etcd_latency_agent_etcd_heartbeat_interval_seconds');
  const election = series(metrics, 'etcd_latency_agent_etcd_election_timeout_seconds');
  t.same(heartbeat.map((s) => s.value), [0.25], 'heartbeat interval 250 ms', { series: heartbeat });
  t.same(election.map((s) => s.value), [2.5], 'election timeout 2500 ms', { series: election });
  const config = status.sources.etcd_config?.latest?.value as EtcdConfigSample | undefined;
  t.match(config?.foundIn ?? '', flag(agent.container.args ?? [], 'etcd-manifest'), 'the agent read the manifest the DaemonSet mounts');
  t.notMatch((config?.notes ?? []).join('\n'), /but the manifest has/, 'the manifest and the running etcd agree');
  t.same(config?.featureGates?.value, { InitialCorruptCheck: true }, `kubeadm ${c.kubeadm}'s corrupt-check flag is read as the InitialCorruptCheck gate`);
  const fromManifest = parseEtcdArgs(parseManifest(n.manifestText)?.args ?? []);
  t.same([fromManifest['heartbeat-interval'], fromManifest['election-timeout']], ['250', '2500'], "the agent's manifest reader finds 250/2500 in this manifest");

  const member = series(metrics, 'etcd_latency_agent_etcd_member_info');
  t.same(member.map((s) => [s.labels.member, s.labels.version]), [[n.node.name, build.version]], `member ${n.node.name} runs etcd ${build.version}`);
  const ready = series(metrics, 'etcd_latency_agent_etcd_ready');
  t.same(ready.map((s) => [s.labels.endpoint, s.value]), [['readyz', 1]], `etcd ${build.version} answers /readyz: ready`);
  const checks = series(metrics, 'etcd_latency_agent_etcd_health_check').filter((s) => s.labels.endpoint === 'readyz');
  t.ok(checks.length > 0 && checks.every((s) => s.value === 1), "every check of etcd's /readyz passes", { checks: checks.map((s) => s.labels.check) });
  t.equal(diagnosis.verdict, 'healthy', 'the healthy member is diagnosed healthy', { findings: diagnosis.findings });
  t.same(diagnosis.findings.filter((f) => f.severity !== 'info'), [], 'no finding above info');
}

/** UID 0, no capabilities, read-only root and mounts as the DaemonSet says, of the PKI only the client files. */
async function checkConfinement(t: Test, node: KubeadmNode, agent: RunningPod): Promise<void> {
  const proc = procStatus(agent.pid);
  t.same(['Uid', 'Gid', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs'].map((k) => proc.get(k)),
    ['0 0 0 0', '0 0 0 0', ...Array<string>(5).fill('0000000000000000'), '1'], 'the agent runs as UID 0 with no capability and no_new_privs');
  const mountinfo = readFileSync(`/proc/${agent.pid}/mountinfo`, 'utf8');
  t.ok(mountOptions(mountinfo, '/')?.includes('ro'), "the agent's root is read-only");
  for (const m of agent.container.mounts) {
    t.equal(mountOptions(mountinfo, m.mountPath)?.[0], m.readOnly ? 'ro' : 'rw', `${m.mountPath} is mounted ${m.readOnly ? 'read-only' : 'writable'}`);
  }
  // Root without CAP_DAC_OVERRIDE cannot read another user's 0600 file: put one where the agent can look.
  const notRoot = node.file('/var/lib/etcd-latency-agent/not-root-0600');
  await writeFile(notRoot, 'x', { mode: 0o600 });
  await chown(notRoot, 65534, 65534);
  await chmod(notRoot, 0o600);
  const inside = await agent.exec(['node', '-e', INSIDE]).finally(() => rm(notRoot, { force: true }));
  t.same(JSON.parse(inside.stdout || '{}') as unknown, {
    'write /': 'EROFS',
    'write /var/lib/etcd': 'EROFS',
    'write the probe dir': 'ok',
    "read another user's 0600 file": 'EACCES',
    'read the healthcheck client key': 'ok',
    'read the etcd CA key': 'ENOENT',
    'read the etcd server key': 'ENOENT',
  }, 'inside the container: root and etcd data read-only, no CAP_DAC_OVERRIDE, of the PKI only the client files', { stderr: inside.stderr });
  const logged = agent.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string });
  t.same(logged.filter((l) => l.level === 'error'), [], 'the agent logged no error');
}

/** With no etcd running, only the manifest can give the settings: the agent must find them there. */
async function checkManifestAlone(t: Test, node: KubeadmNode, daemonSet: PodSpec, port: number): Promise<void> {
  const agent = await node.runPod(daemonSet, 'agent', agentImage());
  const deadline = Date.now() + 30_000;
  let text = '';
  while (Date.now() < deadline && series(text, 'etcd_latency_agent_etcd_election_timeout_seconds').length === 0) {
    text = await node.http(node.ip, port, '/metrics').then((r) => r.body, () => '');
    await sleep(250);
  }
  const bySource = (name: string) => series(text, name).map((s) => [s.labels.source, s.value]);
  t.same(bySource('etcd_latency_agent_etcd_heartbeat_interval_seconds'), [['manifest', 0.25]], 'with etcd down: heartbeat 250 ms from the manifest', { log: agent.log().slice(-2000) });
  t.same(bySource('etcd_latency_agent_etcd_election_timeout_seconds'), [['manifest', 2.5]], 'with etcd down: election timeout 2500 ms from the manifest');
}

/** A scratch directory on /dev/shm and the clean-ups of one test, run when it ends. */
async function scratch(t: Test): Promise<[Cleanups, string]> {
  const cleanups = new Cleanups();
  t.teardown(async () => {
    for (const problem of await cleanups.run()) t.comment(`clean-up: ${problem}`);
  });
  const dir = await mkdtemp(join(SCRATCH, 'kubeadm-node-'));
  cleanups.add(`rm ${dir}`, () => rm(dir, { recursive: true, force: true }), () => rmSync(dir, { recursive: true, force: true }));
  return [cleanups, dir];
}

/** The agent as the shipped DaemonSet (deploy/base) runs it on the node, and its metrics port. */
async function startShippedAgent(n: LaidOut): Promise<{ daemonSet: PodSpec; agent: RunningPod; port: number }> {
  const daemonSet = kustomizedDaemonSet(join(REPO, 'deploy', 'base'));
  const agent = await n.node.runPod(daemonSet, 'agent', agentImage());
  const port = agent.container.ports.get('metrics');
  if (port === undefined) throw new Error('the DaemonSet names no metrics port');
  return { daemonSet, agent, port };
}

for (const c of CASES) {
  t.test(`a kubeadm ${c.kubeadm} node with etcd ${c.etcd}: the DaemonSet's agent becomes ready, reads 250/2500 from the manifest and finds the member healthy`, skipFor(c), async (t) => {
    const build = etcdVersionPlans().find((p) => p.build.minor === c.etcd)!.build;
    const n = await layOutNode(t, ...(await scratch(t)), c);
    const etcd = await startEtcd(t, n, build);
    const { daemonSet, agent, port } = await startShippedAgent(n);
    await checkAgentOnLiveNode(t, n, agent, port, c, build);
    await checkConfinement(t, n.node, agent);
    t.equal(await agent.stop(), 0, 'SIGTERM (the kubelet stopping the pod) ends the agent with status 0');

    await etcd.stop();
    await checkManifestAlone(t, n.node, daemonSet, port);
  });
}

// The agent's own advice followed: etcd moved to a disk of its own, mounted at /var/lib/etcd. The
// DaemonSet's probe directory (/var/lib/etcd-latency-agent) stays on the root disk, so timing it would
// time the wrong disk: the agent must run on without the probe and say why — never a crash loop.
const SEPARATE = CASES[0]!;
t.test(`etcd on a disk of its own at /var/lib/etcd (kubeadm ${SEPARATE.kubeadm}, etcd ${SEPARATE.etcd}): the shipped DaemonSet's agent runs on, the probe off with a finding that says why`, skipFor(SEPARATE), async (t) => {
  const build = etcdVersionPlans().find((p) => p.build.minor === SEPARATE.etcd)!.build;
  const n = await layOutNode(t, ...(await scratch(t)), SEPARATE, true);
  await startEtcd(t, n, build);
  const { agent, port } = await startShippedAgent(n);
  t.equal((await n.node.waitForProbe(agent, 'readinessProbe', 60_000)).status, 200, '/readyz answers 200');
  const expected = enabledSources(agent.container).filter((s) => s !== 'fsync_probe');
  const { status, diagnosis } = await settle(n.node, port, expected, agent, 60_000);
  t.same(Object.keys(status.sources).sort(), [...expected].sort(), 'every source the DaemonSet enables but the probe');
  const off = diagnosis.findings.find((f) => f.code === 'probe_not_on_etcd_filesystem');
  t.equal(off?.severity, 'info', 'the finding says why the probe is off', { findings: diagnosis.findings });
  t.match(off?.summary ?? '', /\/var\/lib\/etcd-latency-agent is on another filesystem than etcd's data dir \/var\/lib\/etcd/);
  t.equal(diagnosis.verdict, 'healthy', 'etcd is still diagnosed, from its own histograms: healthy');
  const metrics = (await n.node.http(n.node.ip, port, '/metrics')).body;
  t.same(series(metrics, 'etcd_latency_agent_finding').filter((s) => s.labels.code === 'probe_not_on_etcd_filesystem').map((s) => s.value), [1], 'the finding as a metric');
  t.ok(series(metrics, 'etcd_latency_agent_etcd_wal_fsync_duration_seconds_count').length > 0, "etcd's own WAL fsync histogram is still read");
  await sleep(3000);
  t.ok(alive(agent.pid), 'no exit, no restart: the agent keeps running');
  const logged = agent.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string });
  t.ok(logged.some((l) => l.level === 'warn' && /the fsync probe is off/.test(l.msg)), 'a warning in the log says the probe is off and why');
  t.equal(await agent.stop(), 0, 'SIGTERM ends it with status 0');
});
