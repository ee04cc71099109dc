// Upstream sessions: calls multiplex over one HTTP/2 connection per endpoint, another opens at
// the peer's stream limit and closes when idle, and keepalive PINGs find a peer gone silent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoUnary, startEchoBackend } from '../support/echo-backend.js';
import { eventually, startTestProxy, clientFor } from '../support/proxy-harness.js';
import { startTcpRelay } from '../support/tcp-relay.js';

describe('upstream sessions', () => {
  it('multiplexes 200 concurrent calls over one connection to the endpoint', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const relay = await startTcpRelay(backend.address);
    const proxy = await startTestProxy({ upstream: relay.address });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await relay.close();
      backend.kill();
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, () => echoUnary(client, { delayMs: 20 })),
    );
    assert.ok(results.every((r) => r.status.code === grpc.status.OK));
    assert.equal(relay.accepted, 1);
  });

  it("opens another session at the peer's stream limit and closes it when idle", async (t) => {
    const backend = await startEchoBackend({
      name: 'b',
      serverOptions: { 'grpc.max_concurrent_streams': 4 },
    });
    const relay = await startTcpRelay(backend.address);
    const proxy = await startTestProxy({
      upstream: relay.address,
      cluster: { idleTimeoutMs: 300 },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await relay.close();
      backend.kill();
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, () => echoUnary(client, { delayMs: 100 })),
    );
    assert.ok(
      results.every((r) => r.status.code === grpc.status.OK),
      results.find((r) => r.status.code)?.status.details,
    );
    assert.ok(
      relay.accepted > 1,
      `only ${relay.accepted} connection(s) for 40 calls at a limit of 4`,
    );
    await eventually(() => relay.open === 1, 3_000, 'idle extra sessions to close');
  });

  it('fails a call with UNAVAILABLE when its upstream stops answering keepalive PINGs', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const relay = await startTcpRelay(backend.address);
    const proxy = await startTestProxy({
      upstream: relay.address,
      cluster: { keepalive: { timeMs: 200, timeoutMs: 300, idleTimeMs: 0 } },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await relay.close();
      backend.kill();
    });
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
    const pending = echoUnary(client, { delayMs: 10_000 }, { deadlineMs: 20_000 });
    await new Promise<void>((resolve) => backend.events.once('call', () => resolve()));
    relay.freeze();
    const started = Date.now();
    const r = await pending;
    assert.equal(r.status.code, grpc.status.UNAVAILABLE);
    assert.match(r.status.details, /keepalive PING/);
    assert.ok(Date.now() - started < 3_000, `noticed after ${Date.now() - started} ms`);
  });
});
