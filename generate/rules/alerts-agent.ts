// The alerts about the agent itself: a target Prometheus cannot scrape, a source the agent cannot read.
import { alert } from './alert.js';
import type { AlertRule } from './model.js';
import { JOB, m, tsel, withQuery } from './promql.js';

export function agentDown(): AlertRule {
  return alert({
    comment: ['── the agent itself ──────────────────────────────────────────────────────────────────────────'],
    alert: 'EtcdLatencyAgentDown',
    expr: `up{${JOB}} == 0`,
    for: '5m',
    severity: 'warning',
    summary: 'Prometheus cannot scrape etcd-latency-agent on {{ $labels.node }} ({{ $labels.instance }}).',
    description: [
      `The scrape of {{ $labels.instance }} (node {{ $labels.node }}) has failed for 5 minutes${withQuery(`count(up${tsel(JOB, 'cluster')} == 0)`)}`,
      `({{ . | first | value }} of{{ end }}${withQuery(`count(up${tsel(JOB, 'cluster')})`)} {{ . | first | value }} agents of the cluster are down;`,
      "all of them down points at Prometheus's side: the ServiceMonitor, a network policy){{ end }}: etcd's disk and",
      'elections on that node are not watched, and the other etcd alerts cannot fire for it.',
      "Recommendation: check the DaemonSet's pod on that node (kubectl -n etcd-latency-agent get pods -o wide,",
      'its events and log) and that port 9379 is reachable from Prometheus.',
    ],
  });
}

export function sourceDown(): AlertRule {
  return alert({
    alert: 'EtcdLatencyAgentSourceDown',
    expr: `${m('sourceUp')} == 0`,
    for: '5m',
    severity: 'warning',
    summary: 'etcd-latency-agent on {{ $labels.node }} cannot read its {{ $labels.source }} source.',
    description: [
      `The agent on {{ $labels.node }} has failed to sample {{ $labels.source }} for 5 minutes${withQuery(`topk(1, increase(${m('sourceErrors')}${tsel('cluster', 'node', 'source')}[10m]))`)}`,
      '(most frequent error: {{ . | first | label "reason" }}){{ end }}; what depends on it is missing from the',
      'diagnosis, the dashboards and the other alerts.',
      "Recommendation: read the agent's log on that node and GET /api/v1/status (the last error of each",
      'source); the runbook lists the usual cause per source.',
    ],
  });
}
