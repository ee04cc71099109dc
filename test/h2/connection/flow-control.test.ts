// Sending within the peer's windows (also when SETTINGS shrink them below zero), socket write
// backpressure, and the client role against a raw server (GOAWAY, garbage, push).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import type { H2Stream } from '../../../h2/connection/index.js';
import {
  H2Connection,
  type H2ConnectionError,
  type H2StreamHandler,
  StreamOutcome,
} from '../../../h2/connection/index.js';
import {
  dataFrame,
  ErrorCode,
  Flag,
  FrameType,
  goawayFrame,
  grpcRequestFields,
  headersFrame,
  parseGoaway,
  RawH2Connection,
  type RawH2Server,
  SETTINGS_ACK,
  settingsFrame,
  startRawH2Server,
  windowUpdateFrame,
  frame,
} from '../../support/h2-wire.js';
import { type EchoListener, RecordingClient, REQUEST, startEchoListener } from './h2-pair.js';

const cleanup: Array<() => unknown> = [];
after(async () => {
  // Last made, first closed: sockets before the servers that wait for them.
  for (const c of cleanup.reverse()) await c();
});

async function listen(
  options: Parameters<typeof startEchoListener>[0] = {},
): Promise<EchoListener> {
  const l = await startEchoListener(options);
  cleanup.push(() => l.close());
  return l;
}

async function raw(port: number, settings: Record<number, number> = {}): Promise<RawH2Connection> {
  const c = await RawH2Connection.open(port, { settings });
  cleanup.push(() => c.destroy());
  return c;
}

function dataBytes(c: RawH2Connection, streamId: number): number {
  return c.received(FrameType.DATA, streamId).reduce((n, f) => n + f.payload.length, 0);
}

const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));

