// The kustomize tree in deploy/, rendered by the real `kubectl kustomize` and checked against the
// Kubernetes and prometheus-operator schemas and against the agent itself: the DaemonSet's flags and
// environment must be accepted by the agent's own parser, and its ports, probe paths and mounts must
// match what the agent does with that configuration.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import t, { type Test } from 'tap';
import ts from 'typescript';
import YAML from 'yaml';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { buildConfig, ENV_PREFIX, envName, FLAGS, splitArgs, type Config } from '../../src/commands/config.js';
import { METRICS, SCRAPE_JOB } from '../../src/export/prometheus/contract.js';
import { kustomize, modelClass, type K8sObject } from '../helpers/manifests.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** The kustomizations an operator can apply: the base and every overlay (found, not listed). */
const overlayNames = readdirSync(join(DEPLOY, 'overlays')).filter((n) => statSync(join(DEPLOY, 'overlays', n)).isDirectory()).sort();
const TARGETS: ReadonlyArray<readonly [string, string]> = [
  ['base', join(DEPLOY, 'base')],
  ['agent', join(DEPLOY, 'agent')],
  ['monitoring', join(DEPLOY, 'monitoring')],
  ...overlayNames.map((n) => [`overlays/${n}`, join(DEPLOY, 'overlays', n)] as const),
];
const rendered = new Map(TARGETS.map(([name, dir]) => [name, kustomize(dir)]));
/** The kustomizations that run the agent (all but the monitoring part alone). */
const workloads = new Map([...rendered].filter(([, objects]) => objects.some((o) => o.kind === 'DaemonSet')));

const only = <T extends K8sObject>(objects: K8sObject[], kind: string): T => {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as T;
};
const daemonSetOf = (objects: K8sObject[]) => only<K8sObject & IDaemonSet>(objects, 'DaemonSet');
const podOf = (objects: K8sObject[]): IPodSpec => daemonSetOf(objects).spec!.template.spec!;
const agentOf = (objects: K8sObject[]): IContainer => {
  const c = podOf(objects).containers.find((x) => x.name === 'agent');
  if (!c) throw new Error('no container named agent');
  return c;
};

t.test('the expected overlays exist and every kustomization renders with kubectl kustomize', async (t) => {
  for (const name of ['hostpid', 'kube-prometheus-stack', 'non-root', 'read-only', 'scs-observer', 'scs-workload']) t.ok(overlayNames.includes(name), `overlays/${name} exists`);
  for (const [name, objects] of rendered) {
    t.ok(objects.length >= 3, `${name}: ${objects.length} objects`);
    for (const o of objects) {
      if (o.kind !== 'Namespace') t.equal(o.metadata.namespace, 'etcd-latency-agent', `${name}: ${o.kind}/${o.metadata.name} is in the agent's namespace`);
    }
  }
});

// ---- schema validation -----------------------------------------------------------------------

t.test('every rendered object validates against its Kubernetes / prometheus-operator schema', async (t) => {
  for (const [name, objects] of rendered) {
    for (const o of objects) {
      const Model = await modelClass(o.apiVersion, o.kind);
      t.doesNotThrow(() => new Model(o).validate(), `${name}: ${o.kind}/${o.metadata.name}`);
    }
  }
});

t.test('the schema validation can fail: a wrong type is reported', async (t) => {
  const ds = structuredClone(daemonSetOf(rendered.get('base')!));
  ds.spec!.template.spec!.containers[0]!.ports![0]!.containerPort = 'nine' as unknown as number;
  const Model = await modelClass(ds.apiVersion, ds.kind);
  t.throws(() => new Model(ds).validate(), /containerPort/);
});

// The schemas accept unknown fields (a misspelt readOnlyRootFileSystem would pass and do nothing), so
// every field is also looked up in the models' TypeScript declarations.
const KIND_TYPES: Record<string, string> = {
  Namespace: "import('kubernetes-models/v1/Namespace').INamespace",
  ServiceAccount: "import('kubernetes-models/v1/ServiceAccount').IServiceAccount",
  Service: "import('kubernetes-models/v1/Service').IService",
  ConfigMap: "import('kubernetes-models/v1/ConfigMap').IConfigMap",
  Secret: "import('kubernetes-models/v1/Secret').ISecret",
  DaemonSet: "import('kubernetes-models/apps/v1/DaemonSet').IDaemonSet",
  ServiceMonitor: "import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor').IServiceMonitor",
  PrometheusRule: "import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule').IPrometheusRule",
};

