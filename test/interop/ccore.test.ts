// switchyard between gRPC C-core (Debian's python3-grpcio) and grpc-js, in every pairing:
// standard call kinds, and metadata with a key repeated (text and -bin) kept as separate
// fields in both directions. A strict peer such as C-core fails a whole connection for a
// header block it cannot parse, so one call's metadata must never reach it malformed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoServerStream, echoUnary, startEchoBackend } from '../support/echo-backend.js';
import {
  runCcoreClient,
  runHostileClient,
  startCcoreServer,
  type CaseResult,
} from '../support/ccore-peer.js';
import { clientFor, eventually, startTestProxy } from '../support/proxy-harness.js';
import { startRawUpstream } from '../support/raw-upstream.js';

/** Every case ccore_peer.py's client runs; all must pass through the proxy. */
const CASES = [
  'repeated_metadata_unary',
  'repeated_metadata_trailers_only',
  'repeated_metadata_stream',
  'unary',
  'server_streaming',
  'client_streaming',
  'bidi_ping_pong',
  'trailers_only_error',
  'large_message',
  'deadline_exceeded',
  'cancel_after_first_response',
];

function assertAllPassed(results: readonly CaseResult[]): void {
  assert.deepEqual(
    results.filter((r) => !r.ok).map((r) => `${r.case}: ${r.detail}`),
    [],
  );
  assert.deepEqual(
    results.map((r) => r.case),
    CASES,
  );
}

/** Two values for one -bin key and for one text key, as grpc-js sends them: separate fields. */
function repeatedMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.add('x-echo-foo-bin', Buffer.from([1, 2, 3]));
  metadata.add('x-echo-foo-bin', Buffer.from([4, 5, 6]));
  metadata.add('x-echo-text', 'one');
  metadata.add('x-echo-text', 'two');
  return metadata;
}

describe('gRPC C-core through the proxy', () => {
  it('C-core client -> switchyard -> C-core server: every case, repeated keys kept apart', async (t) => {
    const server = await startCcoreServer('ccore');
    t.after(() => server.stop());
    const proxy = await startTestProxy({ upstream: server.address });
    t.after(() => proxy.close());
    assertAllPassed(await runCcoreClient(proxy.target));
    // The cancelled stream reached the server as a cancellation.
    await eventually(
      () => server.cancelled.includes('ServerStream'),
      5_000,
      'the server to see the cancel',
    );
  });

  it('C-core client -> switchyard -> grpc-js server: every case, repeated keys kept apart', async (t) => {
    const backend = await startEchoBackend({ name: 'grpc-js' });
    t.after(() => backend.kill());
    const proxy = await startTestProxy({ upstream: backend.address });
    t.after(() => proxy.close());
    // grpc-js joins a repeated text key's values as node:http2 hands them over: expected.
    assertAllPassed(await runCcoreClient(proxy.target, { serverJoinsText: true }));
    await eventually(() => backend.cancelled >= 1, 5_000, 'the backend to see the cancel');
  });

  it('grpc-js client -> switchyard -> C-core server: repeated keys both ways', async (t) => {
    const server = await startCcoreServer('ccore');
    t.after(() => server.stop());
    const proxy = await startTestProxy({ upstream: server.address });
    const client = clientFor(t, proxy);
    const unary = await echoUnary(
      client,
      { payload: Buffer.from('hi') },
      { metadata: repeatedMetadata() },
    );
    assert.equal(unary.status.code, grpc.status.OK, unary.status.details);
    assert.equal(unary.response?.backend, 'ccore');
    const bin = [Buffer.from([1, 2, 3]), Buffer.from([4, 5, 6])];
    assert.deepEqual(unary.headers?.get('x-echo-h-foo-bin'), bin);
    assert.deepEqual(unary.status.metadata.get('x-echo-t-foo-bin'), bin);
    // grpc-js reads a repeated text field through node:http2, which joins the values.
    assert.deepEqual(unary.status.metadata.get('x-echo-t-text'), ['one, two']);
    const stream = await echoServerStream(
      client,
      { responseCount: 50, responseSize: 1000 },
      { metadata: repeatedMetadata() },
    );
    assert.equal(stream.status.code, grpc.status.OK, stream.status.details);
    assert.equal(stream.messages, 50);
    assert.deepEqual(stream.status.metadata.get('x-echo-t-foo-bin'), bin);
  });

  it("keeps other calls on the shared upstream connection alive, whatever one call's headers hold", async (t) => {
    const server = await startCcoreServer('ccore');
    t.after(() => server.stop());
    const proxy = await startTestProxy({ upstream: server.address });
    const client = clientFor(t, proxy);
    // Another client's call, in flight on the same upstream connection the whole time.
    const long = echoServerStream(client, { responseCount: 20, responseSize: 100, delayMs: 3_000 });
    const results = await runHostileClient(proxy.target, [
      'joined-bin',
      'repeated-bin',
      'url-safe-bin',
      'unpadded-bin',
      '9k-metadata',
      'te-twice',
      'user-agent-twice',
    ]);
    const seen = Object.fromEntries(results.map((r) => [r.case, r]));
    for (const r of results) assert.equal(r.neighbour, 'grpc-status 0: ', `beside ${r.case}`);
    assert.match(seen['joined-bin'].hostile, /^grpc-status 13: metadata "x-foo-bin" is not base64/);
    assert.match(seen['url-safe-bin'].hostile, /^grpc-status 13: .*not base64/);
    assert.equal(seen['repeated-bin'].hostile, 'grpc-status 0: ');
    assert.equal(seen['unpadded-bin'].hostile, 'grpc-status 0: ');
    assert.match(
      seen['9k-metadata'].hostile,
      /^grpc-status 8: request metadata of \d+ bytes is over the 8192 that /,
    );
    assert.equal(seen['te-twice'].hostile, 'grpc-status 0: ');
    assert.equal(seen['user-agent-twice'].hostile, 'grpc-status 0: ');
    const longEnd = await long;
    assert.equal(longEnd.status.code, grpc.status.OK, longEnd.status.details);
    assert.equal(longEnd.messages, 20);
  });

  it('answers INTERNAL instead of passing on upstream metadata that is not base64', async (t) => {
    const upstream = await startRawUpstream((stream, headers) => {
      const trailers = headers[':path'] === '/test.Echo/ClientStream';
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          ...(trailers ? {} : { 'x-bad-bin': 'AQID, BAUG' }),
        },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '0', ...(trailers ? { 'x-bad-bin': '!!' } : {}) }),
      );
      stream.end();
    });
    t.after(() => upstream.close());
    const proxy = await startTestProxy({ upstream: upstream.address });
    const client = clientFor(t, proxy);
    const headers = await echoUnary(client, {});
    assert.equal(headers.status.code, grpc.status.INTERNAL);
    assert.match(
      headers.status.details,
      /upstream response headers: metadata "x-bad-bin" is not base64/,
    );
    const trailers = await new Promise<grpc.StatusObject>((resolve) => {
      const call = client.ClientStream(new grpc.Metadata(), {}, () => {});
      call.on('status', resolve);
      call.end();
    });
    assert.equal(trailers.code, grpc.status.INTERNAL);
    assert.match(trailers.details, /upstream trailers: metadata "x-bad-bin" is not base64/);
  });
});
