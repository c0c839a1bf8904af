// The etcd metrics source against a real etcd 3.4 (plain HTTP metrics listener and the TLS client
// port with client-certificate auth), and against local HTTP servers that misbehave on purpose.
// Outcomes are asserted, not timings.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import t from 'tap';
import { ETCD_DISK_BUCKETS } from '../../src/export/prometheus/contract.js';
import { createEtcdMetricsSource, type EtcdMetricsOptions } from '../../src/sources/etcd-metrics.js';
import type { FailureReason, Outcome } from '../../src/lib/outcome.js';
import { bytes, ms } from '../../src/lib/units.js';
import { freePort, startEtcdCluster } from '../../harness/etcd-cluster.js';

const FIXTURE = new URL('../fixtures/etcd/metrics-3.4-single.txt', import.meta.url);

async function sampleOnce<T>(opts: Partial<EtcdMetricsOptions> & { url: string }): Promise<Outcome<T>> {
  const source = createEtcdMetricsSource({ timeout: ms(5000), interval: ms(15_000), ...opts });
  try {
    return (await source.sample(new Date())) as Outcome<T>;
  } finally {
    await source.close();
  }
}

function reasonOf(o: Outcome<unknown>): FailureReason | 'ok' {
  return o.ok ? 'ok' : o.reason;
}

