// What every alert shares: its runbook, named after it.
import type { AlertRule } from './model.js';

/** Where docs/runbooks/ is served; a fork or an internal wiki changes it here (or the mixin's runbookURLPrefix). */
export const RUNBOOK_PREFIX = 'https://github.com/etcd-latency-agent/etcd-latency-agent/blob/main/docs/runbooks/';

export const alert = (spec: Omit<AlertRule, 'runbookUrl'>): AlertRule => ({ ...spec, runbookUrl: `${RUNBOOK_PREFIX}${spec.alert}.md` });