function declaredFieldsChecker() {
  const entry = join(ROOT, 'test/deploy/__kinds__.ts');
  const source = `export type Kinds = {\n${Object.entries(KIND_TYPES).map(([k, v]) => `  ${k}: ${v};`).join('\n')}\n};\n`;
  const host = ts.createCompilerHost({});
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => (resolve(f) === entry ? source : readFile(f));
  host.fileExists = (f) => resolve(f) === entry || fileExists(f);
  const program = ts.createProgram(
    [entry],
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, noEmit: true, types: [] },
    host,
  );
  const checker = program.getTypeChecker();
  const alias = program.getSourceFile(entry)!.statements.find(ts.isTypeAliasDeclaration)!;
  const kinds = checker.getTypeAtLocation(alias.name);
  const objectTypes = (type: ts.Type): ts.Type[] => {
    const t1 = checker.getNonNullableType(type);
    return (t1.isUnion() ? t1.types : [t1]).filter((x) => (x.flags & ts.TypeFlags.Object) !== 0);
  };
  const walk = (value: unknown, type: ts.Type, at: string, out: string[]): void => {
    if (value === null || typeof value !== 'object') return;
    const candidates = objectTypes(type);
    if (candidates.length === 0) return; // e.g. a free-form JSON field
    if (Array.isArray(value)) {
      const arrayType = candidates.find((c) => checker.isArrayType(c));
      if (!arrayType) return void out.push(`${at}: a list where the schema has none`);
      const element = checker.getTypeArguments(arrayType as ts.TypeReference)[0]!;
      value.forEach((v, i) => walk(v, element, `${at}[${i}]`, out));
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      const holder = candidates.find((c) => checker.getPropertyOfType(c, key) !== undefined);
      if (holder) {
        walk(v, checker.getTypeOfSymbol(checker.getPropertyOfType(holder, key)!), `${at}.${key}`, out);
        continue;
      }
      const index = candidates.map((c) => checker.getIndexInfoOfType(c, ts.IndexKind.String)).find((i) => i !== undefined);
      if (index) walk(v, index.type, `${at}.${key}`, out);
      else out.push(`${at}.${key}`);
    }
  };
  return (o: K8sObject): string[] => {
    const prop = checker.getPropertyOfType(kinds, o.kind);
    if (!prop) return [`${o.kind}: no declared type; add it to KIND_TYPES`];
    const out: string[] = [];
    walk(o, checker.getTypeOfSymbol(prop), o.kind, out);
    return out;
  };
}

t.test('no rendered object has a field its schema does not declare (typos pass validate())', async (t) => {
  const undeclared = declaredFieldsChecker();
  for (const [name, objects] of rendered) {
    for (const o of objects) t.same(undeclared(o), [], `${name}: ${o.kind}/${o.metadata.name}`);
  }
  const typo = structuredClone(daemonSetOf(rendered.get('base')!)) as K8sObject & IDaemonSet;
  (typo.spec!.template.spec!.containers[0]!.securityContext as Record<string, unknown>)['readOnlyRootFileSystem'] = true;
  t.same(undeclared(typo), ['DaemonSet.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem'], 'a misspelt field is found');
});

// ---- no drift between the DaemonSet and the agent ------------------------------------------

