// The etcd gRPC API of the member the agent watches: maintenance status (leader, raft term, DB size,
// version), the member list, and the round-trip of the status request. Term changes are elections:
// this source is how the agent counts them when etcd's /metrics is unreachable.
//
// One etcd3 client, for the FIRST endpoint only: the agent watches its local member, and a client
// with several hosts would answer status from whichever host it picked. The client is reused between
// samples and recreated after any failure (a fresh gRPC channel also forgets grpc-js's reconnect
// back-off, so a restarted etcd is seen again on the next sample, not minutes later). etcd3's own
// retry and circuit-breaker policies are replaced by pass-throughs: the agent's schedule is the
// retry, and a broken-circuit error would hide the real reason.
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  GRPCUnauthenticatedError,
  EtcdPermissionDeniedError,
  type IOptions,
  type IMember,
  type IMemberListResponse,
} from 'etcd3';
import { bytes, seconds, type Bytes, type Milliseconds, type Seconds } from '../lib/units.js';
import { errorMessage } from '../lib/errors.js';
import { failure, success, type FailureReason, type Outcome } from '../lib/outcome.js';
import { type Source } from './source.js';
import { versionNotes } from '../model/etcd-versions.js';

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
  /** The member's etcd version in words, said once in the log (and again when it changes: an upgrade). */
  readonly notes?: readonly string[];
}

export interface EtcdApiOptions {
  /** Client URLs; only the first (the local member) is asked. */
  readonly endpoints: readonly string[];
  /** PEM contents (not paths). Without `ca`, the system's roots are trusted. */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** Bound on one whole sample (member list + status). */
  readonly timeout: Milliseconds;
  readonly interval: Milliseconds;
}

export type EtcdApiSource = Source<EtcdApiSample> & { close(): Promise<void> };

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type Policy = FaultHandling['global'] & object;

/** A cockatiel-shaped policy that runs the call once, untouched. */
function passThroughPolicy(): Policy {
  const noEvent = (): { dispose(): void } => ({ dispose: () => undefined });
  const policy: Policy = {
    _altReturn: undefined as never,
    onSuccess: noEvent,
    onFailure: noEvent,
    execute: async (fn, signal) => fn({ signal: signal ?? new AbortController().signal }),
  };
  return policy;
}

/** Decimal uint64 (as etcd3 returns ids) → hex as etcdctl prints it. */
export function idToHex(id: string | number): string {
  return BigInt(id).toString(16);
}

const PEM_BLOCK = /-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g;

/** A message fit for a log line and a JSON API: no PEM, no newlines, bounded. */
export function sanitizeMessage(text: string): string {
  const clean = text.replace(PEM_BLOCK, '[PEM redacted]').replace(/\s+/g, ' ').trim();
  return clean.length > 400 ? `${clean.slice(0, 397)}...` : clean;
}

// What Node's TLS stack (through grpc-js) and Go's (etcd) say when a handshake or certificate fails:
// "unable to verify the first certificate", "self-signed certificate", "certificate has expired",
// "tlsv13 alert certificate required", "sslv3 alert bad certificate", "wrong version number",
// "ERR_OSSL_…", "key values mismatch", "no start line" (not PEM), …
const TLS_HINTS = /certificate|\bcert\b|_CERT|ssl|tls|handshake|alert|wrong version number|x509|\bPEM\b|key values mismatch|no start line|private key|certificate chain|unable to get|unable to verify|self[- ]signed|ERR_OSSL|bad decrypt|unsupported protocol/i;
const UNREACHABLE_HINTS = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|connection refused|connection reset|No connection established|Connection dropped|socket hang up|name resolution/i;

/** grpc-js wraps the socket error in status text and OpenSSL adds its own prefixes; keep the substance. */
function tidy(raw: string): string {
  return raw
    .replace(/\s*Resolution note:\s*$/, '')
    .replace(/[0-9A-F]{8,}:error:[0-9A-F]{8}:SSL routines:[a-z0-9_]+:/g, '')
    .replace(/:?\.\.\/deps\/openssl\/\S+?:\d+:/g, ': ')
    .trim();
}

