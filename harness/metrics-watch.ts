// What every fault test checks about a running agent besides the fault itself: it keeps answering,
// its counters never go backwards, and it logs a state change once, not once per retry.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentProcess } from './agent-process.js';

/** Series that must never decrease: counters, and histograms' and summaries' _bucket/_sum/_count. */
export function monotonicSeries(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (name && type) types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const series = line.slice(0, sp);
    const name = series.replace(/\{.*$/, '');
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const type = types.get(family);
    const isMonotonic = type === 'counter' || ((type === 'histogram' || type === 'summary') && /_(bucket|sum|count)$/.test(name));
    if (isMonotonic) out.set(series, Number(line.slice(sp + 1)));
  }
  return out;
}

export interface Scrape {
  readonly at: number;
  readonly ok: boolean;
  readonly text: string;
  readonly healthz: number;
}

/** Scrapes /metrics (and /healthz) every `everyMs` until stopped, like a Prometheus that never gives up. */
export class Scraper {
  readonly scrapes: Scrape[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(agent: AgentProcess, everyMs = 250) {
    this.done = (async () => {
      while (this.running) {
        const at = Date.now();
        const [m, h] = await Promise.all([agent.get('/metrics').catch(() => undefined), agent.get('/healthz').catch(() => undefined)]);
        this.scrapes.push({ at, ok: m?.status === 200, text: m?.status === 200 ? m.body : '', healthz: h?.status ?? 0 });
        await sleep(Math.max(0, everyMs - (Date.now() - at)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Each series that went down between two consecutive successful scrapes, with both values. */
  violations(): string[] {
    const out: string[] = [];
    let prev: Map<string, number> | undefined;
    for (const s of this.scrapes) {
      if (!s.ok) continue;
      const cur = monotonicSeries(s.text);
      if (prev) for (const [k, v] of cur) {
        const p = prev.get(k);
        if (p !== undefined && v < p) out.push(`${k}: ${p} → ${v}`);
      }
      prev = cur;
    }
    return out;
  }

  /** Scrapes that did not get 200 from /metrics or /healthz. */
  failures(): number {
    return this.scrapes.filter((s) => !s.ok || s.healthz !== 200).length;
  }
}

export interface StateLine {
  readonly kind: 'up' | 'failed' | 'recovered';
  readonly reason?: string;
  readonly line: string;
}

/** The agent's state-change log lines for one source, in order (text format). */
export function stateLines(log: string, source: string): StateLine[] {
  const out: StateLine[] = [];
  for (const line of log.split('\n')) {
    if (!new RegExp(`\\bsource=${source}\\b`).test(line)) continue;
    const kind = / source is up /.test(line) ? 'up' : / source recovered /.test(line) ? 'recovered' : / source failed/.test(line) ? 'failed' : undefined;
    if (kind === undefined) continue;
    const reason = /\breason=(\S+)/.exec(line)?.[1];
    out.push({ kind, ...(reason !== undefined ? { reason } : {}), line });
  }
  return out;
}

/**
 * Lines that repeat the state the previous line already announced (a "failed" with the same reason
 * as the line before, a second "recovered"): each is a log line per retry instead of per change.
 */
export function repeatedStateLines(lines: readonly StateLine[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i - 1]!;
    const b = lines[i]!;
    if (a.kind === b.kind && a.reason === b.reason) out.push(b.line);
    if (b.kind !== 'failed' && a.kind !== 'failed') out.push(b.line);
  }
  return out;
}