/** What the agent sees: its args, and its environment as the kubelet builds it on node "cp-1". */
function agentConfig(c: IContainer): { config: Config; argFlags: string[]; envFlags: string[] } {
  const env: NodeJS.ProcessEnv = {};
  const fieldRefs: Record<string, string> = { 'spec.nodeName': 'cp-1', 'status.hostIP': '10.0.0.1', 'metadata.uid': '0b6c1e5a-3f2d-4c8b-9a7e-1d2c3b4a5f60' };
  for (const e of c.env ?? []) {
    // As the kubelet does: $(NAME) expands from the entries defined before this one.
    if (e.value !== undefined) env[e.name] = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref: string, name: string) => env[name] ?? ref);
    else if (e.valueFrom?.fieldRef?.fieldPath !== undefined && e.valueFrom.fieldRef.fieldPath in fieldRefs) env[e.name] = fieldRefs[e.valueFrom.fieldRef.fieldPath];
    else throw new Error(`env ${e.name}: only values, spec.nodeName, status.hostIP and metadata.uid are expected`);
  }
  const cli = splitArgs(c.args ?? []);
  if (cli.command !== 'run' || cli.help || cli.version) throw new Error('the container must run the agent, not a command or --help');
  const envFlags = FLAGS.filter((f) => env[envName(f)] !== undefined).map((f) => f.flag);
  return { config: buildConfig(cli.values, env), argFlags: [...cli.values.keys()], envFlags };
}

t.test("the DaemonSet's args and environment are accepted by the agent's own parser", async (t) => {
  const known = new Set(FLAGS.map((f) => envName(f)));
  for (const [name, objects] of workloads) {
    const c = agentOf(objects);
    t.equal(c.command, undefined, `${name}: the image's ENTRYPOINT runs the agent`);
    const { config, argFlags, envFlags } = agentConfig(c);
    const shadowed = argFlags.filter((f) => envFlags.includes(f));
    t.same(shadowed, [], `${name}: no flag is set both as an arg and in the environment (the arg would silently win)`);
    const unknownEnv = (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith(ENV_PREFIX) && !known.has(n));
    t.same(unknownEnv, [], `${name}: every ${ENV_PREFIX}* variable is a flag the agent knows`);
    t.same(config.etcdEndpoints, ['https://127.0.0.1:2379'], `${name}: kubeadm's etcd client URL`);
    t.equal(config.etcdMetricsUrl, 'http://127.0.0.1:2381/metrics', `${name}: kubeadm's --listen-metrics-urls`);
    t.equal(config.memberName, 'cp-1', `${name}: member name is the node name`);
    t.equal(config.logFormat, 'json', `${name}: JSON logs`);
    t.ok(config.etcdCacert && config.etcdCert && config.etcdKey, `${name}: TLS files are given`);
  }
});

t.test('a misspelt flag in the DaemonSet would be refused by the agent', async (t) => {
  const c = structuredClone(agentOf(rendered.get('base')!));
  c.args = [...(c.args ?? []), '--probe-intervall=1s'];
  t.throws(() => agentConfig(c), /unknown flag --probe-intervall/);
});

t.test("ports and probe paths match the agent's defaults", async (t) => {
  const defaultListen = FLAGS.find((f) => f.flag === 'listen-address')!.default!;
  const defaultPort = Number(defaultListen.split(':').pop());
  for (const [name, objects] of workloads) {
    const c = agentOf(objects);
    const { config } = agentConfig(c);
    t.equal(config.listenAddress.port, defaultPort, `${name}: the agent listens on its default port`);
    t.equal(config.listenAddress.host, '0.0.0.0', `${name}: on all addresses of the node (the kubelet probes the node IP)`);
    const metrics = c.ports?.find((p) => p.name === 'metrics');
    t.equal(metrics?.containerPort, config.listenAddress.port, `${name}: container port "metrics" is the listen port`);
    t.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${name}: liveness is /healthz`);
    t.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${name}: readiness is /readyz`);
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      const port = probe?.httpGet?.port;
      t.ok(port === 'metrics' || port === config.listenAddress.port, `${name}: probes use the metrics port`);
    }
    const svc = only<K8sObject & IService>(objects, 'Service');
    t.equal(svc.spec?.clusterIP, 'None', `${name}: the Service is headless`);
    const svcPort = svc.spec?.ports?.find((p) => p.name === 'metrics');
    t.ok(svcPort?.targetPort === 'metrics' || svcPort?.targetPort === config.listenAddress.port, `${name}: the Service targets the metrics port`);
    const ds = daemonSetOf(objects);
    const podLabels = ds.spec!.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) t.equal(podLabels[k], v, `${name}: the Service selects the pods (${k})`);
    for (const [k, v] of Object.entries(ds.spec!.selector.matchLabels ?? {})) t.equal(podLabels[k], v, `${name}: the DaemonSet selects its pods (${k})`);
  }
});

