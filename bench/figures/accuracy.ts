// probe accuracy: `etcd-latency-agent bench` (the probe's own code: createFsyncProbe, one
// fdatasync timed per 2300-byte write) against fio's etcd check on the same filesystem, interleaved,
// natively and with every fdatasync delayed by strace (a known injected delay).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_CLI, deviceOf, fmtMs, fmtNum, numberOption, say, type BenchOptions, type FigureResult } from '../lib/common.js';
import { runToEnd } from '../lib/processes.js';
import { fmtSpread, spread, type Spread } from '../lib/stats.js';
import { withWorkspace } from '../lib/setup.js';

const BS = 2300;

interface Quantiles {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** One tool's run; only bench says how its file was laid out. */
type Run = Quantiles & { readonly seconds: number; readonly layout?: string };

function strace(delayMs: number): string[] {
  return ['strace', '-f', '-qq', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', `inject=fdatasync:delay_enter=${delayMs}ms`];
}

/**
 * fio's etcd check. Without `overwrite` fio does not preallocate: a write job unlinks its file,
 * creates it empty and appends (strace: open O_CREAT, two fadvise, then write + fdatasync pairs;
 * no fallocate, no ftruncate), so each fdatasync also journals the file's growth. etcd's WAL and
 * the probe write into fallocate()d space instead, where the fdatasync after the first write to a
 * block journals the extent's conversion. Both pay a journalled metadata change per new block;
 * `overwrite` (fio first writes the whole file, then measures rewriting it) pays none — the layout
 * of the probe's fallback when fallocate is unavailable (real zeros).
 */
async function runFio(dir: string, writes: number, wrap: readonly string[], overwrite: boolean): Promise<Quantiles & { seconds: number }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The etcd docs' check: fio --rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300
  const args = ['--name=etcd-check', `--directory=${dir}`, '--rw=write', '--ioengine=sync', '--fdatasync=1', `--size=${writes * BS}`, `--bs=${BS}`, ...(overwrite ? ['--overwrite=1'] : []), '--output-format=json'];
  const [file, ...rest] = [...wrap, 'fio', ...args];
  const r = await runToEnd(file!, rest, { timeoutMs: 30 * 60_000 });
  if (r.code !== 0) throw new Error(`fio failed (${r.code}): ${r.stderr}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: Array<{ sync: { total_ios?: number; lat_ns: { N?: number; percentile: Record<string, number> } } }> };
  const sync = j.jobs[0]!.sync;
  const p = (k: string) => (sync.lat_ns.percentile[k] ?? NaN) / 1e9;
  rmSync(dir, { recursive: true, force: true });
  return { n: sync.lat_ns.N ?? sync.total_ios ?? writes, p50: p('50.000000'), p90: p('90.000000'), p99: p('99.000000'), seconds: r.ms / 1000 };
}

async function runBench(dir: string, writes: number, wrap: readonly string[]): Promise<Run> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const args = [AGENT_CLI, 'bench', `--probe-dir=${dir}`, '--probe-min-free=1MiB', `--etcd-data-dir=${join(dir, 'no-etcd')}`, `--count=${writes}`, '--json'];
  const [file, ...rest] = [...wrap, process.execPath, ...args];
  const r = await runToEnd(file!, rest, { timeoutMs: 30 * 60_000 });
  if (r.code !== 0 && r.code !== 1) throw new Error(`bench failed (${r.code}): ${r.stderr}`);
  // Builds before the probe reported its layout always zero-filled their file.
  const j = JSON.parse(r.stdout) as { fdatasyncs: number; layout?: string; seconds: { p50: number; p90: number; p99: number } };
  rmSync(dir, { recursive: true, force: true });
  return { n: j.fdatasyncs, p50: j.seconds.p50, p90: j.seconds.p90, p99: j.seconds.p99, seconds: r.ms / 1000, layout: j.layout ?? 'zero-filled' };
}

export async function probeAccuracy(o: BenchOptions): Promise<FigureResult> {
  const F = 'probe-accuracy';
  // fio's etcd check writes 22 MiB in 2300-byte blocks: 10029 fdatasyncs, the count of every run
  // here. Runs are interleaved in rounds (each tool once per round, the order rotated), so the disk's
  // drift hits every tool alike. `--count=1003 --runs=10` splits the check into shorter rounds.
  const pairs = o.runs ?? (o.smoke ? 1 : 6);
  const writes = Math.round(numberOption(o, 'count', o.smoke ? 100 : Math.floor((22 * 2 ** 20) / BS)));
  const delayMs = numberOption(o, 'delay', 20);
  const injectedWrites = Math.round(numberOption(o, 'injected-count', o.smoke ? 20 : 300));
  // fio-control is fio's etcd check run a second time in the same round: how far two runs of the
  // same tool drift apart on this disk, the floor under which no bench/fio difference can be shown.
  type Arm = 'fio' | 'fio-overwrite' | 'bench' | 'fio-control';
  const ARMS: readonly Arm[] = ['fio', 'fio-overwrite', 'bench', 'fio-control'];
  return withWorkspace(F, async (ws) => {
    const dir = join(ws.dir, 'run');
    const rows: Array<{ mode: 'native' | 'injected'; round: number; order: string } & Record<Arm, Run>> = [];
    for (const mode of ['native', 'injected'] as const) {
      const wrap = mode === 'native' ? [] : strace(delayMs);
      const n = mode === 'native' ? writes : injectedWrites;
      for (let round = 1; round <= pairs; round++) {
        // The arms back to back, the order rotated each round so none is always first.
        const order = ARMS.map((_, k) => ARMS[(k + round - 1) % ARMS.length]!);
        const got: Partial<Record<Arm, Run>> = {};
        for (const arm of order) got[arm] = arm === 'bench' ? await runBench(dir, n, wrap) : await runFio(dir, n, wrap, arm === 'fio-overwrite');
        const g = got as Record<Arm, Run>;
        say(F, `${mode} ${round}/${pairs} (${n} fdatasyncs, ${order.join(' → ')}): p50 fio ${fmtMs(g.fio.p50)}, fio-control ${fmtMs(g['fio-control'].p50)}, fio-overwrite ${fmtMs(g['fio-overwrite'].p50)}, bench ${fmtMs(g.bench.p50)}; p99 ${fmtMs(g.fio.p99)}, ${fmtMs(g['fio-control'].p99)}, ${fmtMs(g['fio-overwrite'].p99)}, ${fmtMs(g.bench.p99)}`);
        rows.push({ mode, round, order: order.join(','), ...g });
      }
    }
    const of = (mode: string) => rows.filter((r) => r.mode === mode);
    const ratio = (mode: string, a: Arm, b: Arm, q: 'p50' | 'p90' | 'p99') => spread(of(mode).map((r) => r[a][q] / r[b][q]));
    const qs = ['p50', 'p90', 'p99'] as const;
    const table = (mode: string, b: Arm) => Object.fromEntries(qs.map((q) => [q, ratio(mode, 'bench', b, q)])) as Record<(typeof qs)[number], Spread>;
    const nat = table('native', 'fio');
    const natSame = table('native', 'fio-overwrite');
    const layout = Object.fromEntries(qs.map((q) => [q, ratio('native', 'fio-overwrite', 'fio', q)])) as Record<(typeof qs)[number], Spread>;
    const control = Object.fromEntries(qs.map((q) => [q, ratio('native', 'fio-control', 'fio', q)])) as Record<(typeof qs)[number], Spread>;
    const inj = table('injected', 'fio');
    const injSame = table('injected', 'fio-overwrite');
    const d = delayMs / 1000;
    // Under injection, what each tool adds on top of its native median is the delay it saw.
    const nativeP50 = (a: Arm) => spread(of('native').map((r) => r[a].p50)).median;
    const seen = (a: Arm) => spread(of('injected').map((r) => r[a].p50 - nativeP50(a)));
    const within = (s: { median: number }) => Math.abs(s.median - 1) <= 0.1;
    const nativeMet = within(nat.p50) && within(nat.p99);
    const injectedMet = within(inj.p50) && within(inj.p99) && Math.abs(seen('bench').median - d) <= 0.1 * d;
    const r3 = (x: Record<string, Spread>) => qs.map((q) => `${q} ${fmtSpread(x[q]!, fmtNum(2))}`).join('; ');
    const abs = (a: Arm, q: 'p50' | 'p99') => fmtSpread(spread(of('native').map((r) => r[a][q])), fmtMs);
    const layouts = () => [...new Set(rows.map((r) => r.bench.layout))].join(', ');
    return {
      figure: F,
      target: 'p50 and p99 within 10% of fio; within 10% of an injected delay',
      targetMet: nativeMet && injectedMet,
      summary: [
        `native, bench/fio: ${r3(nat)} (${writes} fdatasyncs per run, ${pairs} rounds; bench's file ${layouts()})`,
        `native, bench/fio --overwrite=1 (fio on a pre-written file): ${r3(natSame)}`,
        `native, control fio/fio (the same check run twice per round): ${r3(control)}`,
        `native, layout effect fio --overwrite=1 / fio: ${r3(layout)}`,
        `native absolute p50: fio ${abs('fio', 'p50')}, fio --overwrite=1 ${abs('fio-overwrite', 'p50')}, bench ${abs('bench', 'p50')}; p99: ${abs('fio', 'p99')}, ${abs('fio-overwrite', 'p99')}, ${abs('bench', 'p99')}`,
        `${delayMs} ms injected, bench/fio: ${r3(inj)}; bench/fio --overwrite=1: ${r3(injSame)} (${injectedWrites} fdatasyncs per run)`,
        `${delayMs} ms injected, delay seen at p50 (injected p50 − native p50): bench ${fmtSpread(seen('bench'), fmtMs)}, fio ${fmtSpread(seen('fio'), fmtMs)}, fio --overwrite=1 ${fmtSpread(seen('fio-overwrite'), fmtMs)}`,
        `targets: native within 10% of fio ${nativeMet ? 'met' : 'MISSED'}; injected ${injectedMet ? 'met' : 'MISSED'}`,
      ],
      method: {
        filesystem: deviceOf(ws.dir),
        fio: `fio --rw=write --ioengine=sync --fdatasync=1 --bs=${BS} --size=<writes×${BS}> (the etcd docs' check), sync latency percentiles from its JSON; fio-overwrite adds --overwrite=1 (the file written once before the measured pass: the probe's zero-filled fallback layout)`,
        bench: `node <agent>/cli.js bench --count=<writes> --json (${BS}-byte writes, each followed by fdatasync, in the probe's own code; its file layout is in each raw row's bench.layout; exact nearest-rank quantiles)`,
        order: `${pairs} rounds per mode; in each the four arms (fio, fio --overwrite=1, bench, fio again as the control) back to back, order rotated; each run on a fresh directory; ratios are per round`,
        injected: `${strace(delayMs).join(' ')} <tool>`,
      },
      results: { native: nat, nativeSameLayout: natSame, nativeControl: control, layoutEffect: layout, injected: inj, injectedSameLayout: injSame, delaySeen: { bench: seen('bench'), fio: seen('fio'), fioOverwrite: seen('fio-overwrite') } },
      raw: rows,
    };
  });
}