/** Starts a local server; returns its base URL and a close function that also ends open sockets. */
async function listen(server: http.Server | https.Server | net.Server): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  const scheme = server instanceof https.Server ? 'https' : 'http';
  return {
    port: address.port,
    url: `${scheme}://127.0.0.1:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

t.test('a real etcd member: plain HTTP metrics listener and TLS client port', async (t) => {
  const cluster = await startEtcdCluster({ size: 1, tls: true });
  t.teardown(() => cluster.close());
  for (let i = 0; i < 20; i++) await cluster.put(`k${i}`, `v${i}`);
  const member = cluster.members[0]!;
  const pki = cluster.pki!;
  const [ca, cert, key, otherCa, expiredCert, expiredKey] = await Promise.all(
    [pki.ca, pki.clientCert, pki.clientKey, pki.otherCa, pki.expiredClientCert, pki.expiredClientKey].map((f) => readFile(f)),
  );

  t.test('plain metrics listener', async (t) => {
    const o = await sampleOnce<import('../../src/sources/etcd-metrics.js').EtcdMetricsSample>({ url: member.metricsUrl });
    if (!o.ok) {
      t.fail(`sample failed: ${o.reason} ${o.message}`);
      return;
    }
    const s = o.value;
    t.same(s.walFsync?.buckets.map((b) => b.le), [...ETCD_DISK_BUCKETS, Infinity], 'WAL fsync histogram with etcd buckets');
    t.ok(s.walFsync!.count >= 20, 'WAL fsyncs counted for the puts');
    t.ok(s.backendCommit, 'backend commit histogram');
    t.equal(s.hasLeader, true);
    t.equal(s.isLeader, true);
    t.equal(s.peerRoundTrip.size, 0, 'single member: no peers');
    t.ok(s.dbSize! > 0 && s.quotaBackend! > 0, 'sizes');
    t.ok(s.bodyBytes > 10_000, 'body size reported');
  });

  t.test('repeated samples on one source', async (t) => {
    const source = createEtcdMetricsSource({ url: member.metricsUrl, timeout: ms(5000), interval: ms(1000) });
    t.teardown(() => source.close());
    const a = await source.sample(new Date());
    await cluster.put('again', 'x');
    const b = await source.sample(new Date());
    t.ok(a.ok && b.ok, 'both succeed');
    if (a.ok && b.ok) t.ok(b.value.walFsync!.count > a.value.walFsync!.count, 'counts grow between samples');
    await source.close();
    t.equal(reasonOf(await source.sample(new Date())), 'other', 'a closed source fails instead of throwing');
  });

  const https_ = member.clientUrl + '/metrics';
  const tlsCases: Array<[string, EtcdMetricsOptions['tls'] | undefined, FailureReason | 'ok']> = [
    ['CA + client certificate', { ca, cert, key }, 'ok'],
    ['no CA: the server certificate is not trusted', { cert, key }, 'tls'],
    ['an unrelated CA', { ca: otherCa, cert, key }, 'tls'],
    ['no client certificate (--client-cert-auth)', { ca }, 'tls'],
    ['an expired client certificate', { ca, cert: expiredCert, key: expiredKey }, 'tls'],
    ['garbage key material', { ca, cert: Buffer.from('not a pem'), key: Buffer.from('not a key') }, 'tls'],
  ];
  for (const [name, tls, want] of tlsCases) {
    t.test(`TLS client port: ${name}`, async (t) => {
      const o = await sampleOnce({ url: https_, ...(tls ? { tls } : {}) });
      t.equal(reasonOf(o), want, o.ok ? 'ok' : o.message);
    });
  }
});

t.test('faults from local servers', async (t) => {
  t.test('HTTP 500 → http_status', async (t) => {
    const srv = await listen(http.createServer((_req, res) => res.writeHead(500).end('internal error\n')));
    t.teardown(srv.close);
    const o = await sampleOnce({ url: srv.url });
    t.equal(reasonOf(o), 'http_status');
    t.match(o.ok ? '' : o.message, /500/);
  });

  t.test('HTTP 404 and 302 → http_status', async (t) => {
    const srv = await listen(
      http.createServer((req, res) => (req.url === '/moved' ? res.writeHead(302, { location: '/metrics' }).end() : res.writeHead(404).end())),
    );
    t.teardown(srv.close);
    t.equal(reasonOf(await sampleOnce({ url: srv.url })), 'http_status');
    t.equal(reasonOf(await sampleOnce({ url: srv.url.replace('/metrics', '/moved') })), 'http_status');
  });

  t.test('100 MB streamed body → too_large, the client stops reading', async (t) => {
    const total = 100 * 2 ** 20;
    const chunk = Buffer.alloc(64 * 1024, 'etcd_server_has_leader 1\n');
    let written = 0;
    let clientGone = false;
    const srv = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' }); // chunked: no Content-Length to refuse early
        res.on('close', () => (clientGone = true));
        const pump = (): void => {
          while (written < total && !clientGone) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!clientGone) res.end();
        };
        pump();
      }),
    );
    t.teardown(srv.close);
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const o = await sampleOnce({ url: srv.url, maxBodyBytes: bytes(16 * 2 ** 20), timeout: ms(60_000) });
    const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    t.equal(reasonOf(o), 'too_large', o.ok ? '' : o.message);
    await new Promise((r) => setTimeout(r, 100));
    t.ok(clientGone, 'the connection was closed by the client');
    t.ok(written < total, `the server could not send everything (${(written / 2 ** 20).toFixed(1)} MiB of 100 MiB written)`);
    t.ok(heapAfter - heapBefore < 64 * 2 ** 20, `memory stayed bounded (grew ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB)`);
  });

  t.test('declared Content-Length over the bound → too_large without reading', async (t) => {
    const srv = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { 'content-length': String(100 * 2 ** 20) });
        res.write('etcd_server_has_leader 1\n'); // then nothing: the client must not wait for the rest
      }),
    );
    t.teardown(srv.close);
    t.equal(reasonOf(await sampleOnce({ url: srv.url, maxBodyBytes: bytes(2 ** 20), timeout: ms(30_000) })), 'too_large');
  });

  t.test('30 s slow drip with a 1 s timeout → timeout (a total deadline, not an idle one)', async (t) => {
    const timers = new Set<NodeJS.Timeout>();
    const srv = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const body = Buffer.from('etcd_server_has_leader 1\n'.repeat(100));
        let i = 0;
        const timer = setInterval(() => {
          if (i >= body.length) {
            clearInterval(timer);
            res.end();
          } else res.write(body.subarray(i, ++i)); // one byte every 10 ms: never idle, ~25 s in all
        }, 10);
        timers.add(timer);
        res.on('close', () => clearInterval(timer));
      }),
    );
    t.teardown(async () => {
      for (const timer of timers) clearInterval(timer);
      await srv.close();
    });
    const o = await sampleOnce({ url: srv.url, timeout: ms(1000) });
    t.equal(reasonOf(o), 'timeout', o.ok ? '' : o.message);
  });

  t.test('a server that never answers → timeout', async (t) => {
    const srv = await listen(net.createServer(() => undefined)); // accepts, says nothing
    t.teardown(srv.close);
    t.equal(reasonOf(await sampleOnce({ url: `http://127.0.0.1:${srv.port}/metrics`, timeout: ms(500) })), 'timeout');
  });

  t.test('connection reset before the response → unreachable', async (t) => {
    const srv = await listen(net.createServer((socket) => socket.resetAndDestroy()));
    t.teardown(srv.close);
    const o = await sampleOnce({ url: `http://127.0.0.1:${srv.port}/metrics` });
    t.equal(reasonOf(o), 'unreachable', o.ok ? '' : o.message);
  });

  t.test('connection reset in the middle of the body → unreachable', async (t) => {
    const srv = await listen(
      net.createServer((socket) => {
        socket.once('data', () => {
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\netcd_server_has_leader 1\n', () =>
            setTimeout(() => socket.resetAndDestroy(), 50),
          );
        });
      }),
    );
    t.teardown(srv.close);
    const o = await sampleOnce({ url: `http://127.0.0.1:${srv.port}/metrics` });
    t.equal(reasonOf(o), 'unreachable', o.ok ? '' : o.message);
  });

  t.test('body cut short (Content-Length not reached, clean close) → unreachable', async (t) => {
    const srv = await listen(
      net.createServer((socket) => {
        socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\netcd_server_has_leader 1\n'));
      }),
    );
    t.teardown(srv.close);
    const o = await sampleOnce({ url: `http://127.0.0.1:${srv.port}/metrics` });
    t.equal(reasonOf(o), 'unreachable', o.ok ? '' : o.message);
  });

  t.test('nothing listening → unreachable', async (t) => {
    const port = await freePort();
    t.equal(reasonOf(await sampleOnce({ url: `http://127.0.0.1:${port}/metrics` })), 'unreachable');
  });

  t.test('garbage body → parse', async (t) => {
    const srv = await listen(http.createServer((_req, res) => res.writeHead(200).end('<html><body>hello</body></html>\n\u0000\u0001 random 1 2 3\n')));
    t.teardown(srv.close);
    const o = await sampleOnce({ url: srv.url });
    t.equal(reasonOf(o), 'parse', o.ok ? '' : o.message);
  });

  t.test('not HTTP at all → parse', async (t) => {
    const srv = await listen(net.createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n')));
    t.teardown(srv.close);
    const o = await sampleOnce({ url: `http://127.0.0.1:${srv.port}/metrics` });
    t.equal(reasonOf(o), 'parse', o.ok ? '' : o.message);
  });

  t.test('https to a plain HTTP port → tls', async (t) => {
    const srv = await listen(http.createServer((_req, res) => res.writeHead(200).end('etcd_server_has_leader 1\n')));
    t.teardown(srv.close);
    const o = await sampleOnce({ url: srv.url.replace('http:', 'https:') });
    t.equal(reasonOf(o), 'tls', o.ok ? '' : o.message);
  });

  t.test('the real fixture served by a local server → ok', async (t) => {
    const body = await readFile(FIXTURE);
    const srv = await listen(http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body)));
    t.teardown(srv.close);
    const o = await sampleOnce<import('../../src/sources/etcd-metrics.js').EtcdMetricsSample>({ url: srv.url });
    t.equal(reasonOf(o), 'ok');
    if (o.ok) t.equal(o.value.bodyBytes, body.length);
  });

  t.test('bad URLs → other', async (t) => {
    for (const url of ['not a url', 'ftp://127.0.0.1/metrics']) t.equal(reasonOf(await sampleOnce({ url })), 'other', url);
  });
});
