// npm test runs every test; the tiers run parts of it: test:unit in seconds without root or apt,
// test:integration with real tools and etcd, test:e2e with whole clusters, Prometheus and a browser.
// Every test file belongs to exactly one tier, so the three together are npm test.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '../..');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' || name === 'helpers' ? [] : testFiles(p);
    return name.endsWith('.test.ts') ? [relative(ROOT, p)] : [];
  });
}

/** The files a tier's tap command names, directories expanded. */
function tierFiles(script: string): string[] {
  const args = script.slice(script.lastIndexOf(' tap ') + ' tap '.length).split(/\s+/);
  return args.flatMap((a) => (statSync(join(ROOT, a)).isDirectory() ? testFiles(join(ROOT, a)) : [a]));
}

t.test('every test file is in exactly one tier, and the tiers together are npm test', async (t) => {
  const tiers = ['test:unit', 'test:integration', 'test:e2e'].map((name) => ({ name, files: tierFiles(scripts[name]!) }));
  const all = testFiles(join(ROOT, 'test')).sort();
  t.ok(all.length > 50, `${all.length} test files`);
  t.same(tiers.flatMap((x) => x.files).sort(), all, 'the tiers name every test file once');
  t.match(scripts['test:unit'], /^npm run build && npm run typecheck && /, 'test:unit installs nothing: no apt, no root');
  t.notMatch(scripts['test:unit'], /ensure-test-deps/);
  for (const name of ['test:integration', 'test:e2e']) t.match(scripts[name], /^node scripts\/ensure-test-deps\.mjs && /, `${name} installs what it needs, as npm test does`);
});
