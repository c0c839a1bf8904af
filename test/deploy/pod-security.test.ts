// Which Pod Security Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
// each rendered DaemonSet meets, by a checker of the standard's controls written here, and why it
// cannot meet a stricter one. The checker is tested on pods of known level first.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';

type Level = 'privileged' | 'baseline' | 'restricted';
interface Violation {
  /** The lowest level that forbids it: a baseline violation also fails restricted. */
  readonly level: 'baseline' | 'restricted';
  readonly control: string;
  readonly detail: string;
}
interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec: IPodSpec;
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

/** Every control of the baseline and restricted standards, on a pod template as it is submitted. */
function checkPodSecurity(template: PodTemplate): Violation[] {
  const out: Violation[] = [];
  const add = (level: Violation['level'], control: string, detail: string) => out.push({ level, control, detail });
  const pod = template.spec;
  const psc = pod.securityContext ?? {};
  const containers: IContainer[] = [...(pod.initContainers ?? []), ...pod.containers, ...((pod.ephemeralContainers ?? []) as IContainer[])];

  // ---- baseline
  if (psc.windowsOptions?.hostProcess || containers.some((c) => c.securityContext?.windowsOptions?.hostProcess)) add('baseline', 'HostProcess', 'windowsOptions.hostProcess');
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (pod[ns]) add('baseline', 'Host Namespaces', `${ns}: true`);
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) add('baseline', 'Privileged Containers', `${c.name}: privileged`);
    for (const cap of sc.capabilities?.add ?? []) if (!BASELINE_CAPABILITIES.has(cap)) add('baseline', 'Capabilities', `${c.name}: adds ${cap}`);
    // The API server defaults hostPort to containerPort for host-network pods before admission.
    for (const p of c.ports ?? []) {
      const hostPort = p.hostPort ?? (pod.hostNetwork ? p.containerPort : 0);
      if (hostPort) add('baseline', 'Host Ports', `${c.name}: hostPort ${hostPort}${p.hostPort === undefined ? ' (defaulted from containerPort on the host network)' : ''}`);
    }
    if (sc.appArmorProfile?.type === 'Unconfined') add('baseline', 'AppArmor', `${c.name}: Unconfined`);
    const se = sc.seLinuxOptions;
    if (se && (!SELINUX_TYPES.has(se.type ?? '') || se.user || se.role)) add('baseline', 'SELinux', `${c.name}: seLinuxOptions`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') add('baseline', '/proc Mount Type', `${c.name}: procMount ${sc.procMount}`);
    if (sc.seccompProfile?.type === 'Unconfined') add('baseline', 'Seccomp', `${c.name}: Unconfined`);
  }
  if (psc.appArmorProfile?.type === 'Unconfined') add('baseline', 'AppArmor', 'pod: Unconfined');
  for (const [k, v] of Object.entries(template.metadata?.annotations ?? {})) {
    if (k.startsWith('container.apparmor.security.beta.kubernetes.io/') && v !== 'runtime/default' && !v.startsWith('localhost/')) add('baseline', 'AppArmor', `${k}: ${v}`);
  }
  const pse = psc.seLinuxOptions;
  if (pse && (!SELINUX_TYPES.has(pse.type ?? '') || pse.user || pse.role)) add('baseline', 'SELinux', 'pod: seLinuxOptions');
  if (psc.seccompProfile?.type === 'Unconfined') add('baseline', 'Seccomp', 'pod: Unconfined');
  for (const s of psc.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) add('baseline', 'Sysctls', s.name);
  for (const v of pod.volumes ?? []) if (v.hostPath) add('baseline', 'HostPath Volumes', `${v.name}: ${v.hostPath.path}`);

  // ---- restricted
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type === undefined || !RESTRICTED_VOLUMES.has(type)) add('restricted', 'Volume Types', `${v.name}: ${type}`);
  }
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) add('restricted', 'Privilege Escalation', `${c.name}: allowPrivilegeEscalation is not false`);
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true) add('restricted', 'Running as Non-root', `${c.name}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) add('restricted', 'Running as Non-root user', `${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add('restricted', 'Seccomp', `${c.name}: seccomp ${seccomp ?? 'unset'}`);
    if (!sc.capabilities?.drop?.includes('ALL')) add('restricted', 'Capabilities', `${c.name}: does not drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') add('restricted', 'Capabilities', `${c.name}: adds ${cap}`);
  }
  if (psc.runAsUser === 0) add('restricted', 'Running as Non-root user', 'pod: runAsUser 0');
  return out;
}

const levelOf = (violations: readonly Violation[]): Level =>
  violations.some((v) => v.level === 'baseline') ? 'privileged' : violations.length > 0 ? 'baseline' : 'restricted';
const ORDER: readonly Level[] = ['restricted', 'baseline', 'privileged'];
const controls = (violations: readonly Violation[], level: Violation['level']) => [...new Set(violations.filter((v) => v.level === level).map((v) => v.control))].sort();

// ---- the checker on pods of known level -------------------------------------------------------

const restrictedPod = (): PodTemplate => ({
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
  },
});

t.test('the checker: a fully restricted pod is restricted', async (t) => {
  t.same(checkPodSecurity(restrictedPod()), []);
  t.equal(levelOf(checkPodSecurity(restrictedPod())), 'restricted');
});

t.test('the checker: each baseline control makes a pod privileged', async (t) => {
  const cases: Array<[string, (p: PodTemplate) => void]> = [
    ['Host Namespaces', (p) => { p.spec.hostNetwork = true; }],
    ['Host Namespaces', (p) => { p.spec.hostPID = true; }],
    ['Privileged Containers', (p) => { p.spec.containers[0]!.securityContext!.privileged = true; }],
    ['Capabilities', (p) => { p.spec.containers[0]!.securityContext!.capabilities!.add = ['SYS_ADMIN']; }],
    ['HostPath Volumes', (p) => { p.spec.volumes!.push({ name: 'h', hostPath: { path: '/' } }); }],
    ['Host Ports', (p) => { p.spec.containers[0]!.ports![0]!.hostPort = 8080; }],
    ['Seccomp', (p) => { p.spec.securityContext!.seccompProfile = { type: 'Unconfined' }; }],
    ['/proc Mount Type', (p) => { p.spec.containers[0]!.securityContext!.procMount = 'Unmasked'; }],
    ['Sysctls', (p) => { p.spec.securityContext!.sysctls = [{ name: 'kernel.msgmax', value: '1' }]; }],
    ['SELinux', (p) => { p.spec.securityContext!.seLinuxOptions = { type: 'spc_t' }; }],
    ['AppArmor', (p) => { p.spec.containers[0]!.securityContext!.appArmorProfile = { type: 'Unconfined' }; }],
  ];
  for (const [control, mutate] of cases) {
    const pod = restrictedPod();
    mutate(pod);
    const v = checkPodSecurity(pod);
    t.equal(levelOf(v), 'privileged', control);
    t.ok(controls(v, 'baseline').includes(control), `${control} is named`);
  }
  const hostNet = restrictedPod();
  hostNet.spec.hostNetwork = true;
  t.ok(controls(checkPodSecurity(hostNet), 'baseline').includes('Host Ports'), 'a container port on the host network is a host port');
});

t.test('the checker: each restricted control makes a pod baseline', async (t) => {
  const cases: Array<[string, (p: PodTemplate) => void]> = [
    ['Privilege Escalation', (p) => { delete p.spec.containers[0]!.securityContext!.allowPrivilegeEscalation; }],
    ['Running as Non-root', (p) => { delete p.spec.securityContext!.runAsNonRoot; }],
    ['Running as Non-root user', (p) => { p.spec.containers[0]!.securityContext!.runAsUser = 0; }],
    ['Seccomp', (p) => { delete p.spec.securityContext!.seccompProfile; }],
    ['Capabilities', (p) => { p.spec.containers[0]!.securityContext!.capabilities = {}; }],
    ['Capabilities', (p) => { p.spec.containers[0]!.securityContext!.capabilities!.add = ['CHOWN']; }],
    ['Volume Types', (p) => { p.spec.volumes!.push({ name: 'n', nfs: { server: 's', path: '/' } }); }],
  ];
  for (const [control, mutate] of cases) {
    const pod = restrictedPod();
    mutate(pod);
    const v = checkPodSecurity(pod);
    t.equal(levelOf(v), 'baseline', control);
    t.same(controls(v, 'restricted'), [control], `only ${control} is named`);
  }
});

// ---- the rendered DaemonSets ------------------------------------------------------------------

const DEPLOY = join(resolve(import.meta.dirname, '../..'), 'deploy');
interface Rendered {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { template?: PodTemplate };
}
function render(dir: string): Rendered[] {
  const out = execFileSync('kubectl', ['kustomize', join(DEPLOY, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return YAML.parseAllDocuments(out).map((d) => d.toJS() as Rendered);
}

// What each kustomization meets, and the controls that keep it from the next level. The inherent
// ones: the agent must reach etcd on 127.0.0.1 (host network, hence a host port) and read the host's
// disk counters, mount table, etcd's data dir and certs (host paths).
const EXPECTED: Record<string, { baseline: string[]; restrictedBeyondHostAccess: string[] }> = {
  base: { baseline: ['Host Namespaces', 'Host Ports', 'HostPath Volumes'], restrictedBeyondHostAccess: ['Running as Non-root', 'Running as Non-root user'] },
  'overlays/hostpid': { baseline: ['Host Namespaces', 'Host Ports', 'HostPath Volumes'], restrictedBeyondHostAccess: ['Running as Non-root', 'Running as Non-root user'] },
  'overlays/read-only': { baseline: ['Host Namespaces', 'Host Ports', 'HostPath Volumes'], restrictedBeyondHostAccess: ['Running as Non-root', 'Running as Non-root user'] },
  'overlays/kube-prometheus-stack': { baseline: ['Host Namespaces', 'Host Ports', 'HostPath Volumes'], restrictedBeyondHostAccess: ['Running as Non-root', 'Running as Non-root user'] },
  'overlays/non-root': { baseline: ['Host Namespaces', 'Host Ports', 'HostPath Volumes'], restrictedBeyondHostAccess: [] },
  agent: { baseline: ['Host Namespaces', 'Host Ports', 'HostPath Volumes'], restrictedBeyondHostAccess: ['Running as Non-root', 'Running as Non-root user'] },
  'overlays/scs-workload': { baseline: ['Host Namespaces', 'Host Ports', 'HostPath Volumes'], restrictedBeyondHostAccess: ['Running as Non-root', 'Running as Non-root user'] },
};
/** Kustomizations that run no pod: the monitoring part alone. */
const WITHOUT_PODS = ['overlays/scs-observer'];
const HOST_ACCESS_DETAILS: Record<string, RegExp> = {
  'Host Namespaces': /^hostNetwork: true$|^hostPID: true$/,
  'Host Ports': /^agent: hostPort 9379 \(defaulted/,
  'HostPath Volumes': /./,
};

t.test('every kustomization has an expected level here', async (t) => {
  const overlays = readdirSync(join(DEPLOY, 'overlays')).map((n) => `overlays/${n}`);
  t.same([...Object.keys(EXPECTED), ...WITHOUT_PODS].sort(), ['base', 'agent', ...overlays].sort(), 'add a new overlay to EXPECTED with the level it meets');
  for (const dir of WITHOUT_PODS) t.notOk(render(dir).some((o) => o.spec?.template !== undefined), `${dir}: no pod template`);
});

for (const [dir, expected] of Object.entries(EXPECTED)) {
  t.test(`${dir}: meets "privileged" only, because of host access, and nothing avoidable`, async (t) => {
    const objects = render(dir);
    const ds = objects.find((o) => o.kind === 'DaemonSet')!;
    const ns = objects.find((o) => o.kind === 'Namespace')!;
    const violations = checkPodSecurity(ds.spec!.template!);
    t.equal(levelOf(violations), 'privileged');
    t.same(controls(violations, 'baseline'), expected.baseline, 'the baseline controls it fails');
    for (const v of violations.filter((x) => x.level === 'baseline')) t.match(v.detail, HOST_ACCESS_DETAILS[v.control]!, `${v.control}: ${v.detail}`);
    t.equal(violations.some((v) => v.detail.startsWith('hostPID')), dir === 'overlays/hostpid', 'hostPID only where asked for');
    // Restricted controls other than the volume type (hostPath again): what would remain without host access.
    t.same(
      controls(violations, 'restricted').filter((c) => c !== 'Volume Types'),
      expected.restrictedBeyondHostAccess,
      'restricted controls beyond host access',
    );
    const enforce = ns.metadata.labels?.['pod-security.kubernetes.io/enforce'] as Level | undefined;
    t.ok(enforce && ORDER.indexOf(enforce) >= ORDER.indexOf(levelOf(violations)), `the namespace enforces ${enforce}, which admits the pod`);
  });
}
