// `npm run bench -- <figure>… [--duration=30s] [--runs=N] [--out=DIR] [--smoke]`
//
// Each figure of issue 7 is one sub-command; `all` runs every one in turn; `summary` rewrites the
// generated block of bench/README.md from bench/results/*.json. Results go to bench/results/<figure>.json,
// or to bench/results/tmp/ when any option shortens the run (so a quick run never replaces a
// figure quoted in the README).
import { AGENT_CLI, activity, buildIdentity, machine, parseOptions, say, writeResult, type BenchOptions, type FigureResult, type ResultFile } from './lib/common.js';
import { scrapeLatency, scrapeThroughput } from './figures/scrape.js';
import { footprint } from './figures/footprint.js';
import { probeInterference } from './figures/interference.js';
import { probeAccuracy } from './figures/accuracy.js';
import { parseCost } from './figures/parse.js';
import { detectionLatency } from './figures/detection.js';
import { scale } from './figures/scale.js';
import { writeSummary } from './summary.js';

export const FIGURES: Record<string, { run: (o: BenchOptions) => Promise<FigureResult>; about: string }> = {
  'scrape-latency': { run: scrapeLatency, about: '/metrics latency at 1 req/s (p99 < 5 ms) and under wrk -c20' },
  'scrape-throughput': { run: scrapeThroughput, about: "wrk req/s, agent vs node_exporter, interleaved (≥ 10×)" },
  footprint: { run: footprint, about: 'RSS and CPU over 10 min at default settings with etcd (≤ 64 MB, ≤ 1% of a core)' },
  'probe-interference': { run: probeInterference, about: "etcd's WAL fsync p99 with the probe on vs off, interleaved (ratio ≤ 1.05)" },
  'probe-accuracy': { run: probeAccuracy, about: 'bench (the probe) vs fio, interleaved, and under a 20 ms injected delay (within 10%)' },
  'parse-cost': { run: parseCost, about: 'parsing etcd /metrics bodies, real and synthetic (≤ 2 ms per ~150 KB body)' },
  'detection-latency': { run: detectionLatency, about: 'stall → finding (≤ 2 probe intervals), term change → election counter (≤ 1 s)' },
  scale: { run: scale, about: 'cost with 1, 8, 32 block devices and 3 vs 5 etcd members (slopes)' },
};

const USAGE = `usage: npm run bench -- <figure>… | all | summary | list [--duration=D] [--runs=N] [--out=DIR] [--smoke]
figures:
${Object.entries(FIGURES)
  .map(([k, v]) => `  ${k.padEnd(20)} ${v.about}`)
  .join('\n')}
options:
  --duration=D   length of one run/window (each figure has its default; 10m for footprint)
  --runs=N       repetitions (pairs for the interleaved A/B figures)
  --smoke        tiny runs for the smoke test: checks the scripts, not the machine
  --out=DIR      where to write <figure>.json (default bench/results/, bench/results/tmp/ for shortened runs)`;

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const { figures, options } = parsed;
  if (figures.length === 0 || figures.includes('list') || figures.includes('help')) {
    process.stdout.write(USAGE + '\n');
    return figures.length === 0 ? 2 : 0;
  }
  if (figures.includes('summary')) {
    const file = writeSummary();
    process.stdout.write(`wrote the summary block of ${file}\n`);
    return 0;
  }
  const names = figures.includes('all') ? Object.keys(FIGURES) : figures;
  const unknown = names.filter((n) => !(n in FIGURES));
  if (unknown.length > 0) {
    process.stderr.write(`unknown figure(s): ${unknown.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const m = machine();
  let failures = 0;
  for (const name of names) {
    const startedAt = new Date().toISOString();
    say(name, `starting (${FIGURES[name]!.about})`);
    const before = await activity();
    const buildBefore = buildIdentity();
    try {
      const result = await FIGURES[name]!.run(options);
      const after = await activity();
      const buildAfter = buildIdentity();
      if (buildAfter.sha256 !== buildBefore.sha256) say(name, `warning: ${AGENT_CLI} was rebuilt during this figure (${buildBefore.sha256} → ${buildAfter.sha256})`);
      const file: ResultFile = {
        ...result,
        command: `${process.env['BENCH_AGENT_CLI'] ? `BENCH_AGENT_CLI=${process.env['BENCH_AGENT_CLI']} ` : ''}npm run bench -- ${[name, ...argv.filter((a) => a.startsWith('--'))].join(' ')}`,
        agent: AGENT_CLI,
        agentBuild: { before: buildBefore, after: buildAfter },
        startedAt,
        finishedAt: new Date().toISOString(),
        machine: m,
        activityBefore: before,
        activityAfter: after,
        smoke: options.smoke,
      };
      const path = writeResult(options.outDir, file);
      process.stdout.write(`\n== ${name} (${path})\n${result.summary.map((l) => `  ${l}`).join('\n')}\n`);
    } catch (err) {
      failures++;
      process.stderr.write(`\n== ${name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
  }
  return failures > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
