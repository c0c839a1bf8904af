// The peer agents (--peer-agents): the addresses auto finds in etcd's member list, and how a peer's
// answer is read back — anything but an agent's settings document of this schema is not one.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { autoPeerUrls, createPeerAgentsSource, MAX_PEER_AGENTS } from '../../src/sources/peer-agents.js';
import { ms } from '../../src/lib/units.js';
import { parseMemberSettings } from '../../src/model/member-settings.js';
import type { EtcdMember } from '../../src/sources/etcd-api.js';

const member = (id: string, clientUrls: string[]): EtcdMember => ({ id, name: `n-${id}`, peerUrls: [], clientUrls });

t.test("auto: each other member's client URL host, at this agent's port and scheme", async (t) => {
  const members = [
    member('a1', ['https://10.0.0.11:2379']),
    member('b2', ['https://10.0.0.12:2379', 'https://127.0.0.1:2379']),
    member('c3', ['https://[fd00::13]:2379']),
    member('d4', []), // added, not started: no client URL yet
  ];
  t.same(autoPeerUrls(members, 'a1', 9379, 'http'), ['http://10.0.0.12:9379', 'http://[fd00::13]:9379'], 'this member and one without a client URL are skipped; IPv6 keeps its brackets');
  t.same(autoPeerUrls(members, 'zz', 9443, 'https'), ['https://10.0.0.11:9443', 'https://10.0.0.12:9443', 'https://[fd00::13]:9443'], 'the scheme and port are the agent\'s own');
  t.same(autoPeerUrls([member('a1', ['https://10.0.0.11:2379']), member('b2', ['https://10.0.0.11:2380'])], 'zz', 9379, 'http'), ['http://10.0.0.11:9379'], 'two members on one host are one agent');
  const many = Array.from({ length: 12 }, (_, i) => member(`m${i}`, [`https://10.0.1.${i}:2379`]));
  t.equal(autoPeerUrls(many, 'none', 9379, 'http').length, MAX_PEER_AGENTS, `at most ${MAX_PEER_AGENTS}`);
});

t.test("a peer's answer is read only when it is an agent's settings document of schema 1", async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['full', '{"schemaVersion":1,"member":"m1","memberId":"8e9e05c52164694d","heartbeatMs":250,"electionMs":2500}', true],
    ['settings not known yet', '{"schemaVersion":1,"member":"m1"}', true],
    ['another schema', '{"schemaVersion":2,"member":"m1","heartbeatMs":250,"electionMs":2500}', false],
    ['no member', '{"schemaVersion":1,"heartbeatMs":250,"electionMs":2500}', false],
    ['a zero heartbeat', '{"schemaVersion":1,"member":"m1","heartbeatMs":0,"electionMs":2500}', false],
    ['a string timeout', '{"schemaVersion":1,"member":"m1","heartbeatMs":250,"electionMs":"2500"}', false],
    ['a numeric member id', '{"schemaVersion":1,"member":"m1","memberId":123}', false],
    ["etcd's /health", '{"health":"true","reason":""}', false],
    ['not JSON', '404 page not found', false],
    ['null', 'null', false],
  ];
  for (const [name, body, read] of cases) t.equal(parseMemberSettings(body) !== undefined, read, `${name}: ${read ? 'read' : 'refused'}`);
  t.same(parseMemberSettings('{"schemaVersion":1,"member":"m1","heartbeatMs":250,"electionMs":2500,"extra":true}'), { schemaVersion: 1, member: 'm1', heartbeatMs: 250, electionMs: 2500 }, 'unknown fields are dropped');
});

t.test('each peer answers for itself: a settings document, an oversized body, a wrong path; none known yet is the only failure', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url !== '/api/v1/settings') return void res.writeHead(404).end('not found');
    if (req.headers.host?.startsWith('localhost')) return void res.end('x'.repeat(64 * 1024));
    res.setHeader('content-type', 'application/json').end('{"schemaVersion":1,"member":"m2","memberId":"b2","heartbeatMs":250,"electionMs":2500}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  let targets: string[] | undefined;
  const source = createPeerAgentsSource({ targets: () => targets, timeout: ms(2000), interval: ms(1000) });

  const unknown = await source.sample(new Date());
  t.same(unknown.ok ? undefined : unknown.reason, 'not_found', "auto before etcd's member list: not known yet");
  targets = [];
  t.same(await source.sample(new Date()), { ok: true, value: { answers: [] } }, 'a cluster of one member: nobody to ask, no failure');

  targets = [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://127.0.0.1:${port}/elsewhere`, `http://127.0.0.1:${port}`];
  const r = await source.sample(new Date());
  if (!r.ok) return void t.fail(r.message);
  t.equal(r.value.answers.length, 3, 'a URL named twice is asked once');
  const [good, big, wrong] = r.value.answers;
  t.same(good, { url: `http://127.0.0.1:${port}`, ok: true, settings: { schemaVersion: 1, member: 'm2', memberId: 'b2', heartbeatMs: 250, electionMs: 2500 } });
  t.same(big?.ok ? undefined : big?.reason, 'too_large', 'a body past 16 KiB is cut off');
  t.same(wrong?.ok ? undefined : wrong?.reason, 'http_status', 'a 404 is named');
  t.equal((wrong?.ok ? '' : (wrong?.message ?? '')).split('/elsewhere/api/v1/settings').length - 1, 1, 'its message names the URL once');
});

t.test('the bearer token goes over https only, and an unreadable credentials file fails every peer with its reason', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'peer-agents-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'secret\n');
  let asked = 0;
  const server = http.createServer((_req, res) => void (asked++, res.end('{}')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sampleWith = async (credentials: { tokenFile?: string; caFile?: string }) => {
    const r = await createPeerAgentsSource({ targets: () => [url], timeout: ms(2000), interval: ms(1000), credentials }).sample(new Date());
    return r.ok ? r.value.answers[0] : undefined;
  };
  const clear = await sampleWith({ tokenFile });
  t.same([clear?.ok, clear?.ok ? undefined : clear?.reason], [false, 'tls']);
  t.match(clear?.ok ? '' : clear?.message, /sent over https only/);
  t.equal(asked, 0, 'the plain-http peer was not even asked');
  const missing = await sampleWith({ caFile: join(dir, 'nonexistent.crt') });
  t.same([missing?.ok, missing?.ok ? undefined : missing?.reason], [false, 'not_found']);
  t.match(missing?.ok ? '' : missing?.message, /--peer-agents-ca-file .*nonexistent\.crt/);
});
