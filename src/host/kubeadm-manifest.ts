// etcd's command and environment from kubeadm's static pod manifest (etcd.yaml). Pure: text in.

import path from 'node:path';
import { parseYaml, type YamlValue } from '../lib/yaml.js';

// ─────────────────────────── the kubeadm static pod manifest ───────────────────────────

const asMap = (v: YamlValue | undefined): Map<string, YamlValue> | undefined => (v instanceof Map ? v : undefined);
const asSeq = (v: YamlValue | undefined): YamlValue[] | undefined => (Array.isArray(v) ? v : undefined);

/** A list of strings (`command`, `args`); null items count as empty strings; anything else is invalid. */
function stringList(v: YamlValue | undefined): string[] | undefined {
  if (v === undefined || v === null) return [];
  const seq = asSeq(v);
  if (seq === undefined) return undefined;
  const out: string[] = [];
  for (const item of seq) {
    if (item === null) out.push('');
    else if (typeof item === 'string') out.push(item);
    else return undefined;
  }
  return out;
}

export const isEtcdCommand = (argv0: string | undefined): boolean => argv0 !== undefined && path.posix.basename(argv0) === 'etcd';

/**
 * The etcd container of a static pod manifest: its `command` followed by its `args` (as the kubelet
 * runs them), and its literal `env` values (`valueFrom` entries are skipped). The container is the
 * one named `etcd`, else the first whose command is `etcd`. Undefined for anything that is not a pod
 * with such a container, including text this reader cannot parse; never throws.
 */
export function parseManifest(yamlText: string): { args: string[]; env: Record<string, string> } | undefined {
  let doc: YamlValue;
  try {
    doc = parseYaml(yamlText);
  } catch {
    return undefined; // YamlError for what this reader refuses; anything else must not crash the source either
  }
  const containers = asSeq(asMap(asMap(doc)?.get('spec'))?.get('containers'));
  if (containers === undefined) return undefined;
  const candidates = containers.map(asMap).filter((c): c is Map<string, YamlValue> => c !== undefined);
  const container =
    candidates.find((c) => c.get('name') === 'etcd') ??
    candidates.find((c) => isEtcdCommand(stringList(c.get('command'))?.[0]));
  if (container === undefined) return undefined;
  const command = stringList(container.get('command'));
  const args = stringList(container.get('args'));
  if (command === undefined || args === undefined) return undefined;

  const env: Record<string, string> = {};
  const envList = container.get('env');
  if (envList !== undefined && envList !== null) {
    const seq = asSeq(envList);
    if (seq === undefined) return undefined;
    for (const entry of seq) {
      const e = asMap(entry);
      const name = e?.get('name');
      if (e === undefined || typeof name !== 'string') return undefined;
      const value = e.get('value');
      if (typeof value === 'string') env[name] = value;
      else if (value === null && !e.has('valueFrom')) env[name] = '';
    }
  }
  return { args: [...command, ...args], env };
}
