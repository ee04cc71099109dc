// The gRPC health probe over the pool's own connections, through the fake transport: what it
// sends, how it reads each answer, and that the connection counts its stream, not the probe.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../balancer/host.js';
import { createEndpoint } from '../../resolver/endpoint.js';
import { EndpointPool } from '../../upstream/endpoint-pool.js';
import {
  GrpcHealthProbe,
  HEALTH_CHECK_PATH,
  encodeHealthRequest,
} from '../../upstream/health-probe.js';
import { fieldValue } from '../../transport/header-fields.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';
import { FakeDialer, FakeTransport } from '../support/fake-transport.js';

/** A gRPC-framed HealthCheckResponse { status = `serving` }. */
function response(serving: number): Buffer {
  return Buffer.from([0, 0, 0, 0, 2, 0x08, serving]);
}

async function readyPool() {
  const clock = new FakeClock();
  const dialer = new FakeDialer();
  const transport = new FakeTransport();
  const host = new Host(createEndpoint({ address: '10.0.0.1', port: 50051 }));
  const pool = new EndpointPool(
    host,
    {
      dialer,
      connectTimeoutMs: 5_000,
      keepalive: { timeMs: 0, timeoutMs: 20_000, idleTimeMs: 0 },
      idleTimeoutMs: 60_000,
      maxSessions: 1,
      settings: {},
      clock,
      transport,
    },
    { connectivityChanged() {}, connectFailed() {}, connectionFailed() {} },
  );
  pool.start();
  dialer.next().succeed();
  await flushMicrotasks();
  transport.last.settings();
  const probe = new GrpcHealthProbe(() => pool, undefined);
  return { host, pool, conn: transport.last, probe };
}

describe('gRPC health probe', () => {
  it('sends one Check call and reads SERVING from the answer', async () => {
    const t = await readyPool();
    const result = t.probe.check(t.host, 'pkg.Svc', 1_000, new AbortController().signal);
    const stream = t.conn.streams[0];
    assert.equal(fieldValue(stream.headers, ':path'), HEALTH_CHECK_PATH);
    assert.equal(fieldValue(stream.headers, ':authority'), '10.0.0.1:50051');
    assert.equal(fieldValue(stream.headers, 'grpc-timeout'), '1000m');
    assert.deepEqual(Buffer.concat(stream.written), encodeHealthRequest('pkg.Svc'));
    assert.equal(stream.ended, true);
    assert.equal(t.conn.activeStreams, 1);
    stream.respond();
    stream.data(response(1));
    stream.trailers(0);
    assert.deepEqual(await result, { status: 'serving' });
    assert.equal(t.conn.activeStreams, 0, 'the connection counted the stream out');
  });

  it('reads NOT_SERVING, an unknown service and a missing Health service', async () => {
    const t = await readyPool();
    const signal = new AbortController().signal;
    const notServing = t.probe.check(t.host, '', 1_000, signal);
    let stream = t.conn.streams[0];
    stream.respond();
    stream.data(response(2));
    stream.trailers(0);
    assert.deepEqual(await notServing, { status: 'not_serving' });

    const unknown = t.probe.check(t.host, 'nope', 1_000, signal);
    stream = t.conn.streams[0];
    stream.respond();
    stream.trailers(5); // NOT_FOUND
    assert.deepEqual(await unknown, { status: 'service_unknown' });

    const missing = t.probe.check(t.host, '', 1_000, signal);
    stream = t.conn.streams[0];
    stream.respond();
    stream.trailers(12); // UNIMPLEMENTED
    assert.deepEqual(await missing, {
      status: 'failed',
      reason: 'the endpoint has no grpc.health.v1.Health service',
    });
  });

  it('an aborted check cancels its stream', async () => {
    const t = await readyPool();
    const abort = new AbortController();
    const result = t.probe.check(t.host, '', 1_000, abort.signal);
    const stream = t.conn.streams[0];
    abort.abort();
    assert.equal(stream.cancelled, true);
    assert.equal((await result).status, 'failed');
  });
});
