// The rules file as typed objects, and its rendering as YAML laid out the way it is meant to be read
// (comments above rules, expressions and alert texts as block scalars), rather than as a YAML library
// would lay it out. What Prometheus reads is the object `prometheusRules` returns; `renderRules` checks
// that its text parses back to exactly that, so a layout slip cannot ship a different rule.
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';

/** Comment lines, without the leading `# `. */
export type Comment = readonly string[];
/** A string, or the lines of a folded block (`>-`), which YAML reads joined by spaces. */
export type Text = string | readonly string[];

export interface RecordingRule {
  readonly comment?: Comment;
  readonly record: string;
  /** Several lines are written as a literal block (`|`). */
  readonly expr: string;
}

export interface AlertRule {
  readonly comment?: Comment;
  readonly alert: string;
  /** Said about the expression, written just above it. */
  readonly exprComment?: Comment;
  readonly expr: string;
  readonly for: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: Text;
  readonly description: Text;
  readonly runbookUrl: string;
}

export type Rule = RecordingRule | AlertRule;

/** A group's rules in sections, written with a blank line between them. */
export interface Group {
  readonly name: string;
  readonly sections: ReadonlyArray<readonly Rule[]>;
}

export interface RulesFile {
  readonly header: Comment;
  readonly groups: readonly Group[];
}

const isAlert = (r: Rule): r is AlertRule => 'alert' in r;
const folded = (t: Text): string => (typeof t === 'string' ? t : t.join(' '));
const literal = (expr: string): string => (expr.includes('\n') ? `${expr}\n` : expr);

/** The file as Prometheus reads it. */
export function prometheusRules(file: RulesFile): unknown {
  return {
    groups: file.groups.map((g) => ({ name: g.name, rules: g.sections.flat().map(ruleObject) })),
  };
}

function ruleObject(r: Rule): unknown {
  if (!isAlert(r)) return { record: r.record, expr: literal(r.expr) };
  return {
    alert: r.alert,
    expr: literal(r.expr),
    for: r.for,
    labels: { severity: r.severity },
    annotations: { summary: folded(r.summary), description: folded(r.description), runbook_url: r.runbookUrl },
  };
}

const comment = (indent: string, lines: Comment): string[] => lines.map((l) => (l === '' ? `${indent}#` : `${indent}# ${l}`));

/** `key: value`, or a block scalar under it for a multi-line expression or folded text. */
function field(indent: string, key: string, value: Text): string[] {
  const inner = `${indent}  `;
  if (typeof value !== 'string') return [`${indent}${key}: >-`, ...value.map((l) => `${inner}${l}`)];
  if (!value.includes('\n')) return [`${indent}${key}: ${value}`];
  return [`${indent}${key}: |`, ...value.split('\n').map((l) => `${inner}${l}`)];
}

function ruleLines(r: Rule): string[] {
  const head = comment('      ', r.comment ?? []);
  const f = '        ';
  if (!isAlert(r)) return [...head, `      - record: ${r.record}`, ...field(f, 'expr', r.expr)];
  return [
    ...head,
    `      - alert: ${r.alert}`,
    ...comment(f, r.exprComment ?? []),
    ...field(f, 'expr', r.expr),
    `${f}for: ${r.for}`,
    `${f}labels:`,
    `${f}  severity: ${r.severity}`,
    `${f}annotations:`,
    ...field(`${f}  `, 'summary', r.summary),
    ...field(`${f}  `, 'description', r.description),
    `${f}  runbook_url: ${r.runbookUrl}`,
  ];
}

function groupLines(g: Group): string[] {
  const sections = g.sections.map((s) => s.flatMap(ruleLines));
  return [`  - name: ${g.name}`, '    rules:', ...sections.flatMap((s, i) => (i === 0 ? s : ['', ...s]))];
}

/** The file's text; throws when YAML would read it as something other than `prometheusRules(file)`. */
export function renderRules(file: RulesFile): string {
  const groups = file.groups.map(groupLines);
  const text = [...comment('', file.header), 'groups:', ...groups.flatMap((g, i) => (i === 0 ? g : ['', ...g]))].join('\n') + '\n';
  if (!isDeepStrictEqual(YAML.parse(text), prometheusRules(file))) {
    throw new Error('the rendered rules file does not parse back to its rules: a value needs quoting or a different block style');
  }
  return text;
}