interface Mount { mountPath: string; readOnly: boolean; hostPath?: string; volume: string }

function mountsOf(objects: K8sObject[]): Mount[] {
  const pod = podOf(objects);
  return (agentOf(objects).volumeMounts ?? []).map((m) => {
    const v = pod.volumes?.find((x) => x.name === m.name);
    if (!v) throw new Error(`volumeMount ${m.mountPath} names a missing volume ${m.name}`);
    return { mountPath: m.mountPath, readOnly: m.readOnly === true, volume: m.name, ...(v.hostPath ? { hostPath: v.hostPath.path } : {}) };
  });
}

/** The mount a container path lies on (the deepest), and the host path it maps to when a hostPath. */
function locate(mounts: Mount[], path: string): { mount: Mount; hostPath?: string } | undefined {
  const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
  const mount = mounts.filter((m) => inside(path, m.mountPath)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) return undefined;
  return { mount, ...(mount.hostPath ? { hostPath: posix.join(mount.hostPath, posix.relative(mount.mountPath, path)) } : {}) };
}

t.test('every path the agent is given is mounted, read-only except the probe directory', async (t) => {
  const defaultOf = (flag: string) => FLAGS.find((f) => f.flag === flag)!.default!;
  for (const [name, objects] of workloads) {
    const { config } = agentConfig(agentOf(objects));
    const mounts = mountsOf(objects);
    const files: Array<[string, string | undefined]> = [
      ['--etcd-data-dir', config.etcdDataDir],
      ['--etcd-manifest', config.etcdManifest],
      ['--proc-path', config.procPath],
      ['--sys-path', config.sysPath],
      ['--etcd-cacert', config.etcdCacert],
      ['--etcd-cert', config.etcdCert],
      ['--etcd-key', config.etcdKey],
    ];
    for (const [flag, path] of files) {
      const at = path === undefined ? undefined : locate(mounts, path);
      t.ok(at, `${name}: ${flag}=${path} is on a mounted volume`);
      t.equal(at?.mount.readOnly, true, `${name}: ${flag} is mounted read-only`);
    }
    // The host files the agent reads are the ones it would read on the host itself by default.
    t.equal(locate(mounts, config.etcdDataDir)?.hostPath, defaultOf('etcd-data-dir'), `${name}: the data dir is the host's ${defaultOf('etcd-data-dir')}`);
    t.equal(config.etcdDataDir, defaultOf('etcd-data-dir'), `${name}: mounted at the same path, so it matches etcd's own --data-dir`);
    t.equal(locate(mounts, config.etcdManifest)?.hostPath, defaultOf('etcd-manifest'), `${name}: the manifest is the host's kubeadm manifest`);
    t.equal(locate(mounts, config.procPath)?.hostPath, '/proc', `${name}: --proc-path is the host's /proc`);
    t.equal(locate(mounts, config.sysPath)?.hostPath, '/sys', `${name}: --sys-path is the host's /sys`);
    if (config.cgroupIoEnabled) {
      t.equal(locate(mounts, config.cgroupPath)?.hostPath, '/sys/fs/cgroup', `${name}: --cgroup-path is the host's /sys/fs/cgroup`);
      for (const dir of ['pods', 'containers']) {
        t.equal(locate(mounts, `${config.podLogsPath}/${dir}`)?.hostPath, `/var/log/${dir}`, `${name}: kubelet's /var/log/${dir} is under --pod-logs-path`);
      }
    }
    const writable = mounts.filter((m) => !m.readOnly);
    if (config.probeEnabled) {
      t.ok(config.probeDir, `${name}: with the probe on, the probe dir is explicit (no fallback to another disk)`);
      const at = locate(mounts, config.probeDir!);
      t.equal(at?.mount.readOnly, false, `${name}: the probe dir is writable`);
      t.equal(at?.hostPath, config.probeDir, `${name}: the probe dir has the same path inside and on the host (the agent's probe_info path is the host's)`);
      t.equal(posix.dirname(at?.hostPath ?? ''), posix.dirname(locate(mounts, config.etcdDataDir)?.hostPath ?? '?'), `${name}: the probe dir is beside etcd's data dir (same filesystem on kubeadm nodes)`);
      t.same(writable.map((m) => m.mountPath), [config.probeDir], `${name}: the probe dir is the only writable mount`);
    } else {
      t.same(writable, [], `${name}: read-only mode has no writable mount`);
    }
  }
});

