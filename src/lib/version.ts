import { readFileSync } from 'node:fs';

// Read at run time so the bin, the build_info metric and `--version` always agree with package.json.
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
