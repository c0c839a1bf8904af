// The text parts of the status page, as HTML strings rendered from the JSON documents of the API
// (/api/v1/diagnosis, /api/v1/status, /api/v1/history). The server renders the page with these
// functions, and the browser re-renders each part with the very same functions after each refresh:
// their source text is shipped to the browser (see VIEW_FUNCTIONS and client.ts).
//
// Rules that make that possible: every function here is a plain `function` declaration that uses
// only its arguments, the other functions of VIEW_FUNCTIONS and JavaScript built-ins — no module-level
// constants; the wording of figures is lib/format.ts's, shipped along with them. test/page/page-render.test.ts checks the shipped copy renders alike.
// Everything that comes from state goes through `esc`.
import { fmtBytes, fmtCandidate, fmtLeadership, fmtMs, fmtRate, fmtRatio, fmtSeconds, trim } from '../../lib/format.js';
import type { HistoryDocument } from '../api/history-json.js';
import type { StatusDocument } from '../api/status-json.js';
import type { DiagnosisDocument } from '../api/diagnosis-json.js';

/** A value as it reads after JSON.stringify + JSON.parse: Dates are strings, Maps objects. */
export type Json<T> = T extends Date
  ? string
  : T extends number
    ? number
    : T extends string
      ? string
      : T extends boolean
        ? boolean
        : T extends Map<unknown, infer V>
          ? Record<string, Json<V>>
          : T extends ReadonlyArray<infer E>
            ? Json<E>[]
            : T extends object
              ? { [K in keyof T]: Json<T[K]> }
              : T;

export type DiagnosisDoc = Json<DiagnosisDocument>;
export type StatusDoc = Json<StatusDocument>;
export type HistoryDoc = Json<HistoryDocument>;
type FindingDoc = DiagnosisDoc['findings'][number];
type FactDoc = FindingDoc['facts'][number];
type SourceDoc = StatusDoc['sources'][string];
type HistorySeriesKey = keyof HistoryDoc['series'];

// ───────────────────────────── words and numbers

/** HTML-escapes any value (text and attribute values alike). */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A fact's value with its unit, as the terminal report words it. */
export function factValue(f: FactDoc): string {
  const v = f.value;
  if (typeof v === 'string') return v;
  switch (f.unit) {
    case 'seconds':
      return fmtSeconds(v);
    case 'ms':
      return fmtSeconds(v / 1000);
    case 'ratio':
      return fmtRatio(v);
    case 'per_day':
      return `${fmtRate(v)}/day`;
    case 'per_hour':
      return `${fmtRate(v)}/h`;
    case 'bytes':
      return fmtBytes(v);
    default:
      return fmtRate(v);
  }
}

/** `<time>` of an ISO timestamp, shown in UTC to the second (the agent's logs and API use UTC). */
export function timeTag(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return esc(iso);
  return `<time datetime="${esc(d.toISOString())}">${esc(d.toISOString().slice(0, 19).replace('T', ' '))} UTC</time>`;
}

export function verdictLabel(v: string): string {
  switch (v) {
    case 'healthy':
      return 'Healthy';
    case 'degraded':
      return 'Degraded';
    case 'at_risk':
      return 'At risk';
    default:
      return 'Unknown';
  }
}

