// Frame-level validation: each malformed input gets the error RFC 9113 names (connection or
// stream error, and the code), whole and byte by byte; the CONTINUATION flood stops at the cap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  FrameType,
  SettingId,
} from '../../../h2/frames/constants.js';
import { FrameErrorReason } from '../../../h2/frames/errors.js';
import {
  DEFAULT_MAX_CONTINUATIONS,
  DEFAULT_MAX_HEADER_BLOCK_BYTES,
  FrameParser,
  type FrameParserOptions,
} from '../../../h2/frames/frame-parser.js';
import { byteByByte, FrameRecorder, parseChunks } from '../../support/frame-recorder.js';

/** A frame with the stream id written as given (reserved bit included). */
function raw(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer | number[] = [],
): Buffer {
  const body = Buffer.from(payload);
  const out = Buffer.alloc(9 + body.length);
  out.writeUIntBE(body.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId >>> 0, 5);
  body.copy(out, 9);
  return out;
}

/** Only a frame header announcing `length` octets (the payload need not follow). */
function headerOnly(type: number, flags: number, streamId: number, length: number): Buffer {
  const out = Buffer.alloc(9);
  out.writeUIntBE(length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  return out;
}

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const setting = (id: number, value: number) => {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(id);
  b.writeUInt32BE(value >>> 0, 2);
  return b;
};
const SETTINGS = raw(FrameType.SETTINGS, 0, 0);
const { PROTOCOL_ERROR, FRAME_SIZE_ERROR, FLOW_CONTROL_ERROR, ENHANCE_YOUR_CALM } = ErrorCode;
const R = FrameErrorReason;

interface Case {
  readonly name: string;
  readonly bytes: Buffer;
  readonly code: number;
  readonly reason: string;
  readonly options?: FrameParserOptions;
}

/** Connection errors: after SETTINGS (a client's parser) unless the case says otherwise. */
const connectionErrors: Case[] = [
  {
    name: 'a wrong client preface',
    bytes: Buffer.from('PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n'),
    code: PROTOCOL_ERROR,
    reason: R.BAD_PREFACE,
    options: { role: 'server' },
  },
  {
    name: 'an HTTP/1.1 request instead of the preface',
    bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    code: PROTOCOL_ERROR,
    reason: R.BAD_PREFACE,
    options: { role: 'server' },
  },
  {
    name: 'PING as the first frame',
    bytes: raw(FrameType.PING, 0, 0, Buffer.alloc(8)),
    code: PROTOCOL_ERROR,
    reason: R.SETTINGS_EXPECTED,
  },
  {
    name: 'SETTINGS with ACK as the first frame after the preface',
    bytes: Buffer.concat([CLIENT_PREFACE, raw(FrameType.SETTINGS, Flag.ACK, 0)]),
    code: PROTOCOL_ERROR,
    reason: R.SETTINGS_EXPECTED,
    options: { role: 'server' },
  },
  ...[FrameType.DATA, FrameType.HEADERS, FrameType.SETTINGS, 0x42].map((type) => ({
    name: `a type ${type} frame of 16,385 octets (over SETTINGS_MAX_FRAME_SIZE)`,
    bytes: Buffer.concat([
      SETTINGS,
      headerOnly(type, 0, type === FrameType.SETTINGS ? 0 : 1, 16_385),
    ]),
    code: FRAME_SIZE_ERROR,
    reason: R.FRAME_TOO_LARGE,
  })),
  ...[
    [FrameType.RST_STREAM, 1, 3],
    [FrameType.RST_STREAM, 1, 5],
    [FrameType.PING, 0, 7],
    [FrameType.PING, 0, 9],
    [FrameType.WINDOW_UPDATE, 0, 3],
    [FrameType.WINDOW_UPDATE, 1, 5],
    [FrameType.SETTINGS, 0, 5],
    [FrameType.SETTINGS, 0, 13],
    [FrameType.GOAWAY, 0, 7],
    [FrameType.GOAWAY, 0, 0],
  ].map(([type, stream, length]) => ({
    name: `type ${type} with ${length} octets`,
    bytes: Buffer.concat([SETTINGS, raw(type, 0, stream, Buffer.alloc(length))]),
    code: FRAME_SIZE_ERROR,
    reason: R.BAD_LENGTH,
  })),
  {
    name: 'SETTINGS with ACK and a payload',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(6))]),
    code: FRAME_SIZE_ERROR,
    reason: R.BAD_LENGTH,
  },
  {
    name: 'padded DATA too short for its Pad Length',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.DATA, Flag.PADDED, 1)]),
    code: FRAME_SIZE_ERROR,
    reason: R.BAD_LENGTH,
  },
  {
    name: 'HEADERS with PADDED and PRIORITY too short for their fields',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS, 1, Buffer.alloc(5)),
    ]),
    code: FRAME_SIZE_ERROR,
    reason: R.BAD_LENGTH,
  },
  {
    name: 'PUSH_PROMISE too short for the promised stream id',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, [0, 0, 2])]),
    code: FRAME_SIZE_ERROR,
    reason: R.BAD_LENGTH,
  },
  ...[
    FrameType.DATA,
    FrameType.HEADERS,
    FrameType.PRIORITY,
    FrameType.RST_STREAM,
    FrameType.PUSH_PROMISE,
    FrameType.CONTINUATION,
  ].map((type) => ({
    name: `type ${type} on stream 0`,
    bytes: Buffer.concat([SETTINGS, raw(type, Flag.END_HEADERS, 0, Buffer.alloc(5))]),
    code: PROTOCOL_ERROR,
    reason: R.STREAM_ID_REQUIRED,
  })),
  {
    name: 'DATA on a stream id that is only the reserved bit (stream 0)',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.DATA, 0, 0x80000000, [1])]),
    code: PROTOCOL_ERROR,
    reason: R.STREAM_ID_REQUIRED,
  },
  ...[
    [FrameType.SETTINGS, 0],
    [FrameType.PING, 8],
    [FrameType.GOAWAY, 8],
  ].map(([type, length]) => ({
    name: `type ${type} on stream 1`,
    bytes: Buffer.concat([SETTINGS, raw(type, 0, 1, Buffer.alloc(length))]),
    code: PROTOCOL_ERROR,
    reason: R.STREAM_ID_FORBIDDEN,
  })),
  {
    name: 'DATA padding as long as the payload',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.DATA, Flag.PADDED, 1, [3, 0, 0])]),
    code: PROTOCOL_ERROR,
    reason: R.BAD_PADDING,
  },
  {
    name: 'HEADERS padding longer than what follows the Pad Length',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.HEADERS, Flag.PADDED | Flag.END_HEADERS, 1, [4, 0, 0, 0]),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.BAD_PADDING,
  },
  {
    name: 'HEADERS padding reaching into the priority fields',
    bytes: Buffer.concat([
      SETTINGS,
      raw(
        FrameType.HEADERS,
        Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS,
        1,
        [1, 0, 0, 0, 0, 16],
      ),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.BAD_PADDING,
  },
  {
    name: 'PUSH_PROMISE padding reaching into the promised stream id',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.PUSH_PROMISE, Flag.PADDED | Flag.END_HEADERS, 1, [1, 0, 0, 0, 2]),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.BAD_PADDING,
  },
  {
    name: 'DATA on the stream of an open field block',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.HEADERS, 0, 1, [0x82]),
      raw(FrameType.DATA, 0, 1, [1]),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.CONTINUATION_EXPECTED,
  },
  {
    name: 'CONTINUATION on another stream than the open field block',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.HEADERS, 0, 1, [0x82]),
      raw(FrameType.CONTINUATION, Flag.END_HEADERS, 3, [0x84]),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.CONTINUATION_EXPECTED,
  },
  {
    name: 'PING inside a field block',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.HEADERS, 0, 1, [0x82]),
      raw(FrameType.PING, 0, 0, Buffer.alloc(8)),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.CONTINUATION_EXPECTED,
  },
  {
    name: 'an unknown frame type inside a field block',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.PUSH_PROMISE, 0, 1, [0, 0, 0, 2, 0x82]),
      raw(0x42, 0, 1, [1, 2]),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.CONTINUATION_EXPECTED,
  },
  {
    name: 'CONTINUATION with no field block open',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, [0x82])]),
    code: PROTOCOL_ERROR,
    reason: R.UNEXPECTED_CONTINUATION,
  },
  {
    name: 'CONTINUATION after the field block ended',
    bytes: Buffer.concat([
      SETTINGS,
      raw(FrameType.HEADERS, 0, 1, [0x82]),
      raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, [0x84]),
      raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, [0x86]),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.UNEXPECTED_CONTINUATION,
  },
  {
    name: 'SETTINGS_ENABLE_PUSH = 2',
    bytes: Buffer.concat([
      CLIENT_PREFACE,
      raw(FrameType.SETTINGS, 0, 0, setting(SettingId.ENABLE_PUSH, 2)),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.BAD_SETTING_VALUE,
    options: { role: 'server' },
  },
  {
    name: 'SETTINGS_ENABLE_PUSH = 1 from a server',
    bytes: raw(FrameType.SETTINGS, 0, 0, setting(SettingId.ENABLE_PUSH, 1)),
    code: PROTOCOL_ERROR,
    reason: R.BAD_SETTING_VALUE,
  },
  {
    name: 'SETTINGS_INITIAL_WINDOW_SIZE = 2^31',
    bytes: raw(FrameType.SETTINGS, 0, 0, setting(SettingId.INITIAL_WINDOW_SIZE, 2 ** 31)),
    code: FLOW_CONTROL_ERROR,
    reason: R.BAD_SETTING_VALUE,
  },
  {
    name: 'SETTINGS_INITIAL_WINDOW_SIZE = 2^32 - 1',
    bytes: raw(FrameType.SETTINGS, 0, 0, setting(SettingId.INITIAL_WINDOW_SIZE, 2 ** 32 - 1)),
    code: FLOW_CONTROL_ERROR,
    reason: R.BAD_SETTING_VALUE,
  },
  ...[0, 16_383, 2 ** 24, 2 ** 32 - 1].map((value) => ({
    name: `SETTINGS_MAX_FRAME_SIZE = ${value}`,
    bytes: raw(FrameType.SETTINGS, 0, 0, setting(SettingId.MAX_FRAME_SIZE, value)),
    code: PROTOCOL_ERROR,
    reason: R.BAD_SETTING_VALUE,
  })),
  {
    name: 'a SETTINGS frame of 33 entries',
    bytes: raw(
      FrameType.SETTINGS,
      0,
      0,
      Buffer.concat(Array.from({ length: 33 }, () => setting(0x99, 1))),
    ),
    code: ENHANCE_YOUR_CALM,
    reason: R.TOO_MANY_SETTINGS,
  },
  {
    name: 'WINDOW_UPDATE with increment 0 on the connection',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.WINDOW_UPDATE, 0, 0, u32(0))]),
    code: PROTOCOL_ERROR,
    reason: R.ZERO_WINDOW_INCREMENT,
  },
  {
    name: 'WINDOW_UPDATE with only the reserved bit set on the connection',
    bytes: Buffer.concat([SETTINGS, raw(FrameType.WINDOW_UPDATE, 0, 0, u32(0x80000000))]),
    code: PROTOCOL_ERROR,
    reason: R.ZERO_WINDOW_INCREMENT,
  },
  {
    name: 'PUSH_PROMISE sent to a server',
    bytes: Buffer.concat([
      CLIENT_PREFACE,
      SETTINGS,
      raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, u32(2)),
    ]),
    code: PROTOCOL_ERROR,
    reason: R.PUSH_FROM_CLIENT,
    options: { role: 'server' },
  },
];

