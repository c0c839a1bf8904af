// assets/status.css: the status page's styles. Light theme, text and UI colours at WCAG AA contrast
// or better on their backgrounds, a visible keyboard focus, one column on a phone.
export const PAGE_CSS = `
:root {
  --fg: #1f2328; --muted: #4d5661; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de; --link: #0550ae; --focus: #0550ae;
  --ok-fg: #116329; --ok-bg: #dafbe1; --warn-fg: #6c4400; --warn-bg: #fff1c2; --bad-fg: #a40e26; --bad-bg: #ffebe9;
  --info-fg: #0a3069; --info-bg: #ddf4ff; --none-fg: #3d444d; --none-bg: #eaeef2;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
a { color: var(--link); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 2px; }
code { font: 0.9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; overflow-wrap: anywhere; }
.vh { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip-path: inset(50%); white-space: nowrap; border: 0; }
.skip { position: absolute; left: -10000px; top: 0; background: var(--bg); padding: 0.5rem 1rem; }
.skip:focus { left: 0.5rem; z-index: 10; }
header, main, footer { max-width: 78rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; }
h1 { font-size: 1.35rem; margin: 0 0 0.25rem; font-weight: 600; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 0.5rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 0 0 0.25rem; }
p { margin: 0.4rem 0; }
.muted { color: var(--muted); }
.verdict { margin: 0.75rem 0 0.25rem; }
.verdict-line { font-size: 1.1rem; margin: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; align-items: baseline; }
.verdict-line .badge { font-size: 1.2rem; padding: 0.15rem 0.75rem; }
.badge, .sev { display: inline-block; border-radius: 999px; padding: 0 0.55rem; font-weight: 700; border: 1px solid currentColor; white-space: nowrap; }
.badge-healthy { color: var(--ok-fg); background: var(--ok-bg); }
.badge-degraded { color: var(--warn-fg); background: var(--warn-bg); }
.badge-at_risk { color: var(--bad-fg); background: var(--bad-bg); }
.badge-unknown { color: var(--none-fg); background: var(--none-bg); }
.sev { font-size: 0.8rem; letter-spacing: 0.03em; }
.sev-critical { color: var(--bad-fg); background: var(--bad-bg); }
.sev-warning { color: var(--warn-fg); background: var(--warn-bg); }
.sev-info { color: var(--info-fg); background: var(--info-bg); }
.notice { background: var(--warn-bg); color: var(--warn-fg); border: 1px solid currentColor; padding: 0.4rem 0.75rem; border-radius: 6px; }
.findings { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.75rem; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; background: var(--bg); }
.finding-critical { border-left-color: var(--bad-fg); }
.finding-warning { border-left-color: #bf8700; }
.finding-info { border-left-color: var(--info-fg); }
.evidence { margin: 0.4rem 0; }
.evidence ul { display: inline; list-style: none; margin: 0; padding: 0; }
.evidence li { display: inline; }
.evidence li::before { content: " · "; color: var(--muted); }
.evidence li:first-child::before { content: " "; }
.remedy { background: var(--panel); padding: 0.4rem 0.6rem; border-radius: 4px; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.95rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.25rem; color: var(--muted); }
th, td { text-align: left; padding: 0.3rem 0.75rem 0.3rem 0; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-weight: 600; border-bottom: 2px solid var(--line); }
tbody th { font-weight: 400; }
.wide { min-width: 34rem; }
.sources th, .sources td:not(.error), .wide th[scope="row"] { white-space: nowrap; }
.sources th code { overflow-wrap: normal; }
.sources td.error { min-width: 16rem; overflow-wrap: anywhere; }
.facts-list { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0.5rem 0; }
.facts-list dt { font-weight: 600; }
.facts-list dd { margin: 0; overflow-wrap: anywhere; }
.settings-differ { border-left: 4px solid #bf8700; padding-left: 0.5rem; }
.reasons { margin: 0.25rem 0; padding-left: 1.25rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 24rem), 1fr)); gap: 1rem; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.75rem; min-width: 0; }
figcaption { font-weight: 600; }
.chart { min-height: 180px; width: 100%; }
.chart-summary { font-size: 0.9rem; }
.uplot { font-family: inherit; }
.u-legend { font-size: 0.85rem; color: var(--fg); }
footer { margin-top: 2rem; padding-bottom: 2rem; color: var(--muted); font-size: 0.9rem; }
@media (max-width: 600px) {
  html { font-size: 15px; }
  .facts-list { grid-template-columns: 1fr; }
  .facts-list dd { margin-bottom: 0.4rem; }
  .finding { padding: 0.6rem 0.7rem; }
}
@media (prefers-reduced-motion: reduce) { * { scroll-behavior: auto; } }
`;
