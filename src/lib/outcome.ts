// Failures as values: what a source returns instead of throwing, with a closed set of reasons.
import { errorCode } from './errors.js';

/**
 * Why a sample failed, as a short label. It becomes the `reason` label of
 * `etcd_latency_agent_source_errors_total`, so the set is closed to keep cardinality bounded.
 */
export const FAILURE_REASONS = [
  'unreachable', // connection refused / reset / DNS
  'timeout',
  'tls', // handshake, certificate or key problem
  'http_status',
  'too_large',
  'parse',
  'not_found', // file, device, process or member absent
  'permission',
  'no_space', // ENOSPC or below the free-space floor
  'read_only',
  'other',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: FailureReason; readonly message: string };

export const success = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const failure = <T = never>(reason: FailureReason, message: string): Outcome<T> => ({ ok: false, reason, message });

/**
 * OpenSSL verification results Node.js reports as `err.code` that do not contain "CERT" (those that
 * do are caught by the pattern below), and EPROTO, which Node.js sockets report for TLS alerts.
 */
const TLS_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', // the usual one: a server certificate signed by a CA we do not trust
  'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'HOSTNAME_MISMATCH',
  'EPROTO',
]);

/** Maps a Node.js system error to a failure reason. */
export function reasonForError(err: unknown): FailureReason {
  const code = errorCode(err);
  switch (code) {
    case 'ECONNREFUSED': case 'ECONNRESET': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'ENOTFOUND': case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'unreachable';
    case 'ETIMEDOUT': case 'UND_ERR_CONNECT_TIMEOUT': case 'UND_ERR_HEADERS_TIMEOUT': case 'UND_ERR_BODY_TIMEOUT': case 'ABORT_ERR':
      return 'timeout';
    case 'ENOENT': case 'ENOTDIR':
      return 'not_found';
    case 'EACCES': case 'EPERM':
      return 'permission';
    case 'ENOSPC': case 'EDQUOT':
      return 'no_space';
    case 'EROFS':
      return 'read_only';
    default:
      if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('ERR_OSSL') || code.includes('CERT') || TLS_CODES.has(code)) return 'tls';
      return 'other';
  }
}
