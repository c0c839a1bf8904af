// Writes grafana/*.json from the dashboard specs, and the panel tables of docs/dashboards.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardText, dashboards, withPanelTables } from './index.js';

/** The files under `root` that differ from the generator's output; written unless `check`. */
export function writeDashboards(root: string, check: boolean): string[] {
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
      }
    }
  }
  return differ;
}
