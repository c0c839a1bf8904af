import type { HistogramSnapshot } from '../analysis/histogram.js';
import type { Bytes } from '../units.js';

/** The families the agent keeps from one scrape of a member's /metrics. Absent family → undefined. */
export interface EtcdMetricsSample {
  readonly walFsync?: HistogramSnapshot;
  readonly backendCommit?: HistogramSnapshot;
  /** etcd_network_peer_round_trip_time_seconds by its `To` label (peer member id, hex). */
  readonly peerRoundTrip: ReadonlyMap<string, HistogramSnapshot>;
  readonly leaderChanges?: number;
  readonly hasLeader?: boolean;
  readonly isLeader?: boolean;
  readonly heartbeatSendFailures?: number;
  readonly slowApplies?: number;
  readonly proposalsFailed?: number;
  readonly proposalsPending?: number;
  readonly dbSize?: Bytes;
  readonly dbSizeInUse?: Bytes;
  readonly quotaBackend?: Bytes;
  /** Size of the response body, for self-observability and the size bound. */
  readonly bodyBytes: Bytes;
}
