import type { Bytes, Seconds } from '../units.js';

export interface EtcdMember {
  readonly id: string; // hex, as etcdctl prints it
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/** What the member the agent watches says about itself and its cluster through the gRPC API. */
export interface EtcdApiSample {
  readonly endpoint: string;
  readonly memberId: string; // hex
  /** The member's name from the member list; the id when the list has no name for it (not started yet). */
  readonly memberName: string;
  readonly leaderId: string; // hex, '0' when no leader
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly version: string;
  readonly dbSize: Bytes;
  readonly members: readonly EtcdMember[];
  /** Round-trip of the maintenance status request. */
  readonly roundTrip: Seconds;
}
