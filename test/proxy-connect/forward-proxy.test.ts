// switchyard as the http_proxy of plain grpc-js clients: CONNECT to a cluster's name becomes an
// HTTP/2 tunnel whose calls are balanced per call; passthrough targets are tunnelled as bytes;
// everything else, and every malformed or silent client, is refused or closed in time.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_CONNECT } from '../../config/defaults.js';
import type { ConnectConfig } from '../../config/types.js';
import { startRouteGuideServer, type RouteGuideServer } from '../../examples/route-guide/server.js';
import { createTestCerts, type TestCerts } from '../support/certs.js';
import { closedWithin, rawRequest } from '../support/connect-client.js';
import { PREFACE } from '../support/h2-wire.js';
import {
  echoClient,
  echoUnary,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import {
  delay,
  eventually,
  startTestProxy,
  testCluster,
  type TestProxy,
} from '../support/proxy-harness.js';

const run = promisify(execFile);
const ROUTE_GUIDE_CLIENT = fileURLToPath(
  new URL('../../examples/route-guide/client.js', import.meta.url),
);

/** A child environment with the given proxy variables and no others. */
function proxyEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(no_)?(grpc_|http_|https_)?proxy$|^no_grpc_proxy$/i.test(k)) env[k] = v;
  }
  return { ...env, ...vars };
}

function forwardProxy(
  clusters: Parameters<typeof testCluster>[],
  connect: Partial<ConnectConfig> = {},
  listener: { handshakeTimeoutMs?: number; idleTimeoutMs?: number } = {},
): Promise<TestProxy> {
  return startTestProxy({
    clusters: clusters.map((args) => testCluster(...args)),
    // Clients that are not inside a tunnel (h2c with prior knowledge) reach the first cluster.
    routes: [{ name: 'default', match: { headers: [] }, cluster: clusters[0][0] }],
    listener: { connect: { ...DEFAULT_CONNECT, ...connect }, ...listener },
    // switchyard's own upstream connections stay direct whatever this machine sets.
    proxyOptions: { env: {} },
  });
}

void describe('a plain grpc-js client with http_proxy pointing at switchyard', () => {
  let backends: RouteGuideServer[];
  before(async () => {
    backends = await Promise.all(['a', 'b', 'c'].map((name) => startRouteGuideServer({ name })));
  });
  after(() => backends.forEach((b) => b.kill()));

  void it('gets every call balanced over the three backends of the cluster it names', async (t) => {
    const proxy = await forwardProxy([
      ['route_guide', `static:///${backends.map((b) => b.address).join(',')}`],
    ]);
    t.after(() => proxy.close());
    await eventually(
      () =>
        [...proxy.proxy.cluster('route_guide')!.balancer.hosts()].every(
          (h) => h.connectivity === 'ready',
        ),
      5_000,
      'the endpoints to connect',
    );
    // The route guide example client, unchanged: http_proxy is its only hint.
    const { stdout } = await run(
      process.execPath,
      [ROUTE_GUIDE_CLIENT, '--target', 'route_guide:50051', '--calls', '300', '--concurrency', '6'],
      { env: proxyEnv({ http_proxy: `http://${proxy.target}` }), timeout: 30_000 },
    );
    const served = new Map(
      [...stdout.matchAll(/^([abc])\s+(\d+)\s+\S+\s+(\d+)\s+(\d+)/gm)].map((m) => [
        m[1],
        { calls: Number(m[2]), ok: Number(m[3]), failed: Number(m[4]) },
      ]),
    );
    for (const b of backends) {
      const row = served.get(b.name);
      assert.ok(row, `backend ${b.name} served calls:\n${stdout}`);
      assert.equal(row.failed, 0, stdout);
      assert.ok(row.calls >= 90 && row.calls <= 110, `${b.name}: ${row.calls} of 300\n${stdout}`);
    }
    assert.match(stdout, /^total\s+300\s+100\.0%\s+300\s+0\s/m);
    // All four call kinds reached every backend.
    for (const b of backends) {
      for (const method of ['GetFeature', 'ListFeatures', 'RecordRoute', 'RouteChat']) {
        assert.ok((b.calls.get(method) ?? 0) > 0, `${b.name} got ${method}`);
      }
    }
  });
});