t.test('the image tag is the package version', async (t) => {
  for (const [name, objects] of workloads) {
    t.match(agentOf(objects).image, new RegExp(`^(?:.+/)?etcd-latency-agent:${PACKAGE.version.replace(/\./g, '\\.')}(?:@sha256:[0-9a-f]{64})?$`), name);
  }
});

// ---- the pod's shape and security ----------------------------------------------------------

t.test('the container is locked down: read-only root, no escalation, no capabilities, RuntimeDefault seccomp', async (t) => {
  for (const [name, objects] of workloads) {
    const pod = podOf(objects);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const sc = c.securityContext ?? {};
      t.equal(sc.readOnlyRootFilesystem, true, `${name}/${c.name}: readOnlyRootFilesystem`);
      t.equal(sc.allowPrivilegeEscalation, false, `${name}/${c.name}: allowPrivilegeEscalation false`);
      t.not(sc.privileged, true, `${name}/${c.name}: not privileged`);
      t.ok(sc.capabilities?.drop?.includes('ALL'), `${name}/${c.name}: drops ALL capabilities`);
      t.same(sc.capabilities?.add ?? [], [], `${name}/${c.name}: adds none back`);
      const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
      t.equal(seccomp, 'RuntimeDefault', `${name}/${c.name}: seccomp RuntimeDefault`);
    }
  }
});

