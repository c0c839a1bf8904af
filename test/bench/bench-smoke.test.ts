// Keeps bench/ from rotting: every figure's script runs in its tiny --smoke mode (a few seconds
// each, numbers meaningless) and must write a well-formed result. Nothing here looks at a timing.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { ResultFile } from '../../bench/lib/common.js';
import { renderSummary } from '../../bench/summary.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Each figure and the programs it needs besides node and the built agent. */
const FIGURES: Record<string, readonly string[]> = {
  'parse-cost': ['/usr/bin/etcd'],
  'scrape-latency': ['/usr/bin/etcd', '/usr/bin/wrk'],
  'scrape-throughput': ['/usr/bin/etcd', '/usr/bin/wrk', '/usr/bin/prometheus-node-exporter'],
  footprint: ['/usr/bin/etcd'],
  'probe-interference': ['/usr/bin/etcd'],
  'probe-accuracy': ['/usr/bin/fio', '/usr/bin/strace'],
  'detection-latency': ['/usr/bin/etcd', '/usr/bin/etcdctl', '/usr/bin/strace'],
  scale: ['/usr/bin/etcd'],
};

const runnable = Object.keys(FIGURES).filter((f) => FIGURES[f]!.every((p) => existsSync(p)) && existsSync(join(ROOT, 'dist', 'cli.js')));
const skipped = Object.keys(FIGURES).filter((f) => !runnable.includes(f));

// Up to four etcd clusters, wrk, fio and strace runs one after another on a busy CI machine.
t.setTimeout(20 * 60_000);

const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));

/** Runs bench/cli.ts through tap's TypeScript loader, as `npm run bench` runs the compiled copy. */
function runBench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=@tapjs/typescript/import', join(ROOT, 'bench', 'cli.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 18 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('list names every figure', async (t) => {
  const r = await runBench(['list']);
  t.equal(r.code, 0);
  for (const f of Object.keys(FIGURES)) t.match(r.stdout, f);
});

t.test('every figure runs in smoke mode and writes a well-formed result', { skip: runnable.length === 0 && 'no figure can run here' }, async (t) => {
  if (skipped.length > 0) t.comment(`skipped (tools missing): ${skipped.join(', ')}`);
  const r = await runBench([...runnable, '--smoke', `--out=${out}`]);
  t.equal(r.code, 0, 'bench exits 0', { stderr: r.stderr.slice(-4000) });
  const results: ResultFile[] = [];
  for (const figure of runnable) {
    const file = join(out, `${figure}.json`);
    if (!t.ok(existsSync(file), `${figure}: wrote ${figure}.json`)) continue;
    const res = JSON.parse(readFileSync(file, 'utf8')) as ResultFile;
    results.push(res);
    t.equal(res.figure, figure, `${figure}: names itself`);
    t.equal(res.smoke, true, `${figure}: marked as a smoke run`);
    t.ok(Array.isArray(res.summary) && res.summary.length > 0 && res.summary.every((l) => typeof l === 'string' && l.length > 0), `${figure}: a summary`);
    t.type(res.target, 'string', `${figure}: its target`);
    t.ok(res.targetMet === undefined || typeof res.targetMet === 'boolean', `${figure}: target met is a boolean when there is a target`);
    t.type(res.method, 'object', `${figure}: how it was measured`);
    t.type(res.results, 'object', `${figure}: the results`);
    t.ok(res.raw !== undefined && res.raw !== null, `${figure}: the raw measurements`);
    t.match(res.command, new RegExp(`^npm run bench -- ${figure}\\b`), `${figure}: the command that reproduces it`);
    t.ok(!Number.isNaN(Date.parse(res.startedAt)) && !Number.isNaN(Date.parse(res.finishedAt)), `${figure}: when`);
    t.ok(res.machine.cores > 0 && res.machine.cpu.length > 0, `${figure}: the machine`);
    t.ok(Array.isArray(res.activityBefore.loadavg) && Array.isArray(res.activityBefore.busiest), `${figure}: what else was running`);
    t.match(r.stdout, `== ${figure} `, `${figure}: summarised on stdout`);
  }
  const block = renderSummary(results);
  t.match(block, /<!-- bench:figures:start/, 'the README block has its markers');
  for (const res of results) t.match(block, `| ${res.figure} |`, `the README block has a row for ${res.figure}`);
});

t.test('an unknown figure is a usage error', async (t) => {
  const r = await runBench(['no-such-figure', `--out=${out}`]);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown figure/);
});
