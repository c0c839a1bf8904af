// The layers of src/, bottom up: lib and model (shared by all), host (the host's files), sources,
// state, analysis, export, commands, and the entry point cli.ts. A file imports only from its own
// layer or below, and no import chain comes back to where it started. The test reads the imports
// from the files themselves, so a new file is checked the day it is added.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

const LAYERS = ['lib', 'model', 'host', 'sources', 'state', 'analysis', 'export', 'commands', 'cli.ts'] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : name.endsWith('.ts') ? [relative(SRC, p)] : [];
  });
}

/** The src-relative files a file imports (relative specifiers only; packages and node: are outside). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative(SRC, resolve(SRC, dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** The file's layer (its top folder, or cli.ts itself); -1 when it is in none. */
function layerOf(file: string): number {
  return LAYERS.indexOf(file.split('/')[0]! as (typeof LAYERS)[number]);
}

/** Every cycle's files, found by depth-first search (each cycle reported once, from its first file). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') {
        const cycle = stack.slice(stack.indexOf(g));
        found.set([...cycle].sort().join(' '), [...cycle, g]);
      } else if (state.get(g) === undefined) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (state.get(f) === undefined) visit(f);
  return [...found.values()];
}

const files = sourceFiles(SRC).sort();
const graph = new Map(files.map((f) => [f, importsOf(f)]));

t.test('every file of src/ sits in a layer', async (t) => {
  t.same(files.filter((f) => layerOf(f) < 0), [], `files outside ${LAYERS.join(', ')}`);
});

t.test('imports point down the layers, never up', async (t) => {
  const upward = [...graph].flatMap(([f, imports]) => imports.filter((g) => layerOf(g) > layerOf(f)).map((g) => `src/${f} → src/${g}`));
  t.same(upward, [], 'upward imports');
});

t.test('no import cycle', async (t) => {
  t.same(cycles(graph).map((c) => c.join(' → ')), [], 'cycles');
});

t.test('every import names a file that exists', async (t) => {
  const missing = [...graph].flatMap(([f, imports]) => imports.filter((g) => !graph.has(g)).map((g) => `src/${f} → src/${g}`));
  t.same(missing, []);
});

t.test('the checks can fail: an upward edge and a cycle are seen', async (t) => {
  t.ok(layerOf('lib/units.ts') < layerOf('sources/diskstats.ts'));
  t.same(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c', 'a']]);
  t.same(cycles(new Map([['a', ['b']], ['b', []]])), []);
});
