// Renders the agent's state as Prometheus metrics, following the contract. Every value is computed
// from state at scrape time (cheap: no I/O), so a scrape always shows what is known, never triggers
// a sample, and counters mirrored from the kernel or etcd keep their exact values.
import { Registry } from 'prom-client';
import type { HistogramSnapshot } from '../../lib/histogram.js';
import type { Diagnosis, SettingsPrediction, Verdict } from '../../model/diagnosis.js';
import { SOURCE_NAMES, type SourceName } from '../../sources/source.js';
import type { AgentState, EventsByHour } from '../../state/state.js';
import type { Milliseconds } from '../../lib/units.js';
import { METRICS, type MetricKey, type MetricSpec } from './contract.js';
import { registerSelfMetrics } from './self-metrics.js';
import type { Setting } from '../../model/setting.js';
import { runningPreVote } from '../../host/etcd-flags.js';
import type { CgroupIoSample } from '../../sources/cgroup-writers.js';

type Labels = Record<string, string>;
interface Value {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

export interface MetricsContext {
  readonly state: AgentState;
  readonly version: string;
  /** The `member` label of etcd metrics: stable for the life of the agent. */
  readonly member: string;
}

// The contract's metrics are rendered here, not by prom-client: at one scrape a second the render
// runs cold (not JIT-optimised), and prom-client's generic formatting (label objects flattened,
// escaped by regular expressions, per value) was most of a /metrics request (bench/README.md).
// The text is the same, byte for byte, as prom-client's text format 0.0.4 would be.

/** prom-client's value format: `Nan`, `+Inf`, `-Inf`, else the number as JavaScript prints it. */
function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

const NEEDS_ESCAPE = /[\\\n"]/;
/** A label value escaped as the text format wants: backslash, newline and double quote. */
function labelText(v: string): string {
  return NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

/** HELP text escaping: backslash and newline. */
const helpText = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A metric's HELP and TYPE lines: fixed, so made once, not on every scrape. */
function metricHeader(spec: MetricSpec): string {
  return `# HELP ${spec.name} ${helpText(spec.help)}\n# TYPE ${spec.name} ${spec.type}`;
}

interface OwnMetric extends MetricValues {
  readonly name: string;
  readonly header: string;
}

/** One metric's block: its header and one line per value (none when the value is unknown). */
function renderMetric(m: OwnMetric): string {
  const lines = [m.header];
  for (const v of m.values()) {
    let labels = '';
    for (const k in v.labels) labels += `${labels ? ',' : ''}${k}="${labelText(v.labels[k]!)}"`;
    lines.push(`${v.metricName ?? m.name}${labels ? `{${labels}}` : ''} ${valueText(v.value)}`);
  }
  return lines.join('\n');
}

const one = (labels: Labels, value: number | boolean | undefined): Value[] =>
  value === undefined ? [] : [{ labels, value: typeof value === 'boolean' ? Number(value) : value }];

function histogramValues(name: string, labels: Labels, h: HistogramSnapshot | undefined): Value[] {
  if (!h) return [];
  const out: Value[] = h.buckets.map((b) => ({
    metricName: `${name}_bucket`,
    labels: { ...labels, le: b.le === Infinity ? '+Inf' : String(b.le) },
    value: b.count,
  }));
  out.push({ metricName: `${name}_sum`, labels, value: h.sum }, { metricName: `${name}_count`, labels, value: h.count });
  return out;
}

const VERDICTS: readonly Verdict[] = ['healthy', 'degraded', 'at_risk', 'unknown'];

/** current (always, when known) and recommended (when tuning is recommended) settings. */
function predictions(d: Diagnosis | undefined, pick: (p: SettingsPrediction) => number): Value[] {
  const out: Value[] = [];
  if (d?.current) out.push({ labels: { settings: 'current' }, value: pick(d.current) });
  if (d?.tuning) out.push({ labels: { settings: 'recommended' }, value: pick(d.tuning.recommended) });
  return out;
}

/**
 * One series per named writer and one for the rest: at most TOP_CGROUP_WRITERS + 1, whatever the node
 * runs. Two writers whose names are both unknown would have the same labels: they are summed.
 */
function cgroupWriterValues(c: CgroupIoSample | undefined): Value[] {
  if (!c?.accounting || c.window === undefined) return [];
  const empty = { writer_namespace: '', writer_pod: '', writer_container: '', unit: '', cgroup: '' };
  const values: Value[] = c.writers.map((w) => {
    const labels =
      w.kind === 'pod'
        ? { ...empty, writer_namespace: w.namespace, writer_pod: w.pod, writer_container: w.container }
        : w.kind === 'service'
          ? { ...empty, unit: w.unit }
          : { ...empty, cgroup: w.path };
    return { labels: { kind: w.kind, ...labels }, value: w.bytesPerSecond };
  });
  if (c.rest) values.push({ labels: { kind: 'other', ...empty }, value: c.rest.bytesPerSecond });
  const merged = new Map<string, Value>();
  for (const v of values) {
    const key = JSON.stringify(v.labels);
    const seen = merged.get(key);
    merged.set(key, seen ? { labels: v.labels, value: seen.value + v.value } : v);
  }
  return [...merged.values()];
}

/** One series per source and hour of day: hours as two digits, so they sort as text does. */
function leadershipEventValues(events: EventsByHour): Value[] {
  return [...events].flatMap(([source, hours]) =>
    hours.map((value, hour) => ({ labels: { kind: source === 'raft_term' ? 'election' : 'stall', source, hour_utc: String(hour).padStart(2, '0') }, value })),
  );
}

const settingValues = (s: Setting<Milliseconds> | undefined): Value[] =>
  s === undefined ? [] : [{ labels: { source: s.origin }, value: s.value / 1000 }];

/**
 * What a metric's values are read from: a source's part of the state, which only its record()
 * changes (and every record() counts an attempt), or the diagnosis, replaced whole by each evaluation.
 */
type Input = SourceName | 'diagnosis';

interface MetricValues {
  readonly inputs: readonly Input[];
  readonly values: () => Value[];
}

/** Metrics whose values are all read from `inputs`. */
function reading<K extends MetricKey>(inputs: readonly Input[], fns: Record<K, () => Value[]>): Record<K, MetricValues> {
  return Object.fromEntries(Object.entries<() => Value[]>(fns).map(([key, values]) => [key, { inputs, values }])) as Record<K, MetricValues>;
}

/** The values of every metric of the contract, and what each is read from; a key missing here is a compile error. */
function valueFunctions(ctx: MetricsContext): Record<MetricKey, MetricValues> {
  const { state } = ctx;
  const src = state.sources;
  const member = { member: ctx.member };
  const probe = () => src.fsync_probe.latest?.value;
  const disk = () => src.diskstats.latest?.value;
  const etcd = () => src.etcd_metrics.latest?.value;
  const api = () => src.etcd_api.latest?.value;
  const cfg = () => src.etcd_config.latest?.value;
  const health = () => (src.etcd_health.up ? src.etcd_health.latest?.value : undefined);
  const cgroupIo = () => src.cgroup_io.latest?.value;
  const tuning = () => state.diagnosis?.tuning;
  const candidates = () => state.diagnosis?.candidates ?? [];
  const enabled = SOURCE_NAMES.filter((n) => state.enabled.has(n));
  const perDevice = (pick: (d: NonNullable<ReturnType<typeof disk>>['stats'][number]) => number | undefined) => () =>
    (disk()?.stats ?? []).flatMap((d) => one({ device: d.device }, pick(d)));

  return {
    ...reading([], {
      buildInfo: () => one({ version: ctx.version, nodejs: process.version }, 1),
    }),
    ...reading(SOURCE_NAMES, {
      sourceUp: () => enabled.flatMap((n) => one({ source: n }, src[n].up)),
      sourceErrors: () => enabled.flatMap((n) => [...src[n].errors].map(([reason, count]) => ({ labels: { source: n, reason }, value: count }))),
      sourceLastSuccess: () => enabled.flatMap((n) => one({ source: n }, src[n].lastSuccessAt && src[n].lastSuccessAt.getTime() / 1000)),
      sourceSampleDuration: () => enabled.flatMap((n) => one({ source: n }, src[n].lastDuration)),
    }),

    ...reading(['fsync_probe'], {
      probeFdatasync: () => (state.enabled.has('fsync_probe') ? histogramValues(METRICS.probeFdatasync.name, {}, state.probe.fdatasync) : []),
      probeFdatasyncMax: () => one({}, state.probe.lastRoundMax),
      probeWrittenBytes: () => (state.enabled.has('fsync_probe') ? one({}, state.probe.writtenBytes) : []),
      probePaused: () => (state.enabled.has('fsync_probe') ? one({}, src.fsync_probe.up === false) : []),
      probeFilesystemFree: () => one({}, probe()?.freeBytes),
      probeInfo: () => {
        const p = probe();
        return p ? one({ path: p.file, same_filesystem_as_etcd: String(p.sameFilesystemAsEtcd ?? 'unknown') }, 1) : [];
      },
    }),

    ...reading(['candidate_probe', 'diagnosis'], {
      // A candidate never measured (refused, vanished from the start) has no histogram rather than an empty one.
      candidateFdatasync: () => [...state.candidates].flatMap(([dir, c]) => (c.since ? histogramValues(METRICS.candidateFdatasync.name, { dir }, c.fdatasync) : [])),
      candidateInfo: () => candidates().map((c) => ({ labels: { dir: c.dir, verdict: c.verdict, reason: c.problem?.reason ?? '' }, value: 1 })),
      candidatePredictedElectionsPerDay: () =>
        candidates().flatMap((c) => [
          ...one({ dir: c.dir, settings: 'current' }, c.atRunning?.electionsPerDay),
          ...one({ dir: c.dir, settings: 'recommended' }, c.needs?.electionsPerDay),
        ]),
      candidateRecommendedHeartbeatInterval: () => candidates().flatMap((c) => one({ dir: c.dir }, c.needs && c.needs.heartbeat / 1000)),
      candidateRecommendedElectionTimeout: () => candidates().flatMap((c) => one({ dir: c.dir }, c.needs && c.needs.election / 1000)),
    }),

    ...reading(['diskstats'], {
      diskIoTime: perDevice((d) => d.ioTime),
      diskWeightedIoTime: perDevice((d) => d.weightedIoTime),
      diskWritesCompleted: perDevice((d) => d.writesCompleted),
      diskWriteTime: perDevice((d) => d.writeTime),
      diskFlushRequests: perDevice((d) => d.flushRequests),
      diskFlushTime: perDevice((d) => d.flushTime),
      diskInfo: () => {
        const d = disk();
        if (!d) return [];
        return one(
          {
            device: d.device,
            disk: d.disks.join(','),
            mountpoint: d.mountPoint,
            fstype: d.fsType,
            shared_with: d.sharedWith.join(','),
            rotational: d.rotational === undefined ? 'unknown' : String(d.rotational),
            model: d.model ?? '',
          },
          1,
        );
      },
    }),

    ...reading(['cgroup_io'], {
      cgroupWriteRate: () => cgroupWriterValues(cgroupIo()),
      cgroupIoAccounting: () => {
        const c = cgroupIo();
        return c ? one({ hierarchy: c.hierarchy }, c.accounting) : [];
      },
    }),

    ...reading(['etcd_metrics'], {
      etcdWalFsync: () => histogramValues(METRICS.etcdWalFsync.name, member, state.etcd.walFsync),
      etcdBackendCommit: () => histogramValues(METRICS.etcdBackendCommit.name, member, state.etcd.backendCommit),
      etcdPeerRoundTrip: () =>
        [...state.etcd.peerRoundTrip].flatMap(([peer, h]) => histogramValues(METRICS.etcdPeerRoundTrip.name, { ...member, peer }, h)),
      etcdLeaderChanges: () => one(member, state.etcd.leaderChanges),
      etcdHeartbeatFailures: () => one(member, state.etcd.heartbeatSendFailures),
      etcdSlowApplies: () => one(member, state.etcd.slowApplies),
      etcdProposalsFailed: () => one(member, state.etcd.proposalsFailed),
      etcdProposalsPending: () => one(member, etcd()?.proposalsPending),
      etcdHasLeader: () => one(member, etcd()?.hasLeader),
      etcdIsLeader: () => one(member, etcd()?.isLeader),
      etcdDbSize: () => one(member, etcd()?.dbSize),
      etcdDbSizeInUse: () => one(member, etcd()?.dbSizeInUse),
      etcdQuotaBackend: () => one(member, etcd()?.quotaBackend),
      etcdMaintenance: () => [...state.etcd.maintenance].map(([kind, m]) => ({ labels: { ...member, kind }, value: m.count })),
      etcdMaintenanceSeconds: () => [...state.etcd.maintenance].map(([kind, m]) => ({ labels: { ...member, kind }, value: m.seconds })),
      etcdDefragInflight: () => one(member, etcd()?.defragInflight),
    }),

    ...reading(['etcd_health'], {
      etcdReady: () => {
        const h = health();
        return h ? one({ ...member, endpoint: h.endpoint }, h.ready) : [];
      },
      etcdHealthCheck: () => (health()?.checks ?? []).map((c) => ({ labels: { ...member, endpoint: c.endpoint, check: c.name }, value: Number(c.ok) })),
    }),

    ...reading(['etcd_api', 'fsync_probe', 'etcd_metrics'], {
      leadershipEvents: () => leadershipEventValues(state.eventsByHour),
    }),

    ...reading(['etcd_api'], {
      etcdRaftTerm: () => one(member, api()?.raftTerm),
      etcdElections: () => (state.enabled.has('etcd_api') ? one(member, state.elections.elections) : []),
      etcdRequestDuration: () => one(member, api()?.roundTrip),
      etcdMemberInfo: () => {
        const a = api();
        return a ? one({ ...member, member_id: a.memberId, version: a.version, leader_id: a.leaderId }, 1) : [];
      },
      etcdMembers: () => one({}, api()?.members.length),
    }),

    ...reading(['etcd_config'], {
      etcdHeartbeatInterval: () => settingValues(cfg()?.heartbeatInterval),
      etcdElectionTimeout: () => settingValues(cfg()?.electionTimeout),
      etcdConfigInfo: () => {
        const c = cfg();
        if (!c?.dataDir) return [];
        return one({ data_dir: c.dataDir.value, wal_dir: c.walDir?.value ?? '', source: c.dataDir.origin }, 1);
      },
    }),

    ...reading(['etcd_config', 'etcd_api'], {
      etcdPreVote: () => {
        const p = runningPreVote(cfg(), api()?.version);
        return p === undefined ? [] : one({ source: p.origin }, p.value ? 1 : 0);
      },
    }),

    ...reading(['diagnosis'], {
      verdict: () => {
        const d = state.diagnosis;
        return d ? VERDICTS.map((v) => ({ labels: { verdict: v }, value: Number(d.verdict === v) })) : [];
      },
      finding: () => (state.diagnosis?.findings ?? []).map((f) => ({ labels: { code: f.code, severity: f.severity }, value: 1 })),
      predictedElectionsPerDay: () => predictions(state.diagnosis, (p) => p.electionsPerDay),
      predictedElectionsPerDayNow: () => {
        const l = state.diagnosis?.leadership;
        return l ? one({ role: l.role }, l.electionsPerDayNow) : [];
      },
      failoverDetection: () => predictions(state.diagnosis, (p) => p.failoverDetection / 1000),
      recommendedHeartbeatInterval: () => one({}, tuning()?.recommended.heartbeat && tuning()!.recommended.heartbeat / 1000),
      recommendedElectionTimeout: () => one({}, tuning()?.recommended.election && tuning()!.recommended.election / 1000),
      tuningTemporary: () => one({}, tuning()?.temporary),
      diskRecommendation: () => (state.diagnosis?.disk?.remedies ?? []).map((remedy) => ({ labels: { remedy }, value: 1 })),
    }),
  };
}

/** How long a rendered body may be served again while the state has not changed (process_* values age that long at most). */
export const RENDER_REUSE_MS = 1000;

/** Inputs as a render saw them: each source's attempt count, or the diagnosis object. */
type Stamp = readonly (number | Diagnosis | undefined)[];

const sameStamp = (a: Stamp, b: Stamp): boolean => a.length === b.length && a.every((v, k) => v === b[k]);

/** Every input there is: what the whole body was rendered from. */
const ALL_INPUTS: readonly Input[] = [...SOURCE_NAMES, 'diagnosis'];

/** A metric's block as last rendered, and the inputs it was rendered from. */
interface RenderedBlock {
  readonly stamp: Stamp;
  readonly text: string;
}

/**
 * A registry that renders at most once per state change (and per RENDER_REUSE_MS): scrapes that
 * arrive while nothing was recorded get the same body, and concurrent scrapes share one render.
 * Within a render, a metric's block is made again only when one of its inputs changed: the sources
 * are sampled every 1 s to 1 min and the diagnosis every 5 s, so a scraper faster than that (a 1-s
 * interval, or the two replicas of an HA Prometheus pair) mostly gets blocks made before.
 * Every record() counts an attempt and every evaluation replaces the diagnosis object, so the
 * attempts and the diagnosis identify what the state holds.
 */
class StateRegistry extends Registry {
  private cached: { stamp: Stamp; at: number; body: Promise<string> } | undefined;
  private readonly blocks: (RenderedBlock | undefined)[] = [];

  constructor(
    private readonly state: AgentState,
    private readonly own: readonly OwnMetric[],
  ) {
    super();
  }

  override metrics(): Promise<string> {
    const stamp = this.stampOf(ALL_INPUTS);
    const now = performance.now();
    const c = this.cached;
    if (c && sameStamp(c.stamp, stamp) && now - c.at < RENDER_REUSE_MS) return c.body;
    const body = this.render();
    const entry = { stamp, at: now, body };
    this.cached = entry;
    body.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return body;
  }

  private stampOf(inputs: readonly Input[]): Stamp {
    return inputs.map((input) => (input === 'diagnosis' ? this.state.diagnosis : this.state.sources[input].attempts));
  }

  /** prom-client's own metrics (process_*, nodejs_*), then the contract's, as one exposition. */
  private async render(): Promise<string> {
    const defaults = await super.metrics();
    return `${defaults}\n${this.own.map((m, i) => this.block(m, i)).join('\n\n')}\n`;
  }

  /** The i-th metric's block: the one made before while its inputs are unchanged. */
  private block(m: OwnMetric, i: number): string {
    const stamp = this.stampOf(m.inputs);
    const last = this.blocks[i];
    if (last && sameStamp(last.stamp, stamp)) return last.text;
    const text = renderMetric(m);
    this.blocks[i] = { stamp, text };
    return text;
  }
}

export function createMetricsRegistry(ctx: MetricsContext): Registry {
  const fns = valueFunctions(ctx);
  const registry = new StateRegistry(
    ctx.state,
    (Object.keys(METRICS) as MetricKey[]).map((key) => ({ name: METRICS[key].name, header: metricHeader(METRICS[key]), ...fns[key] })),
  );
  registerSelfMetrics(registry);
  return registry;
}
