// The other members' agents (--peer-agents): each one's GET /api/v1/settings, for the one thing a
// single agent cannot see — whether every member runs the same heartbeat interval and election timeout.
// Each peer answers for itself: one that is down, refuses or answers something else is reported with its
// reason and leaves the others read. The source fails only while it cannot know whom to ask (auto
// before etcd's member list is known); a cluster of one member has no peer, which is no failure.
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../lib/errors.js';
import { fetchBounded, memberAgent } from '../lib/http-fetch.js';
import { failure, reasonForError, success, type FailureReason, type Outcome } from '../lib/outcome.js';
import { bytes, type Bytes, type Milliseconds } from '../lib/units.js';
import { parseMemberSettings, SETTINGS_PATH, type PeerAnswer } from '../model/member-settings.js';
import type { EtcdMember } from './etcd-api.js';
import type { Source } from './source.js';

export interface PeerAgentsSample {
  readonly answers: readonly PeerAnswer[];
}

export interface PeerAgentsOptions {
  /** The peers' base URLs (http://host:port), asked anew each round: `auto` follows etcd's member list; undefined while it is not known. */
  readonly targets: () => readonly string[] | undefined;
  readonly timeout: Milliseconds;
  readonly interval: Milliseconds;
  readonly credentials?: PeerCredentials;
}

/**
 * What a secured peer (--web-config-file: https and a bearer token) needs from the asking agent. The
 * files are read each round, so a rotated Secret is picked up as the peers pick it up.
 */
export interface PeerCredentials {
  /** CA bundle that signed the peers' certificates; the system's CAs without it. */
  readonly caFile?: string;
  /** The bearer token the peers ask for; sent over https only. */
  readonly tokenFile?: string;
  /** The name the peers' certificates carry, when they are addressed by IP (auto). */
  readonly serverName?: string;
}

/** A settings document is a few hundred bytes; anything near this is not an agent. */
const MAX_SETTINGS_BODY: Bytes = bytes(16 * 1024);

/** At most this many peers a round: etcd recommends at most 7 members. */
export const MAX_PEER_AGENTS = 8;

/**
 * The agents of the other members when every agent listens on its node's address at the same port
 * (the DaemonSet's hostNetwork): each member's client URL host with this agent's port and scheme.
 * Members without a client URL, and this member, are skipped.
 */
export function autoPeerUrls(members: readonly EtcdMember[], selfId: string, port: number, scheme: 'http' | 'https'): string[] {
  const urls = members.flatMap((m) => {
    if (m.id === selfId) return [];
    const first = m.clientUrls[0];
    if (first === undefined) return [];
    try {
      // URL keeps an IPv6 host in its brackets.
      return [`${scheme}://${new URL(first).hostname}:${port}`];
    } catch {
      return [];
    }
  });
  return [...new Set(urls)].slice(0, MAX_PEER_AGENTS);
}

/** What each request of a round carries; or why no request can be made (a credentials file unreadable). */
type RoundCredentials = { readonly ca?: Buffer; readonly token?: string; readonly serverName?: string } | { readonly problem: { reason: FailureReason; message: string } };

/** Credentials files are a few KiB; reading is bounded all the same. */
const MAX_CREDENTIALS_FILE = 256 * 1024;

async function readCredentials(c: PeerCredentials | undefined): Promise<RoundCredentials> {
  const read = async (flag: string, file: string): Promise<Buffer> => {
    try {
      const b = await readFile(file);
      if (b.length > MAX_CREDENTIALS_FILE) throw Object.assign(new Error(`larger than ${MAX_CREDENTIALS_FILE} bytes`), { code: 'EFBIG' });
      return b;
    } catch (err) {
      throw Object.assign(new Error(`--${flag} ${file}: ${errorMessage(err)}`), { code: (err as { code?: unknown }).code });
    }
  };
  try {
    const ca = c?.caFile === undefined ? undefined : await read('peer-agents-ca-file', c.caFile);
    const token = c?.tokenFile === undefined ? undefined : (await read('peer-agents-token-file', c.tokenFile)).toString('utf8').trim();
    return { ...(ca ? { ca } : {}), ...(token ? { token } : {}), ...(c?.serverName ? { serverName: c.serverName } : {}) };
  } catch (err) {
    return { problem: { reason: reasonForError(err), message: errorMessage(err) } };
  }
}

async function ask(url: string, timeout: Milliseconds, c: RoundCredentials): Promise<PeerAnswer> {
  const target = `${url}${SETTINGS_PATH}`;
  if ('problem' in c) return { url, ok: false, ...c.problem };
  if (c.token !== undefined && !target.startsWith('https:')) {
    return { url, ok: false, reason: 'tls', message: `${target}: the bearer token (--peer-agents-token-file) is sent over https only; the peer must serve https (--web-config-file tls_server_config)` };
  }
  // One connection per request, verified against the given CA and, for peers addressed by IP, the certificate's name.
  const { agent, agentError } = memberAgent(target, c.ca ? { ca: c.ca } : undefined, c.serverName);
  if (!agent) return { url, ok: false, reason: reasonForError(agentError), message: `${target}: ${errorMessage(agentError)}` };
  try {
    const headers: Record<string, string> = c.token === undefined ? {} : { authorization: `Bearer ${c.token}` };
    const r = await fetchBounded(target, { timeout, maxBodyBytes: MAX_SETTINGS_BODY, agent, headers });
    // fetchBounded's message names the URL already.
    if (!r.ok) return { url, ok: false, reason: r.reason, message: r.message };
    const settings = parseMemberSettings(r.value.toString('utf8'));
    if (!settings) return { url, ok: false, reason: 'parse', message: `${target}: not an etcd-latency-agent settings document (schema 1): is an agent of this version listening there?` };
    return { url, ok: true, settings };
  } finally {
    agent.destroy();
  }
}

/** Asks every peer agent for its member's settings. Name 'peer_agents'. */
export function createPeerAgentsSource(opts: PeerAgentsOptions): Source<PeerAgentsSample> {
  return {
    name: 'peer_agents',
    interval: opts.interval,
    async sample(): Promise<Outcome<PeerAgentsSample>> {
      const targets = opts.targets();
      if (targets === undefined) return failure('not_found', "whom to ask is not known yet: etcd's member list has not been read (see the etcd_api source)");
      const urls = [...new Set(targets)].slice(0, MAX_PEER_AGENTS);
      if (urls.length === 0) return success({ answers: [] });
      const credentials = await readCredentials(opts.credentials);
      return success({ answers: await Promise.all(urls.map((u) => ask(u, opts.timeout, credentials))) });
    },
  };
}
