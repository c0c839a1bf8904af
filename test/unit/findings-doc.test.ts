import { readFileSync } from 'node:fs';
import t from 'tap';
import { FINDING_CODES } from '../../src/analysis/rules/index.js';

t.test('docs/findings.md describes every finding code and no other', async (t) => {
  const doc = readFileSync(new URL('../../docs/findings.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  t.same([...documented].sort(), [...FINDING_CODES].sort());
});
