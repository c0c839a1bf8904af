// Writes grafana/*.json from src/export/dashboards (after `npm run build`), and the panel tables of
// docs/dashboards.md:
//
//   node dist/export/dashboards/write.js           write the dashboards
//   node dist/export/dashboards/write.js --check   exit 1 and name the files that differ; write nothing
//
// Then run `node scripts/gen-deploy.mjs` so the kube-prometheus-stack overlay's ConfigMaps follow.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboardText, dashboards, withPanelTables } from './index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function main(argv: readonly string[], root = ROOT): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write('usage: node dist/export/dashboards/write.js [--check]\n');
    return 2;
  }
  const dir = join(root, 'grafana');
  const differ: string[] = [];
  for (const [file, d] of dashboards()) {
    const path = join(dir, file);
    const text = dashboardText(d);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === text) continue;
    differ.push(`grafana/${file}`);
    if (!check) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, text);
      process.stdout.write(`wrote grafana/${file}\n`);
    }
  }
  const docPath = join(root, 'docs', 'dashboards.md');
  if (existsSync(docPath)) {
    const doc = readFileSync(docPath, 'utf8');
    const updated = withPanelTables(doc);
    if (updated !== doc) {
      differ.push('docs/dashboards.md');
      if (!check) {
        writeFileSync(docPath, updated);
        process.stdout.write('wrote docs/dashboards.md\n');
      }
    }
  }
  if (check && differ.length > 0) {
    process.stderr.write(`out of date; run \`npm run dashboards\`:\n  ${differ.join('\n  ')}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
