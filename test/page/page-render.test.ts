// The status page as the server renders it, without a browser: headers (CSP, methods), escaping of
// everything that comes from state, the assets, and the browser's copy of the view functions
// rendering exactly what the server renders.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { runInNewContext, Script } from 'node:vm';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import type { Diagnosis } from '../../src/model/diagnosis.js';
import { clientScript } from '../../src/export/page/client.js';
import { PAGE_CSS } from '../../src/export/page/style.js';
import { CONTENT_SECURITY_POLICY, PAGE_ASSETS, pageInput } from '../../src/export/page/page.js';
import * as view from '../../src/export/page/view.js';
import { fmtBytes, fmtRatio, fmtSeconds } from '../../src/lib/format.js';
import { closeServer, createApp, listen } from '../../src/export/http/server.js';
import { failure, success } from '../../src/lib/outcome.js';
import { SOURCE_NAMES } from '../../src/sources/source.js';
import { AgentState } from '../../src/state/state.js';
import { ms, seconds } from '../../src/lib/units.js';
import { statusDocument } from '../../src/export/api/status-json.js';
import { historyJson } from '../../src/export/api/history-json.js';

const EVIL = `<img src=x onerror="alert(1)">&'`;
const NOW = new Date('2025-03-01T12:00:00Z');

function stateWithEverything(): AgentState {
  const state = new AgentState(new Date(NOW.getTime() - 60_000), new Set(SOURCE_NAMES));
  state.record('etcd_api', failure('unreachable', `connect ECONNREFUSED ${EVIL}`), NOW, seconds(0.01));
  state.record(
    'etcd_config',
    success({ heartbeatInterval: { value: ms(100), origin: 'manifest' }, electionTimeout: { value: ms(1000), origin: 'manifest' } }),
    NOW,
    seconds(0.01),
  );
  state.record('peer_agents', success({
    answers: [
      { url: 'http://10.0.0.12:9379', ok: true, settings: { schemaVersion: 1, member: `m2 ${EVIL}`, memberId: 'b2', heartbeatMs: ms(250), electionMs: ms(2500) } },
      { url: 'http://10.0.0.13:9379', ok: false, reason: 'unreachable', message: `connect ECONNREFUSED ${EVIL}` },
    ],
  }), NOW, seconds(0.01));
  state.history.maintenance.push({ kind: 'defrag', from: new Date(NOW.getTime() - 60_000), at: new Date(NOW.getTime() - 55_000), count: 1, seconds: seconds(42) });
  state.history.maintenance.push({ kind: 'compaction', from: new Date(NOW.getTime() - 30_000), at: new Date(NOW.getTime() - 25_000), count: 2, seconds: seconds(0.5) });
  state.diagnosis = {
    at: NOW,
    verdict: 'at_risk',
    candidates: [
      {
        dir: '/mnt/volume',
        verdict: 'needs_tuning',
        observations: 1200,
        window: seconds(600),
        p99: seconds(0.004),
        atRunning: { heartbeat: ms(100), election: ms(1000), electionsPerDay: 40, electionsInWindow: 0.3, failoverDetection: ms(1500), stallWindow: seconds(600) },
        needs: { heartbeat: ms(300), election: ms(3000), electionsPerDay: 0.01, electionsInWindow: 0, failoverDetection: ms(4500), stallWindow: seconds(600) },
      },
      { dir: `/mnt/${EVIL}`, verdict: 'unusable', observations: 0, window: seconds(0), problem: { reason: 'not_found', message: `candidate probe in /mnt/${EVIL}: ENOENT` } },
    ],
    findings: [
      { code: 'probe_fsync_slow', severity: 'warning', summary: `slow ${EVIL}`, facts: [{ name: 'probe_fsync_p99', value: 0.031, unit: 'seconds', window: seconds(300) }], remedy: `fix ${EVIL}`, since: NOW },
      { code: 'timing_settings_differ', severity: 'warning', summary: `m1 (this member) 100/1000, m2 ${EVIL} 250/2500`, facts: [], remedy: 'one node at a time', since: NOW },
      { code: 'stalls_threaten_leadership', severity: 'critical', summary: 'stalls', facts: [{ name: 'stalls_per_hour', value: 12, unit: 'per_hour' }, { name: 'where', value: EVIL }], remedy: 'disk', since: NOW },
    ],
    current: { heartbeat: ms(100), election: ms(1000), electionsPerDay: 40, electionsInWindow: 0.14, failoverDetection: ms(1500), stallWindow: seconds(300) },
    tuning: {
      current: { heartbeat: ms(100), election: ms(1000), electionsPerDay: 40, electionsInWindow: 0.14, failoverDetection: ms(1500), stallWindow: seconds(300) },
      recommended: { heartbeat: ms(300), election: ms(3000), electionsPerDay: 0.01, electionsInWindow: 0, failoverDetection: ms(4500), stallWindow: seconds(300) },
      addedFailoverDetection: ms(3000),
      temporary: true,
      meetsTarget: true,
      targetElectionsPerDay: 0.05,
      stallSource: 'probe',
      members: 3,
      reasons: [`because ${EVIL}`],
    },
    disk: { remedies: ['separate_disk'], summary: `separate ${EVIL}`, reasons: ['r'] },
  } satisfies Diagnosis;
  return state;
}

