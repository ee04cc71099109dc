// Bad and hostile peers against the server role, each with a raw frame client: the exact
// GOAWAY or RST_STREAM code RFC 9113 names, the counter, and a server that keeps serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConnectionErrorReason } from '../../../h2/connection/index.js';
import { FrameErrorReason } from '../../../h2/frames/index.js';
import {
  dataFrame,
  ErrorCode,
  Flag,
  frame,
  FrameType,
  goawayFrame,
  grpcRequestFields,
  headerBlock,
  headersFrame,
  parseGoaway,
  PREFACE,
  pingFrame,
  RawH2Connection,
  rstStreamFrame,
  SETTINGS_ACK,
  settingsFrame,
  windowUpdateFrame,
} from '../../support/h2-wire.js';
import { type EchoListener, startEchoListener } from './h2-pair.js';

const REQUEST = grpcRequestFields('/echo.Echo/Unary');
const listeners: EchoListener[] = [];
const conns: RawH2Connection[] = [];
let plain: EchoListener;

before(async () => {
  plain = await listen();
});
after(async () => {
  for (const c of conns) c.destroy();
  for (const l of listeners) await l.close();
});

async function listen(
  options: Parameters<typeof startEchoListener>[0] = {},
): Promise<EchoListener> {
  const l = await startEchoListener(options);
  listeners.push(l);
  return l;
}

async function raw(
  l: EchoListener,
  options: Parameters<typeof RawH2Connection.open>[1] = {},
): Promise<RawH2Connection> {
  const c = await RawH2Connection.open(l.port, options);
  conns.push(c);
  return c;
}

async function goaway(
  c: RawH2Connection,
): Promise<{ code: number; lastStreamId: number; debug: string }> {
  const f = await c.waitFor((x) => x.type === FrameType.GOAWAY);
  assert.ok(f, 'no GOAWAY');
  return parseGoaway(f);
}

async function rst(c: RawH2Connection, streamId: number): Promise<number> {
  const f = await c.waitFor((x) => x.type === FrameType.RST_STREAM && x.streamId === streamId);
  assert.ok(f, `no RST_STREAM on stream ${streamId}`);
  return f.payload.readUInt32BE(0);
}

/** A good call on a fresh connection still gets its answer. */
async function stillServes(l: EchoListener): Promise<void> {
  const c = await raw(l);
  c.write(headersFrame(1, REQUEST, { endStream: true }));
  const trailers = await c.waitFor(
    (f) => f.type === FrameType.HEADERS && f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0,
  );
  assert.ok(trailers, 'no answer on a fresh connection');
  c.destroy();
}

function last<T>(items: readonly T[]): T {
  return items[items.length - 1];
}

test('rapid reset: past the reset budget, GOAWAY(ENHANCE_YOUR_CALM)', async () => {
  const l = await listen({ resetLimit: { burst: 20, ratePerSecond: 0 } });
  const c = await raw(l);
  const burst: Buffer[] = [];
  for (let id = 1; id <= 61; id += 2)
    burst.push(headersFrame(id, REQUEST), rstStreamFrame(id, ErrorCode.CANCEL));
  c.write(Buffer.concat(burst));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.ENHANCE_YOUR_CALM);
  assert.equal(g.debug, ConnectionErrorReason.RAPID_RESET);
  const server = last(l.connections);
  assert.equal(server.counters.errorReason, ConnectionErrorReason.RAPID_RESET);
  assert.equal(server.counters.resetsReceived, 21);
  assert.ok(await c.waitClosed());
  await stillServes(l);
});

