// Pure parsers of the kernel's cgroup I/O accounting, and the naming of a cgroup after what runs in
// it (a pod's container, a system service) from kubelet's cgroup and log-file naming. Text in, values
// out: no file system access.
//
// cgroup v2 `io.stat` (Documentation/admin-guide/cgroup-v2.rst), one line per device:
//   8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
// cgroup v1 `blkio.throttle.io_service_bytes` (Documentation/admin-guide/cgroup-v1/blkio-controller.rst):
//   8:16 Read 1459200
//   8:16 Write 314773504
//   ...
//   Total 315232704

/** A block device as the kernel numbers it in cgroup files: `major:minor`. */
export type DevNumber = `${number}:${number}`;

const DEV = /^(\d+):(\d+)$/;

export const devNumber = (major: number, minor: number): DevNumber => `${major}:${minor}`;

/** Written bytes per device from v2 `io.stat`; lines without `wbytes=` or malformed are skipped. */
export function parseIoStat(text: string): Map<DevNumber, number> {
  const out = new Map<DevNumber, number>();
  for (const line of text.split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    if (dev === undefined || !DEV.test(dev)) continue;
    const w = fields.find((f) => f.startsWith('wbytes='));
    const n = w === undefined ? NaN : Number(w.slice('wbytes='.length));
    if (Number.isSafeInteger(n) && n >= 0) out.set(dev as DevNumber, n);
  }
  return out;
}

/** Written bytes per device from v1 `blkio.throttle.io_service_bytes` (its `Write` lines). */
export function parseBlkioServiceBytes(text: string): Map<DevNumber, number> {
  const out = new Map<DevNumber, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3 || f[1] !== 'Write' || !DEV.test(f[0]!)) continue;
    const n = Number(f[2]);
    if (Number.isSafeInteger(n) && n >= 0) out.set(f[0] as DevNumber, n);
  }
  return out;
}

// ───────────────────────────── who a cgroup is ─────────────────────────────

/** What a cgroup belongs to, as far as its path tells. */
export type CgroupOwner =
  | { readonly kind: 'pod'; readonly podUid: string; readonly containerId?: string }
  | { readonly kind: 'service'; readonly unit: string }
  | { readonly kind: 'cgroup'; readonly path: string };

const UID = '[0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12}';
// kubelet's systemd driver: kubepods-pod<uid>.slice, kubepods-burstable-pod<uid>.slice, kubepods-besteffort-pod<uid>.slice
// (the uid's dashes become underscores, a dash being systemd's slice separator).
const SYSTEMD_POD = new RegExp(`^kubepods(?:-[a-z]+)?-pod(${UID})\\.slice$`);
// kubelet's cgroupfs driver: pod<uid> under kubepods/, kubepods/burstable/ or kubepods/besteffort/.
const CGROUPFS_POD = new RegExp(`^pod(${UID})$`);
// A container's cgroup under its pod's: systemd scopes of containerd, CRI-O and docker, or the bare id (cgroupfs).
const CONTAINER = /^(?:(?:cri-containerd|crio|docker)-)?([0-9a-f]{64})(?:\.scope)?$/;
const UNIT = /^[^/]+\.service$/;

/**
 * The owner of a cgroup from its path relative to the hierarchy's root (`/kubepods.slice/…`). A
 * path kubelet or systemd did not name is kept as it is (kind `cgroup`), never guessed at.
 */
export function ownerOfCgroup(path: string): CgroupOwner {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'kubepods' || parts[0] === 'kubepods.slice') {
    const podAt = parts.findIndex((p) => SYSTEMD_POD.test(p) || CGROUPFS_POD.test(p));
    const m = podAt < 0 ? null : (SYSTEMD_POD.exec(parts[podAt]!) ?? CGROUPFS_POD.exec(parts[podAt]!));
    if (m) {
      const podUid = m[1]!.replace(/_/g, '-').toLowerCase();
      const c = parts[podAt + 1] === undefined ? null : CONTAINER.exec(parts[podAt + 1]!);
      return c ? { kind: 'pod', podUid, containerId: c[1]! } : { kind: 'pod', podUid };
    }
  }
  // system.slice/containerd.service and anything under it (its shims in some setups) is that unit.
  if (parts[0] === 'system.slice' && parts[1] !== undefined && UNIT.test(parts[1])) return { kind: 'service', unit: parts[1] };
  return { kind: 'cgroup', path: '/' + parts.join('/') };
}

