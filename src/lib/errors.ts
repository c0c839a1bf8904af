// What a thrown value says, whatever was thrown: Node.js system errors carry a `code`, others may not.

/** A problem with what the user gave (a flag, a config file); the CLI prints it and exits with status 2. */
export class ConfigError extends Error {}

/** The error's `code` (ENOENT, ECONNREFUSED, ERR_TLS_…) as a string; '' when it has none. */
export function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a file could not be read, as the end of a sentence naming it: "<file> does not exist". */
export function fileProblem(err: unknown, unreadable = 'is not readable by this user'): string {
  const code = errorCode(err);
  return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? unreadable : errorMessage(err);
}
