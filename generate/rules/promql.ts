// The pieces of PromQL and Go template the rules share: the agent's series, the labels per-node rules
// keep, and the queries alert texts run to add figures of their own.
import type { FindingCode } from '../../src/analysis/rules/index.js';
import { METRICS, SCRAPE_JOB } from '../../src/export/prometheus/contract.js';
import type { DiskRemedy } from '../../src/model/diagnosis.js';

export { m, bucket } from '../rule-names.js';

/** The labels a per-node rule keeps: a node's series stay apart per cluster, scrape job and target. */
export const PER_NODE = 'cluster, job, node, instance';

/** The selector of the agents' own targets. */
export const JOB = `job="${SCRAPE_JOB}"`;

/** A finding of the agent's diagnosis, by code (a typo is a compile error). */
export const finding = (code: FindingCode, ...extra: string[]): string => `${METRICS.finding.name}{${[`code="${code}"`, ...extra].join(', ')}}`;
export const diskRemedy = (remedy: DiskRemedy): string => `${METRICS.diskRecommendation.name}{remedy="${remedy}"}`;

/**
 * An alert about one etcd member: the pod label names the member's static pod (kubeadm's etcd-<node>),
 * as kube-prometheus-stack's etcd alerts do, so Alertmanager can inhibit theirs by ours.
 */
export const asMemberPod = (expr: string): string => `label_replace(${expr}, "pod", "etcd-$1", "node", "(.+)")`;

/**
 * A selector of an alert text's query: a bare label name is filled from the alert's own label by
 * printf (`cluster="%s"`), a `name="value"` matcher is kept as written.
 */
export const tsel = (...matchers: string[]): string => `{${matchers.map((x) => (x.includes('=') ? x : `${x}="%s"`)).join(',')}}`;

/** `{{ with query … }}` over `expr`, its `%s` filled from the alert's labels in the order they appear. */
export function withQuery(expr: string): string {
  const args = [...expr.matchAll(/(\w+)="%s"/g)].map((x) => ` $labels.${x[1]!}`).join('');
  return `{{ with query (printf \`${expr}\`${args}) }}`;
}
