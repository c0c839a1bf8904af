// Writes deploy/prometheus/etcd-latency-agent.rules.yaml from the rule specs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RULES_FILE, rulesText } from './index.js';

/** The files under `root` that differ from the generator's output; written unless `check`. */
export function writeRules(root: string, check: boolean): string[] {
  const path = join(root, RULES_FILE);
  const text = rulesText();
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return [];
  if (!check) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return [RULES_FILE];
}
