// The terminal report of `diagnose`: fits 100 columns, colours only when asked (a TTY without
// NO_COLOR), and reads the same when piped. Renders a Diagnosis, nothing else.
import { fmtBytes, fmtCandidate, fmtLeadership, fmtMs, fmtRate, fmtRatio, fmtSeconds } from '../../lib/format.js';
import type { Diagnosis, Fact, Finding, Severity, Verdict } from '../../model/diagnosis.js';

export const REPORT_WIDTH = 100;

export interface ReportStyle {
  readonly color: boolean;
}

/** Colour when writing to a terminal and NO_COLOR (https://no-color.org) is not set. */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): ReportStyle {
  return { color: Boolean(stream.isTTY) && (env.NO_COLOR === undefined || env.NO_COLOR === '') };
}

const SGR = { red: 31, yellow: 33, green: 32, cyan: 36, bold: 1, dim: 2 } as const;
type Tone = keyof typeof SGR;

function paint(style: ReportStyle, tone: Tone, text: string): string {
  return style.color ? `\u001b[${SGR[tone]}m${text}\u001b[0m` : text;
}

const VERDICT_TONE: Record<Verdict, Tone> = { healthy: 'green', degraded: 'yellow', at_risk: 'red', unknown: 'dim' };
const SEVERITY_TONE: Record<Severity, Tone> = { info: 'cyan', warning: 'yellow', critical: 'red' };

/** Greedy word wrap to `width`, every line after the first indented by `indent`. */
export function wrap(text: string, width: number, indent: string, firstIndent = indent): string[] {
  const lines: string[] = [];
  let line = firstIndent;
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  if (!empty || lines.length === 0) lines.push(line);
  return lines;
}

export function formatFact(f: Fact): string {
  const v = f.value;
  let value: string;
  if (typeof v === 'string') value = v;
  else if (f.unit === 'seconds') value = fmtSeconds(v);
  else if (f.unit === 'ms') value = fmtMs(v);
  else if (f.unit === 'ratio') value = fmtRatio(v);
  else if (f.unit === 'per_day') value = `${fmtRate(v)}/day`;
  else if (f.unit === 'per_hour') value = `${fmtRate(v)}/h`;
  else if (f.unit === 'bytes') value = fmtBytes(v);
  else value = fmtRate(v);
  return `${f.name} ${value}${f.window !== undefined ? ` (${fmtSeconds(f.window)})` : ''}`;
}

function renderFinding(f: Finding, style: ReportStyle): string[] {
  const head = `${paint(style, SEVERITY_TONE[f.severity], f.severity.toUpperCase().padEnd(8))} ${f.code}`;
  return [
    `  ${head}`,
    ...wrap(f.summary, REPORT_WIDTH, '             ', '             '),
    ...(f.facts.length > 0 ? wrap(f.facts.map(formatFact).join(' · '), REPORT_WIDTH, '             ', '    evidence ') : []),
    ...wrap(f.remedy, REPORT_WIDTH, '             ', '    remedy   '),
  ];
}

function renderTuning(d: Diagnosis, style: ReportStyle): string[] {
  const t = d.tuning;
  if (!t) return [];
  const { current: c, recommended: r } = t;
  const title = `Tuning${t.temporary ? ' (temporary: the disk is the remedy)' : ''}: ` +
    `--heartbeat-interval=${r.heartbeat} --election-timeout=${r.election}`;
  return [
    `  ${paint(style, 'bold', title)}`,
    ...wrap(
      `predicted elections: ${fmtRate(c.electionsPerDay)}/day now (${c.heartbeat}/${c.election} ms) → ${fmtRate(r.electionsPerDay)}/day; ` +
        `a real leader failure is detected in ${fmtMs(r.failoverDetection)} instead of ${fmtMs(c.failoverDetection)} (+${fmtMs(t.addedFailoverDetection)}); ` +
        'set the same values on every member.',
      REPORT_WIDTH,
      '    ',
    ),
    ...t.reasons.flatMap((why) => wrap(why, REPORT_WIDTH, '        ', '    why ')),
  ];
}

function renderDisk(d: Diagnosis, style: ReportStyle): string[] {
  const k = d.disk;
  if (!k) return [];
  return [
    `  ${paint(style, 'bold', `Disk: ${k.remedies.join(', ')}`)}`,
    ...wrap(k.summary, REPORT_WIDTH, '    '),
    ...k.reasons.flatMap((why) => wrap(why, REPORT_WIDTH, '        ', '    why ')),
  ];
}

export function renderReport(d: Diagnosis, member: string, style: ReportStyle): string {
  const verdict = paint(style, VERDICT_TONE[d.verdict], d.verdict.toUpperCase().replace('_', ' '));
  const lines = [`etcd member ${member}: ${verdict}   (${d.at.toISOString()})`, ''];
  const findings = [...d.findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  lines.push(findings.length === 0 ? 'No findings.' : 'Findings');
  for (const f of findings) lines.push(...renderFinding(f, style), '');
  if (d.current && !d.tuning) {
    lines.push(...wrap(
      `Running ${d.current.heartbeat}/${d.current.election} ms heartbeat/election: ${fmtRate(d.current.electionsPerDay)} elections/day predicted from the observed stalls.`,
      REPORT_WIDTH, '', '',
    ), '');
  }
  if (d.leadership) lines.push(...wrap(fmtLeadership(d.leadership.role, d.leadership.electionsPerDayIfLeader), REPORT_WIDTH, '', ''), '');
  const recs = [...renderTuning(d, style), ...renderDisk(d, style)];
  if (recs.length > 0) lines.push('Recommendations', ...recs, '');
  if (d.candidates.length > 0) {
    lines.push('Candidate filesystems (--candidate-dir)');
    for (const c of d.candidates) lines.push(...wrap(fmtCandidate(c), REPORT_WIDTH, '      ', `  ${c.dir}: `), '');
  }
  return lines.join('\n').replace(/\n+$/, '') + '\n';
}

const severityRank = (s: Severity): number => ['info', 'warning', 'critical'].indexOf(s);