t.test('the pod runs on control-plane nodes only, on the host network, as a node-critical pod, without API access', async (t) => {
  for (const [name, objects] of workloads) {
    const pod = podOf(objects);
    t.equal(pod.nodeSelector?.['node-role.kubernetes.io/control-plane'], '', `${name}: nodeSelector control-plane`);
    t.ok(pod.tolerations?.some((x) => x.key === 'node-role.kubernetes.io/control-plane' && x.operator === 'Exists' && x.effect === undefined), `${name}: tolerates the control-plane taint`);
    t.equal(pod.hostNetwork, true, `${name}: hostNetwork (etcd listens on 127.0.0.1)`);
    t.equal(pod.priorityClassName, 'system-node-critical', `${name}: system-node-critical`);
    t.equal(pod.automountServiceAccountToken, false, `${name}: no service account token`);
    t.equal(pod.hostPID ?? false, name === 'overlays/hostpid', `${name}: hostPID only in the hostpid overlay`);
    t.notOk(pod.hostIPC, `${name}: no hostIPC`);
    const nodeName = agentOf(objects).env?.find((e) => e.name === 'NODE_NAME');
    t.equal(nodeName?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', `${name}: NODE_NAME from the downward API`);
    const r = agentOf(objects).resources;
    t.ok(r?.requests?.cpu && r.requests.memory && r.limits?.memory, `${name}: requests and a memory limit are set`);
    const kinds = objects.map((o) => o.kind);
    for (const k of ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']) t.notOk(kinds.includes(k), `${name}: no ${k}`);
    const sa = only<K8sObject & { automountServiceAccountToken?: boolean }>(objects, 'ServiceAccount');
    t.equal(sa.automountServiceAccountToken, false, `${name}: the ServiceAccount mounts no token either`);
    t.equal(pod.serviceAccountName, sa.metadata.name, `${name}: the pod uses it`);
  }
});

t.test('overlays change what they say and nothing else', async (t) => {
  const ro = agentConfig(agentOf(rendered.get('overlays/read-only')!)).config;
  t.equal(ro.probeEnabled, false, 'read-only: probe disabled');
  t.notOk(podOf(rendered.get('overlays/read-only')!).volumes?.some((v) => v.name === 'probe'), 'read-only: no probe volume');

  const base = agentConfig(agentOf(rendered.get('base')!)).config;
  t.equal(base.probeEnabled, true, 'base: probe enabled');

  const nr = rendered.get('overlays/non-root')!;
  const nrPod = podOf(nr);
  const nrSc = { ...nrPod.securityContext, ...agentOf(nr).securityContext };
  t.equal(nrSc.runAsNonRoot, true, 'non-root: runAsNonRoot');
  t.ok(nrSc.runAsUser !== undefined && nrSc.runAsUser !== 0, 'non-root: a non-zero UID');
  t.notOk(mountsOf(nr).some((m) => m.hostPath?.startsWith('/etc/kubernetes/pki')), "non-root: the host's PKI is not mounted");
  t.ok(nrPod.volumes?.some((v) => v.secret?.secretName === 'etcd-latency-agent-etcd-client'), 'non-root: certs from the Secret');
  const nrConfig = agentConfig(agentOf(nr)).config;
  t.equal(locate(mountsOf(nr), nrConfig.etcdKey!)?.mount.volume, 'etcd-client', 'non-root: --etcd-key is in the Secret volume');

  const baseSc = agentOf(rendered.get('base')!).securityContext;
  t.equal(baseSc?.runAsUser, 0, 'base: UID 0, explicitly (kubeadm key is 0600 root)');

  // Apart from the monitoring objects, the kube-prometheus-stack overlay is the base.
  const strip = (objects: K8sObject[]) => objects.filter((o) => o.apiVersion.startsWith('v1') || o.apiVersion.startsWith('apps/')).filter((o) => o.kind !== 'ConfigMap');
  t.same(strip(rendered.get('overlays/kube-prometheus-stack')!), strip(rendered.get('base')!), 'kube-prometheus-stack: the workload is the base');
});

t.test('the ServiceMonitor scrapes the metrics port and labels series with the node name', async (t) => {
  const objects = rendered.get('overlays/kube-prometheus-stack')!;
  const sm = only<K8sObject & IServiceMonitor>(objects, 'ServiceMonitor');
  const svc = only<K8sObject & IService>(objects, 'Service');
  t.equal(sm.metadata.labels?.release, 'kube-prometheus-stack', "release label for the chart's default serviceMonitorSelector");
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels ?? {})) t.equal(svc.metadata.labels?.[k], v, `selects the Service (${k})`);
  t.equal(sm.spec.endpoints?.length, 1);
  const ep = sm.spec.endpoints![0]!;
  const toJob = (ep.relabelings ?? []).filter((r) => r.targetLabel === 'job');
  t.same(toJob.map((r) => [r.replacement, r.action]), [[SCRAPE_JOB, 'replace']], `job="${SCRAPE_JOB}", the contract's job, not the Service's name`);
  t.notMatch(SCRAPE_JOB, /etcd/, 'a job name without "etcd": kube-prometheus-stack\'s etcd rules select job=~".*etcd.*"');
  t.ok(svc.spec?.ports?.some((p) => p.name === ep.port), 'the endpoint port is a named Service port');
  t.equal(ep.path ?? '/metrics', '/metrics');
  const toNode = (ep.relabelings ?? []).filter((r) => r.targetLabel === 'node');
  t.ok(toNode.some((r) => r.sourceLabels?.includes('__meta_kubernetes_pod_node_name')), 'node from the pod node name');
  t.equal(toNode.at(-1)?.sourceLabels?.[0], '__meta_kubernetes_pod_node_name', 'the pod node name is applied last, so it wins');
  for (const r of toNode) t.equal(r.regex, '(.+)', 'an empty source does not blank the label');
  const agentLabels = new Set(Object.values(METRICS).flatMap((m) => m.labels));
  t.notOk(agentLabels.has('node'), 'no agent metric has its own node label (it would become exported_node)');
});

const kinds = (objects: K8sObject[]) => objects.map((o) => o.kind).sort();
const WORKLOAD = ['DaemonSet', 'Namespace', 'Service', 'ServiceAccount'];
/** One dashboard ConfigMap per grafana/*.json. */
const DASHBOARD_CONFIGMAPS = readdirSync(join(ROOT, 'grafana')).filter((f) => f.endsWith('.json')).map(() => 'ConfigMap');

