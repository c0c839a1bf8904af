// Just enough PromQL lexing to list the metric names an expression selects, so tests can check every
// dashboard query and every rule against the metric contract; and the substitution of Grafana's
// template variables, so the same expressions can be run against a real Prometheus.

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
]);
/** Aggregation operators: `sum by (x) (…)` has no "(" right after the name, yet is no metric. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** Metric names selected by `expr` (identifiers not used as functions, keywords or label names), sorted, unique. */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  let i = 0;
  const n = expr.length;
  let skipLabelList = false;
  while (i < n) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
      continue;
    }
    if (c === '#') {
      while (i < n && expr[i] !== '\n') i++;
      continue;
    }
    if (c === '{') {
      i = skipUntil(expr, i, '}');
      continue;
    }
    if (c === '[') {
      i = skipUntil(expr, i, ']');
      continue;
    }
    if (c === '(' && skipLabelList) {
      i = skipUntil(expr, i, ')');
      skipLabelList = false;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      // a number or a duration (offset 5m): digits, letters, dots, exponent signs
      while (i < n && /[0-9a-zA-Z.+]/.test(expr[i]!)) {
        if (expr[i] === '+' && !/[eE]/.test(expr[i - 1]!)) break;
        i++;
      }
      continue;
    }
    if (c === '$') {
      // a Grafana variable outside braces/brackets (e.g. a whole-expression variable)
      i++;
      while (i < n && /[A-Za-z0-9_{}]/.test(expr[i]!)) i++;
      continue;
    }
    if (/[A-Za-z_:]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_:]/.test(expr[j]!)) j++;
      const word = expr.slice(i, j);
      let k = j;
      while (k < n && /\s/.test(expr[k]!)) k++;
      const next = expr[k];
      const lower = word.toLowerCase();
      if (LABEL_LIST.has(lower)) skipLabelList = true;
      else if (KEYWORDS.has(lower)) {
        /* operator keyword */
      } else if (next === '(' || AGGREGATIONS.has(lower)) {
        /* function or aggregation */
      } else names.add(word);
      i = j;
      continue;
    }
    i++;
  }
  return [...names].sort();
}

function skipString(s: string, i: number): number {
  const q = s[i]!;
  let j = i + 1;
  while (j < s.length && s[j] !== q) {
    if (s[j] === '\\' && q !== '`') j++;
    j++;
  }
  return j + 1;
}

/** Index after the matching `close`, skipping strings inside. */
function skipUntil(s: string, i: number, close: string): number {
  let j = i + 1;
  while (j < s.length && s[j] !== close) {
    if (s[j] === '"' || s[j] === "'" || s[j] === '`') j = skipString(s, j);
    else j++;
  }
  return j + 1;
}

/** A histogram's series names: `x` → `x_bucket`, `x_sum`, `x_count`. */
export function seriesNames(name: string, type: string): string[] {
  return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

/**
 * Replaces Grafana's variables in `expr`: `$name` and `${name}` from `vars` (a multi-value or "All"
 * selection is a regex, as Grafana's Prometheus data source writes it), and the interval variables
 * `$__rate_interval`, `$__interval`, `$__range` from `vars` too. Throws on a variable it does not know,
 * so a query can never reach Prometheus with a `$` left in it.
 */
export function substituteVariables(expr: string, vars: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const v = vars[name];
    if (v === undefined) throw new Error(`unknown variable $${name} in: ${expr}`);
    return v;
  });
}
