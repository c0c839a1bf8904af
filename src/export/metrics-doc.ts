// Renders docs/metrics.md from the metric contract; a test fails when the file and the code differ.
// Regenerate with `npm run docs:metrics`.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { METRICS, PREFIX } from './contract.js';

const formatBuckets = (b: readonly number[]): string => b.map((x) => String(Number(x.toPrecision(6)))).join(', ');

export function renderMetricsDoc(): string {
  const rows = Object.values(METRICS).map((m) => {
    const labels = m.labels.length > 0 ? m.labels.map((l) => `\`${l}\``).join(', ') : '—';
    const buckets = 'buckets' in m && m.buckets ? `<br>buckets (s): ${formatBuckets(m.buckets)}` : '';
    return `| \`${m.name}\` | ${m.type} | ${labels} | ${m.help.replace(/\|/g, '\\|')}${buckets} |`;
  });
  return [
    '# Metrics',
    '',
    '<!-- Generated from src/export/contract.ts by `npm run docs:metrics`; do not edit by hand. -->',
    '',
    `Every metric of the agent starts with \`${PREFIX}\`, a prefix no etcd family uses. etcd's own`,
    'families are re-exported under it with a `member` label, so dashboards work even where Prometheus',
    "cannot scrape etcd, and they stay monotonic across etcd restarts (the agent adds each scrape's",
    'increase; a decrease means etcd restarted and its counters began again).',
    '',
    'The agent also exports prom-client\'s standard `process_*` and `nodejs_*` metrics about itself.',
    '',
    '| name | type | labels | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(process.argv[2] ?? 'docs/metrics.md', renderMetricsDoc());
}