function severityRankV(s: string): number {
  return s === 'critical' ? 0 : s === 'warning' ? 1 : 2;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

// ───────────────────────────── the parts

/** The verdict line (inside the aria-live region: it changes only when the verdict or the findings do). */
export function viewVerdict(d: DiagnosisDoc | undefined): string {
  if (!d) {
    return '<p class="verdict-line"><span class="badge badge-unknown">Unknown</span> ' +
      '<span>No diagnosis yet: the first evaluation runs one <code>--diagnosis-interval</code> after the agent starts.</span></p>';
  }
  const counts = ['critical', 'warning', 'info']
    .map((s) => [s, d.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => (s === 'critical' ? `${n} critical` : plural(n, s, `${s}s`)));
  const what = d.findings.length === 0
    ? 'No findings.'
    : `${plural(d.findings.length, 'finding', 'findings')}: ${counts.join(', ')}.`;
  const meaning = d.verdict === 'healthy'
    ? "etcd's disk and elections look fine on this node."
    : d.verdict === 'degraded'
      ? 'Something needs attention; see the findings.'
      : d.verdict === 'at_risk'
        ? 'Leadership of this member is threatened; act on the critical findings.'
        : 'The agent has no view of the disk or of etcd yet.';
  return `<p class="verdict-line"><span class="badge badge-${esc(d.verdict)}">${esc(verdictLabel(d.verdict))}</span> ` +
    `<span>${esc(what)} ${esc(meaning)}</span></p>`;
}

/** When the diagnosis was made (outside the live region: it changes at every evaluation). */
export function viewEvaluated(d: DiagnosisDoc | undefined): string {
  return d ? `Evaluated ${timeTag(d.at)}.` : 'Not evaluated yet.';
}

export function viewFinding(f: FindingDoc): string {
  const facts = f.facts.length === 0 ? '' :
    '<div class="evidence"><strong>Evidence:</strong><ul>' +
    f.facts.map((x) =>
      `<li><code>${esc(x.name)}</code> ${esc(factValue(x))}${x.window !== undefined ? ` <span class="muted">over ${esc(fmtSeconds(x.window))}</span>` : ''}</li>`,
    ).join('') +
    '</ul></div>';
  return `<li class="finding finding-${esc(f.severity)}" data-code="${esc(f.code)}">` +
    `<h3><span class="sev sev-${esc(f.severity)}">${esc(f.severity.toUpperCase())}</span> <code>${esc(f.code)}</code></h3>` +
    `<p class="summary">${esc(f.summary)}</p>` +
    facts +
    `<p class="remedy"><strong>Remedy:</strong> ${esc(f.remedy)}</p>` +
    `<p class="muted">Active since ${timeTag(f.since)}.</p></li>`;
}

export function viewFindings(d: DiagnosisDoc | undefined): string {
  if (!d) return '<p>No diagnosis yet.</p>';
  if (d.findings.length === 0) return `<p>No findings at ${timeTag(d.at)}.</p>`;
  const sorted = d.findings.slice().sort((a, b) => severityRankV(a.severity) - severityRankV(b.severity));
  return `<ol class="findings">${sorted.map(viewFinding).join('')}</ol>`;
}

/** What the predictions mean for this member's role: only a leader's stalls start elections. */
export function viewLeadership(d: DiagnosisDoc | undefined): string {
  const l = d?.leadership;
  if (!l) return '';
  return `<p class="leadership" data-role="${esc(l.role)}">${esc(fmtLeadership(l.role, l.electionsPerDayIfLeader))}</p>`;
}

/** Current vs recommended heartbeat interval and election timeout, with their predictions. */
export function viewTuning(d: DiagnosisDoc | undefined, s: StatusDoc): string {
  const cfgSource = s.sources.etcd_config;
  const cfg = cfgSource?.latest?.value as
    | { heartbeatInterval?: { value: number; origin: string }; electionTimeout?: { value: number; origin: string } }
    | undefined;
  type Row = { heartbeat: number; election: number; electionsPerDay: number; failoverDetection: number };
  const row = (label: string, p: Row): string =>
    `<tr><th scope="row">${esc(label)}</th><td>${esc(fmtSeconds(p.heartbeat / 1000))}</td><td>${esc(fmtSeconds(p.election / 1000))}</td>` +
    `<td>${esc(fmtRate(p.electionsPerDay))}</td><td>${esc(fmtSeconds(p.failoverDetection / 1000))}</td></tr>`;
  const table = (rows: string): string =>
    '<p class="muted">With the elections per day the model predicts from the stalls measured on this node:</p>' +
    '<div class="scroll" tabindex="0" role="region" aria-label="Heartbeat and election timeout"><table class="wide">' +
    '<caption class="vh">Heartbeat interval and election timeout, with predicted elections per day</caption>' +
    '<thead><tr><th scope="col">Settings</th><th scope="col">Heartbeat interval</th><th scope="col">Election timeout</th>' +
    '<th scope="col">Predicted elections per day</th><th scope="col">A dead leader is noticed after (mean)</th></tr></thead>' +
    `<tbody>${rows}</tbody></table></div>`;
  const origin = cfg?.heartbeatInterval && cfg.electionTimeout
    ? `<p class="muted">Running settings read from: heartbeat ${esc(cfg.heartbeatInterval.origin)}, election timeout ${esc(cfg.electionTimeout.origin)}.</p>`
    : '';
  const t = d?.tuning;
  if (t) {
    const flags = `--heartbeat-interval=${t.recommended.heartbeat} --election-timeout=${t.recommended.election}`;
    return viewLeadership(d) + `<p>Recommended on every member: <code>${esc(flags)}</code>` +
      (t.temporary ? ' <strong>— a stop-gap: the disk is the remedy.</strong>' : '') + '</p>' +
      table(row('Running now', t.current) + row('Recommended', t.recommended)) +
      `<p>Fail-over cost: a real leader failure is noticed ${esc(fmtSeconds(t.addedFailoverDetection / 1000))} later ` +
      `(${esc(fmtSeconds(t.recommended.failoverDetection / 1000))} instead of ${esc(fmtSeconds(t.current.failoverDetection / 1000))}).` +
      (t.meetsTarget ? '' : ` No setting considered keeps elections under the target of ${esc(fmtRate(t.targetElectionsPerDay))} per day.`) +
      '</p>' +
      (t.reasons.length > 0 ? `<ul class="reasons">${t.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : '') +
      origin;
  }
  if (d?.current) {
    return viewLeadership(d) + table(row('Running now', d.current)) + '<p>No change recommended.</p>' + origin;
  }
  if (cfg?.heartbeatInterval && cfg.electionTimeout) {
    return `<p>Running <code>--heartbeat-interval=${esc(cfg.heartbeatInterval.value)} --election-timeout=${esc(cfg.electionTimeout.value)}</code>; ` +
      'no prediction yet: the model needs measured stalls (the probe or etcd\'s WAL fsync).</p>' + origin;
  }
  return "<p>Not known: etcd's heartbeat interval and election timeout were not discovered " +
    '(pass <code>--etcd-heartbeat-interval</code> and <code>--etcd-election-timeout</code>).</p>';
}

/** The other members' settings as their agents answered (--peer-agents), with a note when they differ from this member's. */
export function viewMemberSettings(d: DiagnosisDoc | undefined, s: StatusDoc): string {
  const src = s.sources.peer_agents;
  if (!src) return '';
  type Answer = { url: string; ok: boolean; settings?: { member: string; heartbeatMs?: number; electionMs?: number }; reason?: string; message?: string };
  const answers = (src.latest?.value as { answers: Answer[] } | undefined)?.answers;
  const head = "<h3>The other members' settings</h3>";
  if (!answers) return `${head}<p>Not asked yet${src.lastError ? `: ${esc(src.lastError.message)}` : ''}.</p>`;
  if (answers.length === 0) return `${head}<p>None to ask: etcd's member list names no other member with a client URL.</p>`;
  const differ = (d?.findings ?? []).find((f) => f.code === 'timing_settings_differ');
  const note = differ
    ? `<p class="settings-differ" role="note"><strong>The members' settings differ.</strong> ${esc(differ.summary)}. ${esc(differ.remedy)}</p>`
    : '';
  const item = (a: Answer): string => {
    const where = `<code>${esc(a.url)}</code>`;
    if (!a.ok || !a.settings) return `<li data-answered="no">${where}: no answer (${esc(a.reason)}: ${esc(a.message)})</li>`;
    const p = a.settings;
    const timing = p.heartbeatMs !== undefined && p.electionMs !== undefined
      ? `<code>--heartbeat-interval=${esc(p.heartbeatMs)} --election-timeout=${esc(p.electionMs)}</code>`
      : 'its agent does not know them yet';
    return `<li data-answered="yes">${esc(p.member)} (${where}): ${timing}</li>`;
  };
  const compared = answers.some((a) => a.ok && a.settings && a.settings.heartbeatMs !== undefined);
  const same = !differ && compared && d?.findings.every((f) => f.code !== 'settings_unknown')
    ? '<p>Every member that answered runs the same settings as this one.</p>'
    : '';
  return `${head}${note}<ul class="peers">${answers.map(item).join('')}</ul>${same}`;
}

/** Where etcd's data is, which device holds it, and what shares that disk. */
export function viewDisk(d: DiagnosisDoc | undefined, s: StatusDoc): string {
  const src = s.sources.diskstats;
  const disk = src?.latest?.value as
    | { path: string; mountPoint: string; fsType: string; device: string; disks: string[]; sharedWith: string[]; rotational?: boolean; model?: string }
    | undefined;
  const probe = s.sources.fsync_probe?.latest?.value as { file: string; sameFilesystemAsEtcd?: boolean | null } | undefined;
  const item = (term: string, value: string): string => `<dt>${esc(term)}</dt><dd>${value}</dd>`;
  let html = '';
  if (disk) {
    html += '<dl class="facts-list">' +
      item("etcd's data", `<code>${esc(disk.path)}</code> on <code>${esc(disk.mountPoint)}</code> (${esc(disk.fsType)})`) +
      item('Device', `<code>${esc(disk.device)}</code>` + (disk.disks.length > 0 && disk.disks.join() !== disk.device ? ` on ${disk.disks.map((x) => `<code>${esc(x)}</code>`).join(', ')}` : '')) +
      (disk.model || disk.rotational !== undefined
        ? item('Kind', esc([disk.model, disk.rotational === undefined ? '' : disk.rotational ? 'rotational (HDD)' : 'non-rotational (SSD/NVMe or virtual)'].filter((x) => x).join(', ')))
        : '') +
      item('Shares its disk with', disk.sharedWith.length > 0
        ? disk.sharedWith.map((p) => `<code>${esc(p)}</code>`).join(', ')
        : 'none of the checked busy paths') +
      (s.sources.cgroup_io ? item('Writers on its device (cgroups)', viewCgroupWriters(s)) : '') +
      (probe
        ? item('Probe file', `<code>${esc(probe.file)}</code>` + (probe.sameFilesystemAsEtcd === true ? ", on etcd's filesystem"
          : probe.sameFilesystemAsEtcd === false ? " — <strong>not on etcd's filesystem</strong>: it measures another disk" : ''))
        : '') +
      '</dl>';
  } else {
    html += `<p>Not known yet${src?.lastError ? `: ${esc(src.lastError.message)}` : ''}.</p>`;
  }
  const rec = d?.disk;
  if (rec) {
    html += `<p><strong>Disk remedy:</strong> ${esc(rec.summary)}</p>` +
      (rec.reasons.length > 0 ? `<ul class="reasons">${rec.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : '');
  }
  return html + viewCandidates(d);
}

/** The candidate filesystems (--candidate-dir), each with its verdict in words; empty without any. */
export function viewCandidates(d: DiagnosisDoc | undefined): string {
  const list = d?.candidates ?? [];
  if (list.length === 0) return '';
  return '<h3>Candidate filesystems</h3><p>Where etcd could move (<code>--candidate-dir</code>), probed like its own disk at a low rate; ' +
    'the predictions are the election model\'s for etcd\'s WAL there, with this cluster\'s size and settings.</p><ul class="candidates">' +
    list.map((c) => `<li data-verdict="${esc(c.verdict)}"><code>${esc(c.dir)}</code>: ${esc(fmtCandidate(c))}</li>`).join('') + '</ul>';
}

/** The cgroup_io source's busiest writers on etcd's device, or why there are none to show. */
export function viewCgroupWriters(s: StatusDoc): string {
  const src = s.sources.cgroup_io;
  const c = src?.latest?.value as
    | { hierarchy: string; devices: string[]; accounting: boolean; window?: number; writers: Array<{ name: string; etcd: boolean; bytesPerSecond: number }>; rest?: { cgroups: number; bytesPerSecond: number } }
    | undefined;
  if (!c) return `not known yet${src?.lastError ? `: ${esc(src.lastError.message)}` : ''}`;
  if (!c.accounting) {
    return `<strong>no accounting</strong>: cgroup ${esc(c.hierarchy)} blkio counts no I/O for <code>${esc(c.devices.join(', '))}</code> ` +
      '(on recent kernels v1 counts a device only once a throttle rule was set for it; v2 always counts)';
  }
  if (c.window === undefined) return 'measuring (rates need two rounds)';
  const parts = c.writers.map((w) => `${esc(w.name)}${w.etcd ? ' (etcd)' : ''} ${esc(fmtBytes(w.bytesPerSecond))}/s`);
  if (c.rest) parts.push(`${esc(plural(c.rest.cgroups, 'other cgroup', 'other cgroups'))} ${esc(fmtBytes(c.rest.bytesPerSecond))}/s`);
  return parts.length > 0 ? parts.join(', ') : 'none above 16 KiB/s';
}

function sourceState(src: SourceDoc): string {
  if (src.up === true) return '<span class="badge badge-healthy">Up</span>';
  if (src.up === false) return '<span class="badge badge-at_risk">Down</span>';
  return '<span class="badge badge-unknown">Not sampled yet</span>';
}

/** Each enabled source: up or down, when it last succeeded, its errors and the last one. */
export function viewSources(s: StatusDoc): string {
  const names = Object.keys(s.sources);
  if (names.length === 0) return '<p>No source is enabled.</p>';
  const rows = names.map((name) => {
    const src = s.sources[name]!;
    const errors = Object.entries(src.errors).map(([reason, n]) => `${reason} ${n}`).join(', ');
    const e = src.lastError;
    const stale = e && src.lastSuccessAt && e.at < src.lastSuccessAt ? ' <span class="muted">(before the last success)</span>' : '';
    return `<tr><th scope="row"><code>${esc(name)}</code></th><td>${sourceState(src)}</td><td>${timeTag(src.lastSuccessAt)}</td>` +
      `<td>${src.lastSampleSeconds === null ? '—' : esc(fmtSeconds(src.lastSampleSeconds))}</td><td>${esc(errors || 'none')}</td>` +
      `<td class="error">${e ? `${timeTag(e.at)} <code>${esc(e.reason)}</code>: ${esc(e.message)}${stale}` : '—'}</td></tr>`;
  });
  return '<div class="scroll" tabindex="0" role="region" aria-label="Sources"><table class="sources wide">' +
    '<caption class="vh">Sources of the agent: state, last success and last error</caption>' +
    '<thead><tr><th scope="col">Source</th><th scope="col">State</th><th scope="col">Last success</th>' +
    '<th scope="col">Last sample took</th><th scope="col">Errors</th><th scope="col">Last error</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></div>`;
}

/** This member's role and term, as the etcd API reported them last, and the agent's own version. */
export function viewMember(s: StatusDoc): string {
  const api = s.sources.etcd_api;
  const v = api?.up ? (api.latest?.value as { memberId: string; leaderId: string; raftTerm: number; version: string; members: unknown[] } | undefined) : undefined;
  const role = !v ? "etcd's API is not answering" : v.leaderId === '0' ? 'no leader' : v.leaderId === v.memberId ? 'the leader' : 'a follower';
  return esc(role) +
    (v ? ` · raft term ${esc(v.raftTerm)} · ${esc(plural(v.members.length, 'member', 'members'))} · etcd ${esc(v.version)}` : '') +
    ` · agent ${esc(s.version)}, up since ${timeTag(s.startedAt)}`;
}

/** The last values of a chart's series, in words: what the chart shows, for screen readers and without JavaScript. */
export function viewChartSummary(h: HistoryDoc, keys: HistorySeriesKey[], labels: string[], ratio: boolean): string {
  const fmt = (v: number): string => (ratio ? fmtRatio(v) : fmtSeconds(v));
  const parts = keys.map((k, i) => {
    const values = h.series[k];
    let last: number | null = null;
    let peak: number | null = null;
    for (const v of values) {
      if (v === null) continue;
      last = v;
      if (peak === null || v > peak) peak = v;
    }
    return last === null || peak === null
      ? `${labels[i]}: no data in the last hour`
      : `${labels[i]}: ${fmt(last)} now, highest ${fmt(peak)}`;
  });
  return esc(parts.join('; ') + '.');
}

export function viewElections(h: HistoryDoc, s: StatusDoc): string {
  const total = `${plural(s.elections, 'election', 'elections')} seen since the agent started (raft term increases).`;
  const elections = h.elections.length === 0
    ? `<p>${esc(total)} None in the last hour.</p>`
    : `<p>${esc(total)} In the last hour (red lines on the charts):</p><ul class="elections">` +
      h.elections.map((e) => `<li>${timeTag(e.at)}: term ${esc(e.termFrom)} → ${esc(e.termTo)}</li>`).join('') + '</ul>';
  return elections + viewStalls(h) + viewMaintenance(h);
}

/** etcd's maintenance in the last hour, by kind, with when it was last seen (purple marks on the charts). */
function viewMaintenance(h: HistoryDoc): string {
  const words: Record<string, string> = { defrag: 'defragmentation', compaction: 'compaction', raft_snapshot: 'raft snapshot', db_snapshot: 'DB snapshot (backup)' };
  const kinds = [...new Set(h.maintenance.map((m) => m.kind))];
  if (kinds.length === 0) return "<p>No maintenance by etcd seen in the last hour (defragmentation, compaction, snapshots).</p>";
  const item = (kind: string): string => {
    const of = h.maintenance.filter((m) => m.kind === kind);
    const done = of.reduce((n, m) => n + m.count, 0);
    const spent = of.reduce((n, m) => n + m.seconds, 0);
    const last = of[of.length - 1]!;
    const running = last.running ? ', running at the last scrape' : '';
    return `<li>${esc(words[kind] ?? kind)}: ${done} completed, ${esc(fmtSeconds(spent))} in all${running}; last seen ${timeTag(last.at)}</li>`;
  };
  return "<p>etcd's maintenance in the last hour (purple marks on the charts):</p>" + `<ul class="maintenance">${kinds.map(item).join('')}</ul>`;
}

/** The last hour's stalls that threatened leadership, each with what saw it, how long and the role then. */
function viewStalls(h: HistoryDoc): string {
  if (h.stalls.length === 0) return '<p>No stall threatened leadership in the last hour.</p>';
  const count = h.stalls.reduce((n, e) => n + e.count, 0);
  const item = (e: HistoryDoc['stalls'][number]): string => {
    const what = e.source === 'probe' ? `probe: longest ${fmtSeconds(e.longest)}` : `etcd's WAL fsync: longest over ${fmtSeconds(e.longest)}`;
    const role = e.role === undefined ? '' : e.role === 'leader' ? ', while this member led' : ', while this member followed';
    return `<li>${timeTag(e.at)}: ${esc(plural(e.count, 'fdatasync', 'fdatasyncs'))} of at least ${esc(fmtSeconds(e.limit))} (${esc(what)}${role})</li>`;
  };
  // The latest ten are listed; the charts mark them all. (A constant inside: the browser gets this function's text alone.)
  const shown = h.stalls.slice(-10);
  const more = h.stalls.length > shown.length ? `, the latest ${shown.length} of them` : '';
  return `<p>${esc(plural(count, 'stall', 'stalls'))} threatened leadership in the last hour (orange marks on the charts: an fdatasync that ` +
    `reached the warning share of the election timeout; the probe and etcd's WAL fsync may both count one stall)${more}:</p>` +
    `<ul class="stalls">${shown.map(item).join('')}</ul>`;
}

/** The charts of the last hour: which series, their legend labels and line colours (3:1 or more on white). */
export function chartSpecs(): Array<{ id: string; title: string; keys: HistorySeriesKey[]; labels: string[]; colors: string[]; ratio: boolean }> {
  return [
    { id: 'chart-probe', title: "Probe fdatasync on etcd's filesystem, per 10 s (log scale)", keys: ['probeP99', 'probeMax'], labels: ['p99', 'max'], colors: ['#0550ae', '#bc4c00'], ratio: false },
    { id: 'chart-etcd', title: "etcd's WAL fsync and backend commit p99, per 10 s (log scale)", keys: ['walFsyncP99', 'backendCommitP99'], labels: ['WAL fsync p99', 'backend commit p99'], colors: ['#6639ba', '#1a7f37'], ratio: false },
    { id: 'chart-disk', title: "Time etcd's device was busy, per 10 s", keys: ['diskBusy'], labels: ['busy'], colors: ['#0550ae'], ratio: true },
  ];
}

/** The functions the browser gets, as source text (client.ts). */
export const VIEW_FUNCTIONS: ReadonlyArray<(...args: never[]) => unknown> = [
  esc, trim, fmtSeconds, fmtMs, fmtRatio, fmtRate, fmtBytes, fmtLeadership, fmtCandidate, factValue, timeTag, verdictLabel, severityRankV, plural,
  viewVerdict, viewEvaluated, viewFinding, viewFindings, viewLeadership, viewTuning, viewMemberSettings, viewDisk, viewCandidates, viewCgroupWriters, sourceState, viewSources, viewMember, viewChartSummary,
  viewElections, viewStalls, viewMaintenance, chartSpecs,
];
