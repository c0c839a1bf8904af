// `bench` on a real filesystem, and on a disk made slow by strace's fdatasync delay injection.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { BenchResult } from '../../src/commands/bench.js';
import { CLI } from '../../harness/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-cmd-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function bench(prefix: string[], args: string[], env: NodeJS.ProcessEnv = process.env) {
  const [cmd, ...rest] = [...prefix, process.execPath, CLI, 'bench', `--probe-dir=${dir}`, '--probe-min-free=1MiB', ...args];
  return spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 120_000, env });
}

const hasFallocate = spawnSync('fallocate', ['-V']).status === 0;

t.test('bench --json reports exact quantiles of the requested number of fdatasyncs and removes its file', async (t) => {
  const r = bench([], ['--count=300', '--json']);
  t.equal(r.stderr, '', 'quiet in a pipe: no progress bar');
  const result = JSON.parse(r.stdout) as BenchResult;
  t.equal(result.fdatasyncs, 300);
  t.equal(result.writeSize, 2300);
  t.ok(result.seconds.p50 > 0 && result.seconds.p50 <= result.seconds.p99 && result.seconds.p99 <= result.seconds.max, 'ordered quantiles');
  t.equal(result.pass, result.seconds.p99 < 0.01, 'the verdict is p99 against 10 ms');
  t.equal(r.status, result.pass ? 0 : 1, 'exit status follows the verdict');
  t.same(readdirSync(dir), [], 'no probe file left behind');
});

t.test('the verdict is the p99 against --wal-fsync-p99: an hour passes any disk, a microsecond fails it', async (t) => {
  const lenient = JSON.parse(bench([], ['--count=100', '--json', '--wal-fsync-p99=1h']).stdout) as BenchResult;
  t.same([lenient.target, lenient.pass], [3600, true]);
  const strict = bench([], ['--count=100', '--json', '--wal-fsync-p99=1us']);
  const result = JSON.parse(strict.stdout) as BenchResult;
  t.same([result.target, result.pass, strict.status], [0.000001, false, 1]);
});

t.test("bench writes into a fallocate()d file, as etcd's WAL and fio do, and says so", { skip: !hasFallocate && "util-linux's fallocate is not installed" }, async (t) => {
  const json = JSON.parse(bench([], ['--count=100', '--json']).stdout) as BenchResult;
  t.equal(json.layout, 'fallocated');
  t.match(bench([], ['--count=100']).stdout, /in a fallocate\(\)d file/);
});

t.test('without fallocate(1) bench falls back to a zero-filled file and says that it reads low', async (t) => {
  const noBin = mkdtempSync(join(tmpdir(), 'bench-cmd-path-'));
  t.teardown(() => rmSync(noBin, { recursive: true, force: true }));
  const env = { ...process.env, PATH: noBin };
  const json = JSON.parse(bench([], ['--count=100', '--json'], env).stdout) as BenchResult;
  t.equal(json.layout, 'zero-filled');
  t.match(bench([], ['--count=100'], env).stdout, /preallocated with zeros \(fallocate unavailable\): faster than etcd's WAL/);
  t.same(readdirSync(dir), [], 'no probe file left behind');
});

t.test('on a terminal the progress bar is redrawn after every round of 100 fdatasyncs', { skip: !existsSync('/usr/bin/script') && 'script(1) is not installed' }, async (t) => {
  // script(1) gives bench a pseudo-terminal; the rounds are timed synchronously, the bar drawn between them.
  const command = [process.execPath, CLI, 'bench', `--probe-dir=${dir}`, '--probe-min-free=1MiB', '--count=300'].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
  const bars = [...r.stdout.matchAll(/\[[#.]{40}\] (\d+)\/300 fdatasyncs/g)].map((m) => Number(m[1]));
  t.same(bars, [100, 200, 300], 'one redraw per round');
  t.match(r.stdout, /(PASS|FAIL): p99/);
});

t.test('bench fails a disk whose every fdatasync is delayed by 20 ms (strace fault injection)', { skip: !existsSync('/usr/bin/strace') && 'strace is not installed' }, async (t) => {
  const r = bench(['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', 'inject=fdatasync:delay_enter=20ms'], ['--count=50', '--json']);
  const result = JSON.parse(r.stdout) as BenchResult;
  t.ok(result.seconds.p50 >= 0.02, `p50 ${result.seconds.p50} s includes the injected 20 ms`);
  t.equal(result.pass, false, 'FAIL verdict');
  t.equal(r.status, 1, 'exit status 1');
});

t.test('bench prints a readable verdict without --json', async (t) => {
  const r = bench([], ['--count=100']);
  t.match(r.stdout, /p50 [\d.]+ ms +p90 [\d.]+ ms +p99 [\d.]+ ms/);
  t.match(r.stdout, /(PASS|FAIL): p99/);
  t.match(r.stdout, /election model, 3 members, as if etcd synced its WAL 10 times a second[^]*at 100\/1000 ms heartbeat\/election \(etcd's defaults/, "and the election model's prediction at etcd's defaults");
});

t.test('bench gives the election model the distribution it measured: 1.5 s stalls need other settings (strace)', { skip: !existsSync('/usr/bin/strace') && 'strace is not installed' }, async (t) => {
  // Every 20th fdatasync from the 10th on delayed 1.5 s: 3 stalls in 60 (each one a stall of etcd's leader at 100/1000).
  const strace = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', 'inject=fdatasync:delay_enter=1500000:when=10+20'];
  const args = ['--count=60', '--etcd-heartbeat-interval=100ms', '--etcd-election-timeout=1000ms'];
  const result = JSON.parse(bench(strace, [...args, '--json']).stdout) as BenchResult;
  t.ok(result.seconds.max >= 1.5, `the stalls were measured (max ${result.seconds.max} s)`);
  t.same(result.model.settings, { heartbeat: 100, election: 1000, known: true }, 'at the settings given');
  t.ok(result.model.electionsPerDay >= 1, `elections predicted at 100/1000 (${result.model.electionsPerDay.toFixed(1)}/day)`);
  t.ok(result.model.needs?.meetsTarget && result.model.needs.election > 1000, `and the settings that would ride them out (${result.model.needs?.heartbeat}/${result.model.needs?.election})`);
  const fast = JSON.parse(bench([], ['--count=100', '--json', ...args.slice(1)]).stdout) as BenchResult;
  t.equal(fast.model.needs, undefined, 'without stalls the running settings do');
});
