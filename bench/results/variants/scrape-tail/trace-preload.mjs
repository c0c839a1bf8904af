// Preloaded into the agent (node --import) to find where a slow scrape's time goes: logs per HTTP
// request when Node emitted 'request' and when the response finished, every GC, and every callback
// that held the event loop for more than 0.2 ms (async_hooks before/after, with the resource type
// that scheduled it), all as epoch milliseconds, written to $TRACE_FILE at exit. Perturbs the agent
// (async_hooks slow promises down): a diagnostic, not a figure.
import http from 'node:http';
import { createHook } from 'node:async_hooks';
import { PerformanceObserver } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
const T0 = performance.timeOrigin;
const now = () => T0 + performance.now();
const reqs = [], gcs = [], busy = [];
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (ev, req, res) {
  if (ev === 'request') {
    const r = { url: req.url, arrive: now(), hrMicros: Number(process.hrtime.bigint() / 1000n), finish: 0 };
    reqs.push(r);
    res.on('finish', () => { r.finish = now(); });
  }
  return emit.apply(this, arguments);
};
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push({ start: T0 + e.startTime, dur: e.duration, kind: e.detail?.kind }); }).observe({ entryTypes: ['gc'] });
// `?callbacks=0` on the import URL leaves the hooks out (they allocate and slow promises down).
const traceCallbacks = new URL(import.meta.url).searchParams.get('callbacks') !== '0';
const types = new Map();
const stack = [];
const hook = createHook({
  init(id, type) { types.set(id, type); },
  before(id) { stack.push([id, performance.now()]); },
  after() { const [id, t] = stack.pop() ?? []; const d = performance.now() - t; if (stack.length === 0 && d > 0.2) busy.push({ start: T0 + t, dur: d, type: types.get(id) }); },
  destroy(id) { types.delete(id); },
});
if (traceCallbacks) hook.enable();
process.on('exit', () => writeFileSync(process.env.TRACE_FILE ?? `/tmp/scrape-trace-${process.pid}.json`, JSON.stringify({ reqs, gcs, busy })));
