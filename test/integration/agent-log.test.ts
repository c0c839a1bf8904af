// The agent's log of findings: a new finding is logged once, at the level its severity deserves — an
// info finding (a shared but fast disk, settings not known) is not a warning in the log either.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startAgentProcess } from '../../harness/agent-process.js';
import { freePort } from '../../harness/etcd-cluster.js';

t.test('findings are logged at their severity: critical and warning as WARN, info as INFO', async (t) => {
  const port = await freePort(); // nothing listens there: etcd is unreachable, a critical finding
  const agent = await startAgentProcess([`--etcd-endpoints=http://127.0.0.1:${port}`, `--etcd-metrics-url=http://127.0.0.1:${port}/metrics`, '--diagnosis-interval=1s']);
  t.teardown(() => agent.stop());
  const findingLines = () => agent.log().split('\n').filter((l) => / finding: /.test(l));
  for (let i = 0; i < 100 && !findingLines().some((l) => /code=etcd_unreachable/.test(l)); i++) await sleep(200);
  const lines = findingLines();
  t.ok(lines.some((l) => /code=etcd_unreachable/.test(l)), `etcd_unreachable was logged (${lines.length} finding lines)`);
  for (const line of lines) {
    const severity = /severity=(\w+)/.exec(line)?.[1];
    const level = /Z (\w+) /.exec(line)?.[1];
    t.equal(level, severity === 'info' ? 'INFO' : 'WARN', `${/code=(\w+)/.exec(line)?.[1]} (${severity}) at ${level}`);
  }
});
