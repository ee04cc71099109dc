// Flow control end to end: 1 GiB streams through the proxy (a separate process) to a slow
// consumer while the proxy's memory stays bounded, because a paused reader pauses the writer.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { startEchoBackend } from '../support/echo-backend.js';
import { echoRequestFrame, grpcHeaders } from '../support/raw-h2.js';
import { spawnProxy } from '../support/spawn-proxy.js';

const GIB = 1 << 30;
const MESSAGE = 64 * 1024;

describe('flow control', () => {
  it('streams 1 GiB to a slow consumer with bounded proxy memory', async (t) => {
    const backend = await startEchoBackend({ name: 'firehose' });
    const proxy = await spawnProxy(['--upstream', backend.address]);
    t.after(async () => {
      await proxy.stop();
      backend.kill();
    });
    const baseline = proxy.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, proxy.rss());
    }, 50);
    t.after(() => clearInterval(sampler));

    // A raw HTTP/2 reader that consumes at most ~256 MiB/s: it pauses after each 4 MiB for
    // 15 ms, far slower than the backend can write.
    const session = http2.connect(`http://${proxy.target}`);
    session.on('error', () => {});
    const stream = session.request(grpcHeaders('/test.Echo/ServerStream'));
    stream.end(echoRequestFrame({ responseCount: GIB / MESSAGE, responseSize: MESSAGE }));
    let received = 0;
    let sincePause = 0;
    const done = new Promise<string | undefined>((resolve) => {
      let status: string | undefined;
      stream.on(
        'trailers',
        (trailers: http2.IncomingHttpHeaders) => (status = String(trailers['grpc-status'])),
      );
      stream.on('close', () => resolve(status));
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      sincePause += chunk.length;
      if (sincePause >= 4 << 20) {
        sincePause = 0;
        stream.pause();
        setTimeout(() => stream.resume(), 15);
      }
    });
    const status = await done;
    session.close();
    clearInterval(sampler);
    assert.equal(status, '0');
    // Each 64 KiB message carries a 5-byte prefix plus protobuf framing.
    assert.ok(received >= GIB, `received ${received} bytes`);
    const grown = peak - baseline;
    // Generous: window sizes and socket buffers, not the stream, bound what the proxy holds.
    assert.ok(grown < 128 << 20, `proxy RSS grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
    t.diagnostic(
      `proxy RSS: baseline ${(baseline / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB`,
    );
  });
});