t.test('two parts: the agent part for every cluster, the monitoring part wherever rules and dashboards live; kube-prometheus-stack has both', async (t) => {
  t.same(kinds(rendered.get('agent')!), [...WORKLOAD, 'ServiceMonitor'].sort(), 'agent: the workload and its ServiceMonitor');
  t.same(kinds(rendered.get('monitoring')!), [...DASHBOARD_CONFIGMAPS, 'PrometheusRule'], 'monitoring: the rules and one ConfigMap per dashboard, no pod, no Namespace');
  const both = [...rendered.get('agent')!, ...rendered.get('monitoring')!];
  const byId = (objects: K8sObject[]) => new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  t.same(byId(rendered.get('overlays/kube-prometheus-stack')!), byId(both), 'kube-prometheus-stack = agent + monitoring, object for object');
});

t.test("the SCS overlays set SCS's selector labels: the workload cluster's ServiceMonitor, the observer's Thanos Ruler and Grafana folder", async (t) => {
  const workload = rendered.get('overlays/scs-workload')!;
  t.same(kinds(workload), [...WORKLOAD, 'ServiceMonitor'].sort(), 'scs-workload: the agent part');
  t.equal(only<K8sObject & IServiceMonitor>(workload, 'ServiceMonitor').metadata.labels?.release, 'kubernetes-monitoring-servicemonitor');

  const observer = rendered.get('overlays/scs-observer')!;
  t.same(kinds(observer), [...DASHBOARD_CONFIGMAPS, 'Namespace', 'PrometheusRule'], 'scs-observer: the monitoring part and a namespace, no pod');
  const rule = only(observer, 'PrometheusRule');
  t.equal(rule.metadata.labels?.['prometheus_rule'], '2', "the Thanos Ruler's rule selector");
  t.notOk('release' in (rule.metadata.labels ?? {}), 'no kube-prometheus-stack release label on the observer');
  for (const cm of observer.filter((o) => o.kind === 'ConfigMap')) {
    t.equal(cm.metadata.labels?.['grafana_dashboard'], '1', `${cm.metadata.name}: the Grafana sidecar's label`);
    t.equal((cm.metadata as { annotations?: Record<string, string> }).annotations?.['grafana_folder'], 'etcd', `${cm.metadata.name}: the folder annotation`);
  }
  const { spec: ours } = only<K8sObject & { spec: unknown }>(rendered.get('monitoring')!, 'PrometheusRule');
  t.same((rule as K8sObject & { spec: unknown }).spec, ours, 'the same rules as shipped');
});

t.test("the runbook-url component moves every alert's runbook to the prefix an overlay of one's own gives", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kustomize-runbook-url-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rel = (p: string) => relative(dir, join(DEPLOY, p));
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    YAML.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [rel('monitoring'), 'runbooks.yaml'],
      components: [rel('components/runbook-url')],
    }),
  );
  writeFileSync(
    join(dir, 'runbooks.yaml'),
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'etcd-latency-agent-runbooks', annotations: { 'config.kubernetes.io/local-config': 'true' } },
      data: { urlPrefix: 'https://wiki.example.org/etcd' },
    }),
  );
  const objects = kustomize(dir);
  t.notOk(objects.some((o) => o.metadata.name === 'etcd-latency-agent-runbooks'), 'the prefix itself is not applied');
  const { spec } = only<K8sObject & { spec: { groups: Array<{ rules: Array<{ alert?: string; annotations?: Record<string, string> }> }> } }>(objects, 'PrometheusRule');
  const alerts = spec.groups.flatMap((g) => g.rules.filter((r) => r.alert));
  t.ok(alerts.length >= 10, `${alerts.length} alerts`);
  for (const a of alerts) t.equal(a.annotations?.['runbook_url'], `https://wiki.example.org/etcd/runbooks/${a.alert}.md`, a.alert!);
});

/** An overlay of the given kustomization and components, rendered. */
function composed(t: Test, resource: string, components: string[]): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'kustomize-compose-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rel = (p: string) => relative(dir, join(DEPLOY, p));
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    YAML.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [rel(resource)], components: components.map((c) => rel(`components/${c}`)) }),
  );
  return kustomize(dir);
}

