// The etcd_config source: etcd's running configuration from the agent's flags, the etcd process
// (/proc/<pid>/cmdline, environ, cwd) and kubeadm's manifest, merged by host/etcd-flags.ts.

import { open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { failure, reasonForError, success, type FailureReason } from '../lib/outcome.js';
import { configFileOf, parseEtcdArgs, parseEtcdEnv, resolveEtcdConfig, type EtcdConfigFlags, type EtcdConfigLayers, type EtcdConfigSample, type EtcdConfigValues } from '../host/etcd-flags.js';
import { isEtcdCommand, parseManifest } from '../host/kubeadm-manifest.js';
import { MAX_YAML_CHARS } from '../lib/yaml.js';
import type { Milliseconds } from '../lib/units.js';
import type { Source } from './source.js';
import { pidsOf } from '../host/proc-pids.js';

// ──────────────────────────────────── etcd processes ────────────────────────────────────

export interface EtcdProcess {
  readonly pid: number;
  /** The whole argv, argv[0] included. */
  readonly args: string[];
  /** Its `ETCD_*` variables only (the rest of a process's environment is none of our business); undefined when unreadable. */
  readonly env?: Record<string, string>;
  /** Its working directory, when readable. */
  readonly cwd?: string;
}

const CMDLINE_HEAD = 4096;
const CMDLINE_MAX = 1 << 20;
const ENVIRON_MAX = 1 << 20;
const MAX_PIDS = 65_536;
const PARALLEL = 64;

/** Reads at most `max` bytes (files in /proc report size 0, so read until EOF). */
async function readUpTo(file: string, max: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(max, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < max) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, max - total), null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}