for (const c of connectionErrors) {
  test(`connection error ${c.reason}: ${c.name}`, () => {
    const options = c.options ?? { role: 'client' };
    for (const chunks of [[c.bytes], byteByByte(c.bytes)]) {
      const r = parseChunks(chunks, options);
      const error = r.connectionError;
      assert.ok(error, `no connection error; events: ${JSON.stringify(r.events)}`);
      assert.equal(error.code, c.code, error.message);
      assert.equal(error.reason, c.reason, error.message);
      assert.equal(r.events.filter((e) => e.kind === 'connection-error').length, 1);
    }
  });
}

test('after a connection error the parser is stopped and ignores later input', () => {
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client' });
  parser.push(
    Buffer.concat([
      SETTINGS,
      raw(FrameType.DATA, 0, 0, [1]),
      raw(FrameType.PING, 0, 0, Buffer.alloc(8)),
    ]),
  );
  assert.equal(parser.stopped, true);
  const count = recorder.events.length;
  parser.push(raw(FrameType.PING, 0, 0, Buffer.alloc(8)));
  assert.equal(recorder.events.length, count);
  assert.deepEqual(
    recorder.events.map((e) => e.kind),
    ['settings', 'connection-error'],
  );
});

test('a frame over the max frame size is refused at its header, before its payload arrives', () => {
  const r = parseChunks([SETTINGS, headerOnly(FrameType.DATA, 0, 1, 16_777_215)]);
  assert.equal(r.connectionError?.reason, R.FRAME_TOO_LARGE);
});

