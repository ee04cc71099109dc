// Broken upstreams never hang or crash the proxy: every failure reaches the caller as a
// proper gRPC status, dead endpoints are routed around, and restarted ones rejoin.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoResponse,
} from '../support/echo-backend.js';
import { delay, eventually, startTestProxy, clientFor } from '../support/proxy-harness.js';
import { closedPort, startRawUpstream, startSilentServer } from '../support/raw-upstream.js';

describe('upstream failures', () => {
  it('routes around an endpoint that was never started', async (t) => {
    const live = await startEchoBackend({ name: 'live' });
    const dead = `127.0.0.1:${await closedPort()}`;
    const proxy = await startTestProxy({ upstream: [dead, live.address] });
    const client = clientFor(t, proxy);
    t.after(() => {
      live.kill();
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => echoUnary(client, {})));
    assert.deepEqual(
      results.map((r) => r.status.code),
      results.map(() => grpc.status.OK),
    );
    assert.ok(results.every((r) => r.response?.backend === 'live'));
    assert.ok(proxy.logged('connection refused').length >= 1, 'the refused connect is logged');
  });

  it('fails fast with UNAVAILABLE when every endpoint is down', async (t) => {
    const proxy = await startTestProxy({
      upstream: [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${await closedPort()}`],
    });
    const client = clientFor(t, proxy);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
      assert.equal(result.status.code, grpc.status.UNAVAILABLE);
      assert.match(result.status.details, /connection refused/);
      assert.ok(
        Date.now() - started < 2_000,
        `failed after ${Date.now() - started} ms, not at the deadline`,
      );
    }
    assert.ok(proxy.logged('connection refused').length >= 1);
  });

  it('fails a waiting call as soon as the only endpoint turns out to be unusable', async (t) => {
    // Accepts TCP, says nothing, hangs up after 300 ms: the call arrives while the first
    // connect is under way, which then fails well before connectMs (5 s).
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      setTimeout(() => socket.destroy(), 300);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const proxy = await startTestProxy({ upstream: address });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const started = Date.now();
    const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    assert.ok(
      Date.now() - started < 2_000,
      `failed after ${Date.now() - started} ms (connect timeout is 5 s)`,
    );
  });

  it('ends a stream promptly when its backend dies, and sends later calls to the survivor', async (t) => {
    const a = await startEchoBackend({ name: 'a' });
    const b = await startEchoBackend({ name: 'b' });
    const proxy = await startTestProxy({ upstream: [a.address, b.address] });
    const client = clientFor(t, proxy);
    t.after(() => {
      a.kill();
      b.kill();
    });
    // A long stream the client reads slowly, so it is still open when its backend dies.
    const call = client.ServerStream({ responseCount: 100_000, responseSize: 1024 });
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => {});
    const first = await new Promise<EchoResponse>((resolve) => call.once('data', resolve));
    call.pause();
    const victim = first.backend === 'a' ? a : b;
    const survivor = victim === a ? 'b' : 'a';
    const killedAt = Date.now();
    victim.kill();
    call.resume();
    const end = await status;
    assert.equal(end.code, grpc.status.UNAVAILABLE);
    assert.match(end.details, /lost mid-call/);
    assert.ok(Date.now() - killedAt < 2_000);
    const after = await Promise.all(Array.from({ length: 20 }, () => echoUnary(client, {})));
    assert.ok(
      after.every((r) => r.status.code === grpc.status.OK && r.response?.backend === survivor),
    );
  });

  it('tells a client that is behind on reading why its stream ended, after the data it was sent', async (t) => {
    const backend = await startEchoBackend({ name: 'a' });
    const proxy = await startTestProxy({ upstream: backend.address });
    const client = clientFor(t, proxy);
    t.after(() => backend.kill());
    const call = client.ServerStream({ responseCount: 100_000, responseSize: 1024 });
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => {});
    await new Promise<EchoResponse>((resolve) => call.once('data', resolve));
    call.pause();
    // The client's window and the proxy's buffer fill, then the backend's: it stops writing.
    let written = -1;
    await eventually(
      async () => {
        const before = backend.writes.messagesWritten;
        await delay(100);
        written = backend.writes.messagesWritten;
        return written === before;
      },
      5_000,
      'the backend to be held back',
    );
    assert.ok(written > 100, `the backend wrote ${written} messages before it was held back`);
    backend.kill();
    // The proxy learns of the loss while the client is still not reading.
    await delay(200);
    call.resume();
    const end = await status;
    assert.equal(end.code, grpc.status.UNAVAILABLE, end.details);
    assert.match(end.details, /lost mid-call/);
  });

  it('brings a restarted endpoint back within seconds', async (t) => {
    const a = await startEchoBackend({ name: 'a' });
    const b = await startEchoBackend({ name: 'b' });
    const port = a.port;
    const proxy = await startTestProxy({ upstream: [a.address, b.address] });
    const client = echoClient(proxy.target);
    const started: { backend?: Awaited<ReturnType<typeof startEchoBackend>> } = {};
    t.after(async () => {
      client.close();
      await proxy.close();
      b.kill();
      started.backend?.kill();
    });
    a.kill();
    await delay(200);
    const during = await Promise.all(Array.from({ length: 20 }, () => echoUnary(client, {})));
    assert.ok(during.every((r) => r.status.code === grpc.status.OK && r.response?.backend === 'b'));
    started.backend = await startEchoBackend({ name: 'a2', port });
    // Within seconds: eventually() fails the test after 8 s.
    await eventually(
      async () => (await echoUnary(client, {})).response?.backend === 'a2',
      8_000,
      'the restarted endpoint to get calls',
    );
  });

  it('loses no call when a backend shuts down gracefully (GOAWAY) under load', async (t) => {
    const a = await startEchoBackend({ name: 'a' });
    const b = await startEchoBackend({ name: 'b' });
    const proxy = await startTestProxy({ upstream: [a.address, b.address] });
    const client = clientFor(t, proxy);
    t.after(() => {
      a.kill();
      b.kill();
    });
    let stop = false;
    const failures: string[] = [];
    let calls = 0;
    const worker = async () => {
      while (!stop) {
        const r = await echoUnary(client, { delayMs: 2 });
        calls++;
        if (r.status.code !== grpc.status.OK) failures.push(`${r.status.code} ${r.status.details}`);
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await delay(300);
    await a.close();
    await delay(500);
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
    assert.ok(calls > 100, `only ${calls} calls made`);
  });

  it('answers INTERNAL when the upstream ends without grpc-status', async (t) => {
    const upstream = await startRawUpstream((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    const proxy = await startTestProxy({ upstream: upstream.address });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await upstream.close();
    });
    const r = await echoUnary(client, {});
    assert.equal(r.status.code, grpc.status.INTERNAL);
    assert.match(r.status.details, /without a grpc-status/);
  });

  it('maps an upstream HTTP error status to a gRPC status', async (t) => {
    const upstream = await startRawUpstream((stream) => {
      stream.respond({ ':status': 503, 'content-type': 'text/plain' });
      stream.end('overloaded');
    });
    const proxy = await startTestProxy({ upstream: upstream.address });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await upstream.close();
    });
    const r = await echoUnary(client, {});
    assert.equal(r.status.code, grpc.status.UNAVAILABLE);
    assert.match(r.status.details, /HTTP 503/);
  });

  it('reports an upstream reset with the matching status and a message', async (t) => {
    const upstream = await startRawUpstream((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(Buffer.from([0, 0, 0, 0, 0]));
      // destroy() sends RST_STREAM(INTERNAL_ERROR); close() after a half-closed request
      // would end the stream cleanly instead.
      setTimeout(() => stream.destroy(new Error('upstream failure')), 10);
    });
    const proxy = await startTestProxy({ upstream: upstream.address });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await upstream.close();
    });
    const r = await echoUnary(client, {});
    assert.equal(r.status.code, grpc.status.INTERNAL);
    assert.match(r.status.details, /reset the stream \(INTERNAL_ERROR\)/);
  });

  it('retries a refused stream on another endpoint', async (t) => {
    const refusing = await startRawUpstream((stream) =>
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM),
    );
    const good = await startEchoBackend({ name: 'good' });
    const proxy = await startTestProxy({ upstream: [refusing.address, good.address] });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await refusing.close();
      good.kill();
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => echoUnary(client, { payload: Buffer.from(`r${i}`) })),
    );
    results.forEach((r, i) => {
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
      assert.equal(r.response?.payload.toString(), `r${i}`);
    });
    assert.ok(refusing.requests.length > 0, 'the refusing endpoint was tried');
  });

  it('gives up on an endpoint that accepts TCP but never speaks HTTP/2', async (t) => {
    const silent = await startSilentServer();
    const good = await startEchoBackend({ name: 'good' });
    const proxy = await startTestProxy({
      upstream: [silent.address, good.address],
      cluster: { timeouts: { defaultMs: undefined, maxMs: undefined, connectMs: 300 } },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await silent.close();
      good.kill();
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => echoUnary(client, {}, { deadlineMs: 5_000 })),
    );
    assert.ok(
      results.every((r) => r.status.code === grpc.status.OK && r.response?.backend === 'good'),
    );
    await eventually(
      () => proxy.logged('no HTTP/2 SETTINGS').length > 0,
      2_000,
      'the handshake timeout to be logged',
    );
  });

  it('fails with UNAVAILABLE, not at the deadline, when the only endpoint never speaks HTTP/2', async (t) => {
    const silent = await startSilentServer();
    const proxy = await startTestProxy({
      upstream: [silent.address],
      cluster: { timeouts: { defaultMs: undefined, maxMs: undefined, connectMs: 300 } },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await silent.close();
    });
    const started = Date.now();
    const r = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(r.status.code, grpc.status.UNAVAILABLE);
    assert.ok(Date.now() - started < 3_000);
  });
});
