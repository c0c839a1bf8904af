// parse cost: what the etcd_metrics source does with each body — Buffer → string → the wanted
// families → EtcdMetricsSample — on real etcd 3.4 bodies (the two test fixtures and bodies captured
// live from a 3-member cluster in this run) and on larger synthetic ones.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { extractEtcdMetrics } from '../../src/sources/etcd-metrics.js';
import { ROOT, fmtMs, say, type BenchOptions, type FigureResult } from '../lib/common.js';
import { fmtSpread, linearFit, spread, type Spread } from '../lib/stats.js';
import { startCluster, startPutLoad, withWorkspace } from '../lib/setup.js';

interface Body {
  readonly name: string;
  readonly kind: 'fixture' | 'live' | 'synthetic-unrelated' | 'synthetic-peers';
  readonly buffer: Buffer;
  /** Copies of the base body (unrelated series) or number of peers. */
  readonly scale?: number;
}

const FIXTURES = join(ROOT, 'test', 'fixtures', 'etcd');

/** The base body plus (k−1) renamed copies of it: more series of families the agent does not keep. */
function withUnrelated(base: string, k: number): string {
  const parts = [base];
  for (let i = 2; i <= k; i++) {
    parts.push(base.replace(/^(# (?:HELP|TYPE) )?([a-zA-Z_:][a-zA-Z0-9_:]*)/gm, (_m, comment: string | undefined, name: string) => `${comment ?? ''}synth${i}_${name}`));
  }
  return parts.join('');
}

/** The base body with `peers` peer round-trip histograms (a cluster that large) instead of its own. */
function withPeers(base: string, peers: number): string {
  const family = 'etcd_network_peer_round_trip_time_seconds';
  const lines = base.split('\n');
  const own = lines.filter((l) => l.startsWith(`${family}_`));
  const firstTo = /To="([0-9a-f]+)"/.exec(own[0] ?? '')?.[1];
  if (!firstTo) throw new Error('the base body has no peer round-trip series');
  const template = own.filter((l) => l.includes(`To="${firstTo}"`));
  const generated: string[] = [];
  for (let p = 0; p < peers; p++) {
    const id = (0x1000000000000000 + p * 7919).toString(16);
    for (const l of template) generated.push(l.replace(`To="${firstTo}"`, `To="${id}"`));
  }
  const at = lines.findIndex((l) => l.startsWith(`${family}_`));
  const rest = lines.filter((l) => !l.startsWith(`${family}_`));
  rest.splice(at, 0, ...generated);
  return rest.join('\n');
}

async function captureLive(o: BenchOptions): Promise<Body[]> {
  return withWorkspace('parse-capture', async (ws) => {
    const cluster = await startCluster(ws, { size: 3 });
    const load = startPutLoad(ws, cluster.endpoints, { rate: 50 });
    // etcd's peer prober fills the round-trip histograms every few seconds.
    await sleep(o.smoke ? 2000 : 8000);
    await load.stop();
    const leader = await cluster.leader();
    const bodies: Body[] = [];
    for (const m of cluster.members) {
      const buffer = Buffer.from(await (await fetch(m.metricsUrl)).arrayBuffer());
      bodies.push({ name: `live 3-member ${m === leader ? 'leader' : 'follower'} ${m.name}`, kind: 'live', buffer });
    }
    return bodies;
  });
}

type Extract = (body: string) => { bodyBytes: number };

/** Per-parse seconds of one batch of `n` parses. */
function batch(b: Body, n: number, extract: Extract = extractEtcdMetrics): number {
  let keep = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) keep += extract(b.buffer.toString('utf8')).bodyBytes;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (keep === 0) throw new Error('nothing parsed');
  return dt / n;
}

export async function parseCost(o: BenchOptions): Promise<FigureResult> {
  const F = 'parse-cost';
  const batches = o.runs ?? (o.smoke ? 2 : 9);
  const single = readFileSync(join(FIXTURES, 'metrics-3.4-single.txt'), 'utf8');
  const member = readFileSync(join(FIXTURES, 'metrics-3.4-cluster-member.txt'), 'utf8');
  const bodies: Body[] = [
    { name: 'fixture 3.4 single member', kind: 'fixture', buffer: Buffer.from(single) },
    { name: 'fixture 3.4 cluster member', kind: 'fixture', buffer: Buffer.from(member), scale: 1 },
  ];
  say(F, 'capturing live bodies from a 3-member etcd 3.4 cluster under 50 puts/s');
  bodies.push(...(await captureLive(o)));
  for (const k of o.smoke ? [2] : [2, 4, 8, 16, 32]) {
    bodies.push({ name: `synthetic ${k}× series (unrelated families)`, kind: 'synthetic-unrelated', scale: k, buffer: Buffer.from(withUnrelated(member, k)) });
  }
  for (const p of o.smoke ? [8] : [8, 32, 128]) {
    bodies.push({ name: `synthetic ${p} peers`, kind: 'synthetic-peers', scale: p, buffer: Buffer.from(withPeers(member, p)) });
  }
  // Sanity: every body parses to the families the agent keeps.
  for (const b of bodies) {
    const s = extractEtcdMetrics(b.buffer.toString('utf8'));
    if (!s.walFsync) throw new Error(`${b.name}: no WAL fsync histogram parsed`);
  }
  // Warm-up (JIT), then batches interleaved round-robin across bodies so drift hits all alike.
  say(F, `${bodies.length} bodies; warming up, then ${batches} interleaved batches each`);
  for (const b of bodies) batch(b, 5);
  const perBody = new Map<string, number[]>(bodies.map((b) => [b.name, []]));
  const targetBatchBytes = o.smoke ? 2e6 : 3e7;
  // --compare-dist=DIR: another build's parser (e.g. the commit before a change), timed in the same
  // interleaved batches, for a before/after ratio.
  const compareDir = o.extra.get('compare-dist');
  const other: Extract | undefined = compareDir
    ? ((await import(pathToFileURL(resolve(compareDir, 'sources', 'etcd-metrics.js')).href)) as { extractEtcdMetrics: Extract }).extractEtcdMetrics
    : undefined;
  const perBodyOther = new Map<string, number[]>(bodies.map((b) => [b.name, []]));
  if (other) for (const b of bodies) batch(b, 5, other);
  for (let r = 0; r < batches; r++) {
    for (const b of bodies) {
      const n = Math.max(3, Math.round(targetBatchBytes / b.buffer.length));
      perBody.get(b.name)!.push(batch(b, n));
      if (other) perBodyOther.get(b.name)!.push(batch(b, n, other));
    }
  }
  const rows = bodies.map((b) => {
    const s = spread(perBody.get(b.name)!);
    return { name: b.name, kind: b.kind, scale: b.scale ?? null, bytes: b.buffer.length, perParse: s, usPerKB: (s.median * 1e6) / (b.buffer.length / 1024) };
  });
  const real = rows.filter((r) => r.kind === 'fixture' || r.kind === 'live');
  const worstReal = Math.max(...real.map((r) => r.perParse.max));
  const unrelated = rows.filter((r) => r.kind === 'synthetic-unrelated' || r.name === 'fixture 3.4 cluster member');
  const fitBytes = linearFit(unrelated.map((r) => r.bytes / 1024), unrelated.map((r) => r.perParse.median * 1e6));
  const peersRows = rows.filter((r) => r.kind === 'synthetic-peers');
  const fitPeers = linearFit(peersRows.map((r) => r.scale ?? 0), peersRows.map((r) => r.perParse.median * 1e6));
  const targetMet = worstReal <= 0.002;
  const compared = other
    ? bodies.map((b) => ({ name: b.name, ratio: spread(perBody.get(b.name)!.map((x, i) => x / perBodyOther.get(b.name)![i]!)), other: spread(perBodyOther.get(b.name)!) }))
    : undefined;
  const line = (r: { name: string; bytes: number; perParse: Spread }) => `${r.name} (${Math.round(r.bytes / 1024)} KiB): ${fmtSpread(r.perParse, fmtMs)}`;
  return {
    figure: F,
    target: '≤ 2 ms per ~150 KB body; report how it grows with size',
    targetMet,
    summary: [
      ...real.map(line),
      ...rows.filter((r) => r.kind.startsWith('synthetic')).map(line),
      `growth with unrelated series: ${fitBytes.slope.toFixed(2)} µs per KiB (intercept ${fitBytes.intercept.toFixed(0)} µs); with peers: ${fitPeers.slope.toFixed(1)} µs per peer`,
      ...(compared ? [`this build / ${compareDir}, per interleaved batch: ${compared.map((c) => `${c.name} ${fmtSpread(c.ratio, (v) => v.toFixed(2))}`).join('; ')}`] : []),
      `target ≤ 2 ms per real body: ${targetMet ? 'met' : 'MISSED'} (slowest batch of a real body ${fmtMs(worstReal)})`,
    ],
    method: {
      what: "extractEtcdMetrics(buffer.toString('utf8')) — what the etcd_metrics source does with each body (string decode + parse of the wanted families + histogram assembly)",
      batches: `${batches} batches per body, interleaved round-robin, each ~${Math.round(targetBatchBytes / 1e6)} MB of body text; the figure is the mean time per parse of a batch; after 5 warm-up parses per body`,
      synthetic: 'unrelated: the cluster-member fixture plus k−1 copies with renamed families (more series the agent skips); peers: the same body with P peer round-trip histograms',
      process: `in the bench process (Node ${process.version}), one core`,
    },
    results: { rows, fitUnrelatedUsPerKiB: fitBytes, fitPeersUsPerPeer: fitPeers, worstRealSeconds: worstReal, ...(compared ? { compared: { dist: compareDir, bodies: compared } } : {}) },
    raw: { thisBuild: Object.fromEntries(perBody), ...(other ? { compared: Object.fromEntries(perBodyOther) } : {}) },
  };
}