test("sending stops at the peer's stream window and resumes on WINDOW_UPDATE", async () => {
  const l = await listen();
  const c = await raw(l.port, { 0x4: 100 }); // SETTINGS_INITIAL_WINDOW_SIZE 100
  c.write(headersFrame(1, grpcRequestFields('/a')));
  c.write(dataFrame(1, Buffer.alloc(1_000, 1), true)); // echoed back: 1,000 octets to send
  await settle();
  assert.equal(dataBytes(c, 1), 100);
  c.write(windowUpdateFrame(1, 400));
  await settle();
  assert.equal(dataBytes(c, 1), 500);
  c.write(windowUpdateFrame(1, 500));
  const trailers = await c.waitFor(
    (f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0,
  );
  assert.ok(trailers, 'trailers follow the last DATA');
  assert.equal(dataBytes(c, 1), 1_000);
});

test('SETTINGS_INITIAL_WINDOW_SIZE lowered below what was sent: the window goes negative, then recovers', async () => {
  const l = await listen();
  const c = await raw(l.port, { 0x4: 300 });
  c.write(headersFrame(1, grpcRequestFields('/a')));
  c.write(dataFrame(1, Buffer.alloc(1_000, 1), true));
  await settle();
  assert.equal(dataBytes(c, 1), 300);
  c.write(settingsFrame({ 0x4: 100 })); // window 300 - 300 - 200 = -200
  c.write(windowUpdateFrame(1, 250)); // -200 + 250 = 50
  await settle();
  assert.equal(dataBytes(c, 1), 350);
  c.write(windowUpdateFrame(1, 1_000));
  await settle();
  assert.equal(dataBytes(c, 1), 1_000);
});

test('the connection window is shared: a stream waits for connection credit too', async () => {
  const l = await listen();
  const c = await raw(l.port, { 0x4: 1 << 20 });
  c.write(headersFrame(1, grpcRequestFields('/a')));
  c.write(headersFrame(3, grpcRequestFields('/a')));
  c.write(dataFrame(1, Buffer.alloc(16_000, 1), true));
  c.write(dataFrame(3, Buffer.alloc(16_000, 3), true));
  c.write(dataFrame(1, Buffer.alloc(0), false));
  // 65,535 connection octets are more than 32,000: both complete without a connection update.
  await settle();
  assert.equal(dataBytes(c, 1) + dataBytes(c, 3), 32_000);
  const d = await raw(l.port, { 0x4: 1 << 20 });
  const big = Buffer.alloc(16_000, 9);
  const frames: Buffer[] = [];
  for (const id of [1, 3, 5]) frames.push(headersFrame(id, grpcRequestFields('/a')));
  for (let i = 0; i < 3; i++) for (const id of [1, 3, 5]) frames.push(dataFrame(id, big, i === 2));
  d.write(Buffer.concat(frames)); // 144,000 octets to echo, 65,535 of connection window
  await settle(200);
  const sent = dataBytes(d, 1) + dataBytes(d, 3) + dataBytes(d, 5);
  assert.equal(sent, 65_535);
  // Turns a frame at a time: every stream got some.
  for (const id of [1, 3, 5]) assert.ok(dataBytes(d, id) > 0, `stream ${id} starved`);
  d.write(windowUpdateFrame(0, 1 << 20));
  await settle(200);
  assert.equal(dataBytes(d, 1) + dataBytes(d, 3) + dataBytes(d, 5), 144_000);
});

test('a client that stops reading: write() says wait, the socket buffer stays bounded, all arrives later', async () => {
  let producer: H2Stream | undefined;
  let falses = 0;
  let drains = 0;
  let sent = 0;
  const total = 64 << 20;
  const chunk = Buffer.alloc(64 << 10, 5);
  const produce = (stream: H2Stream) => {
    while (sent < total) {
      sent += chunk.length;
      if (!stream.write(chunk, sent >= total)) {
        falses++;
        return;
      }
    }
  };
  const handler: H2StreamHandler = {
    onHeaders() {},
    onData() {},
    onTrailers() {},
    onDrain(stream) {
      drains++;
      produce(stream);
    },
    onClose() {},
  };
  const server = net.createServer((socket) => {
    cleanup.push(() => socket.destroy());
    new H2Connection(
      socket,
      {
        onStream(stream) {
          producer = stream;
          stream.sendHeaders([':status', '200'], false);
          produce(stream);
          return handler;
        },
        onSettings() {},
        onGoaway() {},
        onClose() {},
      },
      { role: 'server' },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const port = (server.address() as net.AddressInfo).port;
  const socket = net.connect(port, '127.0.0.1');
  cleanup.push(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  // Huge windows: only the socket can hold the server back.
  socket.write(
    Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
      settingsFrame({ 0x4: 0x7fffffff }),
      SETTINGS_ACK,
      windowUpdateFrame(0, 0x7fffffff - 65_535),
      headersFrame(1, grpcRequestFields('/big'), { endStream: true }),
    ]),
  );
  socket.pause();
  await settle(300);
  assert.ok(producer, 'the request arrived');
  assert.ok(falses >= 1, 'write() asked the producer to wait');
  assert.ok(sent < 8 << 20, `the producer was held back (${sent} octets produced)`);
  let received = 0;
  socket.on('data', (d: Buffer) => (received += d.length));
  socket.resume();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received} octets arrived`)), 20_000);
    const check = setInterval(() => {
      if (received >= total) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 10);
  });
  assert.ok(drains >= 1);
  assert.equal(sent, total);
});

async function rawServer(
  answer: (socket: net.Socket, streamId: number) => void,
): Promise<RawH2Server> {
  const s = await startRawH2Server((socket, frames) => {
    socket.write(settingsFrame({}));
    frames((f) => {
      if (f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0) socket.write(SETTINGS_ACK);
      if (f.type === FrameType.HEADERS) answer(socket, f.streamId);
    });
  });
  cleanup.push(() => s.close());
  return s;
}

async function client(port: number): Promise<{
  conn: H2Connection;
  recorder: RecordingClient;
  closed: Promise<H2ConnectionError | null>;
}> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const recorder = new RecordingClient();
  let closedWith!: (e: H2ConnectionError | null) => void;
  const closed = new Promise<H2ConnectionError | null>((r) => (closedWith = r));
  const conn = new H2Connection(
    socket,
    {
      onStream: () => recorder.onStream(),
      onSettings() {},
      onGoaway: (l, c) => recorder.onGoaway(l, c),
      onClose: (e) => closedWith(e),
    },
    { role: 'client' },
  );
  cleanup.push(() => conn.destroy());
  return { conn, recorder, closed };
}

test('client role: GOAWAY from the server refuses streams above its last id, keeps the others', async () => {
  const s = await rawServer((socket, id) => {
    if (id === 3) socket.write(goawayFrame(1, ErrorCode.NO_ERROR));
    if (id === 1)
      setTimeout(
        () => socket.write(headersFrame(1, [[':status', '200']], { endStream: true })),
        50,
      );
  });
  const { conn, recorder, closed } = await client(s.port);
  const s1 = conn.request(REQUEST, true, recorder) as H2Stream;
  const r1 = recorder.track(s1);
  const r3 = recorder.track(conn.request(REQUEST, true, recorder) as H2Stream);
  await r3.done;
  assert.equal(r3.outcome, StreamOutcome.REFUSED);
  await r1.done;
  assert.equal(r1.outcome, StreamOutcome.COMPLETE);
  assert.equal(await closed, null);
});

test('client role: a server that answers garbage ends the connection; streams are LOST', async () => {
  const s = await rawServer((socket) =>
    socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')),
  );
  const { conn, recorder, closed } = await client(s.port);
  const r = recorder.track(conn.request(REQUEST, true, recorder) as H2Stream);
  await r.done;
  assert.equal(r.outcome, StreamOutcome.LOST);
  const error = await closed;
  assert.ok(error);
  assert.equal(error.remote, false);
});

test('client role: PUSH_PROMISE while push is disabled: GOAWAY(PROTOCOL_ERROR)', async () => {
  let goaway: number | undefined;
  const s = await startRawH2Server((socket, frames) => {
    socket.write(settingsFrame({}));
    frames((f) => {
      if (f.type === FrameType.HEADERS) {
        socket.write(
          frame(
            FrameType.PUSH_PROMISE,
            Flag.END_HEADERS,
            f.streamId,
            Buffer.from([0, 0, 0, 2, 0x82]),
          ),
        );
      }
      if (f.type === FrameType.GOAWAY) goaway = parseGoaway(f).code;
    });
  });
  cleanup.push(() => s.close());
  const { conn, recorder, closed } = await client(s.port);
  recorder.track(conn.request(REQUEST, true, recorder) as H2Stream);
  const error = await closed;
  assert.equal(error?.errorCode, ErrorCode.PROTOCOL_ERROR);
  await settle(50);
  assert.equal(goaway, ErrorCode.PROTOCOL_ERROR);
});
