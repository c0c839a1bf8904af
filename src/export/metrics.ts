// Renders the agent's state as Prometheus metrics, following the contract. Every value is computed
// from state at scrape time (cheap: no I/O), so a scrape always shows what is known, never triggers
// a sample, and counters mirrored from the kernel or etcd keep their exact values.
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { HistogramSnapshot } from '../analysis/histogram.js';
import type { Diagnosis, SettingsPrediction, Verdict } from '../analysis/types.js';
import { SOURCE_NAMES } from '../sources/source.js';
import type { Setting } from '../sources/etcd-config.js';
import type { AgentState } from '../state.js';
import type { Milliseconds } from '../units.js';
import { METRICS, type MetricKey, type MetricSpec } from './contract.js';

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

/** A prom-client metric whose values are computed from the state at collection time. */
class StateMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum';
  constructor(spec: MetricSpec, private readonly values: () => readonly Value[]) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = spec.type;
  }
  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.values()] };
  }
  reset(): void {}
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

const settingValues = (s: Setting<Milliseconds> | undefined): Value[] =>
  s === undefined ? [] : [{ labels: { source: s.origin }, value: s.value / 1000 }];

/** The values of every metric of the contract; a key missing here is a compile error. */
function valueFunctions(ctx: MetricsContext): Record<MetricKey, () => Value[]> {
  const { state } = ctx;
  const src = state.sources;
  const member = { member: ctx.member };
  const probe = () => src.fsync_probe.latest?.value;
  const disk = () => src.diskstats.latest?.value;
  const etcd = () => src.etcd_metrics.latest?.value;
  const api = () => src.etcd_api.latest?.value;
  const cfg = () => src.etcd_config.latest?.value;
  const tuning = () => state.diagnosis?.tuning;
  const enabled = SOURCE_NAMES.filter((n) => state.enabled.has(n));
  const perDevice = (pick: (d: NonNullable<ReturnType<typeof disk>>['stats'][number]) => number | undefined) => () =>
    (disk()?.stats ?? []).flatMap((d) => one({ device: d.device }, pick(d)));

  return {
    buildInfo: () => one({ version: ctx.version, nodejs: process.version }, 1),
    sourceUp: () => enabled.flatMap((n) => one({ source: n }, src[n].up)),
    sourceErrors: () => enabled.flatMap((n) => [...src[n].errors].map(([reason, count]) => ({ labels: { source: n, reason }, value: count }))),
    sourceLastSuccess: () => enabled.flatMap((n) => one({ source: n }, src[n].lastSuccessAt && src[n].lastSuccessAt.getTime() / 1000)),
    sourceSampleDuration: () => enabled.flatMap((n) => one({ source: n }, src[n].lastDuration)),

    probeFdatasync: () => (state.enabled.has('fsync_probe') ? histogramValues(METRICS.probeFdatasync.name, {}, state.probe.fdatasync) : []),
    probeFdatasyncMax: () => one({}, state.probe.lastRoundMax),
    probeWrittenBytes: () => (state.enabled.has('fsync_probe') ? one({}, state.probe.writtenBytes) : []),
    probePaused: () => (state.enabled.has('fsync_probe') ? one({}, src.fsync_probe.up === false) : []),
    probeFilesystemFree: () => one({}, probe()?.freeBytes),
    probeInfo: () => {
      const p = probe();
      return p ? one({ path: p.file, same_filesystem_as_etcd: String(p.sameFilesystemAsEtcd ?? 'unknown') }, 1) : [];
    },

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

    etcdRaftTerm: () => one(member, api()?.raftTerm),
    etcdElections: () => (state.enabled.has('etcd_api') ? one(member, state.elections.elections) : []),
    etcdRequestDuration: () => one(member, api()?.roundTrip),
    etcdMemberInfo: () => {
      const a = api();
      return a ? one({ ...member, member_id: a.memberId, version: a.version, leader_id: a.leaderId }, 1) : [];
    },
    etcdMembers: () => one({}, api()?.members.length),

    etcdHeartbeatInterval: () => settingValues(cfg()?.heartbeatInterval),
    etcdElectionTimeout: () => settingValues(cfg()?.electionTimeout),
    verdict: () => {
      const d = state.diagnosis;
      return d ? VERDICTS.map((v) => ({ labels: { verdict: v }, value: Number(d.verdict === v) })) : [];
    },
    finding: () => (state.diagnosis?.findings ?? []).map((f) => ({ labels: { code: f.code, severity: f.severity }, value: 1 })),
    predictedElectionsPerDay: () => predictions(state.diagnosis, (p) => p.electionsPerDay),
    failoverDetection: () => predictions(state.diagnosis, (p) => p.failoverDetection / 1000),
    recommendedHeartbeatInterval: () => one({}, tuning()?.recommended.heartbeat && tuning()!.recommended.heartbeat / 1000),
    recommendedElectionTimeout: () => one({}, tuning()?.recommended.election && tuning()!.recommended.election / 1000),
    tuningTemporary: () => one({}, tuning()?.temporary),
    diskRecommendation: () => (state.diagnosis?.disk?.remedies ?? []).map((remedy) => ({ labels: { remedy }, value: 1 })),
    etcdConfigInfo: () => {
      const c = cfg();
      if (!c?.dataDir) return [];
      return one({ data_dir: c.dataDir.value, wal_dir: c.walDir?.value ?? '', source: c.dataDir.origin }, 1);
    },
  };
}

export function createMetricsRegistry(ctx: MetricsContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges with a `_total` suffix, which promtool (rightly) flags; the
  // process's handle counts are not worth a lint failure in every scrape.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const fns = valueFunctions(ctx);
  for (const key of Object.keys(METRICS) as MetricKey[]) {
    // prom-client renders any object with name/help/type/get(); its typings only name its own classes.
    registry.registerMetric(new StateMetric(METRICS[key], fns[key]) as unknown as Parameters<Registry['registerMetric']>[0]);
  }
  return registry;
}
