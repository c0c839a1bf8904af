// The rules file's opening comment: what an operator loading the file by hand needs to know about its
// labels, its exactness and its waiting times.
import { SCRAPE_JOB } from '../../src/export/prometheus/contract.js';
import { RUNBOOK_PREFIX } from './alert.js';
import type { Comment } from './model.js';

export const HEADER: Comment = [
  'Prometheus rules for etcd-latency-agent: recording rules the dashboards and alerts share, and the',
  'alerts. Generated from generate/rules/ by `npm run generate` (metric names from the contract,',
  'numbers from the thresholds): change the code, not this file. Plain rules file',
  '(`promtool check rules`); scripts/gen-deploy.mjs embeds it unchanged as the',
  'PrometheusRule in deploy/monitoring/generated/. Tests: deploy/prometheus/tests/',
  '(`promtool test rules`), test/alerts/ (every metric exists in the contract, every runbook exists).',
  '',
  `Labels. Every agent series carries job="${SCRAPE_JOB}", instance and node (the ServiceMonitor`,
  "copies the pod's node name into node; scrape configs of your own should do the same). The job name",
  'must not contain "etcd": kube-prometheus-stack\'s etcd rules select job=~".*etcd.*" and would count',
  'the agents as etcd members (test/alerts/kube-prometheus-stack.test.ts). The alerts about one etcd',
  'member\'s disk (WAL fsync, backend commit, stalls) carry pod="etcd-<node>", the name kubeadm gives the',
  "member's static pod: the label kube-prometheus-stack's etcd alerts carry too, so Alertmanager can",
  'inhibit theirs by ours for the same member (deploy/prometheus/alertmanager.example.yml). And cluster when',
  "your Prometheus adds one (external or target label). etcd's families re-exported by the agent carry",
  'member. Per-node rules keep (cluster, job, node, instance); per-cluster rules keep cluster — an absent',
  'cluster label is one cluster.',
  '',
  "Exactness. etcd's WAL fsync and backend commit histograms have power-of-two buckets (1 ms × 2^k):",
  '10 ms and 25 ms are not bucket edges. The alerts therefore use what the buckets prove: more than 1 %',
  'of WAL fsyncs slower than 16 ms means the p99 is above 16 ms — above the 10 ms target for certain;',
  'more than 1 % of commits slower than 32 ms means the commit p99 is above the 25 ms target for certain.',
  "(A p99 between 10 and 16 ms is not alerted on; the agent's wal_fsync_slow finding and the dashboards",
  "show that grey zone.) The probe's histogram has 10 ms and 25 ms edges: its shares are exact.",
  'Interpolated quantiles and the *_estimate_* shares are for dashboards and alert texts only.',
  '',
  'Flapping. Every latency alert waits longer (for:) than the window it is computed over, so one burst',
  'of slow fsyncs — which stays in a 5 m window for 5 m — can never fire it alone. Alerts driven by the',
  "agent's findings inherit its own window (--analysis-window, 5 m) and hysteresis (--finding-clear-after,",
  '2 m): a finding raised by a single stall lasts about 7 m, so they wait 10 m.',
  '',
  `runbook_url: ${RUNBOOK_PREFIX}<alert>.md`,
  'ADJUST the prefix when you serve the runbooks elsewhere (a fork, an internal wiki).',
];