test('setMaxFrameSize() raises the limit the parser enforces, and lowers it again', () => {
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client' });
  parser.push(SETTINGS);
  parser.setMaxFrameSize(20_000);
  parser.push(raw(FrameType.DATA, 0, 1, Buffer.alloc(20_000)));
  assert.equal(recorder.events.at(-1)?.kind, 'data');
  parser.setMaxFrameSize(16_384);
  parser.push(headerOnly(FrameType.DATA, 0, 1, 16_385));
  assert.equal(recorder.connectionError?.reason, R.FRAME_TOO_LARGE);
  assert.throws(() => parser.setMaxFrameSize(16_383), RangeError);
  assert.throws(() => parser.setMaxFrameSize(2 ** 24), RangeError);
});

test('stream errors are reported and parsing goes on: PRIORITY of the wrong length, self-dependency, WINDOW_UPDATE of 0 on a stream', () => {
  const ping = raw(FrameType.PING, 0, 0, Buffer.alloc(8, 7));
  const bytes = Buffer.concat([
    SETTINGS,
    raw(FrameType.PRIORITY, 0, 3, Buffer.alloc(4)),
    ping,
    raw(FrameType.PRIORITY, 0, 3, Buffer.alloc(6)),
    raw(FrameType.PRIORITY, 0, 5, [0x80, 0, 0, 5, 9]),
    raw(FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 7, [0, 0, 0, 7, 9, 0x82]),
    raw(FrameType.WINDOW_UPDATE, 0, 9, u32(0)),
    raw(FrameType.WINDOW_UPDATE, 0, 11, u32(0x80000000)),
    raw(FrameType.WINDOW_UPDATE, 0, 11, u32(0x80000005)),
    ping,
  ]);
  for (const chunks of [[bytes], byteByByte(bytes)]) {
    const r = parseChunks(chunks);
    assert.deepEqual(r.events.slice(1), [
      { kind: 'stream-error', streamId: 3, code: FRAME_SIZE_ERROR, reason: R.BAD_LENGTH },
      { kind: 'ping', ack: false, opaque: '0707070707070707' },
      { kind: 'stream-error', streamId: 3, code: FRAME_SIZE_ERROR, reason: R.BAD_LENGTH },
      { kind: 'stream-error', streamId: 5, code: PROTOCOL_ERROR, reason: R.SELF_DEPENDENCY },
      { kind: 'stream-error', streamId: 7, code: PROTOCOL_ERROR, reason: R.SELF_DEPENDENCY },
      // The field block still reaches the handler: HPACK state must follow the peer's.
      {
        kind: 'headers',
        streamId: 7,
        block: '82',
        endStream: false,
        dependency: 7,
        weight: 9,
        exclusive: false,
      },
      { kind: 'stream-error', streamId: 9, code: PROTOCOL_ERROR, reason: R.ZERO_WINDOW_INCREMENT },
      { kind: 'stream-error', streamId: 11, code: PROTOCOL_ERROR, reason: R.ZERO_WINDOW_INCREMENT },
      { kind: 'window', streamId: 11, increment: 5 },
      { kind: 'ping', ack: false, opaque: '0707070707070707' },
    ]);
  }
});