/**
 * Says in plain words what a TLS failure means. The server (Go) answers a missing, expired or
 * untrusted client certificate with the same alert ("bad certificate"), so the client certificate is
 * looked at here to tell those apart.
 */
export function explainTlsFailure(raw: string, tls: EtcdApiOptions['tls'], now: Date = new Date()): string | undefined {
  if (/alert bad certificate|alert certificate required|alert unknown ca|alert certificate expired|alert certificate unknown|alert handshake failure/i.test(raw)) {
    if (!tls?.cert) return 'the server requires a client certificate and none is configured';
    try {
      const cert = new X509Certificate(tls.cert);
      if (Date.parse(cert.validTo) < now.getTime()) return `the client certificate expired on ${new Date(cert.validTo).toISOString()}; the server rejected it`;
      if (Date.parse(cert.validFrom) > now.getTime()) return `the client certificate is not valid before ${new Date(cert.validFrom).toISOString()}; the server rejected it`;
    } catch {
      return 'the client certificate is not a valid PEM certificate';
    }
    return 'the server rejected the client certificate (unknown ca: not signed by a CA the server trusts, or not for client auth)';
  }
  if (/unable to verify the first certificate|unable to get local issuer certificate|self[- ]signed certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE|unknown ca/i.test(raw)) {
    return "certificate verify failed: the server's certificate is not signed by the configured CA (unknown ca)";
  }
  if (/certificate has expired|CERT_HAS_EXPIRED/i.test(raw)) return "certificate verify failed: the server's certificate has expired";
  if (/altnames|ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate/i.test(raw)) return "certificate verify failed: the endpoint's host is not in the server certificate's names";
  if (/key values mismatch/i.test(raw)) return 'the client key does not match the client certificate';
  if (/no start line|bad base64|PEM|DECODER routines/i.test(raw)) return 'a configured certificate or key is not valid PEM';
  if (/wrong version number|packet length too long|unsupported protocol/i.test(raw)) return 'TLS was spoken to an endpoint that does not speak TLS';
  return undefined;
}

/** Maps an error from etcd3/grpc-js (or building the client) to a failure reason and a clean message. */
export function classifyEtcdError(err: unknown, tls?: EtcdApiOptions['tls']): { reason: FailureReason; message: string } {
  const raw = errorMessage(err);
  const cause = err instanceof Error && err.cause !== undefined ? ` (${errorMessage(err.cause)})` : '';
  const text = tidy(raw + cause);
  if (err instanceof GRPCDeadlineExceededError || /DEADLINE_EXCEEDED|deadline exceeded/i.test(raw)) return { reason: 'timeout', message: sanitizeMessage(text) };
  if (TLS_HINTS.test(raw)) {
    const hint = explainTlsFailure(raw, tls);
    return { reason: 'tls', message: sanitizeMessage(hint ? `${hint} (${text})` : text) };
  }
  const message = sanitizeMessage(text);
  if (err instanceof GRPCUnauthenticatedError || err instanceof EtcdPermissionDeniedError) return { reason: 'permission', message };
  if (err instanceof GRPCUnavailableError || UNREACHABLE_HINTS.test(raw)) return { reason: 'unreachable', message };
  return { reason: 'other', message };
}

class TimeoutGuardError extends Error {}

/**
 * How long a member list is reused. Members change when an operator adds or removes one; the raft
 * term (elections) and the leader come from the status call, made every sample. Asking for the list
 * once a second as well was a quarter of the agent's idle CPU (bench/README.md, footprint).
 */
export const MEMBER_LIST_EVERY_MS = 30_000;