function splitNul(buf: Buffer): string[] {
  if (buf.length === 0) return [];
  const parts = buf.toString('utf8').split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

async function inspectPid(procPath: string, pid: number): Promise<EtcdProcess | undefined> {
  const dir = path.join(procPath, String(pid));
  let head: Buffer;
  try {
    head = await readUpTo(path.join(dir, 'cmdline'), CMDLINE_HEAD);
  } catch {
    return undefined; // gone, a kernel thread's race, or not readable: not ours to worry about
  }
  const nul = head.indexOf(0);
  if (nul < 0 && head.length >= CMDLINE_HEAD) return undefined; // argv[0] longer than 4 KiB: not etcd
  const argv0 = head.subarray(0, nul < 0 ? head.length : nul).toString('utf8');
  if (!isEtcdCommand(argv0)) return undefined;
  let full = head;
  if (head.length >= CMDLINE_HEAD) {
    try {
      full = await readUpTo(path.join(dir, 'cmdline'), CMDLINE_MAX);
    } catch {
      return undefined;
    }
  }
  const args = splitNul(full);
  let env: Record<string, string> | undefined;
  try {
    env = {};
    for (const entry of splitNul(await readUpTo(path.join(dir, 'environ'), ENVIRON_MAX))) {
      const eq = entry.indexOf('=');
      if (eq > 0 && entry.startsWith('ETCD_')) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } catch {
    env = undefined; // EACCES without CAP_SYS_PTRACE, or the process just exited
  }
  let cwd: string | undefined;
  try {
    cwd = await readlink(path.join(dir, 'cwd'));
  } catch {
    cwd = undefined;
  }
  return { pid, args, ...(env !== undefined ? { env } : {}), ...(cwd !== undefined ? { cwd } : {}) };
}

/**
 * The etcd processes visible in `procPath` (`/proc`, or the host's proc mounted into a pod with
 * hostPID): every `<pid>/cmdline` whose argv[0] has the basename `etcd`, ordered by pid. Reads are
 * bounded (4 KiB of each cmdline, at most 1 MiB for an etcd's, the first 65 536 pids, 64 at a time).
 * Throws only when `procPath` itself cannot be listed.
 */
export async function findEtcdProcesses(procPath: string): Promise<EtcdProcess[]> {
  const pids = pidsOf(await readdir(procPath)).slice(0, MAX_PIDS);
  const out: EtcdProcess[] = [];
  for (let i = 0; i < pids.length; i += PARALLEL) {
    const batch = await Promise.all(pids.slice(i, i + PARALLEL).map((pid) => inspectPid(procPath, pid)));
    for (const p of batch) if (p !== undefined) out.push(p);
  }
  return out;
}

// ───────────────────────────────────────── the source ─────────────────────────────────────────

export interface EtcdConfigOptions {
  manifestPath: string;
  procPath: string;
  flags: EtcdConfigFlags;
  /**
   * The data dir the agent was told etcd uses (its --etcd-data-dir, possibly the default): picks the
   * right etcd when several run on the host, without claiming the value came from a flag.
   */
  dataDirHint?: string;
  interval: Milliseconds;
}

function layersOfProcess(p: EtcdProcess): Pick<EtcdConfigLayers, 'cmdline' | 'env' | 'cwd'> {
  return {
    cmdline: parseEtcdArgs(p.args),
    ...(p.env !== undefined ? { env: parseEtcdEnv(p.env) } : {}),
    ...(p.cwd !== undefined ? { cwd: p.cwd } : {}),
  };
}

const samePath = (a: string, b: string): boolean => path.resolve(a) === path.resolve(b);

/**
 * Each sample reads the manifest (absent is fine: the node is not kubeadm's) and the etcd processes,
 * and merges what it found with the agent's flags. With several etcd processes (a test cluster on one
 * machine), the one whose data dir is the flags' (or the manifest's) is chosen, else the lowest pid.
 * Fails with `not_found` only when etcd is nowhere and no flag says anything about it.
 */
export function createEtcdConfigSource(opts: EtcdConfigOptions): Source<EtcdConfigSample> {
  return {
    name: 'etcd_config',
    interval: opts.interval,
    async sample() {
      const notes: string[] = [];
      const blockers: FailureReason[] = [];

      let manifest: EtcdConfigValues | undefined;
      let manifestState = `no manifest at ${opts.manifestPath}`;
      try {
        const text = (await readUpTo(opts.manifestPath, MAX_YAML_CHARS + 1)).toString('utf8');
        const parsed = parseManifest(text);
        if (parsed !== undefined) {
          manifest = { ...parseEtcdEnv(parsed.env), ...parseEtcdArgs(parsed.args) };
          const cf = configFileOf(parsed.args, parsed.env);
          if (cf !== undefined) notes.push(`the manifest starts etcd with --config-file=${cf}: etcd then ignores its other flags, and this agent does not read that file`);
        } else {
          manifestState = `no etcd container in ${opts.manifestPath} (or YAML this agent cannot read)`;
          notes.push(manifestState);
        }
      } catch (err) {
        const reason = reasonForError(err);
        if (reason !== 'not_found') {
          manifestState = `cannot read ${opts.manifestPath}: ${errorMessage(err)}`;
          notes.push(manifestState);
          blockers.push(reason);
        }
      }

      let processes: EtcdProcess[] = [];
      let procState = `no etcd process in ${opts.procPath}/*/cmdline`;
      try {
        processes = await findEtcdProcesses(opts.procPath);
      } catch (err) {
        procState = `cannot list ${opts.procPath}: ${errorMessage(err)}`;
        notes.push(procState);
        blockers.push(reasonForError(err));
      }

      let chosen: EtcdProcess | undefined;
      if (processes.length > 0) {
        const wanted = opts.flags.dataDir ?? manifest?.['data-dir'] ?? opts.dataDirHint;
        if (wanted !== undefined && wanted !== '') {
          chosen = processes.find((p) => {
            const d = resolveEtcdConfig(layersOfProcess(p)).dataDir?.value;
            return d !== undefined && samePath(d, wanted);
          });
        }
        if (chosen === undefined) {
          chosen = processes[0]!;
          if (wanted !== undefined && wanted !== '') notes.push(`no etcd process uses --data-dir ${wanted}; reading pid ${chosen.pid}, the lowest`);
        }
        if (processes.length > 1) notes.push(`${processes.length} etcd processes: pids ${processes.map((p) => p.pid).join(', ')}`);
        const cf = configFileOf(chosen.args, chosen.env);
        if (cf !== undefined) notes.push(`etcd (pid ${chosen.pid}) runs with --config-file=${cf}: etcd then ignores its other flags, and this agent does not read that file`);
      }

      const sample = resolveEtcdConfig({
        flags: opts.flags,
        ...(manifest !== undefined ? { manifest } : {}),
        ...(chosen !== undefined ? layersOfProcess(chosen) : {}),
      });
      if (sample.heartbeatInterval === undefined) {
        const reason = blockers.includes('permission') ? 'permission' : 'not_found';
        return failure(reason, `no etcd found: ${manifestState}, ${procState}; pass --etcd-heartbeat-interval/--etcd-election-timeout`);
      }

      const where: string[] = [];
      if (manifest !== undefined) where.push(opts.manifestPath);
      if (chosen !== undefined) {
        const cmdline = path.join(opts.procPath, String(chosen.pid), 'cmdline');
        where.push(processes.length > 1 ? `${cmdline} (1 of ${processes.length} etcd processes)` : cmdline);
      }
      if (where.length === 0) {
        where.push('agent flags');
        notes.push(`etcd was not found (${manifestState}, ${procState}): values not given as agent flags are etcd's defaults, not observed`);
      }
      const allNotes = [...notes, ...(sample.notes ?? [])];
      return success({ ...sample, foundIn: where.join(', '), ...(allNotes.length > 0 ? { notes: allNotes } : {}) });
    },
  };
}