test('setting values at the edges of their ranges are accepted; unknown identifiers are ignored', () => {
  const entries = Buffer.concat([
    setting(SettingId.ENABLE_PUSH, 0),
    setting(SettingId.INITIAL_WINDOW_SIZE, 2 ** 31 - 1),
    setting(SettingId.MAX_FRAME_SIZE, 16_384),
    setting(SettingId.MAX_FRAME_SIZE, 2 ** 24 - 1),
    setting(0, 5),
    setting(0x7, 5),
    setting(0xffff, 2 ** 32 - 1),
    setting(SettingId.HEADER_TABLE_SIZE, 2 ** 32 - 1),
    setting(SettingId.MAX_CONCURRENT_STREAMS, 0),
    setting(SettingId.MAX_HEADER_LIST_SIZE, 2 ** 32 - 1),
  ]);
  const client = parseChunks([raw(FrameType.SETTINGS, 0, 0, entries)]);
  assert.deepEqual(client.events, [
    {
      kind: 'settings',
      ack: false,
      entries: [
        [SettingId.ENABLE_PUSH, 0],
        [SettingId.INITIAL_WINDOW_SIZE, 2 ** 31 - 1],
        [SettingId.MAX_FRAME_SIZE, 16_384],
        [SettingId.MAX_FRAME_SIZE, 2 ** 24 - 1],
        [SettingId.HEADER_TABLE_SIZE, 2 ** 32 - 1],
        [SettingId.MAX_CONCURRENT_STREAMS, 0],
        [SettingId.MAX_HEADER_LIST_SIZE, 2 ** 32 - 1],
      ],
    },
  ]);
  // A client may announce SETTINGS_ENABLE_PUSH = 1 to a server.
  const server = parseChunks(
    [CLIENT_PREFACE, raw(FrameType.SETTINGS, 0, 0, setting(SettingId.ENABLE_PUSH, 1))],
    { role: 'server' },
  );
  assert.deepEqual(server.events, [
    { kind: 'settings', ack: false, entries: [[SettingId.ENABLE_PUSH, 1]] },
  ]);
  // 32 entries (node:http2's and nghttp2's default limit) pass.
  const many = raw(
    FrameType.SETTINGS,
    0,
    0,
    Buffer.concat(Array.from({ length: 32 }, () => setting(0x99, 1))),
  );
  assert.equal(parseChunks([many]).events[0].kind, 'settings');
});