t.test("the node-address component binds the port to the node's own IP only, where probes and Prometheus reach it", async (t) => {
  const objects = composed(t, 'agent', ['node-address']);
  const c = agentOf(objects);
  const names = (c.env ?? []).map((e) => e.name);
  t.ok(names.indexOf('HOST_IP') >= 0 && names.indexOf('HOST_IP') < names.indexOf('ETCD_LATENCY_AGENT_LISTEN_ADDRESS'), 'HOST_IP is defined before the listen address that expands it');
  t.same(agentConfig(c).config.listenAddress, { host: '10.0.0.1', port: 9379 }, 'the agent listens on the node IP, port 9379');
  t.equal(podOf(objects).hostNetwork, true, 'still on the host network: the node IP is the pod IP the kubelet probes');
});

t.test('the web-config component: TLS and a token on the port, probes over HTTPS, the ServiceMonitor scrapes https with the token', async (t) => {
  const objects = composed(t, 'agent', ['web-config']);
  const c = agentOf(objects);
  const { config } = agentConfig(c);
  t.equal(config.webConfigFile, '/etc/etcd-latency-agent/web/web-config.yml');
  t.same(
    [config.peerAgents, config.peerAgentsCaFile, config.peerAgentsServerName, config.peerAgentsTokenFile],
    ['auto', '/etc/etcd-latency-agent/web/ca.crt', 'etcd-latency-agent', '/etc/etcd-latency-agent/web/token'],
    "the agents ask each other as Prometheus scrapes them: the Secret's CA, the certificate's name, the token",
  );
  const mount = (c.volumeMounts ?? []).find((m) => m.name === 'web');
  t.same([mount?.mountPath, mount?.readOnly], ['/etc/etcd-latency-agent/web', true], 'the Secret mounted read-only where the file is');
  t.same(podOf(objects).volumes?.find((v) => v.name === 'web')?.secret, { secretName: 'etcd-latency-agent-web', defaultMode: 0o400 });
  t.same([c.livenessProbe?.httpGet?.scheme, c.readinessProbe?.httpGet?.scheme], ['HTTPS', 'HTTPS'], 'the probes speak HTTPS');
  t.same([c.livenessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.path], ['/healthz', '/readyz'], 'to the paths that need no credentials');
  const ep = only<K8sObject & IServiceMonitor>(objects, 'ServiceMonitor').spec.endpoints![0]!;
  t.equal(ep.scheme, 'https');
  t.same(ep.tlsConfig, { serverName: 'etcd-latency-agent', ca: { secret: { name: 'etcd-latency-agent-web', key: 'ca.crt' } } });
  t.same(ep.authorization, { type: 'Bearer', credentials: { name: 'etcd-latency-agent-web', key: 'token' } });
  for (const o of objects) {
    const Model = await modelClass(o.apiVersion, o.kind);
    t.doesNotThrow(() => new Model(o).validate(), `${o.kind}/${o.metadata.name} validates`);
  }
  t.same(kinds(composed(t, 'base', ['web-config'])), WORKLOAD, 'on the base alone (no ServiceMonitor) the component still renders');
});

t.test('the overlays compose: kube-prometheus-stack with every component', async (t) => {
  const components = readdirSync(join(DEPLOY, 'components')).sort();
  t.same(components, ['hostpid', 'node-address', 'non-root', 'read-only', 'runbook-url', 'web-config']);
  // runbook-url needs a prefix of the overlay's own: tested on its own above.
  const objects = composed(t, 'overlays/kube-prometheus-stack', components.filter((c) => c !== 'runbook-url'));
  const pod = podOf(objects);
  const { config } = agentConfig(agentOf(objects));
  t.equal(pod.hostPID, true);
  t.equal(config.probeEnabled, false);
  t.equal(agentOf(objects).securityContext?.runAsUser, 65532);
  t.same(config.listenAddress.host, '10.0.0.1', 'node-address');
  t.ok(config.webConfigFile, 'web-config');
  t.ok(objects.some((o) => o.kind === 'ServiceMonitor'));
  for (const o of objects) {
    const Model = await modelClass(o.apiVersion, o.kind);
    t.doesNotThrow(() => new Model(o).validate(), `${o.kind}/${o.metadata.name} validates`);
  }
});
