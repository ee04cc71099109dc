// Clients that never open their flow-control window cannot make the proxy hold memory without
// limit: a connection gets at most 100 streams, the response data held for it stays under the
// connection's buffer limit, its stalled streams are reset, and other clients are served. The
// proxy runs as its own process, so its memory is its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoClient, echoUnary, startEchoBackend } from '../support/echo-backend.js';
import {
  ErrorCode,
  FrameType,
  RawH2Connection,
  Setting,
  dataFrame,
  grpcRequestFields,
  headersFrame,
  windowUpdateFrame,
} from '../support/h2-wire.js';
import { delay, eventually, startTestProxy } from '../support/proxy-harness.js';
import { echoRequestFrame } from '../support/raw-h2.js';
import { spawnConfiguredProxy } from '../support/spawn-proxy.js';

const MiB = 1 << 20;
/** Three connections, each with as many streams as the listener allows (100 by default). */
const CONNECTIONS = 3;
const STREAMS = 100;
const STALL_MS = 2_000;

describe('clients that never open their window', () => {
  it('hold bounded memory, have their stalled streams reset, and slow no one else', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    // Listener defaults (100 streams, a 16 MiB buffer limit) but a short stall timeout.
    const proxy = await spawnConfiguredProxy({
      upstream: backend.address,
      listener: `stalledStreamTimeout: ${STALL_MS}ms`,
    });
    const client = echoClient(proxy.target);
    const conns: RawH2Connection[] = [];
    t.after(async () => {
      conns.forEach((c) => c.destroy());
      client.close();
      await proxy.stop();
      backend.kill();
    });
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
    await delay(300);
    const baseline = proxy.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, proxy.rss())), 50);
    t.after(() => clearInterval(sampler));

    // Window 0 for every stream: the proxy may send them no DATA at all. Each call asks for
    // 4 MiB, far more than the proxy lets in from upstream before the client reads.
    const body = echoRequestFrame({ responseCount: 64, responseSize: 64 << 10 });
    const opened = Date.now();
    for (let c = 0; c < CONNECTIONS; c++) {
      const conn = await RawH2Connection.open(proxy.port, {
        settings: { [Setting.INITIAL_WINDOW_SIZE]: 0 },
      });
      conns.push(conn);
      await conn.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0);
      for (let i = 0, id = 1; i < STREAMS; i++, id += 2) {
        conn.write(headersFrame(id, grpcRequestFields('/test.Echo/ServerStream')));
        conn.write(dataFrame(id, body, true));
      }
    }
    const total = CONNECTIONS * STREAMS;
    await eventually(() => backend.calls > total, 5_000, 'the backend to get every call');

    // Meanwhile another client is served.
    for (let i = 0; i < 20; i++) {
      const r = await echoUnary(client, { payload: Buffer.from('x') }, { deadlineMs: 5_000 });
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
    }
    const resets = () =>
      conns
        .flatMap((c) => c.received(FrameType.RST_STREAM))
        .filter((f) => f.payload.readUInt32BE(0) === ErrorCode.ENHANCE_YOUR_CALM).length;

    // Every stream is reset: for the buffer limit at once, or by the stall timeout.
    await eventually(
      () => resets() === total,
      STALL_MS + 3_000,
      `every stream to be reset (${resets()} of ${total})`,
    );
    const resetAfter = Date.now() - opened;
    clearInterval(sampler);
    await eventually(() => backend.cancelled === total, 3_000, 'the backend to see the cancels');
    const metrics = await proxy.metrics();
    const count = (reason: string) =>
      Number(
        new RegExp(
          `switchyard_client_streams_reset_total\\{listener="main",reason="${reason}"\\} (\\d+)`,
        ).exec(metrics)?.[1],
      );
    const grown = peak - baseline;
    t.diagnostic(
      `${total} streams on ${CONNECTIONS} window-0 connections: proxy RSS ` +
        `${(baseline / MiB).toFixed(0)} -> peak ${(peak / MiB).toFixed(0)} MiB; ` +
        `all ${total} reset ${resetAfter} ms after opening ` +
        `(buffer_limit ${count('buffer_limit')}, stalled ${count('stalled')})`,
    );
    assert.equal(count('buffer_limit') + count('stalled'), total);
    // 16 MiB of answers per connection, plus what arrives between two sweeps: generous.
    assert.ok(grown < 128 * MiB, `proxy RSS grew ${(grown / MiB).toFixed(0)} MiB`);
    assert.ok(
      conns.every((c) => !c.closed),
      'the slow connections themselves stay open',
    );
    assert.equal((await proxy.clusters()).inFlight, 0);
  });

  it('beyond the buffer limit, resets the streams that send nothing, and keeps those that move', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    // A raised stream limit and a small buffer limit; no stall timeout in the way.
    const proxy = await startTestProxy({
      upstream: backend.address,
      listener: {
        maxConcurrentStreams: 400,
        connectionBufferLimit: 4 * MiB,
        stalledStreamTimeoutMs: 0,
      },
    });
    t.after(async () => {
      await proxy.close();
      backend.kill();
    });
    const body = echoRequestFrame({ responseCount: 64, responseSize: 64 << 10 });

    // A client that reads nothing: 400 streams × 256 KiB read ahead is far above 4 MiB.
    const stalled = await RawH2Connection.open(proxy.port, {
      settings: { [Setting.INITIAL_WINDOW_SIZE]: 0 },
    });
    t.after(() => stalled.destroy());
    await stalled.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0);
    for (let i = 0, id = 1; i < 400; i++, id += 2) {
      stalled.write(headersFrame(id, grpcRequestFields('/test.Echo/ServerStream')));
      stalled.write(dataFrame(id, body, true));
    }
    const resets = () => stalled.received(FrameType.RST_STREAM).length;
    // A stream counts against the limit once the backend has filled what the proxy reads ahead
    // for it; on a busy machine (or under coverage) that takes a few sweeps for all 400.
    await eventually(() => 400 - resets() <= 20, 20_000, `streams reset (${resets()} so far)`);
    await delay(1_000);
    const kept = 400 - resets();
    // Streams kept hold 256 KiB each: about as many as fit in the limit.
    assert.ok(kept > 0 && kept <= 20, `${kept} streams kept`);
    const codes = new Set(
      stalled.received(FrameType.RST_STREAM).map((f) => f.payload.readUInt32BE(0)),
    );
    assert.deepEqual([...codes], [ErrorCode.ENHANCE_YOUR_CALM]);
    const listener = [...proxy.proxy.listenerList()][0];
    assert.equal(listener.resets.buffer_limit, 400 - kept);

    // A client that reads, slowly, over a connection just as far above the limit: 20 streams of
    // 4 MiB read 64 KiB at a time, every 100 ms each. Nothing of it is reset.
    const reader = await RawH2Connection.open(proxy.port);
    t.after(() => reader.destroy());
    await reader.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0);
    const ids = Array.from({ length: 20 }, (_, i) => 1 + 2 * i);
    for (const id of ids) {
      reader.write(headersFrame(id, grpcRequestFields('/test.Echo/ServerStream')));
      reader.write(dataFrame(id, body, true));
    }
    for (let round = 0; round < 30; round++) {
      await delay(100);
      for (const id of ids) reader.write(windowUpdateFrame(id, 64 << 10));
      reader.write(windowUpdateFrame(0, 20 * (64 << 10)));
    }
    assert.equal(reader.received(FrameType.RST_STREAM).length, 0, 'a reading client was reset');
    assert.ok(reader.received(FrameType.DATA).length > 100, 'the reading client got data');
  });
});
