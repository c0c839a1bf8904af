// The status page's script: every few seconds it reads /api/v1/diagnosis, /api/v1/status and
// /api/v1/history, re-renders the text parts with the same view functions the server used, and draws
// the last hour with uPlot (served by the agent itself). The page is complete without it.
//
// `clientMain` runs in the browser, not in Node: the server ships its source text (and that of the
// view functions) as assets/status.js. The browser's objects come in as `any` (this project compiles
// without the DOM library); the calls into the view functions are type-checked.
import {
  VIEW_FUNCTIONS,
  chartSpecs,
  viewChartSummary,
  viewDisk,
  viewElections,
  viewEvaluated,
  viewFindings,
  viewMember,
  viewSources,
  viewTuning,
  viewMemberSettings,
  viewVerdict,
  verdictLabel,
  type DiagnosisDoc,
  type HistoryDoc,
  type StatusDoc,
} from './view.js';

/** How often the page refreshes, in milliseconds. */
export const REFRESH_MS = 5000;

/* eslint-disable @typescript-eslint/no-explicit-any */
export function clientMain(win: any, refreshMs: number): void {
  const doc: any = win.document;
  const byId = (id: string): any => doc.getElementById(id);
  const member: string = doc.body.getAttribute('data-member') ?? '';
  const title = (verdict: string): string => `${verdictLabel(verdict)} · etcd ${member} · etcd-latency-agent`;
  const page: any = { charts: {}, refreshes: 0, errors: 0 };
  // Read by the end-to-end tests (and handy in the browser's console).
  win.etcdStatusPage = page;

  /** Replaces a part only when its content changed: keeps focus and selection, and keeps the live region quiet. */
  const put = (id: string, html: string): void => {
    const el = byId(id);
    if (!el) return;
    const tpl = doc.createElement('template');
    tpl.innerHTML = html;
    if (tpl.innerHTML !== el.innerHTML) el.innerHTML = html;
  };

  const notice = (text: string): void => {
    const el = byId('notice');
    if (!el) return;
    el.textContent = text;
    el.hidden = text === '';
  };

  // ─────────── charts

  const ms = (v: number | null): number | null => (v === null || !(v > 0) ? null : v * 1000);
  const pct = (v: number | null): number | null => (v === null ? null : v * 100);
  const CHARTS = chartSpecs();

  /**
   * Draws etcd's maintenance as purple squares on the plot's bottom edge, each stall that threatened
   * leadership as an orange triangle on its top edge, and each election as a dashed red line across
   * the plot, at its time.
   */
  const eventMarks = (): any => ({
    hooks: {
      draw: [
        (u: any) => {
          const h: HistoryDoc | undefined = page.history;
          if (!h) return;
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          const px = win.devicePixelRatio;
          ctx.save();
          // What the last drawn chart marked, for the end-to-end tests (every chart spans the same hour).
          const drawn = { stalls: 0, elections: 0, maintenance: 0 };
          ctx.fillStyle = '#8250df';
          for (const m of h.maintenance) {
            const x = Math.round(u.valToPos(new Date(m.at).getTime() / 1000, 'x', true));
            if (x < left || x > left + width) continue;
            drawn.maintenance++;
            ctx.fillRect(x - 4 * px, top + height - 8 * px, 8 * px, 8 * px);
          }
          ctx.fillStyle = '#bc4c00';
          for (const e of h.stalls) {
            const x = Math.round(u.valToPos(new Date(e.at).getTime() / 1000, 'x', true));
            if (x < left || x > left + width) continue;
            drawn.stalls++;
            ctx.beginPath();
            ctx.moveTo(x - 5 * px, top);
            ctx.lineTo(x + 5 * px, top);
            ctx.lineTo(x, top + 8 * px);
            ctx.closePath();
            ctx.fill();
          }
          ctx.strokeStyle = '#cf222e';
          ctx.fillStyle = '#cf222e';
          ctx.lineWidth = 2 * px;
          ctx.setLineDash([6 * px, 4 * px]);
          ctx.font = `${12 * px}px system-ui, sans-serif`;
          for (const e of h.elections) {
            const x = Math.round(u.valToPos(new Date(e.at).getTime() / 1000, 'x', true));
            if (x < left || x > left + width) continue;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillText(`election → term ${e.termTo}`, x + 4 * px, top + 14 * px);
            drawn.elections++;
          }
          page.marks = drawn;
          ctx.restore();
        },
      ],
    },
  });

  const chartWidth = (el: any): number => Math.max(240, Math.floor(el.clientWidth));
  const chartHeight = (): number => (win.innerWidth < 600 ? 180 : 220);

  const makeChart = (spec: (typeof CHARTS)[number], el: any, data: any[]): any => {
    const uPlot = win.uPlot;
    const fmt = (v: number | null): string => (v === null ? '' : spec.ratio ? `${Math.round(v)}%` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Number(v.toPrecision(3))} ms`);
    return new uPlot(
      {
        width: chartWidth(el),
        height: chartHeight(),
        tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        padding: [12, 28, 0, 0],
        scales: spec.ratio ? { x: { time: true }, y: { range: [0, 100] } } : { x: { time: true }, y: { distr: 3, log: 10 } },
        axes: [
          {
            stroke: '#1f2328',
            grid: { stroke: '#d8dee4', width: 1 },
            ticks: { stroke: '#d8dee4' },
            space: 80,
            // 24-hour UTC clock times, with seconds only when a tick is not on a whole minute.
            values: (_u: any, splits: number[]) => {
              const seconds = splits.some((ts) => ts % 60 !== 0);
              return splits.map((ts) => new Date(ts * 1000).toISOString().slice(11, seconds ? 19 : 16));
            },
          },
          {
            stroke: '#1f2328',
            grid: { stroke: '#d8dee4', width: 1 },
            ticks: { stroke: '#d8dee4' },
            size: 64,
            values: (_u: any, splits: number[]) => splits.map((v) => fmt(v)),
          },
        ],
        series: [
          { value: '{YYYY}-{MM}-{DD} {HH}:{mm}:{ss} UTC' },
          ...spec.keys.map((_k, i) => ({
            label: spec.labels[i],
            stroke: spec.colors[i],
            width: 2,
            spanGaps: false,
            points: { show: false },
            value: (_u: any, v: number | null) => (v === null ? '—' : fmt(v)),
          })),
        ],
        plugins: [eventMarks()],
      },
      data,
      el,
    );
  };

  const drawCharts = (h: HistoryDoc): void => {
    if (!win.uPlot) {
      notice('Charts unavailable: uPlot did not load.');
      return;
    }
    for (const spec of CHARTS) {
      const el = byId(spec.id);
      if (!el) continue;
      const data = [h.t.slice(), ...spec.keys.map((k) => h.series[k].map(spec.ratio ? pct : ms))];
      const points = data.slice(1).reduce((n: number, s: Array<number | null>) => n + s.filter((v) => v !== null).length, 0);
      el.setAttribute('data-points', String(points));
      const old = page.charts[spec.id];
      if (old) old.setData(data);
      else page.charts[spec.id] = makeChart(spec, el, data);
      put(`${spec.id}-summary`, viewChartSummary(h, spec.keys, spec.labels, spec.ratio));
    }
  };

  if (typeof win.ResizeObserver === 'function') {
    const ro = new win.ResizeObserver(() => {
      for (const spec of CHARTS) {
        const u = page.charts[spec.id];
        const el = byId(spec.id);
        if (u && el) {
          const w = chartWidth(el);
          if (w !== u.width || chartHeight() !== u.height) u.setSize({ width: w, height: chartHeight() });
        }
      }
    });
    ro.observe(doc.querySelector('main'));
  }

  // ─────────── refresh

  const getJson = async (path: string, allow503: boolean): Promise<any> => {
    const res = await win.fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (allow503 && res.status === 503) return undefined;
    if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`);
    return res.json();
  };

  const render = (d: DiagnosisDoc | undefined, s: StatusDoc, h: HistoryDoc): void => {
    page.diagnosis = d;
    page.status = s;
    page.history = h;
    put('verdict', viewVerdict(d));
    const root = doc.documentElement;
    root.setAttribute('data-verdict', d ? d.verdict : 'unknown');
    put('evaluated', viewEvaluated(d));
    put('member', viewMember(s));
    if (doc.title !== title(d ? d.verdict : 'unknown')) doc.title = title(d ? d.verdict : 'unknown');
    put('findings', viewFindings(d));
    put('tuning', viewTuning(d, s) + viewMemberSettings(d, s));
    put('disk', viewDisk(d, s));
    put('sources', viewSources(s));
    put('elections', viewElections(h, s));
    drawCharts(h);
  };

  const refresh = async (): Promise<void> => {
    if (!doc.hidden) {
      try {
        const [d, s, h] = await Promise.all([
          getJson('api/v1/diagnosis', true),
          getJson('api/v1/status', false),
          getJson('api/v1/history', false),
        ]);
        render(d, s, h);
        page.refreshes++;
        notice('');
      } catch (err: any) {
        page.errors++;
        notice(`Cannot reach the agent (${err && err.message ? err.message : String(err)}); retrying every ${refreshMs / 1000} s. The page shows the last state it read.`);
      }
    }
    win.setTimeout(refresh, refreshMs);
  };
  void refresh();
}

/** assets/status.js: the view functions and clientMain, as source text. */
export function clientScript(): string {
  const functions = [...VIEW_FUNCTIONS, clientMain].map((f) => f.toString()).join('\n\n');
  return `// etcd-latency-agent status page: generated from src/export/page/view.ts and client.ts.\n` +
    `(function () {\n'use strict';\n${functions}\n\nclientMain(window, ${REFRESH_MS});\n})();\n`;
}
