// The grid: several (heartbeat, election) pairs × stall lengths, each repeated, on a real 3-member
// cluster with strace-injected stalls. It writes bench/results/scenario-grid-<date>.json (every run's
// full result, with stall times and the leader timeline) and .csv (one row per run), for the election
// model to be checked against. About 25 minutes with the defaults; not run in CI.
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { EtcdBuild } from '../../harness/etcd-versions.js';
import { runScenario } from './harness.js';
import { renderTable, type ScenarioResult } from './report.js';
import { SLOW_DISK, scenarioByName, withOverrides } from './scenarios.js';

export const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

export interface GridOptions {
  readonly settings?: ReadonlyArray<readonly [heartbeatMs: number, electionMs: number]>;
  readonly stallsMs?: readonly number[];
  /** Instead of settings × stalls: just these points, e.g. the ones where elections happen, for more repeats. */
  readonly points?: readonly GridCell[];
  readonly repeats?: number;
  readonly measureSeconds?: number;
  /** One cell, once: to check the grid itself works. */
  readonly quick?: boolean;
  /** Which etcd every cell runs (default Debian's 3.4). */
  readonly etcd?: EtcdBuild;
  readonly log?: (line: string) => void;
}

/** One point of the grid: heartbeat and election timeout (ms), and the injected stall (ms). */
export type GridCell = readonly [heartbeatMs: number, electionMs: number, stallMs: number];

/** `100/1000/1200,200/2000/2500` → cells; undefined when any part is not three positive numbers. */
export function parsePoints(text: string): GridCell[] | undefined {
  const cells = text.split(',').map((p) => p.split('/').map(Number));
  return cells.every((c) => c.length === 3 && c.every((x) => Number.isFinite(x) && x > 0)) ? cells.map((c) => [c[0]!, c[1]!, c[2]!] as const) : undefined;
}

export interface GridRow {
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly stallMs: number;
  readonly repeat: number;
  readonly durationSeconds?: number;
  readonly writes?: number;
  readonly stalls?: number;
  readonly stallsOnLeader?: number;
  readonly walStallsOnLeader?: number;
  readonly elections?: number;
  readonly leaderChanges?: number;
  readonly agentElectionsMatch?: boolean;
  readonly walFsyncP99?: number;
  readonly probeP99Max?: number;
  /** The election model, as the agents served it at the end of the run: the largest of their rates. */
  readonly predictedPerDay?: number;
  /** Elections expected over the stall window's own stalls (the run), from a fresh term: the largest of the agents'. */
  readonly predictedElections?: number;
  readonly error?: string;
}

/**
 * The model says "elections will happen" in a run when it expects at least one more likely than not:
 * for λ expected elections (a Poisson count), P(≥ 1) = 1 − e^(−λ) ≥ ½.
 */
export const predictsElections = (expected: number): boolean => expected >= Math.LN2;

export const DEFAULT_SETTINGS: ReadonlyArray<readonly [number, number]> = [
  [100, 1000],
  [200, 2000],
  [300, 3000],
];
export const DEFAULT_STALLS = [700, 1200, 1800, 2500];

export function rowOf(r: ScenarioResult, stallMs: number, repeat: number): GridRow {
  const probeP99s = r.agents.map((a) => a.probe.p99).filter((v): v is number => v !== undefined);
  // Each agent predicts as if its member led (docs/election-model.md): the cluster's risk is the worst.
  const predictions = r.agents.flatMap((a) => (a.prediction ? [a.prediction] : []));
  return {
    heartbeatMs: r.settings.heartbeatMs,
    electionMs: r.settings.electionMs,
    stallMs,
    repeat,
    durationSeconds: Math.round(r.durationSeconds * 10) / 10,
    writes: r.load.succeeded,
    stalls: r.observed.stalls,
    ...(r.observed.stallsOnLeader !== undefined ? { stallsOnLeader: r.observed.stallsOnLeader } : {}),
    ...(r.observed.walStallsOnLeader !== undefined ? { walStallsOnLeader: r.observed.walStallsOnLeader } : {}),
    elections: r.observed.elections,
    ...(r.observed.leaderChanges !== undefined ? { leaderChanges: r.observed.leaderChanges } : {}),
    agentElectionsMatch: r.agents.every((a) => a.electionsMatch === true),
    ...(r.observed.etcd.walFsyncP99 !== undefined ? { walFsyncP99: r.observed.etcd.walFsyncP99 } : {}),
    ...(probeP99s.length > 0 ? { probeP99Max: Math.max(...probeP99s) } : {}),
    ...(predictions.length > 0
      ? {
          predictedPerDay: Math.max(...predictions.map((p) => p.electionsPerDay)),
          predictedElections: Math.max(...predictions.map((p) => p.electionsInWindow)),
        }
      : {}),
  };
}

