// GET / — the status page — and its assets. The HTML is complete when it leaves the server: the
// verdict, findings, settings, disk and sources are rendered here from the same JSON documents the
// API serves; the script only refreshes them and draws the charts. Everything is served by the agent
// (uPlot comes from its own node_modules), so the page works on an air-gapped node and the
// Content-Security-Policy allows 'self' only.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AgentState } from '../../state/state.js';
import { diagnosisJson } from '../api/diagnosis-json.js';
import { historyJson } from '../api/history-json.js';
import { toJson } from '../api/json.js';
import { clientScript } from './client.js';
import { PAGE_CSS } from './style.js';
import {
  chartSpecs,
  esc,
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

/** Only the agent itself: no inline script or style, no other origin, no framing, no forms. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every response of the agent. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export interface PageInput {
  readonly member: string;
  readonly diagnosis: DiagnosisDoc | undefined;
  readonly status: StatusDoc;
  readonly history: HistoryDoc;
}

/** The documents exactly as the API serves them (through the same serializers), for the page. */
export function pageInput(state: AgentState, member: string, status: unknown, now: Date): PageInput {
  const d = state.diagnosis;
  return {
    member,
    diagnosis: d ? (JSON.parse(diagnosisJson(d, member)) as DiagnosisDoc) : undefined,
    status: JSON.parse(toJson(status)) as StatusDoc,
    history: JSON.parse(historyJson(state.history, now, { since: state.startedAt })) as HistoryDoc,
  };
}

export function renderStatusPage(p: PageInput, version: string): string {
  const v = encodeURIComponent(version);
  const verdict = p.diagnosis?.verdict ?? 'unknown';
  const device = p.history.device ? ` (<code>${esc(p.history.device)}</code>)` : '';
  const charts = chartSpecs().map((c) =>
    `<figure><figcaption id="${c.id}-title">${esc(c.title)}${c.id === 'chart-disk' ? device : ''}</figcaption>` +
    `<div class="chart" id="${c.id}" role="img" aria-labelledby="${c.id}-title" aria-describedby="${c.id}-summary"></div>` +
    `<p class="chart-summary muted" id="${c.id}-summary">${viewChartSummary(p.history, c.keys, c.labels, c.ratio)}</p></figure>`,
  ).join('');
  return `<!doctype html>
<html lang="en" data-verdict="${esc(verdict)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(verdictLabel(verdict))} · etcd ${esc(p.member)} · etcd-latency-agent</title>
<link rel="icon" href="assets/favicon.svg?v=${v}" type="image/svg+xml">
<link rel="stylesheet" href="assets/uPlot.min.css?v=${v}">
<link rel="stylesheet" href="assets/status.css?v=${v}">
<script src="assets/uPlot.iife.min.js?v=${v}" defer></script>
<script src="assets/status.js?v=${v}" defer></script>
</head>
<body data-member="${esc(p.member)}">
<a class="skip" href="#main">Skip to the findings</a>
<header>
<h1>etcd member ${esc(p.member)}</h1>
<p class="muted" id="member">${viewMember(p.status)}</p>
<div class="verdict" id="verdict" role="status" aria-live="polite" aria-atomic="true">${viewVerdict(p.diagnosis)}</div>
<p class="muted"><span id="evaluated">${viewEvaluated(p.diagnosis)}</span> This page refreshes every 5 s while it is open.</p>
<p class="notice" id="notice" role="alert" hidden></p>
</header>
<main id="main" tabindex="-1">
<section aria-labelledby="h-findings"><h2 id="h-findings">Findings</h2><div id="findings">${viewFindings(p.diagnosis)}</div></section>
<section aria-labelledby="h-hour"><h2 id="h-hour">The last hour</h2>
<noscript><p>The charts need JavaScript. Their series are at <a href="api/v1/history">api/v1/history</a>; the numbers below are from the moment this page was served.</p></noscript>
<div class="charts">${charts}</div>
<div id="elections">${viewElections(p.history, p.status)}</div>
</section>
<section aria-labelledby="h-tuning"><h2 id="h-tuning">Heartbeat interval and election timeout</h2><div id="tuning">${viewTuning(p.diagnosis, p.status) + viewMemberSettings(p.diagnosis, p.status)}</div></section>
<section aria-labelledby="h-disk"><h2 id="h-disk">Disk</h2><div id="disk">${viewDisk(p.diagnosis, p.status)}</div></section>
<section aria-labelledby="h-sources"><h2 id="h-sources">Sources</h2><div id="sources">${viewSources(p.status)}</div></section>
</main>
<footer>
<p>etcd-latency-agent ${esc(version)} · <a href="metrics">metrics</a> · <a href="api/v1/diagnosis">api/v1/diagnosis</a> · <a href="api/v1/status">api/v1/status</a> · <a href="api/v1/history">api/v1/history</a> · times in UTC</p>
</footer>
</body>
</html>
`;
}

// ───────────────────────────── assets

export interface Asset {
  readonly type: string;
  readonly body: string;
}

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0550ae"/>' +
  '<path d="M3 11h2l2-6 2 8 2-4h2" fill="none" stroke="#fff" stroke-width="1.6" stroke-linejoin="round"/></svg>';

const require = createRequire(import.meta.url);

/** A file of uPlot's dist/, from the node_modules the agent runs with (a production dependency). */
function uplotFile(name: string): string {
  return readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8');
}

const ASSETS: Readonly<Record<string, { type: string; load: () => string }>> = {
  'status.js': { type: 'text/javascript; charset=utf-8', load: clientScript },
  'status.css': { type: 'text/css; charset=utf-8', load: () => PAGE_CSS },
  'uPlot.iife.min.js': { type: 'text/javascript; charset=utf-8', load: () => uplotFile('uPlot.iife.min.js') },
  'uPlot.min.css': { type: 'text/css; charset=utf-8', load: () => uplotFile('uPlot.min.css') },
  'favicon.svg': { type: 'image/svg+xml', load: () => FAVICON },
};

const loaded = new Map<string, Asset>();

/** The asset called `name`, or undefined when there is none (loaded once, then kept in memory). */
export function pageAsset(name: string): Asset | undefined {
  const spec = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!spec) return undefined;
  let asset = loaded.get(name);
  if (!asset) {
    asset = { type: spec.type, body: spec.load() };
    loaded.set(name, asset);
  }
  return asset;
}

/** Names of every asset, for tests. */
export const PAGE_ASSETS: readonly string[] = Object.keys(ASSETS);