test('past the reset budget, a client that resets fewer than three in four of its streams keeps its connection', async () => {
  const l = await listen({ resetLimit: { burst: 20, ratePerSecond: 0 } });
  const c = await raw(l);
  // 30 rounds of two whole requests and one reset: 30 resets, 10 past the budget, a third of
  // the streams.
  const frames: Buffer[] = [];
  let id = 1;
  for (let round = 0; round < 30; round++) {
    frames.push(headersFrame(id, REQUEST, { endStream: true }));
    frames.push(headersFrame(id + 2, REQUEST, { endStream: true }));
    frames.push(headersFrame(id + 4, REQUEST), rstStreamFrame(id + 4, ErrorCode.CANCEL));
    id += 6;
  }
  c.write(Buffer.concat(frames));
  const lastWhole = id - 4;
  const answered = await c.waitFor(
    (f) =>
      f.type === FrameType.HEADERS && f.streamId === lastWhole && (f.flags & Flag.END_STREAM) !== 0,
  );
  assert.ok(answered, 'the last whole request was not answered');
  const server = last(l.connections);
  assert.equal(server.counters.resetsReceived, 30);
  assert.equal(c.received(FrameType.GOAWAY).length, 0);
  // Resetting every stream from here on passes three in four (after 150 more), and the budget
  // is spent: cut off.
  const more: Buffer[] = [];
  for (let i = 0; i < 300; i++, id += 2) {
    more.push(headersFrame(id, REQUEST), rstStreamFrame(id, ErrorCode.CANCEL));
  }
  c.write(Buffer.concat(more));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.ENHANCE_YOUR_CALM);
  assert.equal(g.debug, ConnectionErrorReason.RAPID_RESET);
});

test('streams opened over the limit get REFUSED_STREAM and spend the reset budget', async () => {
  const l = await listen({ maxConcurrentStreams: 1, resetLimit: { burst: 5, ratePerSecond: 0 } });
  const c = await raw(l);
  c.write(SETTINGS_ACK);
  c.write(headersFrame(1, REQUEST));
  c.write(headersFrame(3, REQUEST));
  assert.equal(await rst(c, 3), ErrorCode.REFUSED_STREAM);
  const more: Buffer[] = [];
  for (let id = 5; id <= 21; id += 2) more.push(headersFrame(id, REQUEST));
  c.write(Buffer.concat(more));
  assert.equal((await goaway(c)).code, ErrorCode.ENHANCE_YOUR_CALM);
  assert.ok(last(l.connections).counters.streamsRefused >= 5);
});

test('CONTINUATION flood without END_HEADERS: GOAWAY(ENHANCE_YOUR_CALM)', async () => {
  const c = await raw(plain);
  c.write(headersFrame(1, REQUEST, { endHeaders: false }));
  const junk = headerBlock([['x-flood', 'a'.repeat(100)]]);
  for (let i = 0; i < 50 && !c.closed; i++) c.write(frame(FrameType.CONTINUATION, 0, 1, junk));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.ENHANCE_YOUR_CALM);
  assert.equal(g.debug, FrameErrorReason.TOO_MANY_CONTINUATIONS);
});

test('an HPACK bomb is stopped by the header list limit: RST_STREAM, the connection lives', async () => {
  const c = await raw(plain);
  // One 4 KiB entry into the dynamic table, then 100 references to it: a 4.2 KiB block that
  // decodes to a 400 KiB header list.
  const big = Buffer.concat([
    Buffer.from([0x40, 0x01]),
    Buffer.from('x'),
    Buffer.from([0x7f, 0xa1, 0x1e]),
    Buffer.alloc(4000, 0x61),
  ]);
  const block = Buffer.concat([headerBlock(REQUEST), big, Buffer.alloc(100, 0xbe)]);
  c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block));
  assert.equal(await rst(c, 1), ErrorCode.ENHANCE_YOUR_CALM);
  // The table stayed in step: a next stream on the same connection is served.
  c.write(headersFrame(3, REQUEST, { endStream: true }));
  assert.ok(await c.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 3));
});

test('SETTINGS flood: GOAWAY(ENHANCE_YOUR_CALM)', async () => {
  const l = await listen({ settingsLimit: { burst: 10, ratePerSecond: 0 } });
  const c = await raw(l);
  c.write(Buffer.concat(Array.from({ length: 30 }, () => settingsFrame({}))));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.ENHANCE_YOUR_CALM);
  assert.equal(g.debug, ConnectionErrorReason.SETTINGS_FLOOD);
});

test('PING flood: GOAWAY(ENHANCE_YOUR_CALM)', async () => {
  const l = await listen({ pingLimit: { burst: 10, ratePerSecond: 0 } });
  const c = await raw(l);
  c.write(Buffer.concat(Array.from({ length: 30 }, () => pingFrame())));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.ENHANCE_YOUR_CALM);
  assert.equal(g.debug, ConnectionErrorReason.PING_FLOOD);
  assert.equal(last(l.connections).counters.pingsReceived, 11);
});

