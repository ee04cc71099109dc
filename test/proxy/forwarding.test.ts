// End to end through the real proxy: every call kind, metadata both ways, statuses and
// trailers-only answers arrive as the backend sent them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoServerStream,
  echoUnary,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
  type EchoResponse,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import { startTestProxy, type TestProxy } from '../support/proxy-harness.js';
import { grpcFrame, grpcHeaders, rawRequest } from '../support/raw-h2.js';

describe('forwarding through the proxy', () => {
  let a: EchoBackend;
  let b: EchoBackend;
  let proxy: TestProxy;
  let client: EchoServiceClient;

  before(async () => {
    // Room for the 8 MiB test; grpc-js servers take 4 MiB by default.
    const serverOptions = {
      'grpc.max_receive_message_length': 16 << 20,
      'grpc.max_send_message_length': 16 << 20,
    };
    a = await startEchoBackend({ name: 'a', serverOptions });
    b = await startEchoBackend({ name: 'b', serverOptions });
    proxy = await startTestProxy({ upstream: [a.address, b.address] });
    client = echoClient(proxy.target);
  });
  after(async () => {
    client.close();
    await proxy.close();
    a.kill();
    b.kill();
  });

  it('forwards unary calls and spreads them over both backends', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await echoUnaryOk(client, { payload: Buffer.from(`hello ${i}`) });
      assert.equal(res.payload.toString(), `hello ${i}`);
      seen.add(res.backend);
    }
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  it('forwards server-streaming calls', async () => {
    const result = await echoServerStream(client, { responseCount: 50, responseSize: 1000 });
    assert.equal(result.status.code, grpc.status.OK);
    assert.equal(result.messages, 50);
    assert.equal(result.bytes, 50_000);
  });

  it('forwards client-streaming calls', async () => {
    const res = await new Promise<EchoResponse>((resolve, reject) => {
      const call = client.ClientStream(new grpc.Metadata(), {}, (err, value) =>
        err ? reject(err) : resolve(value!),
      );
      for (let i = 0; i < 20; i++) call.write({ payload: Buffer.alloc(100, i) });
      call.end();
    });
    assert.equal(res.receivedMessages, 20);
    assert.equal(Number(res.receivedBytes), 2000);
  });

  it('forwards bidirectional calls message by message', async () => {
    const call = client.Bidi();
    const received: string[] = [];
    const done = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('data', (m: EchoResponse) => received.push(m.payload.toString()));
    for (let i = 0; i < 5; i++) {
      call.write({ payload: Buffer.from(`ping ${i}`) });
      // Each answer arrives before the next request is sent: nothing waits for the stream's end.
      await new Promise<void>((resolve) => call.once('data', () => resolve()));
    }
    call.end();
    assert.equal((await done).code, grpc.status.OK);
    assert.deepEqual(
      received,
      [0, 1, 2, 3, 4].map((i) => `ping ${i}`),
    );
  });

  it('passes metadata, including -bin keys, both ways', async () => {
    const md = new grpc.Metadata();
    md.set('x-echo-text', 'hello');
    md.set('x-echo-blob-bin', Buffer.from([0, 1, 2, 254, 255]));
    const result = await echoUnary(client, { payload: Buffer.from('x') }, { metadata: md });
    assert.equal(result.status.code, grpc.status.OK);
    assert.deepEqual(result.headers?.get('x-echo-h-text'), ['hello']);
    assert.deepEqual(result.headers?.get('x-echo-h-blob-bin'), [Buffer.from([0, 1, 2, 254, 255])]);
    assert.deepEqual(result.status.metadata.get('x-echo-t-text'), ['hello']);
    assert.deepEqual(result.status.metadata.get('x-echo-t-blob-bin'), [
      Buffer.from([0, 1, 2, 254, 255]),
    ]);
    assert.ok(
      a.lastMetadata?.get('x-echo-text').length || b.lastMetadata?.get('x-echo-text').length,
    );
  });

  it('passes status codes and messages, including non-ASCII text', async () => {
    const message = 'nicht gefunden: Grüße, 日本語, ✓ 100%';
    const result = await echoUnary(client, {
      statusCode: grpc.status.NOT_FOUND,
      statusMessage: message,
    });
    assert.equal(result.status.code, grpc.status.NOT_FOUND);
    assert.equal(result.status.details, message);
    const failed = await echoUnary(client, {
      statusCode: grpc.status.PERMISSION_DENIED,
      statusMessage: 'no',
    });
    assert.equal(failed.status.code, grpc.status.PERMISSION_DENIED);
  });

  it('keeps a trailers-only answer trailers-only', async () => {
    const req = Buffer.from([0x20, grpc.status.FAILED_PRECONDITION, 0x38, 1]); // status_code=9, trailers_only=true
    const res = await rawRequest(proxy.target, grpcHeaders('/test.Echo/Unary'), grpcFrame(req));
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.endStreamOnHeaders, true);
    assert.equal(res.headers['grpc-status'], String(grpc.status.FAILED_PRECONDITION));
    assert.equal(res.body.length, 0);
    assert.equal(res.trailers, undefined);
  });

  it('answers a normal call with headers, data and trailers', async () => {
    const res = await rawRequest(
      proxy.target,
      grpcHeaders('/test.Echo/Unary'),
      grpcFrame(Buffer.alloc(0)),
    );
    assert.equal(res.endStreamOnHeaders, false);
    assert.equal(res.headers['content-type'], 'application/grpc+proto');
    assert.ok(res.headers['x-backend']);
    assert.equal(res.trailers?.['grpc-status'], '0');
  });

  it('answers UNIMPLEMENTED for a method the backend lacks', async () => {
    const res = await rawRequest(
      proxy.target,
      grpcHeaders('/test.Echo/Missing'),
      grpcFrame(Buffer.alloc(0)),
    );
    assert.equal(
      res.headers['grpc-status'] ?? res.trailers?.['grpc-status'],
      String(grpc.status.UNIMPLEMENTED),
    );
  });

  it('carries 1,000 concurrent calls over one client channel', async () => {
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        echoUnary(client, { payload: Buffer.from(String(i)) }),
      ),
    );
    const failed = results.filter((r) => r.status.code !== grpc.status.OK);
    assert.equal(failed.length, 0, failed[0]?.status.details);
    results.forEach((r, i) => assert.equal(r.response?.payload.toString(), String(i)));
  });

  it('carries an 8 MiB message each way', async () => {
    const big = echoClient(proxy.target, {
      channelOptions: {
        'grpc.max_receive_message_length': 16 << 20,
        'grpc.max_send_message_length': 16 << 20,
      },
    });
    try {
      const payload = Buffer.alloc(8 << 20, 7);
      payload[12345] = 1;
      const res = await echoUnaryOk(big, { payload });
      assert.equal(res.payload.length, 8 << 20);
      assert.ok(res.payload.equals(payload));
    } finally {
      big.close();
    }
  });
});
