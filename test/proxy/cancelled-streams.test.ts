// Cancelled calls give everything back at once: a client that cancels server streams whose
// backend has already written the whole answer leaves no response data, no upstream stream
// slot and no extra upstream connection behind.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { startObservedProxy } from '../observability/observed-proxy.js';
import { startEchoBackend } from '../support/echo-backend.js';
import { liveBufferBytes } from '../support/memory.js';
import { delay } from '../support/proxy-harness.js';
import { echoRequestFrame, grpcHeaders } from '../support/raw-h2.js';
import type { ProxyView } from '../../observability/admin/cluster-view.js';

const MiB = 1 << 20;
const STREAMS = 2_000;
const BATCH = 50;
/** 4 × 64 KiB: the whole answer fits in the proxy's upstream stream window. */
const ANSWER = { responseCount: 4, responseSize: 64 << 10 };

/**
 * Opens a server stream, never reads it (so the client's 64 KiB window fills and the proxy
 * holds the rest), and cancels it once the backend has had time to write everything.
 * Resolves true once the stream closed, false if it was not even answered within 10 s.
 */
function cancelUnread(session: http2.ClientHttp2Session): Promise<boolean> {
  return new Promise((resolve) => {
    const stream = session.request(grpcHeaders('/test.Echo/ServerStream'));
    stream.on('error', () => {});
    stream.pause();
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve(false);
    }, 10_000);
    stream.once('response', () => {
      setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 30);
    });
    stream.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    stream.end(echoRequestFrame(ANSWER));
  });
}

describe('cancelled streams', () => {
  it('free their unread response, their upstream stream and their connection at once', async (t) => {
    // A peer limit of 100 streams per connection: every stream the proxy failed to release
    // would push it towards its cap of 8 connections to the endpoint, then stall it.
    const backend = await startEchoBackend({
      name: 'b',
      serverOptions: { 'grpc.max_concurrent_streams': 100 },
    });
    const proxy = await startObservedProxy({ upstream: backend.address });
    const connect = () => {
      const s = http2.connect(`http://${proxy.target}`);
      s.on('error', () => {});
      return s;
    };
    // A client connection per 500 streams: each cancel is a reset the client causes, and a
    // client resetting faster than the listener allows loses its connection.
    let session = connect();
    t.after(async () => {
      session.destroy();
      await proxy.close();
      backend.kill();
    });

    await Promise.all(Array.from({ length: BATCH }, () => cancelUnread(session)));
    await delay(200);
    const baseline = liveBufferBytes();
    let unanswered = 0;
    for (let sent = BATCH; sent < STREAMS && unanswered === 0; sent += BATCH) {
      if (sent % 500 === 0) {
        session.close();
        session = connect();
      }
      const closed = await Promise.all(Array.from({ length: BATCH }, () => cancelUnread(session)));
      unanswered += closed.filter((ok) => !ok).length;
    }
    assert.equal(unanswered, 0, 'the proxy stopped answering: upstream stream slots ran out');

    await delay(500);
    const view = (await (await fetch(`${proxy.admin}/clusters`)).json()) as ProxyView;
    const endpoint = view.clusters[0].endpoints[0];
    const held = liveBufferBytes() - baseline;
    t.diagnostic(
      `Buffers held after ${STREAMS} cancels: ${(held / MiB).toFixed(1)} MiB; ` +
        `${endpoint.connections} upstream connection(s)`,
    );
    assert.equal(view.inFlight, 0);
    assert.ok(
      endpoint.connections <= 2,
      `${endpoint.connections} connections to the endpoint for calls that have all ended`,
    );
    // A stream left behind holds ~192 KiB of its answer.
    assert.ok(held < 16 * MiB, `${(held / MiB).toFixed(1)} MiB of Buffers still held`);
  });
});
