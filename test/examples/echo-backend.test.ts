// The test.Echo backend on its own: each behaviour the proxy tests rely on, checked directly.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { EchoBackend, EchoResponse, EchoServiceClient } from '../support/echo-backend.js';
import {
  echoClient,
  echoServerStream,
  echoUnary,
  echoUnaryOk,
  patternPayload,
  startEchoBackend,
} from '../support/echo-backend.js';

function isPattern(payload: Buffer): boolean {
  for (let i = 0; i < payload.length; i++) if (payload[i] !== i % 251) return false;
  return true;
}

/**
 * Resolves with a reading call's status once its readable side has ended too ('status' may
 * come first). Errors are reported through the status, so they are swallowed here.
 */
function finished(call: grpc.ClientReadableStream<unknown>): Promise<grpc.StatusObject> {
  call.on('error', () => {});
  return new Promise((resolve) => {
    let status: grpc.StatusObject | undefined;
    let ended = false;
    call.on('status', (received: grpc.StatusObject) => {
      status = received;
      if (ended) resolve(status);
    });
    call.on('end', () => {
      ended = true;
      if (status) resolve(status);
    });
  });
}

/** A varint-encoded protobuf field, enough to build an EchoRequest by hand. */
function varintField(field: number, value: number): Buffer {
  const bytes = [(field << 3) | 0];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

void describe('echo backend', () => {
  let a: EchoBackend;
  let b: EchoBackend;
  let clientA: EchoServiceClient;
  let clientB: EchoServiceClient;

  before(async () => {
    [a, b] = await Promise.all([startEchoBackend({ name: 'a' }), startEchoBackend({ name: 'b' })]);
    clientA = echoClient(a.address);
    clientB = echoClient(b.address);
  });

  after(async () => {
    clientA.close();
    clientB.close();
    a.kill();
    b.kill();
    await Promise.all([a.close(), b.close()]);
  });

  void test('each backend answers with its own name in the body and the x-backend header', async () => {
    const [fromA, fromB] = await Promise.all([
      echoUnary(clientA, { payload: Buffer.from('ping a') }),
      echoUnary(clientB, { payload: Buffer.from('ping b') }),
    ]);
    assert.equal(fromA.status.code, grpc.status.OK);
    assert.equal(fromA.response?.backend, 'a');
    assert.equal(fromA.response?.payload.toString(), 'ping a');
    assert.deepEqual(fromA.headers?.get('x-backend'), ['a']);
    assert.equal(fromB.response?.backend, 'b');
    assert.deepEqual(fromB.headers?.get('x-backend'), ['b']);
  });

  void test('x-echo-* metadata comes back in headers and trailers, -bin values intact', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-echo-color', 'blue');
    metadata.add('x-echo-multi', 'one');
    metadata.add('x-echo-multi', 'two');
    const blob = Buffer.from([0, 255, 1, 128, 10, 13]);
    metadata.set('x-echo-blob-bin', blob);
    metadata.set('x-other', 'not reflected');
    const result = await echoUnary(clientA, { payload: Buffer.from('m') }, { metadata });
    assert.equal(result.status.code, grpc.status.OK);
    const headers = result.headers;
    assert.ok(headers);
    assert.deepEqual(headers.get('x-echo-h-color'), ['blue']);
    // HTTP/2 may join repeated fields into one "a, b" value; both forms mean the same.
    assert.equal(headers.get('x-echo-h-multi').join(', '), 'one, two');
    assert.deepEqual(headers.get('x-echo-h-blob-bin'), [blob]);
    assert.deepEqual(headers.get('x-echo-t-color'), []);
    assert.deepEqual(headers.get('x-echo-h-other'), []);
    const trailers = result.status.metadata;
    assert.deepEqual(trailers.get('x-echo-t-color'), ['blue']);
    assert.equal(trailers.get('x-echo-t-multi').join(', '), 'one, two');
    assert.deepEqual(trailers.get('x-echo-t-blob-bin'), [blob]);
    assert.deepEqual(trailers.get('x-echo-h-color'), []);
    assert.equal(a.lastMetadata?.get('x-other')[0], 'not reflected');

    const stream = await echoServerStream(clientA, { responseCount: 2 }, { metadata });
    assert.deepEqual(stream.headers?.get('x-echo-h-blob-bin'), [blob]);
    assert.equal(stream.status.metadata.get('x-echo-t-multi').join(', '), 'one, two');
  });

  void test('a status code ends the call with that status and a non-ASCII message', async () => {
    const message = 'nicht verfügbar – 利用不可 ✗ 100%';
    const metadata = new grpc.Metadata();
    metadata.set('x-echo-id', '7');
    const result = await echoUnary(
      clientB,
      { statusCode: grpc.status.FAILED_PRECONDITION, statusMessage: message },
      { metadata },
    );
    assert.equal(result.status.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(result.status.details, message);
    assert.equal(result.error?.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(result.response, undefined);
    assert.deepEqual(result.headers?.get('x-backend'), ['b']);
    assert.deepEqual(result.status.metadata.get('x-echo-t-id'), ['7']);

    const stream = await echoServerStream(clientB, {
      responseCount: 3,
      statusCode: grpc.status.RESOURCE_EXHAUSTED,
      statusMessage: message,
    });
    assert.equal(stream.messages, 3, 'messages come first, then the status');
    assert.equal(stream.status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(stream.status.details, message);
  });

  void test('trailers_only fails before any header, so grpc-js sees no response headers', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-echo-id', '8');
    const result = await echoUnary(
      clientA,
      { statusCode: grpc.status.UNAVAILABLE, statusMessage: 'gone', trailersOnly: true },
      { metadata },
    );
    assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    assert.equal(result.status.details, 'gone');
    assert.equal(result.headers, undefined);
    assert.deepEqual(result.status.metadata.get('x-backend'), ['a']);
    assert.deepEqual(result.status.metadata.get('x-echo-h-id'), ['8']);
    assert.deepEqual(result.status.metadata.get('x-echo-t-id'), ['8']);

    const stream = await echoServerStream(clientA, {
      statusCode: grpc.status.ABORTED,
      trailersOnly: true,
    });
    assert.equal(stream.status.code, grpc.status.ABORTED);
    assert.equal(stream.headers, undefined);
    assert.equal(stream.messages, 0);
  });

  void test('trailers_only is a single HEADERS frame with END_STREAM on the wire', async () => {
    // EchoRequest { status_code = 14; trailers_only = true } encoded by hand.
    const body = Buffer.concat([varintField(4, 14), varintField(7, 1)]);
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const session = http2.connect(`http://${a.address}`);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/test.Echo/Unary',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.end(frame);
      let trailersEvent = false;
      stream.on('trailers', () => (trailersEvent = true));
      const [headers, flags] = (await once(stream, 'response')) as [
        http2.IncomingHttpHeaders,
        number,
      ];
      assert.equal(headers[':status'], 200);
      assert.equal(headers['grpc-status'], '14');
      assert.equal(headers['x-backend'], 'a');
      assert.ok(flags & http2.constants.NGHTTP2_FLAG_END_STREAM, 'headers end the stream');
      stream.resume();
      await once(stream, 'close');
      assert.equal(trailersEvent, false);
    } finally {
      session.close();
    }
  });

  void test('delay_ms holds the answer back', async () => {
    const started = performance.now();
    const response = await echoUnaryOk(clientB, { payload: Buffer.from('slow'), delayMs: 150 });
    assert.ok(performance.now() - started >= 140, 'answered after the delay');
    assert.equal(response.payload.toString(), 'slow');
  });

  void test('a cancelled delayed call is seen by the backend and stops waiting', async () => {
    const cancelledBefore = a.cancelled;
    const seen = once(a.events, 'cancelled');
    const started = performance.now();
    const result = await echoUnary(clientA, { delayMs: 10_000 }, { deadlineMs: 100 });
    assert.equal(result.status.code, grpc.status.DEADLINE_EXCEEDED);
    assert.deepEqual(await seen, ['Unary']);
    assert.ok(performance.now() - started < 5000);
    assert.equal(a.cancelled, cancelledBefore + 1);

    const seenStream = once(a.events, 'cancelled');
    const call = clientA.ServerStream({ delayMs: 10_000, responseCount: 1 });
    call.on('error', () => {});
    await once(call, 'metadata');
    call.cancel();
    assert.deepEqual(await seenStream, ['ServerStream']);
    assert.equal(a.cancelled, cancelledBefore + 2);

    // Calls that end normally are not counted, although grpc-js fires 'cancelled' for them.
    await echoUnaryOk(clientA, {});
    await echoServerStream(clientA, { responseCount: 2 });
    await sleep(50);
    assert.equal(a.cancelled, cancelledBefore + 2);
  });

  void test('ServerStream sends response_count patterned messages of response_size', async () => {
    const seen: number[] = [];
    const call = clientB.ServerStream({ responseCount: 5, responseSize: 1000 });
    for await (const message of call as AsyncIterable<EchoResponse>) {
      assert.equal(message.payload.length, 1000);
      assert.ok(isPattern(message.payload));
      assert.equal(message.backend, 'b');
      seen.push(message.index);
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  void test('ClientStream counts the messages and bytes it received', async () => {
    let headers: grpc.Metadata | undefined;
    const response = await new Promise<EchoResponse>((resolve, reject) => {
      const call = clientA.ClientStream(new grpc.Metadata(), {}, (error, value) =>
        error || !value ? reject(error ?? new Error('no response')) : resolve(value),
      );
      call.on('metadata', (metadata) => (headers = metadata));
      for (let i = 0; i < 10; i++) call.write({ payload: patternPayload(1000) });
      call.end();
    });
    assert.equal(response.receivedMessages, 10);
    assert.equal(response.receivedBytes, 10_000);
    assert.equal(response.backend, 'a');
    assert.deepEqual(headers?.get('x-backend'), ['a']);
  });

  void test('ClientStream fails at once when its first message asks for a status', async () => {
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = clientA.ClientStream(new grpc.Metadata(), {}, () => {});
      call.on('status', resolve);
      call.write({ statusCode: grpc.status.PERMISSION_DENIED, statusMessage: 'no' });
      // No end(): the answer must not wait for the client to finish sending.
    });
    assert.equal(status.code, grpc.status.PERMISSION_DENIED);
  });

  void test('Bidi echoes each message in order, with its index', async () => {
    const call = clientB.Bidi();
    const received: string[] = [];
    call.on('data', (message: EchoResponse) => {
      received.push(`${message.index}:${message.payload.toString()}:${message.backend}`);
    });
    const done = finished(call);
    call.write({ payload: Buffer.from('x') });
    call.write({ payload: Buffer.from('y'), delayMs: 30 });
    call.write({ payload: Buffer.from('z') });
    call.end();
    const finalStatus = await done;
    assert.equal(finalStatus.code, grpc.status.OK);
    assert.deepEqual(received, ['0:x:b', '1:y:b', '2:z:b']);
  });

  void test('ServerStream waits for drain: a paused reader stalls a 64 MiB stream', async (t) => {
    const backend = await startEchoBackend({ name: 'bp' });
    const client = echoClient(backend.address);
    try {
      const messageSize = 64 * 1024;
      const count = 1024; // 64 MiB in total
      const call = client.ServerStream({ responseCount: count, responseSize: messageSize });
      let received = 0;
      let bytes = 0;
      const done = finished(call);
      call.on('data', (message: EchoResponse) => {
        received++;
        bytes += message.payload.length;
        if (received === 1) call.pause();
      });
      // Let the backend write everything it is allowed to while nobody reads: wait until the
      // count has not moved for 300 ms (at most 10 s, for slow machines), then once more.
      let writtenEarly = -1;
      for (let waited = 0; waited < 10_000; waited += 300) {
        const now = backend.writes.messagesWritten;
        if (now === writtenEarly || now === count) break;
        writtenEarly = now;
        await sleep(300);
      }
      await sleep(300);
      const writtenLate = backend.writes.messagesWritten;
      t.diagnostic(`written ahead of a paused reader: ${writtenLate} messages`);
      assert.equal(writtenLate, writtenEarly, 'no writes while the reader is paused');
      // Flow-control windows and grpc-js's 16-message queue bound what can be in flight.
      assert.ok(
        writtenLate * messageSize < 16 * 1024 * 1024,
        `${writtenLate} messages (${(writtenLate * messageSize) / 2 ** 20} MiB) written ahead`,
      );
      assert.ok(backend.writes.drainWaits >= 1, 'the backend waited for drain');
      assert.ok(backend.writes.maxBufferedMessages <= 16, 'never queued past the high-water mark');
      call.resume();
      const finalStatus = await done;
      assert.equal(finalStatus.code, grpc.status.OK);
      assert.equal(received, count);
      assert.equal(bytes, count * messageSize);
      assert.equal(backend.writes.messagesWritten, count);
      assert.ok(backend.writes.drainWaits >= 2);
    } finally {
      client.close();
      backend.kill();
    }
  });
});
