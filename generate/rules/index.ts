// deploy/prometheus/etcd-latency-agent.rules.yaml, built from the metric contract (every series name),
// generate/rule-names.ts (every recording rule's name, shared with the dashboards) and the agent's
// thresholds, so a rename or a moved threshold reaches the alerts instead of silently breaking them.
import { agentDown, sourceDown } from './alerts-agent.js';
import { backendCommitSlow, deviceSaturated, separateDiskRecommended, stallsThreatenLeadership, walFsyncSlow } from './alerts-disk.js';
import { frequentLeaderElections, leaderOnStallingDisk, timingSettingsDiffer, tuningRecommended } from './alerts-elections.js';
import { HEADER } from './header.js';
import { renderRules, type Group, type RulesFile } from './model.js';
import { recordingGroup } from './recording.js';

export const RULES_FILE = 'deploy/prometheus/etcd-latency-agent.rules.yaml';

/** The alerts, a section per alert name (a blank line between them), in the order an operator reads them. */
function alertGroup(): Group {
  return {
    name: 'etcd-latency-agent.alerts',
    sections: [
      [walFsyncSlow()],
      [backendCommitSlow()],
      stallsThreatenLeadership(),
      frequentLeaderElections(),
      [leaderOnStallingDisk()],
      [tuningRecommended()],
      [timingSettingsDiffer()],
      [separateDiskRecommended()],
      [deviceSaturated()],
      [agentDown()],
      [sourceDown()],
    ],
  };
}

export function rulesFile(): RulesFile {
  return { header: HEADER, groups: [recordingGroup(), alertGroup()] };
}

export const rulesText = (): string => renderRules(rulesFile());
