// Reads the Kubernetes objects a node runs — a static pod manifest, the shipped DaemonSet (through
// `kubectl kustomize`, as `kubectl apply -k` would send it) and the image's Dockerfile — into what
// test/helpers/kubeadm-node.ts can emulate without a kubelet or a container runtime.
//
// Emulate or refuse: every field that changes what the container's process can see or do is either
// emulated (hostPath volumes and their mounts, command/args/env, user, capabilities, no_new_privs, a
// read-only root, hostNetwork) or makes the reader throw, naming the field. A field that only matters
// to the scheduler or the API (tolerations, priority, probes' timing, resources) is accepted and not
// emulated. So a change to the DaemonSet that the emulation would silently get wrong fails the test
// instead of passing it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { parseDockerfile } from './dockerfile.js';

export interface HostPathVolume {
  readonly name: string;
  readonly path: string;
  /** '' (no check), Directory, DirectoryOrCreate, File or FileOrCreate. */
  readonly type: string;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

/** A value, or the node's name or IP or the pod's UID (`valueFrom.fieldRef`). */
export type EnvValue = { readonly value: string } | { readonly field: 'nodeName' | 'nodeIP' | 'podUID' };

export interface HttpProbe {
  /** Undefined: the pod's IP (the node's, with hostNetwork). */
  readonly host?: string;
  readonly path: string;
  readonly port: number | string;
  readonly scheme: 'HTTP' | 'HTTPS';
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env: ReadonlyArray<readonly [string, EnvValue]>;
  readonly workingDir?: string;
  readonly mounts: readonly VolumeMount[];
  readonly ports: ReadonlyMap<string, number>;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly allowPrivilegeEscalation: boolean;
  readonly readOnlyRootFilesystem: boolean;
  readonly capabilities: { readonly add: readonly string[]; readonly drop: readonly string[] };
  readonly startupProbe?: HttpProbe;
  readonly readinessProbe?: HttpProbe;
}

export interface PodSpec {
  readonly hostNetwork: boolean;
  readonly volumes: ReadonlyMap<string, HostPathVolume>;
  readonly containers: readonly ContainerSpec[];
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly terminationGracePeriodSeconds: number;
}

/** The image's configuration: what `docker inspect` would show of it. */
export interface ImageConfig {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string;
  readonly uid: number;
  readonly gid: number;
  /** The image's own files over its base (the machine's root): path in the image → path here. */
  readonly files: ReadonlyArray<readonly [string, string]>;
}

/** Docker's PATH when an image sets none (the node and distroless images set none). */
export const DOCKER_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// ───────────────────────────────────────────── typed access to parsed YAML

type Mapping = Record<string, unknown>;

function mapping(v: unknown, where: string): Mapping {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Mapping;
  throw new Error(`${where}: expected a mapping`);
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  throw new Error(`${where}: expected a list`);
}

function text(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  throw new Error(`${where}: expected a string`);
}

function optionalNumber(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new Error(`${where}: expected an integer`);
}

function optionalBool(v: unknown, where: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  throw new Error(`${where}: expected true or false`);
}

/** Throws on a key that is neither emulated nor known to be harmless to leave out. */
function onlyKnownKeys(m: Mapping, where: string, emulated: readonly string[], notEmulated: readonly string[]): void {
  for (const key of Object.keys(m)) {
    if (!emulated.includes(key) && !notEmulated.includes(key)) {
      throw new Error(`${where}.${key}: not emulated by test/helpers/kubeadm-node.ts; emulate it there or refuse it knowingly`);
    }
  }
}

// ───────────────────────────────────────────── pod spec

const POD_EMULATED = ['containers', 'volumes', 'hostNetwork', 'securityContext', 'terminationGracePeriodSeconds'];
// Scheduling, API access and DNS: no effect on what the process can do on the node (the agent resolves no names).
const POD_NOT_EMULATED = ['serviceAccountName', 'automountServiceAccountToken', 'enableServiceLinks', 'nodeSelector',
  'tolerations', 'priority', 'priorityClassName', 'dnsPolicy', 'restartPolicy'];
// Seccomp is not applied: setpriv has no seccomp filter, and RuntimeDefault only forbids what the agent never does.
const POD_SECURITY_EMULATED = ['runAsUser', 'runAsGroup'];
const POD_SECURITY_NOT_EMULATED = ['seccompProfile'];
const CONTAINER_EMULATED = ['name', 'image', 'command', 'args', 'env', 'workingDir', 'volumeMounts', 'securityContext', 'ports',
  'startupProbe', 'readinessProbe'];
// No cgroup limits and no kubelet restarting on a failed liveness probe.
const CONTAINER_NOT_EMULATED = ['imagePullPolicy', 'livenessProbe', 'resources'];
const SECURITY_EMULATED = ['runAsUser', 'runAsGroup', 'privileged', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'capabilities'];
const SECURITY_NOT_EMULATED = ['seccompProfile'];

function hostPathVolume(v: unknown, where: string): HostPathVolume {
  const m = mapping(v, where);
  onlyKnownKeys(m, where, ['name', 'hostPath'], []);
  const hp = mapping(m.hostPath, `${where}.hostPath (only hostPath volumes are emulated)`);
  const type = hp.type === undefined ? '' : text(hp.type, `${where}.hostPath.type`);
  if (!['', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate'].includes(type)) throw new Error(`${where}.hostPath.type ${type}: not emulated`);
  return { name: text(m.name, `${where}.name`), path: text(hp.path, `${where}.hostPath.path`), type };
}

function volumeMount(v: unknown, where: string): VolumeMount {
  const m = mapping(v, where);
  onlyKnownKeys(m, where, ['name', 'mountPath', 'readOnly'], []);
  return { name: text(m.name, `${where}.name`), mountPath: text(m.mountPath, `${where}.mountPath`), readOnly: optionalBool(m.readOnly, `${where}.readOnly`) ?? false };
}

function envVar(v: unknown, where: string): readonly [string, EnvValue] {
  const m = mapping(v, where);
  onlyKnownKeys(m, where, ['name', 'value', 'valueFrom'], []);
  const name = text(m.name, `${where}.name`);
  if (m.valueFrom === undefined) return [name, { value: m.value === undefined ? '' : text(m.value, `${where}.value`) }];
  const from = mapping(m.valueFrom, `${where}.valueFrom`);
  onlyKnownKeys(from, `${where}.valueFrom`, ['fieldRef'], []);
  const path = text(mapping(from.fieldRef, `${where}.valueFrom.fieldRef`).fieldPath, `${where}.valueFrom.fieldRef.fieldPath`);
  if (path === 'spec.nodeName') return [name, { field: 'nodeName' }];
  if (path === 'status.hostIP' || path === 'status.podIP') return [name, { field: 'nodeIP' }]; // the same with hostNetwork
  if (path === 'metadata.uid') return [name, { field: 'podUID' }];
  throw new Error(`${where}.valueFrom.fieldRef.fieldPath ${path}: not emulated`);
}

function httpProbe(v: unknown, where: string): HttpProbe | undefined {
  if (v === undefined) return undefined;
  const get = mapping(mapping(v, where).httpGet, `${where}.httpGet (only HTTP probes are emulated)`);
  const port = get.port;
  if (typeof port !== 'number' && typeof port !== 'string') throw new Error(`${where}.httpGet.port: expected a number or a name`);
  const scheme = get.scheme === undefined ? 'HTTP' : text(get.scheme, `${where}.httpGet.scheme`);
  if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw new Error(`${where}.httpGet.scheme ${scheme}: unknown`);
  return {
    ...(get.host !== undefined ? { host: text(get.host, `${where}.httpGet.host`) } : {}),
    path: get.path === undefined ? '/' : text(get.path, `${where}.httpGet.path`),
    port,
    scheme,
  };
}

function container(v: unknown, where: string): ContainerSpec {
  const m = mapping(v, where);
  onlyKnownKeys(m, where, CONTAINER_EMULATED, CONTAINER_NOT_EMULATED);
  const sc = m.securityContext === undefined ? {} : mapping(m.securityContext, `${where}.securityContext`);
  onlyKnownKeys(sc, `${where}.securityContext`, SECURITY_EMULATED, SECURITY_NOT_EMULATED);
  if (sc.privileged === true) throw new Error(`${where}.securityContext.privileged: not emulated`);
  const caps = sc.capabilities === undefined ? {} : mapping(sc.capabilities, `${where}.securityContext.capabilities`);
  onlyKnownKeys(caps, `${where}.securityContext.capabilities`, ['add', 'drop'], []);
  const ports = new Map<string, number>();
  for (const [i, p] of list(m.ports, `${where}.ports`).entries()) {
    const pm = mapping(p, `${where}.ports[${i}]`);
    const n = optionalNumber(pm.containerPort, `${where}.ports[${i}].containerPort`);
    if (pm.name !== undefined && n !== undefined) ports.set(text(pm.name, `${where}.ports[${i}].name`), n);
  }
  const strings = (x: unknown, w: string) => list(x, w).map((s, i) => text(s, `${w}[${i}]`));
  const runAsUser = optionalNumber(sc.runAsUser, `${where}.securityContext.runAsUser`);
  const runAsGroup = optionalNumber(sc.runAsGroup, `${where}.securityContext.runAsGroup`);
  const startupProbe = httpProbe(m.startupProbe, `${where}.startupProbe`);
  const readinessProbe = httpProbe(m.readinessProbe, `${where}.readinessProbe`);
  return {
    name: text(m.name, `${where}.name`),
    image: text(m.image, `${where}.image`),
    ...(m.command !== undefined ? { command: strings(m.command, `${where}.command`) } : {}),
    ...(m.args !== undefined ? { args: strings(m.args, `${where}.args`) } : {}),
    ...(m.workingDir !== undefined ? { workingDir: text(m.workingDir, `${where}.workingDir`) } : {}),
    env: list(m.env, `${where}.env`).map((e, i) => envVar(e, `${where}.env[${i}]`)),
    mounts: list(m.volumeMounts, `${where}.volumeMounts`).map((e, i) => volumeMount(e, `${where}.volumeMounts[${i}]`)),
    ports,
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    allowPrivilegeEscalation: optionalBool(sc.allowPrivilegeEscalation, `${where}.securityContext.allowPrivilegeEscalation`) ?? true,
    readOnlyRootFilesystem: optionalBool(sc.readOnlyRootFilesystem, `${where}.securityContext.readOnlyRootFilesystem`) ?? false,
    capabilities: { add: strings(caps.add, `${where}.securityContext.capabilities.add`), drop: strings(caps.drop, `${where}.securityContext.capabilities.drop`) },
    ...(startupProbe ? { startupProbe } : {}),
    ...(readinessProbe ? { readinessProbe } : {}),
  };
}

/** A PodSpec (`spec` of a Pod, `spec.template.spec` of a DaemonSet) as far as it can be emulated. */
export function podSpecOf(spec: unknown, where: string): PodSpec {
  const m = mapping(spec, where);
  onlyKnownKeys(m, where, POD_EMULATED, POD_NOT_EMULATED);
  const sc = m.securityContext === undefined ? {} : mapping(m.securityContext, `${where}.securityContext`);
  onlyKnownKeys(sc, `${where}.securityContext`, POD_SECURITY_EMULATED, POD_SECURITY_NOT_EMULATED);
  const volumes = new Map<string, HostPathVolume>();
  for (const [i, v] of list(m.volumes, `${where}.volumes`).entries()) {
    const vol = hostPathVolume(v, `${where}.volumes[${i}]`);
    volumes.set(vol.name, vol);
  }
  const runAsUser = optionalNumber(sc.runAsUser, `${where}.securityContext.runAsUser`);
  const runAsGroup = optionalNumber(sc.runAsGroup, `${where}.securityContext.runAsGroup`);
  return {
    hostNetwork: optionalBool(m.hostNetwork, `${where}.hostNetwork`) ?? false,
    volumes,
    containers: list(m.containers, `${where}.containers`).map((c, i) => container(c, `${where}.containers[${i}]`)),
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    terminationGracePeriodSeconds: optionalNumber(m.terminationGracePeriodSeconds, `${where}.terminationGracePeriodSeconds`) ?? 30,
  };
}

/** A static pod manifest (kubelet's `--pod-manifest-path`), parsed. */
export function readStaticPod(yamlText: string, where: string): { pod: PodSpec; annotations: Readonly<Record<string, string>> } {
  const doc = mapping(parse(yamlText), where);
  if (doc.kind !== 'Pod') throw new Error(`${where}: not a Pod`);
  const meta = mapping(doc.metadata, `${where}.metadata`);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.annotations === undefined ? {} : mapping(meta.annotations, `${where}.metadata.annotations`))) {
    annotations[k] = text(v, `${where}.metadata.annotations.${k}`);
  }
  return { pod: podSpecOf(doc.spec, `${where}.spec`), annotations };
}

/** The pod template of the one DaemonSet in what `kubectl kustomize <dir>` renders. */
export function kustomizedDaemonSet(kustomizationDir: string): PodSpec {
  const rendered = execFileSync('kubectl', ['kustomize', kustomizationDir], { encoding: 'utf8', timeout: 60_000 });
  const sets = parseAllDocuments(rendered).map((d) => mapping(d.toJS(), `kubectl kustomize ${kustomizationDir}`)).filter((d) => d.kind === 'DaemonSet');
  if (sets.length !== 1) throw new Error(`kubectl kustomize ${kustomizationDir}: ${sets.length} DaemonSets, expected 1`);
  const where = `DaemonSet ${kustomizationDir}`;
  return podSpecOf(mapping(mapping(mapping(sets[0], where).spec, `${where}.spec`).template, `${where}.spec.template`).spec, `${where}.spec.template.spec`);
}

// ───────────────────────────────────────────── image

/**
 * The runtime configuration of a Dockerfile's final stage: ENV, WORKDIR, USER, ENTRYPOINT, CMD (exec
 * form only). Instructions that only build the filesystem are the caller's `files`.
 */
export function imageFromDockerfile(dockerfile: string, files: ReadonlyArray<readonly [string, string]>): ImageConfig {
  const final = parseDockerfile(readFileSync(dockerfile, 'utf8')).stages.at(-1);
  const env: Record<string, string> = { PATH: DOCKER_DEFAULT_PATH };
  let workdir = '/';
  let user = '0:0';
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  for (const { op, args } of final?.instructions ?? []) {
    switch (op) {
      case 'ENV':
        for (const pair of args.split(/\s+/)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`${dockerfile}: ENV ${args}: only the KEY=VALUE form is read`);
          env[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        break;
      case 'WORKDIR': workdir = args; break;
      case 'USER': user = args; break;
      case 'ENTRYPOINT': entrypoint = execForm(args, dockerfile); break;
      case 'CMD': cmd = execForm(args, dockerfile); break;
      default: break;
    }
  }
  const [uid, gid] = user.split(':').map(Number);
  if (!Number.isInteger(uid)) throw new Error(`${dockerfile}: USER ${user}: only a numeric UID is read`);
  return { entrypoint, cmd, env, workdir, uid: uid!, gid: gid ?? uid!, files };
}

function execForm(rest: string, dockerfile: string): string[] {
  const parsed: unknown = JSON.parse(rest);
  if (!Array.isArray(parsed) || !parsed.every((s): s is string => typeof s === 'string')) throw new Error(`${dockerfile}: ${rest}: only the exec form is read`);
  return parsed;
}
