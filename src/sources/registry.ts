// Every source of the agent, by name, as node_exporter registers its collectors: adding a source is
// its file, its name in SOURCE_NAMES and one entry here (the compiler refuses a name without one).
// The registry also says what each source's sample is, so the state's table of derivations and the
// agent's loops are typed over the names without casts.
import type { Bytes, Milliseconds } from '../lib/units.js';
import type { TlsMaterial } from '../lib/http-fetch.js';
import { createDiskstatsSource } from './diskstats.js';
import { createEtcdApiSource } from './etcd-api.js';
import { createEtcdConfigSource } from './etcd-config.js';
import { createEtcdHealthSource } from './etcd-health.js';
import { createEtcdMetricsSource } from './etcd-metrics.js';
import { createFsyncProbe, DEFAULT_WRITE_SIZE, type ProbeSample } from './fsync-probe.js';
import { createProcessesSource } from './processes.js';
import { createCgroupIoSource } from './cgroup-writers.js';
import { createCandidateProbe } from './candidate-probe.js';
import { createPeerAgentsSource } from './peer-agents.js';
import { SOURCE_NAMES, type Source, type SourceName } from './source.js';

/** The agent's settings the sources read (the agent's Config has them under the same names). */
export interface SourceSettings {
  readonly etcdEndpoints: readonly string[];
  readonly etcdMetricsUrl: string;
  readonly etcdDataDir: string;
  readonly etcdWalDir?: string;
  readonly etcdManifest: string;
  readonly etcdHeartbeatInterval?: Milliseconds;
  readonly etcdElectionTimeout?: Milliseconds;
  readonly etcdApiInterval: Milliseconds;
  readonly etcdMetricsInterval: Milliseconds;
  readonly etcdTimeout: Milliseconds;
  readonly etcdMetricsMaxBytes: Bytes;
  readonly probeInterval: Milliseconds;
  readonly probeWrites: number;
  readonly probeFileSize: Bytes;
  readonly probeMinFree: Bytes;
  readonly candidateDirs: readonly string[];
  readonly candidateInterval: Milliseconds;
  readonly diskInterval: Milliseconds;
  readonly sharedPaths: readonly string[];
  readonly configInterval: Milliseconds;
  readonly processesEnabled: boolean;
  readonly processesInterval: Milliseconds;
  readonly procPath: string;
  readonly sysPath: string;
  readonly cgroupIoEnabled: boolean;
  readonly cgroupIoInterval: Milliseconds;
  readonly cgroupPath: string;
  readonly podLogsPath: string;
  readonly podUid?: string;
  readonly peerAgentsInterval: Milliseconds;
  readonly peerAgentsCaFile?: string;
  readonly peerAgentsTokenFile?: string;
  readonly peerAgentsServerName?: string;
}

/** What the start-up decided and the settings do not say. */
export interface SourceContext {
  /** etcd's client TLS, when files were given. */
  readonly tls?: TlsMaterial;
  /** The probe's directory; undefined when the probe is off. */
  readonly probeDir?: string;
  /** The peer agents to ask each round (--peer-agents); undefined when off. */
  readonly peerTargets?: () => readonly string[] | undefined;
}

type Factory = (s: SourceSettings, ctx: SourceContext) => Source<unknown> | undefined;

/** TLS for etcd's metrics listener only when it speaks HTTPS. */
const metricsTls = (s: SourceSettings, ctx: SourceContext) => (ctx.tls && s.etcdMetricsUrl.startsWith('https:') ? { tls: ctx.tls } : {});

