// Human wording of figures for summaries, remedies and reasons. Facts keep the raw numbers (in
// seconds, ratios, per day); these strings are only for people.

/** A duration given in seconds: `850 µs`, `8.4 ms`, `1.50 s`, `2 min`. */
export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return s > 0 ? '∞' : String(s);
  const a = Math.abs(s);
  if (a === 0) return '0 ms';
  if (a < 0.001) return `${trim(s * 1e6, 0)} µs`;
  if (a < 1) return `${trim(s * 1000, a < 0.01 ? 1 : 0)} ms`;
  if (a < 120) return `${trim(s, 2)} s`;
  if (a < 3600) return `${trim(s / 60, 1)} min`;
  return `${trim(s / 3600, 1)} h`;
}

/** A duration given in milliseconds. */
export function fmtMs(v: number): string {
  return fmtSeconds(v / 1000);
}

/** A ratio as a percentage: `12.5%`, `0.04%`. */
export function fmtRatio(r: number): string {
  const p = r * 100;
  if (p === 0 || p >= 10) return `${trim(p, 0)}%`;
  if (p >= 1) return `${trim(p, 1)}%`;
  return `${Number(p.toPrecision(2))}%`;
}

/** A rate: `3.2`, `0.05`, `12 000`. */
export function fmtRate(r: number): string {
  if (!Number.isFinite(r)) return String(r);
  if (r === 0) return '0';
  if (r >= 100) return String(Math.round(r));
  return String(Number(r.toPrecision(2)));
}

/** Bytes in binary units: `1.5 GiB`. */
export function fmtBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${trim(v, i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A number with at most `digits` decimals and no trailing zeros. */
export function trim(v: number, digits: number): string {
  return String(Number(v.toFixed(digits)));
}

/**
 * What the election model's predictions mean for a member's role (leader, follower, unknown): only a
 * leader's stalls start elections. The page, the report and `diagnose` say it in these words.
 */
export function fmtLeadership(role: string, electionsPerDayIfLeader: number): string {
  const ifLed = `${fmtRate(electionsPerDayIfLeader)} elections/day at the running settings`;
  if (role === 'follower') return `This member follows: its stalls start no election while it does (predicted now: 0/day); if it led, ${ifLed}.`;
  if (role === 'leader') return `This member leads: its stalls are the ones that can start elections (predicted: ${ifLed}).`;
  return `Whether this member leads is not known (etcd did not say within the last minute): if it does, ${ifLed}.`;
}

/**
 * One candidate filesystem in words (page, report): its verdict, what was measured, what the model
 * predicts there at the running settings if this member led, and the settings it would need.
 */
export function fmtCandidate(c: {
  readonly verdict: string;
  readonly observations: number;
  readonly window: number;
  readonly p99?: number;
  readonly problem?: { readonly message: string };
  readonly atRunning?: { readonly heartbeat: number; readonly election: number; readonly electionsPerDay: number };
  readonly needs?: { readonly heartbeat: number; readonly election: number; readonly electionsPerDay: number; readonly failoverDetection: number };
}): string {
  if (c.verdict === 'unusable') return `not measured: ${c.problem?.message ?? 'its last round failed'}`;
  const measured = `${c.observations} fdatasyncs over ${fmtSeconds(c.window)}`;
  if (c.verdict === 'measuring') return `measuring (${measured} so far; a verdict needs more)`;
  const words: Record<string, string> = {
    fits: 'fits: etcd would keep its leader there at the running settings',
    slow: "slow: no election predicted, but the p99 misses etcd's 10 ms WAL fsync target",
    needs_tuning: 'fits only with other settings',
    unfit: 'unfit: no settings within etcd\'s limits keep elections rare there',
  };
  const r = c.atRunning;
  const running = r ? `; at the running ${r.heartbeat}/${r.election} ms: ${fmtRate(r.electionsPerDay)} elections/day if this member led` : '';
  const n = c.needs;
  const needs = n ? `; would need --heartbeat-interval=${n.heartbeat} --election-timeout=${n.election} (${fmtRate(n.electionsPerDay)}/day, fail-over detected in ${fmtMs(n.failoverDetection)})` : '';
  return `${words[c.verdict] ?? c.verdict} — p99 ${c.p99 === undefined ? 'unknown' : fmtSeconds(c.p99)}, ${measured}${running}${needs}`;
}
