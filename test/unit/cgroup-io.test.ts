// The cgroup I/O parsers and the naming of a cgroup after its pod, container or service: tables of
// kubelet's cgroup paths (systemd and cgroupfs drivers) and of its log-file names.
import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  containersFromLogFiles,
  isEtcd,
  nameOwner,
  ownerOfCgroup,
  ownerText,
  parseBlkioServiceBytes,
  parseIoStat,
  podsFromLogDirs,
  type CgroupOwner,
} from '../../src/host/cgroup-io.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/cgroup/${name}`, import.meta.url), 'utf8');

const UID = '6f1d2c3b-1a2b-4c5d-8e9f-0a1b2c3d4e5f';
const UID_ = UID.replace(/-/g, '_');
const CID = 'a'.repeat(63) + 'b';

t.test('v2 io.stat in the documented format: written bytes per device, malformed lines skipped', async (t) => {
  const m = parseIoStat(fixture('v2-io.stat') + 'garbage line\n8:32 rbytes=1 rios=1\n9:0 wbytes=-4\n');
  t.same([...m], [['8:16', 314773504], ['8:0', 299008000], ['253:0', 4096]]);
  t.same([...parseIoStat('')], []);
});

t.test('v1 blkio.throttle.io_service_bytes captured on this kernel: the Write line of each device, not Total', async (t) => {
  t.same([...parseBlkioServiceBytes(fixture('v1-blkio.throttle.io_service_bytes'))], [['7:0', 3145728]]);
  t.same([...parseBlkioServiceBytes('Total 0\n')], [], 'a cgroup with no device listed');
});

t.test('a cgroup path names its owner as kubelet and systemd name them; anything else stays a path', async (t) => {
  const cases: Array<[string, CgroupOwner]> = [
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${CID}.scope`, { kind: 'pod', podUid: UID, containerId: CID }],
    [`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${CID}.scope`, { kind: 'pod', podUid: UID, containerId: CID }],
    [`/kubepods.slice/kubepods-pod${UID_}.slice/docker-${CID}.scope`, { kind: 'pod', podUid: UID, containerId: CID }],
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`, { kind: 'pod', podUid: UID }],
    [`/kubepods/burstable/pod${UID}/${CID}`, { kind: 'pod', podUid: UID, containerId: CID }],
    [`/kubepods/pod${UID}/${CID}`, { kind: 'pod', podUid: UID, containerId: CID }],
    [`/kubepods/besteffort/pod${UID}`, { kind: 'pod', podUid: UID }],
    [`/kubepods/burstable/pod${UID}/not-a-container`, { kind: 'pod', podUid: UID }],
    ['/system.slice/containerd.service', { kind: 'service', unit: 'containerd.service' }],
    ['/system.slice/kubelet.service', { kind: 'service', unit: 'kubelet.service' }],
    ['/system.slice/containerd.service/shim-7', { kind: 'service', unit: 'containerd.service' }],
    ['/system.slice/systemd-journald.service', { kind: 'service', unit: 'systemd-journald.service' }],
    ['/system.slice', { kind: 'cgroup', path: '/system.slice' }],
    ['/user.slice/user-0.slice/session-3.scope', { kind: 'cgroup', path: '/user.slice/user-0.slice/session-3.scope' }],
    ['/kubepods/burstable', { kind: 'cgroup', path: '/kubepods/burstable' }],
    [`/elsewhere/pod${UID}`, { kind: 'cgroup', path: `/elsewhere/pod${UID}` }],
    ['/', { kind: 'cgroup', path: '/' }],
  ];
  for (const [path, owner] of cases) t.same(ownerOfCgroup(path), owner, path);
});

t.test("kubelet's log names give pods by uid and containers by id; other names are skipped", async (t) => {
  const pods = podsFromLogDirs([`kube-system_etcd-node1_${UID}`, 'not_a_pod', 'README']);
  t.same([...pods], [[UID, { namespace: 'kube-system', pod: 'etcd-node1' }]]);
  const containers = containersFromLogFiles([`etcd-node1_kube-system_etcd-${CID}.log`, `fluent-bit-x7_logging_fluent-bit-sidecar-${'c'.repeat(64)}.log`, 'foo.log']);
  t.same(containers.get(CID), { pod: 'etcd-node1', namespace: 'kube-system', container: 'etcd' });
  t.same(containers.get('c'.repeat(64))?.container, 'fluent-bit-sidecar', 'a container name with dashes');
  t.equal(containers.size, 2);
});

t.test('naming: known pods by namespace/name and container, unknown ones said plainly, etcd recognised', async (t) => {
  const pods = podsFromLogDirs([`kube-system_etcd-node1_${UID}`]);
  const containers = containersFromLogFiles([`etcd-node1_kube-system_etcd-${CID}.log`]);
  const other = '0f1d2c3b-1a2b-4c5d-8e9f-0a1b2c3d4e50';
  const cases: Array<{ owner: CgroupOwner; text: string; etcd: boolean }> = [
    { owner: { kind: 'pod', podUid: UID, containerId: CID }, text: 'kube-system/etcd-node1 etcd', etcd: true },
    { owner: { kind: 'pod', podUid: UID }, text: 'kube-system/etcd-node1', etcd: true },
    { owner: { kind: 'pod', podUid: UID, containerId: 'd'.repeat(64) }, text: 'kube-system/etcd-node1 container dddddddddddd (name unknown)', etcd: true },
    { owner: { kind: 'pod', podUid: other, containerId: 'e'.repeat(64) }, text: `pod ${other} (name unknown) container eeeeeeeeeeee (name unknown)`, etcd: false },
    { owner: { kind: 'service', unit: 'containerd.service' }, text: 'containerd.service', etcd: false },
    { owner: { kind: 'service', unit: 'etcd.service' }, text: 'etcd.service', etcd: true },
    { owner: { kind: 'cgroup', path: '/user.slice' }, text: '/user.slice', etcd: false },
  ];
  for (const c of cases) {
    const named = nameOwner(c.owner, pods, containers);
    t.equal(ownerText(named), c.text);
    t.equal(isEtcd(named), c.etcd, `${c.text}: etcd ${c.etcd}`);
  }
  const unknown = nameOwner({ kind: 'pod', podUid: other, containerId: CID }, new Map(), containers);
  t.match(unknown, { namespace: 'kube-system', pod: 'etcd-node1', container: 'etcd' }, 'the container log names the pod when its directory is gone');
});
