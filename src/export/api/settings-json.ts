// GET /api/v1/settings: this member's heartbeat interval and election timeout, for the other members'
// agents (--peer-agents) to compare with theirs. Schema: src/model/member-settings.ts, docs/api.md.
import { etcdSettings } from '../../analysis/evidence.js';
import { SETTINGS_SCHEMA_VERSION, type MemberSettingsDocument } from '../../model/member-settings.js';
import type { AgentState } from '../../state/state.js';

export function settingsDocument(state: AgentState, member: string): MemberSettingsDocument {
  const s = etcdSettings(state);
  const id = state.sources.etcd_api.latest?.value.memberId;
  return {
    schemaVersion: SETTINGS_SCHEMA_VERSION,
    member,
    ...(id !== undefined ? { memberId: id } : {}),
    ...(s ? { heartbeatMs: s.heartbeat.value, electionMs: s.election.value } : {}),
  };
}
