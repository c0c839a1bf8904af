// The agent's /metrics as a whole, in node_exporter's way: real samples replayed into the agent's
// state (test/helpers/replay.ts), rendered, and compared with test/fixtures/golden/metrics.prom, so a
// change of any name, help text, label, bucket or value shows up in review. Refresh it on purpose:
//   UPDATE_GOLDEN=1 node scripts/lts-node.mjs tap test/unit/golden-metrics.test.ts
// Only the contract's families are pinned: prom-client's process_* and nodejs_* change with every scrape.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { METRICS, PREFIX } from '../../src/export/prometheus/contract.js';
import { createMetricsRegistry } from '../../src/export/prometheus/metrics.js';
import { SOURCE_NAMES } from '../../src/sources/source.js';
import { AgentState } from '../../src/state/state.js';
import { at, contractLines, replaySteps } from '../helpers/replay.js';

const GOLDEN = new URL('../fixtures/golden/metrics.prom', import.meta.url);

async function rendered(): Promise<string> {
  const state = new AgentState(at(0), new Set(SOURCE_NAMES));
  for (const [, change] of replaySteps(state)) change();
  const body = contractLines(await createMetricsRegistry({ state, version: '0.0.0-golden', member: 'm0' }).metrics());
  // The Node.js release is the machine's, not the agent's behaviour: pinned as present, not by value.
  return `${body.split(`nodejs="${process.version}"`).join('nodejs="NODE_VERSION"')}\n`;
}

t.test('/metrics after the replayed samples is byte for byte the golden file', async (t) => {
  const body = await rendered();
  if (process.env['UPDATE_GOLDEN'] === '1') {
    writeFileSync(GOLDEN, body);
    t.comment('golden file rewritten');
  }
  t.ok(existsSync(GOLDEN), 'test/fixtures/golden/metrics.prom exists (UPDATE_GOLDEN=1 writes it)');
  t.equal(body, readFileSync(GOLDEN, 'utf8'), 'identical to test/fixtures/golden/metrics.prom (UPDATE_GOLDEN=1 to accept a change on purpose)');
  t.equal(await rendered(), body, 'and the same on a second render: nothing in it depends on the clock');
});

/** `name{a="1",b="2"} value` → the name and the label names. */
function sampleOf(line: string): { name: string; labels: string[] } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
  if (!m) throw new Error(`not a sample line: ${line}`);
  return { name: m[1]!, labels: [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((x) => x[1]!) };
}

t.test('every sample in the golden file belongs to a family of the contract and carries exactly its labels', async (t) => {
  const body = readFileSync(GOLDEN, 'utf8');
  const families = new Map(Object.values(METRICS).map((s) => [s.name, s]));
  const lines = body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  t.ok(lines.length > 100, `${lines.length} samples`);
  const seen = new Set<string>();
  for (const line of lines) {
    const { name, labels } = sampleOf(line);
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
    if (!family) {
      t.fail(`${name}: not in the contract`);
      continue;
    }
    seen.add(family.name);
    const expected = [...family.labels, ...(name.endsWith('_bucket') && family.type === 'histogram' ? ['le'] : [])].sort();
    t.same([...labels].sort(), expected, `${line.slice(0, 80)}: the contract's labels`);
  }
  t.ok(seen.size >= Object.keys(METRICS).length * 0.8, `${seen.size} of ${Object.keys(METRICS).length} families appear after the replay`);
  for (const name of families.keys()) t.ok(body.includes(`# HELP ${name} `), `${name}: HELP and TYPE are there even when it has no sample`);
  t.ok(body.split('\n').every((l) => l === '' || l.startsWith(PREFIX) || l.startsWith('# ')), 'nothing but the contract');
});

t.test('promtool check metrics finds nothing to lint in the golden file', { skip: existsSync('/usr/bin/promtool') ? false : 'promtool is not installed' }, async (t) => {
  const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: readFileSync(GOLDEN, 'utf8'), encoding: 'utf8' });
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  t.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no lint finding');
});