/** A pod as kubelet's log directories name it. */
export interface PodName {
  readonly namespace: string;
  readonly pod: string;
}

/**
 * Pods by uid from the names of `/var/log/pods/<namespace>_<name>_<uid>` (kubelet's layout). Neither
 * a namespace nor a pod name may contain `_`, so the split is unambiguous; other names are skipped.
 */
export function podsFromLogDirs(names: readonly string[]): Map<string, PodName> {
  const out = new Map<string, PodName>();
  const re = new RegExp(`^([^_]+)_([^_]+)_(${UID})$`);
  for (const n of names) {
    const m = re.exec(n);
    if (m) out.set(m[3]!.toLowerCase(), { namespace: m[1]!, pod: m[2]! });
  }
  return out;
}

/** A container as kubelet's `/var/log/containers` names it. */
export interface ContainerName extends PodName {
  readonly container: string;
}

/** Containers by id from the names of `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`. */
export function containersFromLogFiles(names: readonly string[]): Map<string, ContainerName> {
  const out = new Map<string, ContainerName>();
  for (const n of names) {
    const m = /^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/.exec(n);
    if (m) out.set(m[4]!, { pod: m[1]!, namespace: m[2]!, container: m[3]! });
  }
  return out;
}

/** Said for a pod or container whose name the host's files do not tell. */
export const UNKNOWN = 'unknown';

/** A writer named for people and for metric labels; unknown parts are `unknown`, the ids kept beside them. */
export type NamedOwner =
  | { readonly kind: 'pod'; readonly namespace: string; readonly pod: string; readonly podUid: string; readonly container: string; readonly containerId?: string }
  | { readonly kind: 'service'; readonly unit: string }
  | { readonly kind: 'cgroup'; readonly path: string };

export function nameOwner(o: CgroupOwner, pods: ReadonlyMap<string, PodName>, containers: ReadonlyMap<string, ContainerName>): NamedOwner {
  if (o.kind !== 'pod') return o;
  const c = o.containerId === undefined ? undefined : containers.get(o.containerId);
  const p = pods.get(o.podUid) ?? c;
  return {
    kind: 'pod',
    namespace: p?.namespace ?? UNKNOWN,
    pod: p?.pod ?? UNKNOWN,
    podUid: o.podUid,
    // A pod's own cgroup (no container below it) is the pod as a whole.
    container: o.containerId === undefined ? '' : (c?.container ?? UNKNOWN),
    ...(o.containerId !== undefined ? { containerId: o.containerId } : {}),
  };
}

/** How a writer reads in a finding or on the page: `kube-system/etcd-node1 etcd`, `containerd.service`, `/user.slice`. */
export function ownerText(o: NamedOwner): string {
  switch (o.kind) {
    case 'service':
      return o.unit;
    case 'cgroup':
      return o.path;
    case 'pod': {
      const pod = o.pod === UNKNOWN ? `pod ${o.podUid} (name unknown)` : `${o.namespace}/${o.pod}`;
      const container = o.container === UNKNOWN ? ` container ${o.containerId!.slice(0, 12)} (name unknown)` : o.container === '' ? '' : ` ${o.container}`;
      return pod + container;
    }
  }
}

/**
 * etcd itself: kubeadm's static pod (container `etcd`, or a pod `etcd-<node>` in kube-system whose
 * container is not named) or an `etcd.service`. Its writes are the workload, not a neighbour's.
 */
export function isEtcd(o: NamedOwner): boolean {
  if (o.kind === 'service') return o.unit === 'etcd.service';
  if (o.kind !== 'pod') return false;
  if (o.container === 'etcd') return true;
  return o.namespace === 'kube-system' && o.pod.startsWith('etcd-') && (o.container === '' || o.container === UNKNOWN);
}

/** The key writers are summed under: a pod's container, a unit, a cgroup path. */
export function ownerKey(o: CgroupOwner): string {
  switch (o.kind) {
    case 'pod':
      return `pod:${o.podUid}:${o.containerId ?? ''}`;
    case 'service':
      return `service:${o.unit}`;
    case 'cgroup':
      return `cgroup:${o.path}`;
  }
}
