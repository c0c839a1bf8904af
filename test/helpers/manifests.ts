// Rendering and validating Kubernetes manifests, shared by the kustomize and Helm chart tests: the real
// `kubectl kustomize`, and the Kubernetes and prometheus-operator schemas of npm's kubernetes-models.
import { execFileSync } from 'node:child_process';
import { relative, resolve } from 'node:path';
import YAML from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export const parseManifests = (text: string): K8sObject[] =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);

export function kustomize(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl is not installed: these tests render deploy/ with `kubectl kustomize`');
    throw new Error(`kubectl kustomize ${relative(ROOT, dir) || dir} failed: ${e.stderr ?? e.message}`);
  }
  return parseManifests(out);
}

/** The model class for an apiVersion/kind, from kubernetes-models or @kubernetes-models/prometheus-operator. */
export async function modelClass(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`
      : group === ''
        ? `kubernetes-models/${version}`
        : `kubernetes-models/${group}/${version}`;
  // One model's file, not the whole API group's index (much faster to load).
  const exports = (await import(`${module}/${kind}`).catch(() => ({}))) as Record<string, unknown>;
  const cls = exports[kind];
  if (typeof cls !== 'function') throw new Error(`no model for ${apiVersion} ${kind} in ${module}`);
  return cls as new (data: unknown) => { validate(): void };
}
