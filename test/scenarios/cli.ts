// `npm run scenario -- NAME [--etcd=3.6] [--json] [--measure=SECONDS] [--keep] [--out=FILE]`
// `npm run scenario -- grid [--etcd=3.6] [--repeats=N] [--points=HB/ET/STALL,…] [--measure=SECONDS] [--quick]`
// `npm run scenario -- list`
//
// Runs the built agent (dist/cli.js): `npm run build` first. Progress goes to stderr; the result
// (table, or JSON with --json) to stdout. Use `npm run -s scenario -- … --json` for clean JSON (npm
// prints its own header on stdout otherwise), or --out=FILE.
import { existsSync, writeFileSync } from 'node:fs';
import { CLI } from '../../harness/agent-process.js';
import { etcdBuild, etcdVersionPlans } from '../../harness/etcd-versions.js';
import { parsePoints, runGrid } from './grid.js';
import { cannotRun, runScenario } from './harness.js';
import { renderResult } from './report.js';
import { SCENARIOS, describeFault, scenarioByName, withOverrides } from './scenarios.js';

function usage(): string {
  const names = SCENARIOS.map((s) => `  ${s.name.padEnd(16)} hb ${s.heartbeatMs} / et ${s.electionMs}: ${describeFault(s.fault)} (expect: ${s.expect})`);
  return [
    'usage: npm run scenario -- NAME [--etcd=LINE] [--json] [--measure=SECONDS] [--keep] [--out=FILE]',
    '       npm run scenario -- grid [--etcd=LINE] [--repeats=N] [--points=HB/ET/STALL,…] [--measure=SECONDS] [--quick]',
    '       npm run scenario -- list',
    '',
    'scenarios:',
    ...names,
    '  grid             several heartbeat/election pairs × stall lengths, repeated; writes bench/results/scenario-grid[-etcdLINE]-<date>.{json,csv}',
    '',
    '--points=100/1000/1200,200/2000/2500: only these grid points (heartbeat/election/stall, ms), e.g. to repeat the ones where elections happen',
    `--etcd=LINE: the etcd the cluster runs, one of ${etcdVersionPlans({ ...process.env, ETCD_VERSIONS: undefined }).map((p) => p.build.minor).join(', ')} (default 3.4, Debian's)`,
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = new Map<string, string>();
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      flags.set(eq < 0 ? a.slice(2) : a.slice(2, eq), eq < 0 ? 'true' : a.slice(eq + 1));
    } else words.push(a);
  }
  const name = words[0];
  if (!name || flags.has('help') || name === 'list') {
    process.stdout.write(usage() + '\n');
    return name === 'list' || flags.has('help') ? 0 : 2;
  }
  if (!existsSync(CLI)) {
    process.stderr.write(`the agent is not built (${CLI} is missing): run npm run build first\n`);
    return 2;
  }
  const measure = flags.has('measure') ? Number(flags.get('measure')) : undefined;
  if (measure !== undefined && !(measure > 0)) {
    process.stderr.write('--measure=SECONDS must be a positive number\n');
    return 2;
  }
  const line = flags.get('etcd') ?? '3.4';
  const etcd = etcdBuild(line);
  if (!etcd) {
    process.stderr.write(`--etcd=${line}: no such etcd here (the matrix: tools/etcd-server/versions.json; built ones need node scripts/build-etcd.mjs)\n`);
    return 2;
  }
  if (name === 'grid') {
    const repeats = flags.has('repeats') ? Number(flags.get('repeats')) : undefined;
    const points = flags.has('points') ? parsePoints(flags.get('points')!) : undefined;
    if (flags.has('points') && !points) {
      process.stderr.write(`--points=${flags.get('points')}: want HB/ET/STALL in ms, comma-separated (e.g. 100/1000/1200,200/2000/2500)\n`);
      return 2;
    }
    const out = await runGrid({
      ...(repeats !== undefined ? { repeats } : {}),
      ...(points ? { points } : {}),
      ...(measure !== undefined ? { measureSeconds: measure } : {}),
      quick: flags.has('quick'),
      etcd,
    });
    process.stdout.write(`${out.table}\n\nwrote ${out.jsonFile} and ${out.csvFile}\n`);
    return 0;
  }
  const base = scenarioByName(name);
  if (!base) {
    process.stderr.write(`unknown scenario "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const spec = measure !== undefined ? withOverrides(base, { measureSeconds: measure }) : base;
  const why = cannotRun(spec);
  if (why) {
    process.stderr.write(`scenario ${name} cannot run here: ${why}\n`);
    return 3;
  }
  const result = await runScenario(spec, { keepDir: flags.has('keep'), etcd });
  const json = JSON.stringify(result, null, 2);
  if (flags.has('out')) writeFileSync(flags.get('out')!, json + '\n');
  process.stdout.write((flags.has('json') ? json : renderResult(result)) + '\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`scenario failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