test('empty DATA flood: GOAWAY(ENHANCE_YOUR_CALM)', async () => {
  const l = await listen({ emptyDataLimit: { burst: 10, ratePerSecond: 0 } });
  const c = await raw(l);
  c.write(headersFrame(1, REQUEST));
  c.write(Buffer.concat(Array.from({ length: 30 }, () => dataFrame(1, Buffer.alloc(0)))));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.ENHANCE_YOUR_CALM);
  assert.equal(g.debug, ConnectionErrorReason.EMPTY_DATA_FLOOD);
});

test('PRIORITY flood: GOAWAY(ENHANCE_YOUR_CALM)', async () => {
  const l = await listen({ controlLimit: { burst: 10, ratePerSecond: 0 } });
  const c = await raw(l);
  const priority = frame(FrameType.PRIORITY, 0, 3, Buffer.from([0, 0, 0, 1, 16]));
  c.write(Buffer.concat(Array.from({ length: 30 }, () => priority)));
  assert.equal((await goaway(c)).code, ErrorCode.ENHANCE_YOUR_CALM);
});

test('a frame over SETTINGS_MAX_FRAME_SIZE: GOAWAY(FRAME_SIZE_ERROR)', async () => {
  const c = await raw(plain);
  c.write(headersFrame(1, REQUEST));
  c.write(dataFrame(1, Buffer.alloc(16_385)));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.FRAME_SIZE_ERROR);
  assert.equal(g.debug, FrameErrorReason.FRAME_TOO_LARGE);
});

test('DATA and HEADERS on stream 0: GOAWAY(PROTOCOL_ERROR)', async () => {
  for (const bad of [dataFrame(0, Buffer.from('x')), headersFrame(0, REQUEST)]) {
    const c = await raw(plain);
    c.write(bad);
    const g = await goaway(c);
    assert.equal(g.code, ErrorCode.PROTOCOL_ERROR);
    assert.equal(g.debug, FrameErrorReason.STREAM_ID_REQUIRED);
  }
});

test('an even stream id from a client: GOAWAY(PROTOCOL_ERROR)', async () => {
  const c = await raw(plain);
  c.write(headersFrame(2, REQUEST));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.PROTOCOL_ERROR);
  assert.equal(g.debug, ConnectionErrorReason.BAD_STREAM_ID);
});

test('DATA on a closed stream: GOAWAY(STREAM_CLOSED); on an idle one: PROTOCOL_ERROR', async () => {
  const c = await raw(plain);
  c.write(headersFrame(1, REQUEST, { endStream: true }));
  assert.ok(
    await c.waitFor((f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0),
  );
  c.write(dataFrame(1, Buffer.from('late')));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.STREAM_CLOSED);
  assert.equal(g.lastStreamId, 1);
  const d = await raw(plain);
  d.write(dataFrame(5, Buffer.from('x')));
  assert.equal((await goaway(d)).code, ErrorCode.PROTOCOL_ERROR);
});

test('DATA after END_STREAM on a half-closed stream: RST_STREAM(STREAM_CLOSED)', async () => {
  const l = await listen();
  l.echo.answer = false; // the response never ends: the stream stays half-closed (remote)
  const c = await raw(l);
  c.write(headersFrame(1, REQUEST));
  c.write(dataFrame(1, Buffer.from('a'), true));
  c.write(dataFrame(1, Buffer.from('b')));
  assert.equal(await rst(c, 1), ErrorCode.STREAM_CLOSED);
  assert.equal(c.received(FrameType.GOAWAY).length, 0);
});

test('frames the peer sent before seeing our RST_STREAM are ignored', async () => {
  const l = await listen();
  l.echo.onRequest = (s) => s.reset(ErrorCode.CANCEL);
  const c = await raw(l);
  c.write(headersFrame(1, REQUEST));
  assert.equal(await rst(c, 1), ErrorCode.CANCEL);
  c.write(dataFrame(1, Buffer.from('in flight')));
  c.write(pingFrame(Buffer.from('12345678')));
  assert.ok(await c.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0));
  assert.equal(c.received(FrameType.GOAWAY).length, 0);
});

