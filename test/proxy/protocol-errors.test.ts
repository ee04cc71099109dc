// Connections that break the protocol are closed, not left half-open: after the GOAWAY the
// proxy closes the socket within a bound (its file descriptor comes back), and the calls the
// connection had open end on the backends too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoClient, echoUnary, startEchoBackend } from '../support/echo-backend.js';
import {
  ErrorCode,
  FrameType,
  RawH2Connection,
  dataFrame,
  grpcRequestFields,
  headersFrame,
  parseGoaway,
} from '../support/h2-wire.js';
import { eventually, startTestProxy } from '../support/proxy-harness.js';
import { echoRequestFrame } from '../support/raw-h2.js';
import { spawnConfiguredProxy } from '../support/spawn-proxy.js';

/** DATA on stream 0: a connection error of type PROTOCOL_ERROR (RFC 9113 §6.1). */
const PROTOCOL_ERROR = dataFrame(0, Buffer.from([0]));

/** A handshake, then the protocol error; resolves once the proxy's GOAWAY arrived. */
async function breakProtocol(port: number, halfClose: boolean): Promise<RawH2Connection> {
  const conn = await RawH2Connection.open(port);
  await conn.waitFor((f) => f.type === FrameType.SETTINGS);
  conn.write(PROTOCOL_ERROR);
  const goaway = await conn.waitFor((f) => f.type === FrameType.GOAWAY);
  assert.ok(goaway, 'no GOAWAY after a protocol error');
  assert.equal(parseGoaway(goaway).code, ErrorCode.PROTOCOL_ERROR);
  // A client that closes its side leaves the proxy's socket in CLOSE-WAIT until it closes.
  if (halfClose) conn.socket.end();
  return conn;
}

describe('protocol errors', () => {
  it('close 1,000 offending connections within a bound and give their descriptors back', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const proxy = await spawnConfiguredProxy({
      upstream: backend.address,
      listener: 'pingAfterSilence: 300ms, closeTimeout: 300ms',
    });
    const client = echoClient(proxy.target);
    const conns: RawH2Connection[] = [];
    t.after(async () => {
      for (const c of conns) c.destroy();
      client.close();
      await proxy.stop();
      backend.kill();
    });
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
    const baseline = proxy.fds();

    const started = Date.now();
    for (let i = 0; i < 1_000; i += 100) {
      conns.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, j) => breakProtocol(proxy.port, (i + j) % 2 === 0)),
        )),
      );
    }
    const sent = Date.now() - started;
    await eventually(
      () => conns.every((c) => c.closed),
      10_000,
      `the proxy to close all 1,000 connections (${conns.filter((c) => !c.closed).length} open)`,
    );
    t.diagnostic(
      `1,000 offending connections opened in ${sent} ms, all closed after ${Date.now() - started} ms`,
    );
    await eventually(() => proxy.fds() <= baseline + 5, 5_000, 'descriptors to come back');
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
    const view = await proxy.clusters();
    assert.equal(view.listeners[0].connections, 1, 'only the grpc-js client is left');
    // Node 20 leaves such sessions to the proxy's PING (counted as unresponsive); Node 22 and
    // later report the error (counted as protocol_error).
    const metrics = await proxy.metrics();
    const closed = (reason: string) =>
      Number(new RegExp(`reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1]);
    assert.equal(closed('unresponsive') + closed('protocol_error'), 1_000);
  });

  it('cancel the calls of an offending connection on the backends', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const proxy = await startTestProxy({
      upstream: backend.address,
      listener: { pingAfterSilenceMs: 300, closeTimeoutMs: 300, maxConcurrentStreams: 200 },
    });
    const conn = await RawH2Connection.open(proxy.port);
    t.after(async () => {
      conn.destroy();
      await proxy.close();
      backend.kill();
    });
    await conn.waitFor((f) => f.type === FrameType.SETTINGS);
    // 200 unary calls that the backend holds for 30 s.
    const body = echoRequestFrame({ delayMs: 30_000 });
    for (let id = 1; id < 400; id += 2) {
      conn.write(headersFrame(id, grpcRequestFields('/test.Echo/Unary')));
      conn.write(dataFrame(id, body, true));
    }
    await eventually(() => backend.calls === 200, 5_000, 'the backend to hold 200 calls');
    conn.write(PROTOCOL_ERROR);
    const goaway = await conn.waitFor((f) => f.type === FrameType.GOAWAY);
    assert.equal(goaway && parseGoaway(goaway).code, ErrorCode.PROTOCOL_ERROR);
    const at = Date.now();
    await eventually(
      () => backend.cancelled === 200,
      5_000,
      `the backend to see 200 cancels (${backend.cancelled} so far)`,
    );
    t.diagnostic(`backend saw 200 cancels ${Date.now() - at} ms after the GOAWAY`);
    assert.ok(await conn.waitClosed(2_000), 'the proxy left the connection open');
    assert.equal(proxy.proxy.inFlight, 0);
  });
});
