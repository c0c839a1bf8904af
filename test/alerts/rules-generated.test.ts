// deploy/prometheus/etcd-latency-agent.rules.yaml is what generate/rules/ generates, byte for byte, and
// the generator takes every metric name from the contract rather than spelling it: a renamed metric
// changes the rules (or fails the type check) instead of leaving an alert on a series that is gone.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { PREFIX, SCRAPE_JOB } from '../../src/export/prometheus/contract.js';
import { RULES_FILE, rulesFile, rulesText } from '../../generate/rules/index.js';
import { renderRules } from '../../generate/rules/model.js';
import { writeRules } from '../../generate/rules/write.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The generator's sources that write PromQL or name recording rules. */
const SOURCES = [
  'generate/rule-names.ts',
  ...readdirSync(join(ROOT, 'generate/rules'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `generate/rules/${f}`),
];

t.test('the committed rules file is exactly what the generator writes', async (t) => {
  t.equal(readFileSync(join(ROOT, RULES_FILE), 'utf8'), rulesText(), 'run `npm run generate` after changing generate/rules/');
});

t.test('the generator writes the file and --check notices a hand edit', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rules-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.same(writeRules(root, true), [RULES_FILE], 'a check names the file when it is missing');
  t.same(writeRules(root, false), [RULES_FILE], 'writing it');
  t.same(writeRules(root, true), [], 'then the check is clean');
  const file = join(root, RULES_FILE);
  writeFileSync(file, readFileSync(file, 'utf8').replace('for: 15m', 'for: 5m'));
  t.same(writeRules(root, true), [RULES_FILE], 'the check names the edited file');
  t.same(writeRules(root, false), [RULES_FILE], 'writing undoes the edit');
  t.equal(readFileSync(file, 'utf8'), rulesText());
});

t.test('no metric name, prefix or job is spelled in the generator: they come from the contract', async (t) => {
  t.ok(SOURCES.length >= 5, `${SOURCES.length} sources`);
  const text = rulesText();
  t.ok(text.includes(PREFIX), "the rules do read the agent's metrics");
  for (const file of SOURCES) {
    const source = readFileSync(join(ROOT, file), 'utf8');
    t.notOk(source.includes(PREFIX), `${file}: no "${PREFIX}…" literal`);
    t.notMatch(source, /\bPREFIX\b/, `${file}: no name built from the prefix, past the contract's list`);
    t.notOk(source.includes(`"${SCRAPE_JOB}"`) || source.includes(`'${SCRAPE_JOB}'`), `${file}: the job is SCRAPE_JOB`);
  }
});

t.test('the renderer refuses text that YAML would read as another rule', async (t) => {
  const file = rulesFile();
  const [recording, ...rest] = file.groups;
  const [first, ...sections] = recording!.sections;
  const [rule, ...rules] = first!;
  // a plain scalar ends at " #": the expression would lose its tail without a word
  const broken = { ...file, groups: [{ ...recording!, sections: [[{ ...rule!, expr: `${rule!.expr} # a comment` }, ...rules], ...sections] }, ...rest] };
  t.throws(() => renderRules(broken), /does not parse back/);
});
