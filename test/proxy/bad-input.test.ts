// Bad input is refused cleanly and the proxy keeps serving everyone else: non-gRPC requests,
// HTTP/1.1, malformed messages and deadlines, silent or garbage-speaking clients.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import {
  ErrorCode,
  FrameType,
  RawH2Connection,
  grpcRequestFields,
  headersFrame,
  parseGoaway,
} from '../support/h2-wire.js';
import { startTestProxy, type TestProxy } from '../support/proxy-harness.js';
import { grpcHeaders, rawRequest } from '../support/raw-h2.js';

function rawTcp(
  target: string,
  send: Buffer | string | undefined,
): Promise<{ data: string; closedAfterMs: number }> {
  const [host, port] = target.split(':');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), host, () => {
      if (send !== undefined) socket.write(send);
    });
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ data, closedAfterMs: Date.now() - started }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the proxy left the connection open'));
    }, 5_000).unref();
  });
}

describe('bad input', () => {
  let backend: EchoBackend;
  let proxy: TestProxy;
  let client: EchoServiceClient;

  before(async () => {
    backend = await startEchoBackend({ name: 'b' });
    proxy = await startTestProxy({
      upstream: backend.address,
      listener: { handshakeTimeoutMs: 300, idleTimeoutMs: 1_000 },
      routes: [
        { name: 'blocked', match: { prefix: '/blocked.', headers: [] }, cluster: 'nowhere' },
      ],
    });
    client = echoClient(proxy.target);
  });
  after(async () => {
    client.close();
    await proxy.close();
    backend.kill();
  });

  /** After each kind of bad input, a normal call still works. */
  async function stillServing() {
    const res = await echoUnaryOk(client, { payload: Buffer.from('ok') });
    assert.equal(res.payload.toString(), 'ok');
  }

  it('answers a non-POST HTTP/2 request with 405', async () => {
    const res = await rawRequest(proxy.target, { ':method': 'GET', ':path': '/' }, undefined);
    assert.equal(res.headers[':status'], 405);
    assert.match(res.body.toString(), /POST/);
    await stillServing();
  });

  it('answers a non-gRPC content type with 415', async () => {
    const res = await rawRequest(
      proxy.target,
      { ':method': 'POST', ':path': '/test.Echo/Unary', 'content-type': 'application/json' },
      Buffer.from('{}'),
    );
    assert.equal(res.headers[':status'], 415);
    assert.match(res.body.toString(), /application\/grpc/);
    await stillServing();
  });

  it('answers an HTTP/1.1 request on the h2c port with a readable error', async () => {
    const { data } = await rawTcp(
      proxy.target,
      'POST /test.Echo/Unary HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    );
    assert.match(data, /^HTTP\/1\.1 505 /);
    assert.match(data, /HTTP\/2/);
    await stillServing();
  });

  it('closes a connection that sends nothing, after the handshake timeout', async () => {
    const { closedAfterMs, data } = await rawTcp(proxy.target, undefined);
    assert.equal(data, '');
    assert.ok(closedAfterMs >= 250 && closedAfterMs < 3_000, `closed after ${closedAfterMs} ms`);
    await stillServing();
  });

  it('closes a connection that sends bytes that are neither HTTP/2 nor HTTP/1', async () => {
    const { data } = await rawTcp(
      proxy.target,
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
    );
    assert.equal(data, '');
    await stillServing();
  });

  it('answers a protocol violation with GOAWAY(PROTOCOL_ERROR) and reclaims the connection', async () => {
    const garbage = Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
      Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), // empty SETTINGS
      Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x00]), // DATA on stream 0: a connection error
    ]);
    const { data, closedAfterMs } = await rawTcp(proxy.target, garbage);
    const frames = Buffer.from(data, 'latin1');
    // GOAWAY: type 7 on stream 0, last stream 0, error code 1 (PROTOCOL_ERROR).
    const goaway = frames.indexOf(Buffer.from([0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert.ok(goaway > 0, `no GOAWAY(PROTOCOL_ERROR) in ${frames.toString('hex')}`);
    // nghttp2 stops reading and writing; the unanswerable PING gets the socket closed.
    assert.ok(closedAfterMs < 4_000, `closed after ${closedAfterMs} ms`);
    await stillServing();
  });

  it('answers HEADERS on an even stream id with GOAWAY(PROTOCOL_ERROR) and closes', async () => {
    // RFC 9113 §5.1.1: streams a client opens have odd ids; anything else is a connection
    // error of type PROTOCOL_ERROR.
    const conn = await RawH2Connection.open(proxy.port);
    try {
      conn.write(headersFrame(2, grpcRequestFields('/test.Echo/Unary'), { endStream: true }));
      const goaway = await conn.waitFor((f) => f.type === FrameType.GOAWAY);
      assert.ok(goaway, 'no GOAWAY');
      assert.equal(parseGoaway(goaway).code, ErrorCode.PROTOCOL_ERROR);
      assert.ok(await conn.waitClosed(3_000), 'the connection was left open');
    } finally {
      conn.destroy();
    }
    await stillServing();
  });

  it('returns a gRPC error, not a hang, for a malformed length prefix', async () => {
    // The prefix claims a 4 GiB message, then the stream ends after 3 bytes.
    const body = Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    const res = await rawRequest(proxy.target, grpcHeaders('/test.Echo/Unary'), body);
    const status = res.headers['grpc-status'] ?? res.trailers?.['grpc-status'];
    assert.ok(status !== undefined && status !== '0', `got grpc-status ${String(status)}`);
    await stillServing();
  });

  it('answers INVALID_ARGUMENT for a malformed grpc-timeout', async () => {
    const res = await rawRequest(
      proxy.target,
      grpcHeaders('/test.Echo/Unary', { 'grpc-timeout': 'soon' }),
      Buffer.alloc(5),
    );
    assert.equal(res.headers['grpc-status'], String(grpc.status.INVALID_ARGUMENT));
    assert.equal(res.endStreamOnHeaders, true);
    await stillServing();
  });

  it('answers UNIMPLEMENTED for a route to a cluster that does not exist', async () => {
    const res = await rawRequest(proxy.target, grpcHeaders('/blocked.Svc/Call'), Buffer.alloc(5));
    assert.equal(res.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  });

  it('resets a stream the client abandons before sending its body, without leaking it', async () => {
    const session = http2.connect(`http://${proxy.target}`);
    session.on('error', () => {});
    const stream = session.request(grpcHeaders('/test.Echo/Unary'), { endStream: false });
    stream.on('error', () => {});
    await new Promise((r) => setTimeout(r, 50));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise<void>((resolve) => stream.on('close', () => resolve()));
    session.close();
    await stillServing();
  });
});