const REGISTRY = {
  // The state keeps what every probe sample has; a round's layout and notes are for the agent's log.
  fsync_probe: (s: SourceSettings, ctx: SourceContext): Source<ProbeSample> | undefined =>
    ctx.probeDir === undefined
      ? undefined
      : createFsyncProbe({
          dir: ctx.probeDir,
          etcdWalDir: s.etcdWalDir ?? `${s.etcdDataDir}/member/wal`,
          fileSize: s.probeFileSize,
          writeSize: DEFAULT_WRITE_SIZE,
          writesPerRound: s.probeWrites,
          minFreeBytes: s.probeMinFree,
          interval: s.probeInterval,
        }),
  diskstats: (s: SourceSettings) =>
    createDiskstatsSource({ etcdDataDir: s.etcdDataDir, procPath: s.procPath, sysPath: s.sysPath, sharedPaths: s.sharedPaths, interval: s.diskInterval }),
  etcd_metrics: (s: SourceSettings, ctx: SourceContext) =>
    createEtcdMetricsSource({ url: s.etcdMetricsUrl, ...metricsTls(s, ctx), timeout: s.etcdTimeout, maxBodyBytes: s.etcdMetricsMaxBytes, interval: s.etcdMetricsInterval }),
  etcd_health: (s: SourceSettings, ctx: SourceContext) =>
    createEtcdHealthSource({ metricsUrl: s.etcdMetricsUrl, ...metricsTls(s, ctx), timeout: s.etcdTimeout, interval: s.etcdMetricsInterval }),
  etcd_api: (s: SourceSettings, ctx: SourceContext) =>
    createEtcdApiSource({ endpoints: s.etcdEndpoints, ...(ctx.tls ? { tls: ctx.tls } : {}), timeout: s.etcdTimeout, interval: s.etcdApiInterval }),
  etcd_config: (s: SourceSettings) =>
    createEtcdConfigSource({
      manifestPath: s.etcdManifest,
      procPath: s.procPath,
      flags: {
        ...(s.etcdHeartbeatInterval !== undefined ? { heartbeatInterval: s.etcdHeartbeatInterval } : {}),
        ...(s.etcdElectionTimeout !== undefined ? { electionTimeout: s.etcdElectionTimeout } : {}),
        ...(s.etcdWalDir !== undefined ? { walDir: s.etcdWalDir } : {}),
      },
      dataDirHint: s.etcdDataDir,
      interval: s.configInterval,
    }),
  processes: (s: SourceSettings) =>
    s.processesEnabled ? createProcessesSource({ etcdDataDir: s.etcdDataDir, procPath: s.procPath, interval: s.processesInterval }) : undefined,
  cgroup_io: (s: SourceSettings) =>
    s.cgroupIoEnabled
      ? createCgroupIoSource({
          etcdDataDir: s.etcdDataDir,
          procPath: s.procPath,
          sysPath: s.sysPath,
          cgroupPath: s.cgroupPath,
          podLogsPath: s.podLogsPath,
          ...(s.podUid !== undefined ? { selfPodUid: s.podUid } : {}),
          interval: s.cgroupIoInterval,
        })
      : undefined,
  candidate_probe: (s: SourceSettings) =>
    s.candidateDirs.length === 0
      ? undefined
      : createCandidateProbe({
          dirs: s.candidateDirs,
          etcdDataDir: s.etcdDataDir,
          etcdWalDir: s.etcdWalDir ?? `${s.etcdDataDir}/member/wal`,
          fileSize: s.probeFileSize,
          writesPerRound: s.probeWrites,
          minFreeBytes: s.probeMinFree,
          interval: s.candidateInterval,
        }),
  peer_agents: (s: SourceSettings, ctx: SourceContext) =>
    ctx.peerTargets === undefined
      ? undefined
      : createPeerAgentsSource({
          targets: ctx.peerTargets,
          timeout: s.etcdTimeout,
          interval: s.peerAgentsInterval,
          credentials: {
            ...(s.peerAgentsCaFile !== undefined ? { caFile: s.peerAgentsCaFile } : {}),
            ...(s.peerAgentsTokenFile !== undefined ? { tokenFile: s.peerAgentsTokenFile } : {}),
            ...(s.peerAgentsServerName !== undefined ? { serverName: s.peerAgentsServerName } : {}),
          },
        }),
} satisfies Record<SourceName, Factory>;

type SampleOfSource<S> = S extends Source<infer T> ? T : never;

/** Each source's sample type, by name. */
export type SampleOf = { [K in SourceName]: SampleOfSource<ReturnType<(typeof REGISTRY)[K]>> };

/** A source of any name, its sample type tied to its name. */
export type AnySource = { [K in SourceName]: Source<SampleOf[K]> }[SourceName];

/** The enabled sources, in SOURCE_NAMES order (the order of their metrics). */
export function createSources(settings: SourceSettings, ctx: SourceContext): AnySource[] {
  return SOURCE_NAMES.flatMap((name) => {
    const source: AnySource | undefined = REGISTRY[name](settings, ctx);
    return source === undefined ? [] : [source];
  });
}