void describe('forward-proxy mode', () => {
  let backends: EchoBackend[];
  let certs: TestCerts;
  const saved = { ...process.env };

  before(async () => {
    backends = await Promise.all(['x', 'y'].map((name) => startEchoBackend({ name })));
    certs = await createTestCerts({ extraNames: ['echo.test', 'users.internal'] });
  });
  after(async () => {
    backends.forEach((b) => b.kill());
    await certs.cleanup();
  });

  /** Runs `fn` with grpc-js in this process seeing `http_proxy` (it reads it per channel). */
  async function withHttpProxy<T>(url: string, fn: () => Promise<T>): Promise<T> {
    for (const k of Object.keys(process.env)) {
      if (/^(no_)?(grpc_|http_|https_)?proxy$|^no_grpc_proxy$/i.test(k)) delete process.env[k];
    }
    process.env.http_proxy = url;
    try {
      return await fn();
    } finally {
      delete process.env.http_proxy;
      Object.assign(process.env, saved);
    }
  }

  void it('maps a configured authority to a cluster, and serves TLS inside the tunnel', async (t) => {
    const target = `static:///${backends.map((b) => b.address).join(',')}`;
    const proxy = await forwardProxy([['echo', target]], {
      clusters: { 'users.internal:443': 'echo' },
      tls: { certFile: certs.serverCertPath, keyFile: certs.serverKeyPath },
    });
    t.after(() => proxy.close());
    const served = await withHttpProxy(`http://${proxy.target}`, async () => {
      const client = echoClient('users.internal:443', {
        credentials: grpc.credentials.createSsl(certs.ca),
      });
      try {
        const names: string[] = [];
        for (let i = 0; i < 20; i++) names.push((await echoUnaryOk(client, {})).backend);
        return names;
      } finally {
        client.close();
      }
    });
    assert.deepEqual(new Set(served), new Set(['x', 'y']), 'calls reached both endpoints');
  });

  void it('asks for credentials when connect.users is set, and serves a grpc-js client that has them', async (t) => {
    const [x] = backends;
    const proxy = await forwardProxy([['echo', `static:///${x.address}`]], {
      users: [{ user: 'ci', password: 'pa:ss' }],
      passthrough: [x.address],
    });
    t.after(() => proxy.close());
    // Without credentials, or with wrong ones: 407 with the challenge, to a cluster or to a
    // passthrough target alike.
    for (const [request, reason] of [
      [`CONNECT echo:50051 HTTP/1.1\r\n\r\n`, 'proxy credentials required'],
      [
        `CONNECT ${x.address} HTTP/1.1\r\nProxy-Authorization: Basic ${Buffer.from('ci:nope').toString('base64')}\r\n\r\n`,
        'wrong proxy credentials',
      ],
    ] as const) {
      const refused = await rawRequest(proxy.target, request);
      assert.equal(refused.status, 407, refused.head);
      assert.match(refused.head, /\r\nProxy-Authenticate: Basic realm="switchyard"/);
      assert.match(refused.body, new RegExp(reason));
      assert.ok(refused.closed);
    }
    // grpc-js sends the user:password of its http_proxy URL as Proxy-Authorization.
    const served = await withHttpProxy(`http://ci:pa%3Ass@${proxy.target}`, async () => {
      const client = echoClient('echo:50051');
      try {
        return (await echoUnaryOk(client, {}, { deadlineMs: 10_000 })).backend;
      } finally {
        client.close();
      }
    });
    assert.equal(served, 'x');
    const refused = await withHttpProxy(`http://ci:wrong@${proxy.target}`, async () => {
      const client = echoClient('echo:50051');
      try {
        return await echoUnary(client, {}, { deadlineMs: 10_000 });
      } finally {
        client.close();
      }
    });
    assert.equal(refused.status.code, grpc.status.UNAVAILABLE, refused.status.details);
  });

  void it('tunnels passthrough targets as bytes and refuses every other target with 403', async (t) => {
    const [x] = backends;
    const proxy = await forwardProxy([['echo', `static:///${x.address}`]], {
      passthrough: [x.address],
    });
    t.after(() => proxy.close());
    // A grpc-js client whose target is the backend itself: its bytes pass through unchanged.
    const name = await withHttpProxy(`http://${proxy.target}`, async () => {
      const client = echoClient(x.address);
      try {
        return (await echoUnaryOk(client, {})).backend;
      } finally {
        client.close();
      }
    });
    assert.equal(name, 'x');
    const refused = await rawRequest(
      proxy.target,
      `CONNECT ${backends[1].address} HTTP/1.1\r\nHost: ${backends[1].address}\r\n\r\n`,
    );
    assert.equal(refused.status, 403);
    assert.match(refused.body, /names no cluster and is not in passthrough/);
    assert.ok(refused.closed);
    const unreachable = await forwardProxy([['echo', `static:///${x.address}`]], {
      passthrough: ['127.0.0.1'],
    });
    t.after(() => unreachable.close());
    const bad = await rawRequest(unreachable.target, 'CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n');
    assert.equal(bad.status, 502);
    assert.match(bad.body, /cannot connect to 127\.0\.0\.1:1/);
  });

  void it('closes a passthrough tunnel left idle, and cuts open ones at shutdown', async (t) => {
    const sink = await startSink();
    t.after(() => sink.close());
    const proxy = await forwardProxy([['echo', `static:///${backends[0].address}`]], {
      passthrough: [sink.address],
      idleTimeoutMs: 300,
    });
    t.after(() => proxy.close());
    const tunnel = await rawRequest(proxy.target, `CONNECT ${sink.address} HTTP/1.1\r\n\r\n`);
    assert.equal(tunnel.status, 200);
    // Traffic keeps it open past the idle timeout; silence closes it.
    for (let i = 0; i < 4; i++) {
      await delay(100);
      tunnel.socket.write('ping');
    }
    const lastWrite = Date.now();
    assert.ok(!tunnel.socket.destroyed, 'open while bytes flow');
    await closedWithin(tunnel.socket, 2_000);
    // The proxy's idle clock starts when it reads the last bytes, after they were written here;
    // the margin is for timer granularity, not for load (load only makes the gap longer).
    const idleFor = Date.now() - lastWrite;
    assert.ok(idleFor >= 280, `closed after ${idleFor} ms of silence (idle timeout 300 ms)`);

    const held = await rawRequest(proxy.target, `CONNECT ${sink.address} HTTP/1.1\r\n\r\n`);
    assert.equal(held.status, 200);
    const closing = proxy.close(200);
    await closedWithin(held.socket, 2_000);
    await closing;
  });

  void it('refuses malformed requests and closes silent clients, leaving other clients alone', async (t) => {
    const proxy = await forwardProxy(
      [['echo', `static:///${backends[0].address}`]],
      {},
      { handshakeTimeoutMs: 300 },
    );
    t.after(() => proxy.close());
    const client = echoClient(proxy.target); // h2c with prior knowledge, as without connect
    t.after(() => client.close());
    const calls = (async () => {
      let ok = 0;
      const failures: string[] = [];
      for (const until = Date.now() + 1_000; Date.now() < until;) {
        const result = await echoUnary(client, {});
        if (result.status.code === grpc.status.OK) ok++;
        else failures.push(result.status.details);
      }
      return { ok, failures };
    })();

    const cases: [string, string | Buffer, number, RegExp][] = [
      ['garbage request line', 'CONNECT\r\n\r\n', 400, /malformed request line/],
      ['no port', 'CONNECT echo HTTP/1.1\r\n\r\n', 400, /CONNECT needs host:port/],
      ['port out of range', 'CONNECT echo:70000 HTTP/1.1\r\n\r\n', 400, /needs host:port/],
      ['bad IPv6', 'CONNECT [zz::1]:1 HTTP/1.1\r\n\r\n', 400, /needs host:port/],
      ['bad header line', 'CONNECT echo:1 HTTP/1.1\r\nno colon\r\n\r\n', 400, /malformed header/],
      ['not CONNECT', 'GET http://echo/ HTTP/1.1\r\nHost: echo\r\n\r\n', 405, /takes CONNECT/],
      ['unknown target', 'CONNECT nowhere:1 HTTP/1.1\r\n\r\n', 403, /not allowed/],
      ['huge head', `CONNECT echo:1 HTTP/1.1\r\nX: ${'a'.repeat(10_000)}\r\n\r\n`, 431, /larger/],
      ['no blank line in time', 'CONNECT echo:1 HTTP/1.1\r\n', 408, /no complete CONNECT/],
    ];
    for (const [name, request, status, body] of cases) {
      const answer = await rawRequest(proxy.target, request);
      assert.equal(answer.status, status, `${name}: ${answer.head}`);
      assert.match(answer.body, body, name);
      assert.ok(answer.closed, `${name}: closed`);
    }
    const method405 = await rawRequest(proxy.target, 'PUT / HTTP/1.1\r\n\r\n');
    assert.match(method405.head, /\r\nAllow: CONNECT/);

    // A tunnel whose client never speaks HTTP/2, or speaks something else.
    const silent = await rawRequest(proxy.target, 'CONNECT echo:50051 HTTP/1.1\r\n\r\n');
    assert.equal(silent.status, 200);
    const silentFor = await closedWithin(silent.socket, 2_000);
    assert.ok(silentFor >= 200, `closed after ${silentFor} ms`);
    const wrong = await rawRequest(proxy.target, 'CONNECT echo:50051 HTTP/1.1\r\n\r\n');
    wrong.socket.write('GET / HTTP/1.1\r\n\r\n');
    await closedWithin(wrong.socket, 1_000);
    // Half the HTTP/2 preface, or the preface without SETTINGS: closed at the same deadline.
    for (const start of [PREFACE.subarray(0, 12), PREFACE]) {
      const partial = await rawRequest(proxy.target, 'CONNECT echo:50051 HTTP/1.1\r\n\r\n');
      partial.socket.write(start);
      const partialFor = await closedWithin(partial.socket, 2_000);
      assert.ok(partialFor >= 200, `closed after ${partialFor} ms`);
    }
    // TLS without connect.tls configured: closed too.
    const tls = await rawRequest(proxy.target, 'CONNECT echo:443 HTTP/1.1\r\n\r\n');
    tls.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
    await closedWithin(tls.socket, 1_000);

    const { ok, failures } = await calls;
    assert.deepEqual(failures, []);
    assert.ok(ok > 10, 'the h2c client kept calling throughout');
    assert.equal(proxy.proxy.inFlight, 0);
  });

  void it('closes an HTTP/2 tunnel left idle with GOAWAY, like any client connection', async (t) => {
    const proxy = await forwardProxy(
      [['echo', `static:///${backends[0].address}`]],
      {},
      { idleTimeoutMs: 300 },
    );
    t.after(() => proxy.close());
    const name = await withHttpProxy(`http://${proxy.target}`, async () => {
      const client = echoClient('echo:50051');
      try {
        const first = (await echoUnaryOk(client, {})).backend;
        const listener = [...proxy.proxy.listenerList()][0];
        assert.equal(listener.sessionCount, 1);
        await eventually(() => listener.sessionCount === 0, 3_000, 'the idle tunnel to close');
        // The client reconnects through a new tunnel.
        assert.equal((await echoUnaryOk(client, {})).backend, first);
        return first;
      } finally {
        client.close();
      }
    });
    assert.equal(name, 'x');
  });

  void it('a listener without connect answers CONNECT with 505, and a reload turns it on and off in place', async (t) => {
    const proxy = await startTestProxy({
      upstream: [backends[0].address],
      proxyOptions: { env: {} },
    });
    t.after(() => proxy.close());
    const connect = 'CONNECT default:50051 HTTP/1.1\r\n\r\n';
    assert.equal((await rawRequest(proxy.target, connect)).status, 505);

    const plain = proxy.proxy.config;
    const withConnect = {
      ...plain,
      listeners: plain.listeners.map((l) => ({ ...l, connect: { ...DEFAULT_CONNECT } })),
    };
    const summary = await proxy.proxy.reload(withConnect);
    assert.deepEqual(summary.listeners.changed, ['main']);
    const tunnel = await rawRequest(proxy.target, connect);
    assert.equal(tunnel.status, 200);
    tunnel.socket.destroy();

    await proxy.proxy.reload(plain);
    assert.equal((await rawRequest(proxy.target, connect)).status, 505);
  });
});

/** A TCP server that reads and discards everything: the far end of a passthrough tunnel. */
async function startSink(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
