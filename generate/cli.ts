// `npm run generate`: writes every file the repository derives from the code — grafana/*.json and
// docs/dashboards.md's panel tables (the dashboard specs), deploy/prometheus/'s rules file (the rule
// specs), docs/metrics.md and the README's flag table (the metric contract, the flag schema), then
// deploy/'s generated objects and the Helm chart's files (scripts/gen-deploy.mjs) and the mixin
// (scripts/gen-mixin.mjs), which embed the former.
// `npm run generate -- --check` writes nothing and exits 1 naming what is out of date; CI runs it.
// None of this is the agent: it lives outside src/ and is not shipped in dist/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDashboards } from './dashboards/write.js';
import { writeDocs } from './docs.js';
import { writeRules } from './rules/write.js';

/** The checkout: the nearest directory above this file with a package.json (source or compiled). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the generator');
    dir = up;
  }
  return dir;
}

function runScript(root: string, script: string, check: boolean): number {
  const r = spawnSync(process.execPath, [join(root, 'scripts', script), ...(check ? ['--check'] : [])], { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  if (argv.some((a) => a !== '--check')) {
    process.stderr.write('usage: npm run generate [-- --check]\n');
    return 2;
  }
  const root = repoRoot();
  const differ = [...writeDashboards(root, check), ...writeRules(root, check), ...writeDocs(root, check)];
  if (check && differ.length > 0) process.stderr.write(`out of date; run \`npm run generate\`:\n  ${differ.join('\n  ')}\n`);
  else for (const f of differ) process.stdout.write(`wrote ${f}\n`);
  // gen-deploy embeds grafana/*.json and the rules; gen-mixin embeds those too: they run after.
  const scripts = ['gen-deploy.mjs', 'gen-mixin.mjs'].map((s) => runScript(root, s, check));
  return differ.length > 0 && check ? 1 : Math.max(0, ...scripts);
}

process.exitCode = main(process.argv.slice(2));