test('unknown frame types are skipped, whole or spanning chunks, with any flags and stream', () => {
  const ping = raw(FrameType.PING, 0, 0, Buffer.alloc(8, 1));
  const bytes = Buffer.concat([
    SETTINGS,
    raw(0x0a, 0xff, 0, Buffer.alloc(100, 0xee)),
    raw(0xff, 0, 0x80000003, Buffer.alloc(0)),
    raw(0x10, 1, 5, Buffer.alloc(16_384, 0x01)),
    ping,
  ]);
  const expected = [
    { kind: 'settings', ack: false, entries: [] },
    { kind: 'unknown', type: 0x0a, flags: 0xff, streamId: 0, length: 100 },
    { kind: 'unknown', type: 0xff, flags: 0, streamId: 3, length: 0 },
    { kind: 'unknown', type: 0x10, flags: 1, streamId: 5, length: 16_384 },
    { kind: 'ping', ack: false, opaque: '0101010101010101' },
  ];
  assert.deepEqual(parseChunks([bytes]).events, expected);
  assert.deepEqual(parseChunks(byteByByte(bytes)).events, expected);
});

test('the reserved bit of stream ids, promised ids, last-stream-id and dependencies is ignored', () => {
  const bytes = Buffer.concat([
    SETTINGS,
    raw(FrameType.DATA, Flag.END_STREAM, 0x80000001, [1]),
    raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 0x80000001, u32(0x80000002)),
    raw(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0x80000007), u32(0)])),
  ]);
  assert.deepEqual(parseChunks([bytes]).events.slice(1), [
    { kind: 'data', streamId: 1, data: '01', endStream: true, flowLength: 1 },
    { kind: 'push', streamId: 1, promised: 2, block: '' },
    { kind: 'goaway', lastStreamId: 7, code: 0, debug: '' },
  ]);
});

