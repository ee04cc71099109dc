// Deadlines: grpc-timeout is forwarded and enforced by the proxy itself, with the cluster's
// default and maximum; cancellation travels both ways.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoUnary, startEchoBackend, type EchoResponse } from '../support/echo-backend.js';
import { eventually, startTestProxy, clientFor } from '../support/proxy-harness.js';
import { echoRequestFrame, grpcFrame, grpcHeaders, rawRequest } from '../support/raw-h2.js';
import { startRawUpstream } from '../support/raw-upstream.js';

const timeouts = (t: { defaultMs?: number; maxMs?: number }) => ({
  defaultMs: t.defaultMs,
  maxMs: t.maxMs,
  connectMs: 5_000,
});

describe('deadlines and cancellation', () => {
  it('enforces grpc-timeout even when the client does not, and the backend sees the cancel', async (t) => {
    const backend = await startEchoBackend({ name: 'slow' });
    const proxy = await startTestProxy({ upstream: backend.address });
    t.after(async () => {
      await proxy.close();
      backend.kill();
    });
    const started = Date.now();
    // A raw client: it sends grpc-timeout but never cancels on its own.
    const res = await rawRequest(
      proxy.target,
      grpcHeaders('/test.Echo/Unary', { 'grpc-timeout': '200m' }),
      echoRequestFrame({ delayMs: 5_000 }),
    );
    const elapsed = Date.now() - started;
    assert.equal(
      res.headers['grpc-status'] ?? res.trailers?.['grpc-status'],
      String(grpc.status.DEADLINE_EXCEEDED),
    );
    assert.ok(elapsed >= 150 && elapsed < 2_000, `answered after ${elapsed} ms`);
    await eventually(() => backend.cancelled === 1, 2_000, 'the backend to see the cancellation');
  });

  it('answers DEADLINE_EXCEEDED to a grpc-js client and cancels the upstream call', async (t) => {
    const backend = await startEchoBackend({ name: 'slow' });
    const proxy = await startTestProxy({ upstream: backend.address });
    const client = clientFor(t, proxy);
    t.after(() => {
      backend.kill();
    });
    const r = await echoUnary(client, { delayMs: 5_000 }, { deadlineMs: 300 });
    assert.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED);
    await eventually(() => backend.cancelled === 1, 2_000, 'the backend to see the cancellation');
  });

  it('treats a deadline beyond what a timer can hold as far away, not as passed', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const proxy = await startTestProxy({ upstream: backend.address });
    t.after(async () => {
      await proxy.close();
      backend.kill();
    });
    // 99,999,999 hours: far beyond setTimeout's 24.8 days.
    const res = await rawRequest(
      proxy.target,
      grpcHeaders('/test.Echo/Unary', { 'grpc-timeout': '99999999H' }),
      echoRequestFrame({ delayMs: 50 }),
    );
    assert.equal(res.trailers?.['grpc-status'], '0');
  });

  it('forwards the remaining timeout upstream', async (t) => {
    const upstream = await startRawUpstream((stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' },
        { endStream: true },
      );
    });
    const proxy = await startTestProxy({ upstream: upstream.address });
    t.after(async () => {
      await proxy.close();
      await upstream.close();
    });
    await rawRequest(
      proxy.target,
      grpcHeaders('/test.Echo/Unary', { 'grpc-timeout': '5S' }),
      grpcFrame(Buffer.alloc(0)),
    );
    const forwarded = upstream.requests[0]['grpc-timeout'] as string;
    assert.match(forwarded, /^\d+m$/);
    const ms = Number(forwarded.slice(0, -1));
    assert.ok(ms <= 5_000 && ms > 4_000, `forwarded ${forwarded}`);
  });

  it("applies the cluster's default timeout to calls without one", async (t) => {
    const backend = await startEchoBackend({ name: 'slow' });
    const proxy = await startTestProxy({
      upstream: backend.address,
      cluster: { timeouts: timeouts({ defaultMs: 300 }) },
    });
    const client = clientFor(t, proxy);
    t.after(() => {
      backend.kill();
    });
    const started = Date.now();
    const r = await echoUnary(client, { delayMs: 5_000 });
    assert.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 2_000);
    assert.match(r.status.details, /deadline of 300 ms/);
    await eventually(() => backend.cancelled === 1, 2_000, 'the backend to see the cancellation');
  });

  it("caps a client's deadline at the cluster's maximum and forwards the cap", async (t) => {
    const backend = await startEchoBackend({ name: 'slow' });
    const upstream = await startRawUpstream((stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' },
        { endStream: true },
      );
    });
    const proxy = await startTestProxy({
      upstream: backend.address,
      cluster: { timeouts: timeouts({ maxMs: 300 }) },
    });
    const raw = await startTestProxy({
      upstream: upstream.address,
      cluster: { timeouts: timeouts({ maxMs: 300 }) },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await raw.close();
      backend.kill();
      await upstream.close();
    });
    const started = Date.now();
    const r = await echoUnary(client, { delayMs: 5_000 }, { deadlineMs: 10_000 });
    assert.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 2_000);
    await rawRequest(
      raw.target,
      grpcHeaders('/test.Echo/Unary', { 'grpc-timeout': '5S' }),
      grpcFrame(Buffer.alloc(0)),
    );
    const forwarded = upstream.requests[0]['grpc-timeout'] as string;
    assert.ok(Number(forwarded.slice(0, -1)) <= 300, `forwarded ${forwarded}`);
  });

  it('cancels the upstream call when the client cancels mid-stream', async (t) => {
    const backend = await startEchoBackend({ name: 'streamer' });
    const proxy = await startTestProxy({ upstream: backend.address });
    const client = clientFor(t, proxy);
    t.after(() => {
      backend.kill();
    });
    const call = client.ServerStream({ responseCount: 1_000_000, responseSize: 1024 });
    call.on('error', () => {});
    await new Promise<EchoResponse>((resolve) => call.once('data', resolve));
    call.cancel();
    await eventually(() => backend.cancelled === 1, 2_000, 'the backend to see the cancellation');
  });

  it('cancels the upstream call when the client cancels a waiting unary call', async (t) => {
    const backend = await startEchoBackend({ name: 'slow' });
    const proxy = await startTestProxy({ upstream: backend.address });
    const client = clientFor(t, proxy);
    t.after(() => {
      backend.kill();
    });
    const call = client.Unary({ delayMs: 5_000 }, new grpc.Metadata(), {}, () => {});
    await new Promise<void>((resolve) => backend.events.once('call', () => resolve()));
    call.cancel();
    await eventually(() => backend.cancelled === 1, 2_000, 'the backend to see the cancellation');
  });
});
