// How the agent speaks of the etcd version a member runs: named once in the log, and a version it was
// not tested with said plainly rather than guessed at.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { TESTED_ETCD_LINES, versionNotes } from '../../src/model/etcd-versions.js';

t.test('the lines the agent calls tested are the lines the test matrix runs', async (t) => {
  const matrix = JSON.parse(readFileSync(new URL('../../tools/etcd-server/versions.json', import.meta.url), 'utf8')) as { debian: string; built: string[] };
  const lines = [matrix.debian, ...matrix.built].map((v) => v.split('.').slice(0, 2).join('.'));
  t.same([...TESTED_ETCD_LINES], lines);
});

t.test('a tested version is named; any other is called untested, without failing', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['3.4.23', /^etcd member m1 runs etcd 3\.4\.23$/],
    ['3.5.36', /^etcd member m1 runs etcd 3\.5\.36$/],
    ['3.6.17', /^etcd member m1 runs etcd 3\.6\.17$/],
    ['3.7.4', /^etcd member m1 runs etcd 3\.7\.4$/],
    ['3.8.0', /^etcd member m1 runs etcd "3\.8\.0", a version this agent was not tested with \(3\.4–3\.7\)/],
    ['4.0.0-alpha.1', /"4\.0\.0-alpha\.1", a version this agent was not tested with/],
    ['3.3.27', /"3\.3\.27", a version this agent was not tested with/],
    ['3.40.1', /"3\.40\.1", a version this agent was not tested with/],
    ['', /runs etcd "", a version this agent was not tested with/],
    ['not a version', /"not a version", a version this agent was not tested with/],
  ];
  for (const [version, want] of cases) {
    const notes = versionNotes('m1', version);
    t.equal(notes.length, 1, JSON.stringify(version));
    t.match(notes[0], want, JSON.stringify(version));
  }
});