/** HEADERS without END_HEADERS and then `count` CONTINUATION frames of `size` octets, none ending it. */
function continuationFlood(count: number, size: number): Buffer {
  const frames = [SETTINGS, raw(FrameType.HEADERS, 0, 1, Buffer.alloc(size, 0x82))];
  for (let i = 0; i < count; i++)
    frames.push(raw(FrameType.CONTINUATION, 0, 1, Buffer.alloc(size, 0x82)));
  return Buffer.concat(frames);
}

test('CONTINUATION flood (CVE-2024-27316): stops with ENHANCE_YOUR_CALM once the block passes the byte cap', () => {
  const cap = DEFAULT_MAX_HEADER_BLOCK_BYTES;
  const size = 16_384;
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client', maxContinuations: 1_000 });
  const flood = continuationFlood(100, size);
  let fed = 0;
  // Fed as a socket would: 64 KiB chunks, until the parser stops (bounded: 100 frames).
  for (let at = 0; at < flood.length && !parser.stopped; at += 65_536) {
    const chunk = flood.subarray(at, at + 65_536);
    parser.push(chunk);
    fed += chunk.length;
  }
  const error = recorder.connectionError;
  assert.ok(error);
  assert.equal(error.code, ENHANCE_YOUR_CALM);
  assert.equal(error.reason, R.HEADER_BLOCK_TOO_LARGE);
  // Refused at the first frame that would pass the cap: cap / size frames were accepted.
  const accepted = cap / size;
  assert.ok(fed <= 9 + (accepted + 1) * (9 + size) + 65_536, `${fed} octets read`);
  assert.ok(!recorder.events.some((e) => e.kind === 'headers'));
  assert.equal(parser.headerBlockOpen, false, 'the block is dropped');
});

test('CONTINUATION flood of empty frames: stops at the CONTINUATION count cap (nghttp2: 8)', () => {
  const r = parseChunks([continuationFlood(1_000, 0)]);
  assert.equal(r.connectionError?.code, ENHANCE_YOUR_CALM);
  assert.equal(r.connectionError?.reason, R.TOO_MANY_CONTINUATIONS);
  // Exactly DEFAULT_MAX_CONTINUATIONS continuations are accepted.
  const ok = Buffer.concat([
    continuationFlood(DEFAULT_MAX_CONTINUATIONS - 1, 0),
    raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1),
  ]);
  assert.equal(parseChunks([ok]).events.at(-1)?.kind, 'headers');
});

test('the header block cap is configurable and also applies to a single HEADERS or PUSH_PROMISE frame', () => {
  const options: FrameParserOptions = { role: 'client', maxHeaderBlockBytes: 1_000 };
  const fits = Buffer.concat([
    SETTINGS,
    raw(FrameType.HEADERS, 0, 1, Buffer.alloc(600)),
    raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(400)),
  ]);
  assert.equal(parseChunks([fits], options).events.at(-1)?.kind, 'headers');
  const over = Buffer.concat([
    SETTINGS,
    raw(FrameType.HEADERS, 0, 1, Buffer.alloc(600)),
    raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(401)),
  ]);
  assert.equal(parseChunks([over], options).connectionError?.reason, R.HEADER_BLOCK_TOO_LARGE);
  const single = Buffer.concat([
    SETTINGS,
    raw(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.alloc(1_001)),
  ]);
  assert.equal(parseChunks([single], options).connectionError?.reason, R.HEADER_BLOCK_TOO_LARGE);
  const push = Buffer.concat([
    SETTINGS,
    raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.concat([u32(2), Buffer.alloc(1_001)])),
  ]);
  assert.equal(parseChunks([push], options).connectionError?.reason, R.HEADER_BLOCK_TOO_LARGE);
});

test('the parser refuses options outside their ranges', () => {
  const r = new FrameRecorder();
  assert.throws(() => new FrameParser(r, { role: 'client', maxFrameSize: 1_000 }), RangeError);
  assert.throws(() => new FrameParser(r, { role: 'client', maxHeaderBlockBytes: 0 }), RangeError);
  assert.throws(() => new FrameParser(r, { role: 'client', maxSettingsEntries: 0.5 }), RangeError);
  assert.throws(() => new FrameParser(r, { role: 'client', maxContinuations: -1 }), RangeError);
});
