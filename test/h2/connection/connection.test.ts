// The connection layer client ↔ server over loopback: unary and streaming calls, bodies larger
// than the windows, many streams sharing a window, PING, RST both ways, GOAWAY drain, limits.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  H2OpenRefusal,
  H2Stream,
  StreamOutcome,
  StreamState,
} from '../../../h2/connection/index.js';
import { ErrorCode } from '../../../h2/frames/index.js';
import { connectedPair, type Pair, REQUEST, type StreamRecord, until } from './h2-pair.js';

const pairs: Pair[] = [];
after(() => {
  for (const p of pairs) p.close();
});

async function pair(...args: Parameters<typeof connectedPair>): Promise<Pair> {
  const p = await connectedPair(...args);
  pairs.push(p);
  return p;
}

function open(p: Pair, endStream = false, fields = REQUEST): [H2Stream, StreamRecord] {
  const stream = p.client.request(fields, endStream, p.recorder);
  assert.ok(stream instanceof H2Stream, `request refused: ${(stream as H2OpenRefusal).reason}`);
  return [stream, p.recorder.track(stream)];
}

function body(record: StreamRecord): Buffer {
  return Buffer.concat(record.data);
}

test('a unary call: headers, one DATA with END_STREAM, response and trailers', async () => {
  const p = await pair();
  const [stream, record] = open(p);
  assert.equal(stream.state, StreamState.OPEN);
  assert.equal(stream.write(Buffer.from('hello'), true), true);
  assert.equal(stream.state, StreamState.HALF_CLOSED_LOCAL);
  await record.done;
  assert.equal(record.outcome, StreamOutcome.COMPLETE);
  assert.deepEqual(record.headers, [':status', '200', 'content-type', 'application/grpc']);
  assert.equal(body(record).toString(), 'hello');
  assert.deepEqual(record.trailers, ['grpc-status', '0']);
  assert.equal(stream.state, StreamState.CLOSED);
  assert.deepEqual(p.echo.requests[0], REQUEST);
  await until(() => p.server.activeStreams === 0);
  assert.equal(p.client.activeStreams, 0);
});

test('a unary call costs one socket write per direction', async () => {
  const p = await pair();
  // Warm up (the first exchange also carries SETTINGS ACKs and window updates).
  const [warm, warmRecord] = open(p);
  warm.write(Buffer.from('x'), true);
  await warmRecord.done;
  await new Promise((r) => setTimeout(r, 20));
  let clientWrites = 0;
  let serverWrites = 0;
  const cw = p.clientSocket.write.bind(p.clientSocket);
  const sw = p.serverSocket.write.bind(p.serverSocket);
  p.clientSocket.write = (chunk: Buffer) => (clientWrites++, cw(chunk));
  p.serverSocket.write = (chunk: Buffer) => (serverWrites++, sw(chunk));
  const [stream, record] = open(p);
  stream.write(Buffer.from('ping'), true);
  await record.done;
  assert.equal(clientWrites, 1);
  assert.equal(serverWrites, 1);
});

test('repeated fields stay separate, in order', async () => {
  const p = await pair();
  const fields = [...REQUEST, 'x-a', '1', 'x-b', '2', 'x-a', '3'];
  const [, record] = open(p, true, fields);
  await record.done;
  assert.deepEqual(p.echo.requests[0], fields);
});

test('a streaming call: messages echoed as they arrive', async () => {
  const p = await pair();
  const [stream, record] = open(p);
  for (let i = 0; i < 20; i++) {
    stream.write(Buffer.from(`message ${i};`));
    await until(() => body(record).toString().includes(`message ${i};`));
  }
  stream.end();
  await record.done;
  assert.equal(record.outcome, StreamOutcome.COMPLETE);
  assert.equal(body(record).toString().split(';').length, 21);
});

test('8 MiB each way through 16 KiB stream windows', async () => {
  const p = await pair({ streamWindow: 16_384 }, { streamWindow: 16_384 });
  const [stream, record] = open(p);
  const payload = Buffer.alloc(8 << 20);
  for (let i = 0; i < payload.length; i += 4) payload.writeUInt32BE(i, i);
  let ok = stream.write(payload, true);
  assert.equal(ok, false, 'most of it is queued behind the window');
  await record.done;
  assert.equal(record.outcome, StreamOutcome.COMPLETE);
  assert.ok(body(record).equals(payload));
  ok = record.drains > 0;
  assert.ok(ok, 'onDrain followed the false write');
});

test('a client that does not consume holds the server back, then releases it', async () => {
  const p = await pair({ streamWindow: 32_768 }, { streamWindow: 32_768 });
  p.recorder.consume = false;
  const [stream, record] = open(p);
  stream.write(Buffer.alloc(200_000, 7), true);
  await new Promise((r) => setTimeout(r, 100));
  const got = body(record).length;
  assert.ok(got <= 65_535, `the server sent ${got} octets without credit`);
  assert.ok(got > 0);
  // Credit as we go: everything arrives.
  p.recorder.consume = true;
  stream.consume(got);
  await record.done;
  assert.equal(body(record).length, 200_000);
});