test('window overflow past 2^31-1: GOAWAY(FLOW_CONTROL_ERROR) or RST_STREAM(FLOW_CONTROL_ERROR)', async () => {
  const c = await raw(plain);
  c.write(windowUpdateFrame(0, 0x7fffffff));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.FLOW_CONTROL_ERROR);
  const d = await raw(plain);
  d.write(headersFrame(1, REQUEST));
  d.write(windowUpdateFrame(1, 0x7fffffff));
  assert.equal(await rst(d, 1), ErrorCode.FLOW_CONTROL_ERROR);
  const e = await raw(plain);
  e.write(headersFrame(1, REQUEST));
  e.write(settingsFrame({ 0x4: 0x7fffffff }));
  e.write(windowUpdateFrame(1, 1));
  assert.equal(await rst(e, 1), ErrorCode.FLOW_CONTROL_ERROR);
});

test('DATA beyond the stream window: RST_STREAM(FLOW_CONTROL_ERROR)', async () => {
  const l = await listen({ streamWindow: 16_384 });
  l.echo.consume = false;
  const c = await raw(l); // acknowledges our SETTINGS: the 16 KiB window holds
  c.write(headersFrame(1, REQUEST));
  await c.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 1);
  for (let i = 0; i < 2; i++) c.write(dataFrame(1, Buffer.alloc(16_384)));
  assert.equal(await rst(c, 1), ErrorCode.FLOW_CONTROL_ERROR);
});

test('malformed requests get RST_STREAM(PROTOCOL_ERROR), the connection lives', async () => {
  const c = await raw(plain);
  const bad: Array<Array<readonly [string, string]>> = [
    [...REQUEST, ['X-Upper', '1']],
    // Characters RFC 9113 §8.2.1 forbids; the second time the field comes from the table.
    [...REQUEST, ['x-v', 'a\nb']],
    [...REQUEST, ['x-v', 'a\nb']],
    [...REQUEST, ['x-v', ' leading']],
    [...REQUEST, ['connection', 'close']],
    [...REQUEST.filter(([n]) => n !== 'te'), ['te', 'gzip']],
    REQUEST.filter(([n]) => n !== ':path'),
    [['x-first', '1'], ...REQUEST],
    [REQUEST[0], ...REQUEST],
  ];
  let id = 1;
  for (const fields of bad) {
    c.write(headersFrame(id, fields, { endStream: true }));
    assert.equal(await rst(c, id), ErrorCode.PROTOCOL_ERROR, JSON.stringify(fields));
    id += 2;
  }
  // content-length that the DATA does not match
  c.write(headersFrame(id, [...REQUEST, ['content-length', '10']]));
  c.write(dataFrame(id, Buffer.from('short'), true));
  assert.equal(await rst(c, id), ErrorCode.PROTOCOL_ERROR);
  assert.equal(c.received(FrameType.GOAWAY).length, 0);
  assert.equal(last(plain.connections).counters.malformed >= 10, true);
});

test('a silent client is closed at the handshake deadline', async () => {
  const l = await listen({ handshakeTimeoutMs: 150 });
  const c = await raw(l, { handshake: false });
  c.write(PREFACE.subarray(0, 5)); // byte by byte, then nothing
  assert.ok(await c.waitClosed(3_000));
  assert.equal(last(l.connections).counters.errorReason, ConnectionErrorReason.HANDSHAKE_TIMEOUT);
});

test('SETTINGS never acknowledged: GOAWAY(SETTINGS_TIMEOUT)', async () => {
  const l = await listen({ settingsTimeoutMs: 150 });
  const c = await raw(l, { handshake: false });
  c.write(Buffer.concat([PREFACE, settingsFrame({})]));
  const g = await goaway(c);
  assert.equal(g.code, ErrorCode.SETTINGS_TIMEOUT);
});

test('a bad preface: GOAWAY(PROTOCOL_ERROR)', async () => {
  const c = await raw(plain, { handshake: false });
  c.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal((await goaway(c)).code, ErrorCode.PROTOCOL_ERROR);
});

test('GOAWAY from the client with no streams open closes the connection cleanly', async () => {
  const c = await raw(plain);
  c.write(goawayFrame(0, ErrorCode.NO_ERROR));
  assert.ok(await c.waitClosed());
  await stillServes(plain);
});
