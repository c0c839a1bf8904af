// Absolute POSIX paths compared as strings, segment by segment: no file system access.
import { posix } from 'node:path';

/** True if `prefix` is `path` or one of its ancestors (`/var/lib/etcd` holds `/var/lib/etcd/member`, not `/var/lib/etcd2`). */
export function isPathPrefix(prefix: string, path: string): boolean {
  if (prefix === '/') return path.startsWith('/');
  return path === prefix || path.startsWith(prefix + '/');
}

/** `posix.normalize` without a trailing slash; undefined for a relative path. */
export function normalizeAbsolute(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  return trimTrailingSlash(posix.normalize(path));
}

/** `/proc/` → `/proc`; `/` stays. */
export function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