export function createEtcdApiSource(opts: EtcdApiOptions): EtcdApiSource {
  const endpoint = opts.endpoints[0];
  let client: Etcd3 | undefined;
  let memberList: { at: number; list: IMemberListResponse } | undefined;
  let closed = false;
  let inflight: Promise<Outcome<EtcdApiSample>> | undefined;

  const makeClient = (host: string): Etcd3 => {
    const options: IOptions = {
      hosts: [host],
      faultHandling: { host: () => passThroughPolicy(), global: passThroughPolicy() },
      grpcOptions: {
        // Idle channels would otherwise keep a connection (and its keepalive pings) forever.
        'grpc.client_idle_timeout_ms': Math.max(60_000, opts.interval * 4),
        'grpc.max_receive_message_length': 16 * 2 ** 20,
      },
    };
    if (opts.tls) {
      options.credentials = {
        rootCertificate: opts.tls.ca ?? Buffer.from(rootCertificates.join('\n')),
        ...(opts.tls.key ? { privateKey: opts.tls.key } : {}),
        ...(opts.tls.cert ? { certChain: opts.tls.cert } : {}),
      };
    }
    return new Etcd3(options);
  };

  const dropClient = (): void => {
    const c = client;
    client = undefined;
    memberList = undefined; // a new channel starts with the list again (it opens the connection)
    try {
      c?.close();
    } catch {
      // closing a broken channel can throw; it is gone either way
    }
  };

  const once = async (): Promise<Outcome<EtcdApiSample>> => {
    if (endpoint === undefined) return failure('not_found', 'no etcd endpoint configured');
    let guard: NodeJS.Timeout | undefined;
    try {
      client ??= makeClient(endpoint);
      const c = client;
      const deadline = new Date(Date.now() + opts.timeout);
      const work = (async () => {
        // The member list first: it also opens the connection, so the timed status below measures a
        // request on an established channel, not a TCP/TLS handshake. Reused for MEMBER_LIST_EVERY_MS.
        const now = Date.now();
        const cached = memberList && now - memberList.at < MEMBER_LIST_EVERY_MS && now >= memberList.at ? memberList.list : undefined;
        const list = cached ?? (await c.cluster.memberList({}, { deadline }));
        if (!cached) memberList = { at: now, list };
        const started = performance.now();
        const status = await c.maintenance.status({ deadline });
        const roundTrip = seconds((performance.now() - started) / 1000);
        return { list, status, roundTrip };
      })();
      // grpc-js honours deadlines; this guard only covers a call that somehow never settles.
      const timer = new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new TimeoutGuardError(`no answer from ${endpoint} within ${opts.timeout} ms`)), opts.timeout + 250);
      });
      work.catch(() => undefined); // if the guard wins, the abandoned call's rejection is expected
      const { list, status, roundTrip } = await Promise.race([work, timer]);

      let sample: EtcdApiSample;
      try {
        const memberId = idToHex(status.header.member_id);
        const members: EtcdMember[] = (list.members ?? []).map((m: IMember) => ({
          id: idToHex(m.ID),
          name: m.name,
          peerUrls: [...(m.peerURLs ?? [])],
          clientUrls: [...(m.clientURLs ?? [])],
        }));
        const self = members.find((m) => m.id === memberId);
        const memberName = self?.name ? self.name : memberId;
        sample = {
          endpoint,
          memberId,
          memberName,
          leaderId: idToHex(status.leader),
          raftTerm: Number(status.raftTerm),
          raftIndex: Number(status.raftIndex),
          version: status.version,
          dbSize: bytes(Number(status.dbSize)),
          members,
          roundTrip,
          notes: versionNotes(memberName, status.version),
        };
      } catch (err) {
        return failure('parse', `unexpected status/member list from ${endpoint}: ${sanitizeMessage(errorMessage(err))}`);
      }
      if (!Number.isFinite(sample.raftTerm) || !Number.isFinite(sample.dbSize)) {
        return failure('parse', `unexpected numbers in the status of ${endpoint}`);
      }
      return success(sample);
    } catch (err) {
      dropClient();
      if (err instanceof TimeoutGuardError) return failure('timeout', err.message);
      const { reason, message } = classifyEtcdError(err, opts.tls);
      return failure(reason, `${endpoint}: ${message}`);
    } finally {
      if (guard) clearTimeout(guard);
    }
  };

  return {
    name: 'etcd_api',
    interval: opts.interval,
    sample(_now: Date): Promise<Outcome<EtcdApiSample>> {
      if (closed) return Promise.resolve(failure('other', 'etcd API source is closed'));
      // A slow member must not pile up calls: a sample asked for while one runs shares its result.
      inflight ??= once()
        .catch((err: unknown) => failure<EtcdApiSample>('other', sanitizeMessage(errorMessage(err))))
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    },
    async close(): Promise<void> {
      closed = true;
      await inflight;
      dropClient();
    },
  };
}