const COLUMNS: ReadonlyArray<keyof GridRow> = [
  'heartbeatMs', 'electionMs', 'stallMs', 'repeat', 'durationSeconds', 'writes', 'stalls', 'stallsOnLeader', 'walStallsOnLeader', 'elections', 'leaderChanges', 'agentElectionsMatch', 'walFsyncP99', 'probeP99Max', 'predictedPerDay', 'predictedElections', 'error',
];

export function toCsv(rows: readonly GridRow[]): string {
  const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

/** One grid point (settings × stall length), its runs pooled: will elections happen, predicted and observed. */
export interface GridPoint {
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly stallMs: number;
  readonly runs: number;
  /** Runs with the model's prediction. */
  readonly predictedRuns: number;
  readonly predictedElections: number;
  /** Term increases, as the agents count elections. */
  readonly observedElections: number;
  /** Leader changes (etcd's counter): what the model predicts, one per election however many terms it took. */
  readonly observedLeaderChanges: number;
  readonly predicted: boolean;
  readonly observed: boolean;
  /** Runs whose own prediction ("will happen" or not) matched what the run did. */
  readonly runsMatching: number;
  /**
   * Where elections happened: the predicted count within a factor of 2 of the leader changes (both
   * pooled over the point's runs, so of their means). Undefined where none happened.
   */
  readonly rateWithinTwo?: boolean;
}

/** The sharper bar: predicted within [½, 2] × observed. */
export const withinFactorTwo = (predicted: number, observed: number): boolean => predicted >= observed / 2 && predicted <= observed * 2;

const cellsOf = (rows: readonly GridRow[]): GridRow[][] => {
  const cells = new Map<string, GridRow[]>();
  for (const r of rows) {
    const k = `${r.heartbeatMs}/${r.electionMs}/${r.stallMs}`;
    cells.set(k, [...(cells.get(k) ?? []), r]);
  }
  return [...cells.values()];
};

/** Model against reality per grid point: failed runs and runs without a prediction are left out. */
export function gridPoints(rows: readonly GridRow[]): GridPoint[] {
  return cellsOf(rows).map((rs) => {
    const ok = rs.filter((r) => r.error === undefined && r.predictedElections !== undefined);
    const predictedElections = ok.reduce((s, r) => s + r.predictedElections!, 0);
    const observedElections = ok.reduce((s, r) => s + (r.elections ?? 0), 0);
    const observedLeaderChanges = ok.reduce((s, r) => s + (r.leaderChanges ?? 0), 0);
    const happened = observedElections > 0 || observedLeaderChanges > 0;
    const runsWithElections = ok.filter((r) => (r.elections ?? 0) > 0).length;
    return {
      heartbeatMs: rs[0]!.heartbeatMs,
      electionMs: rs[0]!.electionMs,
      stallMs: rs[0]!.stallMs,
      runs: rs.length,
      predictedRuns: ok.length,
      predictedElections,
      observedElections,
      observedLeaderChanges,
      // Per run, not pooled: the sum of λ over the runs grows with the repeats, so a point expecting
      // 0.2 elections a run would read "will happen" after four runs.
      predicted: ok.length > 0 && predictsElections(predictedElections / ok.length),
      observed: 2 * runsWithElections >= ok.length && runsWithElections > 0,
      runsMatching: ok.filter((r) => predictsElections(r.predictedElections!) === (r.elections ?? 0) > 0).length,
      ...(happened && ok.length > 0 ? { rateWithinTwo: withinFactorTwo(predictedElections, observedLeaderChanges) } : {}),
    };
  });
}

/** Per cell (settings × stall), repeats summed: the figures the election model predicts. */
export function summarize(rows: readonly GridRow[]): string {
  const points = gridPoints(rows);
  const table: string[][] = [['hb', 'et', 'stall', 'runs', 'stalls', 'on leader', 'on leader WAL', 'elections', 'leader changes', 'leader changes per leader stall', 'agents match', 'predicted', 'will happen: predicted / observed', 'runs matching', 'predicted / leader changes within ×2']];
  for (const [i, rs] of cellsOf(rows).entries()) {
    const ok = rs.filter((r) => r.error === undefined);
    const sum = (k: 'stalls' | 'stallsOnLeader' | 'walStallsOnLeader' | 'elections' | 'leaderChanges') => ok.reduce((s, r) => s + (r[k] ?? 0), 0);
    const onLeader = sum('stallsOnLeader');
    const p = points[i]!;
    const yes = (b: boolean) => (b ? 'yes' : 'no');
    table.push([
      String(rs[0]!.heartbeatMs),
      String(rs[0]!.electionMs),
      String(rs[0]!.stallMs),
      `${ok.length}/${rs.length}`,
      String(sum('stalls')),
      String(onLeader),
      String(sum('walStallsOnLeader')),
      String(sum('elections')),
      String(sum('leaderChanges')),
      onLeader > 0 ? (sum('leaderChanges') / onLeader).toFixed(2) : '—',
      ok.every((r) => r.agentElectionsMatch) ? 'yes' : 'NO',
      p.predictedRuns > 0 ? p.predictedElections.toFixed(p.predictedElections >= 10 ? 0 : 2) : '—',
      p.predictedRuns > 0 ? `${yes(p.predicted)} / ${yes(p.observed)}${p.predicted === p.observed ? '' : ' ✗'}` : '—',
      `${p.runsMatching}/${p.predictedRuns}`,
      p.rateWithinTwo === undefined ? '—' : p.rateWithinTwo ? 'yes' : 'NO',
    ]);
  }
  const scored = points.filter((p) => p.predictedRuns > 0);
  const matching = scored.filter((p) => p.predicted === p.observed).length;
  const rated = scored.filter((p) => p.rateWithinTwo !== undefined);
  return (
    `${renderTable(table)}\nwill / will not happen: predicted = observed in ${matching} of ${scored.length} points; ` +
    `${scored.reduce((s, p) => s + p.runsMatching, 0)} of ${scored.reduce((s, p) => s + p.predictedRuns, 0)} runs\n` +
    `rate within ×2 of the leader changes: ${rated.filter((p) => p.rateWithinTwo).length} of ${rated.length} points where elections happened\n`
  );
}

export async function runGrid(opts: GridOptions = {}): Promise<{ rows: GridRow[]; table: string; jsonFile: string; csvFile: string }> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[grid] ${l}\n`));
  const settings = opts.quick ? [[100, 1000] as const] : (opts.settings ?? DEFAULT_SETTINGS);
  const stalls = opts.quick ? [1500] : (opts.stallsMs ?? DEFAULT_STALLS);
  const cells: readonly GridCell[] = opts.quick || !opts.points ? settings.flatMap(([hb, et]) => stalls.map((s) => [hb, et, s] as const)) : opts.points;
  const repeats = opts.quick ? 1 : (opts.repeats ?? 2);
  const measureSeconds = opts.measureSeconds ?? (opts.quick ? 20 : 25);
  const base = scenarioByName('slow-disk')!;
  const rows: GridRow[] = [];
  const results: ScenarioResult[] = [];
  const total = cells.length * repeats;
  const started = new Date();
  let n = 0;
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const [hb, et, stallMs] of cells) {
      n++;
      const name = `grid-hb${hb}-et${et}-stall${stallMs}-r${repeat}`;
      log(`${n}/${total}: ${name}`);
      const spec = withOverrides(base, {
        name,
        summary: `grid cell hb ${hb} / et ${et}, ${stallMs} ms stalls`,
        heartbeatMs: hb,
        electionMs: et,
        measureSeconds,
        fault: { kind: 'slow-disk', ...SLOW_DISK, stallMs },
        expect: 'see the election model',
      });
      try {
        const r = await runScenario(spec, { log: (l) => log(`  ${l}`), ...(opts.etcd ? { etcd: opts.etcd } : {}) });
        results.push(r);
        rows.push(rowOf(r, stallMs, repeat));
        log(`  stalls ${r.observed.stalls} (${r.observed.stallsOnLeader ?? '?'} on the leader, ${r.observed.walStallsOnLeader ?? '?'} on its WAL), elections ${r.observed.elections}`);
      } catch (err) {
        rows.push({ heartbeatMs: hb, electionMs: et, stallMs, repeat, error: err instanceof Error ? err.message.split('\n')[0]! : String(err) });
        log(`  failed: ${String(err)}`);
      }
    }
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = started.toISOString().replace(/[:]/g, '').replace(/\..*$/, 'Z');
  const tag = opts.etcd ? `-etcd${opts.etcd.minor}` : '';
  const jsonFile = join(RESULTS_DIR, `scenario-grid${tag}-${stamp}.json`);
  const csvFile = join(RESULTS_DIR, `scenario-grid${tag}-${stamp}.csv`);
  const table = summarize(rows);
  writeFileSync(
    jsonFile,
    JSON.stringify(
      {
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release(), arch: arch(), node: process.version },
        etcd: opts.etcd?.version ?? '3.4',
        stall: { every: SLOW_DISK.every, first: SLOW_DISK.first, agentsTraced: SLOW_DISK.traceAgents },
        loadRate: base.loadRate,
        measureSeconds,
        rows,
        results,
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(csvFile, toCsv(rows));
  return { rows, table, jsonFile, csvFile };
}