async function serve(t: Test, state: AgentState): Promise<string> {
  const server: Server = await listen(createApp({ state, registry: new Registry(), version: '9.9.9', member: `m-${EVIL}` }), { host: '127.0.0.1', port: 0 });
  t.teardown(() => closeServer(server));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

t.test('GET / renders the verdict, findings, tuning and sources server-side, escaped, under a self-only CSP', async (t) => {
  const url = await serve(t, stateWithEverything());
  const res = await fetch(url + '/');
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/html/);
  t.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  t.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
  t.notMatch(CONTENT_SECURITY_POLICY, /unsafe|https?:|\*/, 'no inline code, no other origin');
  t.equal(res.headers.get('x-powered-by'), null);
  t.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const html = await res.text();
  t.notMatch(html, /<img/, 'nothing from state is markup');
  t.notMatch(html, /onerror="/);
  t.match(html, /&#60;img src=x onerror=&#34;alert\(1\)&#34;&#62;&#38;&#39;/, 'escaped as text');
  t.match(html, /class="badge badge-at_risk">At risk</);
  t.match(html, /<title>At risk · etcd m-&#60;img/);
  t.match(html, /data-code="stalls_threaten_leadership"[\s\S]*data-code="probe_fsync_slow"/, 'critical before warning');
  t.match(html, /<li><code>probe_fsync_p99<\/code> 31 ms <span class="muted">over 5 min<\/span><\/li>/, 'facts with unit and window');
  t.match(html, /12\/h/);
  t.match(html, /--heartbeat-interval=300 --election-timeout=3000/);
  t.match(html, /<th scope="row">Recommended<\/th><td>300 ms<\/td><td>3 s<\/td><td>0\.01<\/td><td>4\.5 s<\/td>/);
  t.match(html, /noticed 3 s later/, 'fail-over cost');
  t.match(html, /a stop-gap: the disk is the remedy/);
  t.match(html, /<code>etcd_api<\/code><\/th><td><span class="badge badge-at_risk">Down<\/span>/);
  t.match(html, /ECONNREFUSED &#60;img/, 'last error, escaped');
  t.match(html, /role="status" aria-live="polite"/);
  t.match(
    html,
    /<h3>Candidate filesystems<\/h3>[^]*<li data-verdict="needs_tuning"><code>\/mnt\/volume<\/code>: fits only with other settings — p99 4 ms, 1200 fdatasyncs over 10 min; at the running 100\/1000 ms: 40 elections\/day if this member led; would need --heartbeat-interval=300 --election-timeout=3000/,
    'each candidate with its verdict, its measurement and the settings it would need',
  );
  t.match(html, /<li data-verdict="unusable"><code>\/mnt\/&#60;img[^<]*<\/code>: not measured: candidate probe in \/mnt\/&#60;img/, 'an unusable one with its problem, escaped');
  for (const tag of ['<main', '<header', '<footer', '<h1>', 'lang="en"', 'name="viewport"']) t.ok(html.includes(tag), tag);
  // Attribute values are double-quoted with `"` escaped, so an attribute name is what follows a tag name or a closing quote.
  t.notMatch(html, /<script>|<style|<[a-z0-9]+(\s+[a-z-]+(="[^"]*")?)*\s+(style|on[a-z]+)=/i, 'no inline script, style or handler');
  t.notMatch(html, /(src|href)="(https?:)?\//, 'every URL is relative to the page (no other origin, no absolute path)');
  const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
  t.same(scripts, ['assets/uPlot.iife.min.js?v=9.9.9', 'assets/status.js?v=9.9.9']);
});

t.test("under the charts: the last hour's elections, stalls and etcd's maintenance, in words", async (t) => {
  const state = stateWithEverything();
  const h = JSON.parse(historyJson(state.history, NOW)) as view.HistoryDoc;
  const s = JSON.parse(JSON.stringify(statusDocument(state, '9.9.9'))) as view.StatusDoc;
  const html = view.viewElections(h, s);
  t.match(html, /None in the last hour\.<\/p><p>No stall threatened leadership in the last hour\.<\/p>/);
  t.match(
    html,
    /etcd's maintenance in the last hour \(purple marks on the charts\):<\/p><ul class="maintenance"><li>defragmentation: 1 completed, 42 s in all; last seen <time[^>]*>2025-03-01 11:59:05 UTC<\/time><\/li><li>compaction: 2 completed, 500 ms in all;/,
    "etcd's maintenance, by kind",
  );
});

t.test('before the first diagnosis the page says so; HEAD works; other methods are refused', async (t) => {
  const url = await serve(t, new AgentState(NOW, new Set(['fsync_probe'])));
  const html = await (await fetch(url + '/')).text();
  t.match(html, /badge-unknown">Unknown</);
  t.match(html, /No diagnosis yet/);
  t.match(html, /<code>fsync_probe<\/code><\/th><td><span class="badge badge-unknown">Not sampled yet/);
  t.equal((await fetch(url + '/', { method: 'HEAD' })).status, 200);
  t.equal((await fetch(url + '/', { method: 'POST' })).status, 405);
  t.equal((await fetch(url + '/assets/status.js', { method: 'DELETE' })).status, 405);
});

t.test('assets: uPlot from node_modules, the page script and styles; nothing else', async (t) => {
  const url = await serve(t, new AgentState(NOW, new Set()));
  for (const name of PAGE_ASSETS) {
    const res = await fetch(`${url}/assets/${name}`);
    t.equal(res.status, 200, name);
    t.match(res.headers.get('content-type'), name.endsWith('.js') ? /^text\/javascript/ : name.endsWith('.css') ? /^text\/css/ : /^image\/svg\+xml/, name);
    t.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    t.ok((await res.text()).length > 100, `${name} has a body`);
  }
  t.match(await (await fetch(`${url}/assets/uPlot.iife.min.js`)).text(), /uPlot/);
  // The image installs production dependencies only (npm ci --omit=dev): uPlot must be one of them.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
  t.ok(pkg.dependencies.uplot, 'uplot is a production dependency');
  for (const bad of ['nope.js', '..%2Fpackage.json', 'constructor', '__proto__', 'toString']) {
    t.equal((await fetch(`${url}/assets/${bad}`)).status, 404, bad);
  }
});

t.test('GET /api/v1/history answers JSON for the charts', async (t) => {
  const state = stateWithEverything();
  const url = await serve(t, state);
  const res = await fetch(url + '/api/v1/history');
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^application\/json/);
  const doc = (await res.json()) as view.HistoryDoc;
  t.equal(doc.schemaVersion, 1);
  t.equal(doc.stepSeconds, 10);
  t.ok(doc.t.length >= 1 && doc.t.length <= 360);
  for (const k of ['probeP99', 'probeMax', 'walFsyncP99', 'backendCommitP99', 'diskBusy'] as const) t.equal(doc.series[k].length, doc.t.length, k);
});

t.test("the browser's copy of the view functions renders exactly what the server renders", async (t) => {
  const script = clientScript();
  t.doesNotThrow(() => new Script(script), 'the shipped script parses');
  t.notMatch(script, /\bimport\b|\brequire\(|\bexports\./, 'no module syntax left in the shipped script');
  // Load the view functions only (clientMain needs a DOM): the script minus its last call.
  const functionsOnly = script.replace(/clientMain\(window, \d+\);/, 'globalThis.__view = { viewVerdict, viewFindings, viewTuning, viewMemberSettings, viewDisk, viewSources, viewMember, viewElections, viewEvaluated, viewChartSummary };');
  const sandbox: { __view?: Record<string, (...a: unknown[]) => string> } = {};
  runInNewContext(functionsOnly, sandbox);
  const shipped = sandbox.__view!;
  const state = stateWithEverything();
  const input = pageInput(state, 'm1', statusDocument(state, '9.9.9'), NOW);
  const d = input.diagnosis;
  const s = input.status;
  const h = input.history;
  t.equal(shipped.viewVerdict!(d), view.viewVerdict(d));
  t.equal(shipped.viewVerdict!(undefined), view.viewVerdict(undefined));
  t.equal(shipped.viewFindings!(d), view.viewFindings(d));
  t.equal(shipped.viewTuning!(d, s), view.viewTuning(d, s));
  t.equal(shipped.viewMemberSettings!(d, s), view.viewMemberSettings(d, s));
  t.equal(shipped.viewDisk!(d, s), view.viewDisk(d, s));
  t.equal(shipped.viewSources!(s), view.viewSources(s));
  t.equal(shipped.viewMember!(s), view.viewMember(s));
  t.equal(shipped.viewElections!(h, s), view.viewElections(h, s));
  t.equal(shipped.viewEvaluated!(d), view.viewEvaluated(d));
  t.equal(shipped.viewChartSummary!(h, ['probeP99'], ['p99'], false), view.viewChartSummary(h, ['probeP99'], ['p99'], false));
});

t.test('view formatting: units as the terminal report words them', async (t) => {
  t.equal(fmtSeconds(0.0004), '400 µs');
  t.equal(fmtSeconds(0.0084), '8.4 ms');
  t.equal(fmtSeconds(1.5), '1.5 s');
  t.equal(fmtSeconds(300), '5 min');
  t.equal(fmtRatio(0.125), '13%');
  t.equal(fmtRatio(0.0004), '0.04%');
  t.equal(fmtBytes(1536), '1.5 KiB');
  t.equal(view.factValue({ name: 'x', value: 2.5, unit: 'per_day' }), '2.5/day');
  t.equal(view.factValue({ name: 'x', value: 1500, unit: 'ms' }), '1.5 s');
  t.equal(view.esc(`<a href="x">'&`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;');
  t.equal(view.timeTag('2025-03-01T12:00:05.123Z'), '<time datetime="2025-03-01T12:00:05.123Z">2025-03-01 12:00:05 UTC</time>');
  t.equal(view.timeTag(null), '—');
});

/** WCAG 2 relative luminance and contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string): number => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

t.test('colours: text at WCAG AA (4.5:1) on its background, chart lines and focus ring at 3:1', async (t) => {
  const vars = Object.fromEntries([...PAGE_CSS.matchAll(/--([a-z-]+): (#[0-9a-f]{6})/g)].map((m) => [m[1]!, m[2]!]));
  const text: Array<[string, string]> = [
    ['fg', 'bg'], ['muted', 'bg'], ['muted', 'panel'], ['fg', 'panel'], ['link', 'bg'],
    ['ok-fg', 'ok-bg'], ['warn-fg', 'warn-bg'], ['bad-fg', 'bad-bg'], ['info-fg', 'info-bg'], ['none-fg', 'none-bg'],
  ];
  for (const [fg, bg] of text) {
    const ratio = contrast(vars[fg]!, vars[bg]!);
    t.ok(ratio >= 4.5, `${fg} on ${bg}: ${ratio.toFixed(2)}:1`);
  }
  t.ok(contrast(vars.focus!, vars.bg!) >= 3, 'focus ring');
  const lines = view.chartSpecs().flatMap((c) => c.colors);
  for (const c of [...lines, '#cf222e']) t.ok(contrast(c, '#ffffff') >= 3, `chart line ${c} on white: ${contrast(c, '#ffffff').toFixed(2)}:1`);
});

t.test('every JSON document of the API says its schema version (docs/api.md)', async (t) => {
  const state = stateWithEverything();
  const url = await serve(t, state);
  const api = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  for (const path of ['/api/v1/status', '/api/v1/history', '/api/v1/diagnosis', '/api/v1/settings']) {
    const res = await fetch(url + path);
    const doc = (await res.json()) as { schemaVersion?: unknown };
    t.equal(doc.schemaVersion, 1, path);
    const section = api.slice(api.indexOf(`## \`GET ${path}\``));
    t.match(section.slice(0, section.indexOf('\n## ', 3)), /"schemaVersion": 1/, `docs/api.md shows ${path}'s version`);
  }
});

t.test("the other members' settings: each peer's answer or why there is none, the note when they differ, all escaped", async (t) => {
  const html = view.viewMemberSettings(...(() => {
    const state = stateWithEverything();
    const input = pageInput(state, 'm1', statusDocument(state, '9.9.9'), NOW);
    return [input.diagnosis, input.status] as const;
  })());
  t.match(html, /<p class="settings-differ" role="note"><strong>The members' settings differ\.<\/strong> m1 \(this member\) 100\/1000, m2 &#60;img/, 'the note, with the finding escaped');
  t.match(html, /<li data-answered="yes">m2 &#60;img[^<]*\(<code>http:\/\/10\.0\.0\.12:9379<\/code>\): <code>--heartbeat-interval=250 --election-timeout=2500<\/code><\/li>/);
  t.match(html, /<li data-answered="no"><code>http:\/\/10\.0\.0\.13:9379<\/code>: no answer \(unreachable: connect ECONNREFUSED &#60;img/);
  t.notMatch(html, /runs the same settings/, 'no claim of agreement beside the note');
  const off = new AgentState(NOW, new Set(['etcd_config']));
  t.equal(view.viewMemberSettings(undefined, JSON.parse(JSON.stringify(statusDocument(off, '1'))) as view.StatusDoc), '', 'nothing without --peer-agents');
});

t.test("the disk part names the cgroup writers, or says plainly that the kernel counts none", async (t) => {
  const state = new AgentState(NOW, new Set(['diskstats', 'cgroup_io']));
  state.record('diskstats', success({ path: '/var/lib/etcd', mountPoint: '/', fsType: 'ext4', device: 'vda', disks: ['vda'], sharedWith: ['/'], stats: [] } as never), NOW, seconds(0));
  const render = () => view.viewDisk(undefined, JSON.parse(JSON.stringify(statusDocument(state, '1'))) as view.StatusDoc);
  t.match(render(), /Writers on its device \(cgroups\).*not known yet/);
  const base = { hierarchy: 'v1' as const, root: '/sys/fs/cgroup/blkio', devices: ['254:0' as const], cgroups: 9 };
  state.record('cgroup_io', success({ ...base, accounting: false, writers: [] }), NOW, seconds(0));
  t.match(render(), /no accounting<\/strong>: cgroup v1 blkio counts no I\/O for <code>254:0<\/code>/);
  state.record('cgroup_io', success({
    ...base, accounting: true, window: seconds(10), rest: { cgroups: 2, bytesPerSecond: 1024 },
    writers: [{ kind: 'service' as const, unit: 'containerd.service', name: `containerd.service ${EVIL}`, etcd: false, bytesPerSecond: 2 * 2 ** 20 }],
  }), NOW, seconds(0));
  const html = render();
  t.match(html, /containerd\.service &#60;img/, 'escaped');
  t.match(html, /2 MiB\/s, 2 other cgroups 1 KiB\/s/);
});