test('50 streams share the connection window without deadlock', async () => {
  const p = await pair(
    { connectionWindow: 65_535, streamWindow: 1 << 20 },
    { connectionWindow: 65_535 },
  );
  const records: StreamRecord[] = [];
  for (let i = 0; i < 50; i++) {
    const [stream, record] = open(p);
    stream.write(Buffer.alloc(100_000, i), true);
    records.push(record);
  }
  await Promise.all(records.map((r) => r.done));
  records.forEach((r, i) => {
    assert.equal(r.outcome, StreamOutcome.COMPLETE);
    assert.ok(body(r).equals(Buffer.alloc(100_000, i)), `stream ${i}`);
  });
});

test('PING gets its ACK and a round-trip time', async () => {
  const p = await pair();
  const rtt = await new Promise<number>((resolve) => assert.equal(p.client.ping(resolve), true));
  assert.ok(rtt >= 0);
  assert.equal(p.server.counters.pingsReceived, 1);
});

test('RST_STREAM from the client ends the server stream with its code', async () => {
  const p = await pair();
  const [stream, record] = open(p);
  await until(() => p.echo.requests.length === 1);
  stream.reset(ErrorCode.CANCEL);
  await record.done;
  assert.equal(record.outcome, StreamOutcome.RESET);
  await until(() => p.echo.outcomes.length === 1);
  assert.deepEqual(p.echo.outcomes[0], [1, StreamOutcome.RESET, ErrorCode.CANCEL]);
});

test('RST_STREAM from the server reaches the client', async () => {
  const p = await pair();
  p.echo.onRequest = (s) => s.reset(ErrorCode.INTERNAL_ERROR);
  const [, record] = open(p);
  await record.done;
  assert.equal(record.outcome, StreamOutcome.RESET);
  assert.equal(record.code, ErrorCode.INTERNAL_ERROR);
});

test('REFUSED_STREAM from the server reports the stream as refused', async () => {
  const p = await pair();
  p.echo.onRequest = (s) => s.reset(ErrorCode.REFUSED_STREAM);
  const [, record] = open(p, true);
  await record.done;
  assert.equal(record.outcome, StreamOutcome.REFUSED);
});

test('GOAWAY drain: open streams finish, streams above the last id are refused', async () => {
  const p = await pair();
  let first = true;
  p.echo.onRequest = () => {
    if (first) p.server.close();
    first = false;
  };
  // Both requests leave in one write, so the server closes before it reads the second.
  const [s1, r1] = open(p);
  const [, r2] = open(p, true);
  await r2.done;
  assert.equal(r2.outcome, StreamOutcome.REFUSED);
  assert.deepEqual(p.recorder.goaway, [1, ErrorCode.NO_ERROR]);
  assert.equal(p.client.openRefusal(), H2OpenRefusal.CLOSING);
  assert.equal(p.client.request(REQUEST, true, p.recorder), H2OpenRefusal.CLOSING);
  // Stream 1 still completes; then both sides close cleanly.
  s1.write(Buffer.from('last'), true);
  await r1.done;
  assert.equal(r1.outcome, StreamOutcome.COMPLETE);
  assert.equal(body(r1).toString(), 'last');
  await until(() => p.server.closed && p.client.closed);
  assert.equal(p.echo.closedWith, null);
  assert.equal(p.recorder.closedWith, null);
});

test("the peer's max concurrent streams is reported and kept to", async () => {
  const p = await pair({ maxConcurrentStreams: 2 });
  assert.equal(p.client.peerMaxConcurrentStreams, 2);
  open(p);
  open(p);
  assert.equal(p.client.openRefusal(), H2OpenRefusal.MAX_STREAMS);
  assert.equal(p.client.request(REQUEST, true, p.recorder), H2OpenRefusal.MAX_STREAMS);
});

test('stream ids run out before 2^31: reported, then refused', async () => {
  const p = await pair({}, { maxStreamId: 5 });
  assert.equal(p.client.streamIdsLeft, 3);
  const records = [open(p, true)[1], open(p, true)[1], open(p, true)[1]];
  assert.equal(p.client.streamIdsLeft, 0);
  assert.equal(p.client.request(REQUEST, true, p.recorder), H2OpenRefusal.IDS_EXHAUSTED);
  await Promise.all(records.map((r) => r.done));
});

test('a larger initial window from SETTINGS applies to open streams', async () => {
  // The server announces 1 MiB after the client opened with the default 65,535 in mind.
  const p = await pair({ streamWindow: 1 << 20 });
  const [stream, record] = open(p);
  stream.write(Buffer.alloc(300_000, 1), true);
  await record.done;
  assert.equal(body(record).length, 300_000);
});
