// What one agent tells the others about its member's timing settings (GET /api/v1/settings), and how
// an agent reads a peer's answer back (--peer-agents): members must run the same heartbeat interval and
// election timeout, and only the agents together know whether they do.
import type { FailureReason } from '../lib/outcome.js';
import type { Milliseconds } from '../lib/units.js';

export const SETTINGS_SCHEMA_VERSION = 1;

/** Where every agent serves its document. */
export const SETTINGS_PATH = '/api/v1/settings';

/** GET /api/v1/settings. The settings are absent while the agent has not discovered them. */
export interface MemberSettingsDocument {
  readonly schemaVersion: number;
  /** The agent's member name (--member-name, else the host name). */
  readonly member: string;
  /** etcd's member id (hex, as etcdctl prints it), once etcd answered. */
  readonly memberId?: string;
  readonly heartbeatMs?: Milliseconds;
  readonly electionMs?: Milliseconds;
}

/** One peer agent's answer, or why there is none. */
export type PeerAnswer =
  | { readonly url: string; readonly ok: true; readonly settings: MemberSettingsDocument }
  | { readonly url: string; readonly ok: false; readonly reason: FailureReason; readonly message: string };

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** A peer's answer read back; undefined when it is not an agent's settings document of this schema. */
export function parseMemberSettings(text: string): MemberSettingsDocument | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const d = v as Record<string, unknown>;
  if (d['schemaVersion'] !== SETTINGS_SCHEMA_VERSION || typeof d['member'] !== 'string' || d['member'] === '') return undefined;
  const { memberId, heartbeatMs, electionMs } = d;
  if (memberId !== undefined && typeof memberId !== 'string') return undefined;
  if ((heartbeatMs !== undefined && !positive(heartbeatMs)) || (electionMs !== undefined && !positive(electionMs))) return undefined;
  return {
    schemaVersion: SETTINGS_SCHEMA_VERSION,
    member: d['member'],
    ...(memberId !== undefined ? { memberId } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatMs: heartbeatMs as Milliseconds } : {}),
    ...(electionMs !== undefined ? { electionMs: electionMs as Milliseconds } : {}),
  };
}
