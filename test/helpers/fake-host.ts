// A host's /proc and /sys as fixture trees, for running the whole agent with --proc-path/--sys-path
// against a kernel that is not this machine's: the RHEL 9 LVM node of test/fixtures (etcd on dm-2, an
// LV on sda2), with its /proc/diskstats in any kernel layout. The sysfs tree is built at run time
// from test/fixtures/sys-lvm/layout.json (relative symlinks, as the kernel lays them out).
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const procFixture = (name: string): string => readFileSync(path.join(fixtures, 'proc', name), 'utf8');

/** One block device of a fixture host, as test/fixtures/sys-lvm/layout.json lists them. */
export interface LayoutDevice {
  name: string;
  dev: string;
  dir?: string;
  partitionOf?: string;
  partition?: number;
  rotational?: number;
  vendor?: string;
  model?: string;
  dmName?: string;
  slaves?: string[];
}

/** The RHEL 9 LVM node's block devices. */
export const LVM_DEVICES: readonly LayoutDevice[] = (JSON.parse(readFileSync(path.join(fixtures, 'sys-lvm/layout.json'), 'utf8')) as { devices: LayoutDevice[] }).devices;

/** A relative symlink at `at` to `target`, as the kernel makes them in sysfs. */
export async function link(target: string, at: string): Promise<void> {
  await fsp.mkdir(path.dirname(at), { recursive: true });
  await fsp.symlink(path.relative(path.dirname(at), target), at);
}

/** Builds a sysfs tree the way the kernel lays it out: relative symlinks into devices/. */
export async function buildSysfs(sys: string, devices: readonly LayoutDevice[] = LVM_DEVICES): Promise<void> {
  const dirs = new Map<string, string>();
  for (const d of devices) {
    const parent = d.partitionOf === undefined ? undefined : dirs.get(d.partitionOf);
    const abs = parent !== undefined ? path.join(parent, d.name) : path.join(sys, 'devices', d.dir ?? `virtual/block/${d.name}`);
    dirs.set(d.name, abs);
    await fsp.mkdir(abs, { recursive: true });
    await fsp.writeFile(path.join(abs, 'dev'), `${d.dev}\n`);
    await link(abs, path.join(sys, 'dev/block', d.dev));
    await link(abs, path.join(sys, 'class/block', d.name));
    if (d.partitionOf !== undefined) {
      await fsp.writeFile(path.join(abs, 'partition'), `${d.partition ?? 1}\n`);
      continue;
    }
    await link(abs, path.join(sys, 'block', d.name));
    await fsp.mkdir(path.join(abs, 'queue'));
    if (d.rotational !== undefined) await fsp.writeFile(path.join(abs, 'queue/rotational'), `${d.rotational}\n`);
    if (d.model !== undefined) {
      await fsp.mkdir(path.join(abs, 'device'));
      await fsp.writeFile(path.join(abs, 'device/model'), `${d.model.padEnd(16)}\n`); // SCSI pads with spaces
      if (d.vendor !== undefined) await fsp.writeFile(path.join(abs, 'device/vendor'), `${d.vendor.padEnd(8)}\n`);
    }
    if (d.dmName !== undefined) {
      await fsp.mkdir(path.join(abs, 'dm'));
      await fsp.writeFile(path.join(abs, 'dm/name'), `${d.dmName}\n`);
    }
  }
  for (const d of devices) {
    const abs = dirs.get(d.name)!;
    if (d.partitionOf === undefined) await fsp.mkdir(path.join(abs, 'slaves'), { recursive: true });
    for (const s of d.slaves ?? []) await link(dirs.get(s)!, path.join(abs, 'slaves', s));
  }
}

/** /proc/diskstats of the LVM host cut to `fields` per line: 14 (kernel < 4.18), 18 (< 5.5) or 20 (with flush counters). */
export function diskstatsWithFields(fields: 14 | 18 | 20): string {
  return procFixture('diskstats.lvm-rhel9.txt')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/).slice(0, fields).join(' '))
    .join('\n') + '\n';
}

export interface FakeHost {
  readonly base: string;
  readonly proc: string;
  readonly sys: string;
  /** The host's `/` as the agent sees it through `${proc}/1/root`. */
  readonly hostRoot: string;
}

/**
 * The LVM host under `base`: `proc/1/mountinfo` is the host's mount table, `proc/1/root` its `/`
 * (with /var/lib/etcd), `proc/diskstats` in the given layout, `sys/` its block devices.
 */
export async function makeFakeHost(base: string, fields: 14 | 18 | 20): Promise<FakeHost> {
  const sys = path.join(base, 'sys');
  await buildSysfs(sys);
  const proc = path.join(base, 'proc');
  const hostRoot = path.join(proc, '1/root');
  for (const d of ['var/lib/etcd/member/wal', 'var/lib/containerd', 'var/lib/kubelet', 'var/log']) await fsp.mkdir(path.join(hostRoot, d), { recursive: true });
  await fsp.writeFile(path.join(proc, 'diskstats'), diskstatsWithFields(fields));
  await fsp.writeFile(path.join(proc, '1/mountinfo'), procFixture('mountinfo.lvm-rhel9.txt'));
  await fsp.mkdir(path.join(proc, 'self'));
  await fsp.writeFile(path.join(proc, 'self/mountinfo'), '900 800 0:99 / / rw - overlay overlay rw\n');
  return { base, proc, sys, hostRoot };
}
