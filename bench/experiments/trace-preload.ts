// Preloaded into the agent (node --import, by tail.ts) to find where a slow scrape's time goes: logs
// per HTTP request when Node emitted 'request' and when the response finished, every GC, and every
// callback that held the event loop for more than 0.2 ms (async_hooks before/after, with the resource
// type that scheduled it), all as epoch milliseconds, written to $TRACE_FILE at exit (default
// /tmp/scrape-trace-PID.json). Perturbs the agent (async_hooks slow promises down): a diagnostic, not
// a figure. Imports nothing of the project: it runs inside whichever build tail.ts starts.
import { createHook } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface TracedRequest {
  readonly url: string | undefined;
  readonly arrive: number;
  /** process.hrtime in µs at arrival: the clock of the agent's --cpu-prof profile. */
  readonly hrMicros: number;
  /** 0 until the response has finished. */
  finish: number;
}

export interface Trace {
  readonly reqs: TracedRequest[];
  readonly gcs: Array<{ start: number; dur: number; kind: number | undefined }>;
  readonly busy: Array<{ start: number; dur: number; type: string | undefined }>;
}

const T0 = performance.timeOrigin;
const now = () => T0 + performance.now();
const trace: Trace = { reqs: [], gcs: [], busy: [] };

const emit: (this: http.Server, event: string, ...args: unknown[]) => boolean = http.Server.prototype.emit;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]): boolean {
  if (event === 'request') {
    const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
    const r: TracedRequest = { url: req.url, arrive: now(), hrMicros: Number(process.hrtime.bigint() / 1000n), finish: 0 };
    trace.reqs.push(r);
    res.on('finish', () => {
      r.finish = now();
    });
  }
  return emit.call(this, event, ...args);
};

new PerformanceObserver((list) => {
  // Node's GC entries carry the kind (minor, major, …) in `detail`, which the DOM-shaped type lacks.
  for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) trace.gcs.push({ start: T0 + e.startTime, dur: e.duration, kind: e.detail?.kind });
}).observe({ entryTypes: ['gc'] });

// `?callbacks=0` on the import URL leaves the hooks out (they allocate and slow promises down).
const traceCallbacks = new URL(import.meta.url).searchParams.get('callbacks') !== '0';
const types = new Map<number, string>();
const stack: Array<[id: number, t: number]> = [];
const hook = createHook({
  init(id, type) {
    types.set(id, type);
  },
  before(id) {
    stack.push([id, performance.now()]);
  },
  after() {
    const top = stack.pop();
    if (top === undefined) return;
    const [id, t] = top;
    const d = performance.now() - t;
    if (stack.length === 0 && d > 0.2) trace.busy.push({ start: T0 + t, dur: d, type: types.get(id) });
  },
  destroy(id) {
    types.delete(id);
  },
});
if (traceCallbacks) hook.enable();
process.on('exit', () => writeFileSync(process.env['TRACE_FILE'] ?? `/tmp/scrape-trace-${process.pid}.json`, JSON.stringify(trace)));
