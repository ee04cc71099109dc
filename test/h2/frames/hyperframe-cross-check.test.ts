// Cross-check against an independent implementation, Debian's python3-hyperframe: frames the
// writer produces parse in hyperframe with the same fields, frames hyperframe builds parse in
// the frame parser with the same fields, fixed cases and seeded random sequences both ways.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ErrorCode, Flag, FrameType, SettingId } from '../../../h2/frames/constants.js';
import { FrameWriter } from '../../../h2/frames/frame-writer.js';
import { CaptureSink, parseChunks, randomChunks, pattern } from '../../support/frame-recorder.js';
import { seededRandom } from '../../support/fake-clock.js';
import { expectedEvents, HyperframePeer, type PeerFrame } from '../../support/hyperframe-peer.js';

let peer: HyperframePeer;
before(() => {
  peer = HyperframePeer.start();
});
after(() => peer.close());

const hex = (b: Buffer) => b.toString('hex');

test('frames the writer produces are read by hyperframe with the same fields', async () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  const block = pattern(40, 1);
  const big = pattern(20_000, 2);
  w.writePreface();
  w.writeSettings([
    [SettingId.HEADER_TABLE_SIZE, 8192],
    [SettingId.ENABLE_PUSH, 0],
    [SettingId.INITIAL_WINDOW_SIZE, 1 << 20],
    [SettingId.MAX_HEADER_LIST_SIZE, 16_384],
  ]);
  w.writeSettingsAck();
  w.writeHeaders(1, block, false, 0, 15, true);
  w.writeData(1, pattern(10, 3), false);
  w.writeData(1, big, true);
  w.writeHeaders(3, big, true);
  w.writePriority(5, 3, 7, false);
  w.writeRstStream(5, ErrorCode.REFUSED_STREAM);
  w.writePushPromise(1, 2, block);
  w.writePing(true, pattern(8, 4));
  w.writeWindowUpdate(0, 65_535);
  w.writeGoaway(3, ErrorCode.PROTOCOL_ERROR, Buffer.from('debug'));
  w.writeFrame(0xbb, 0x5, 7, pattern(3, 5));
  w.flush();
  const frames = await peer.parse(sink.bytes());
  const E = { stream: 0 };
  assert.deepEqual(frames, [
    {
      ...E,
      type: 4,
      flags: 0,
      length: 24,
      settings: [
        [1, 8192],
        [2, 0],
        [4, 1 << 20],
        [6, 16_384],
      ],
    },
    { ...E, type: 4, flags: Flag.ACK, length: 0, settings: [] },
    {
      type: 1,
      flags: Flag.END_HEADERS | Flag.PRIORITY,
      stream: 1,
      length: 45,
      data: hex(block),
      pad: 0,
      dependency: 0,
      weight: 15,
      exclusive: true,
    },
    { type: 0, flags: 0, stream: 1, length: 10, data: hex(pattern(10, 3)), pad: 0 },
    { type: 0, flags: 0, stream: 1, length: 16_384, data: hex(big.subarray(0, 16_384)), pad: 0 },
    {
      type: 0,
      flags: Flag.END_STREAM,
      stream: 1,
      length: 20_000 - 16_384,
      data: hex(big.subarray(16_384)),
      pad: 0,
    },
    {
      type: 1,
      flags: Flag.END_STREAM,
      stream: 3,
      length: 16_384,
      data: hex(big.subarray(0, 16_384)),
      pad: 0,
    },
    {
      type: 9,
      flags: Flag.END_HEADERS,
      stream: 3,
      length: 20_000 - 16_384,
      data: hex(big.subarray(16_384)),
    },
    { type: 2, flags: 0, stream: 5, length: 5, dependency: 3, weight: 7, exclusive: false },
    { type: 3, flags: 0, stream: 5, length: 4, code: ErrorCode.REFUSED_STREAM },
    {
      type: 5,
      flags: Flag.END_HEADERS,
      stream: 1,
      length: 44,
      data: hex(block),
      pad: 0,
      promised: 2,
    },
    { ...E, type: 6, flags: Flag.ACK, length: 8, opaque: hex(pattern(8, 4)) },
    { ...E, type: 8, flags: 0, length: 4, increment: 65_535 },
    {
      ...E,
      type: 7,
      flags: 0,
      length: 13,
      code: ErrorCode.PROTOCOL_ERROR,
      lastStreamId: 3,
      debug: hex(Buffer.from('debug')),
    },
    { type: 0xbb, flags: 0x5, stream: 7, length: 3, body: hex(pattern(3, 5)) },
  ]);
});

test('frames hyperframe builds (padded, prioritised, continued) are read by the parser with the same fields', async () => {
  const frames: PeerFrame[] = [
    {
      type: FrameType.SETTINGS,
      flags: 0,
      stream: 0,
      settings: [[SettingId.MAX_FRAME_SIZE, 32_768]],
    },
    { type: FrameType.SETTINGS, flags: Flag.ACK, stream: 0 },
    {
      type: FrameType.HEADERS,
      flags: Flag.PADDED | Flag.PRIORITY,
      stream: 1,
      data: hex(pattern(30, 1)),
      pad: 7,
      dependency: 0,
      weight: 255,
      exclusive: true,
    },
    { type: FrameType.CONTINUATION, flags: 0, stream: 1, data: hex(pattern(5, 2)) },
    { type: FrameType.CONTINUATION, flags: Flag.END_HEADERS, stream: 1, data: hex(pattern(9, 3)) },
    {
      type: FrameType.DATA,
      flags: Flag.PADDED | Flag.END_STREAM,
      stream: 1,
      data: hex(pattern(100, 4)),
      pad: 255,
    },
    { type: FrameType.DATA, flags: 0, stream: 3, data: '' },
    { type: FrameType.PRIORITY, flags: 0, stream: 3, dependency: 1, weight: 0, exclusive: false },
    { type: FrameType.RST_STREAM, flags: 0, stream: 3, code: 0xdeadbeef },
    {
      type: FrameType.PUSH_PROMISE,
      flags: Flag.PADDED,
      stream: 1,
      promised: 6,
      data: hex(pattern(12, 5)),
      pad: 1,
    },
    { type: FrameType.CONTINUATION, flags: Flag.END_HEADERS, stream: 1, data: '' },
    { type: FrameType.PING, flags: 0, stream: 0, opaque: hex(pattern(8, 6)) },
    { type: FrameType.GOAWAY, flags: 0, stream: 0, lastStreamId: 1, code: 0, debug: '' },
    { type: FrameType.WINDOW_UPDATE, flags: 0, stream: 1, increment: 2 ** 31 - 1 },
    { type: 0xef, flags: 0xaa, stream: 9, body: hex(pattern(33, 7)) },
  ];
  const bytes = await peer.build(frames);
  const expected = expectedEvents(frames);
  assert.equal(expected.length, 12);
  assert.deepEqual(parseChunks([bytes]).events, expected);
  assert.deepEqual(parseChunks(randomChunks(bytes, seededRandom(7), 5)).events, expected);
});

/** A seeded random frame sequence a client's parser accepts (SETTINGS first). */
function randomFrames(
  random: () => number,
  count: number,
  options: { padding: boolean; continuations: boolean },
): PeerFrame[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const int = (n: number) => Math.floor(random() * n);
  const octets = () => hex(pattern(pick([0, 1, 9, 100, 1000, 16_000]), int(1000)));
  const stream = () => 1 + int(2 ** 31 - 1);
  const frames: PeerFrame[] = [{ type: FrameType.SETTINGS, flags: 0, stream: 0, settings: [] }];
  while (frames.length < count) {
    const padded = options.padding && random() < 0.3;
    const pad = padded ? int(256) : undefined;
    const type = pick([0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 0x0b, 0xff]);
    switch (type) {
      case FrameType.DATA:
        frames.push({
          type,
          flags: (random() < 0.5 ? Flag.END_STREAM : 0) | (padded ? Flag.PADDED : 0),
          stream: stream(),
          data: octets(),
          pad,
        });
        break;
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE: {
        const id = stream();
        const parts = options.continuations && random() < 0.4 ? 1 + int(4) : 0;
        const prioritised = type === FrameType.HEADERS && random() < 0.3;
        frames.push({
          type,
          flags:
            (parts === 0 ? Flag.END_HEADERS : 0) |
            (type === FrameType.HEADERS && random() < 0.5 ? Flag.END_STREAM : 0) |
            (padded ? Flag.PADDED : 0) |
            (prioritised ? Flag.PRIORITY : 0),
          stream: id,
          data: octets(),
          pad,
          ...(prioritised
            ? { dependency: int(1000), weight: int(256), exclusive: random() < 0.5 }
            : {}),
          // Promised ids are even: servers open them (hyperframe insists).
          ...(type === FrameType.PUSH_PROMISE ? { promised: 2 * (1 + int(2 ** 30 - 1)) } : {}),
        });
        for (let i = 0; i < parts; i++) {
          frames.push({
            type: FrameType.CONTINUATION,
            flags: i === parts - 1 ? Flag.END_HEADERS : 0,
            stream: id,
            data: octets(),
          });
        }
        break;
      }
      case FrameType.PRIORITY: {
        const id = stream();
        frames.push({
          type,
          flags: 0,
          stream: id,
          dependency: (id + 1 + int(100)) % 2 ** 31,
          weight: int(256),
          exclusive: random() < 0.5,
        });
        break;
      }
      case FrameType.RST_STREAM:
        frames.push({ type, flags: 0, stream: stream(), code: int(2 ** 32) });
        break;
      case FrameType.SETTINGS:
        frames.push(
          random() < 0.3
            ? { type, flags: Flag.ACK, stream: 0 }
            : {
                type,
                flags: 0,
                stream: 0,
                // Distinct identifiers: hyperframe keeps settings in a dict.
                settings: [
                  [SettingId.HEADER_TABLE_SIZE, int(2 ** 32)],
                  [SettingId.ENABLE_PUSH, 0],
                  [SettingId.MAX_CONCURRENT_STREAMS, int(2 ** 32)],
                  [SettingId.INITIAL_WINDOW_SIZE, int(2 ** 31)],
                  [SettingId.MAX_FRAME_SIZE, 16_384 + int(2 ** 24 - 16_384)],
                  [0x8, 1],
                  [0x40 + int(100), int(2 ** 32)],
                ].filter(() => random() < 0.6) as Array<[number, number]>,
              },
        );
        break;
      case FrameType.PING:
        frames.push({
          type,
          flags: random() < 0.5 ? Flag.ACK : 0,
          stream: 0,
          opaque: hex(pattern(8, int(99))),
        });
        break;
      case FrameType.GOAWAY:
        frames.push({
          type,
          flags: 0,
          stream: 0,
          lastStreamId: int(2 ** 31),
          code: int(2 ** 32),
          debug: octets(),
        });
        break;
      case FrameType.WINDOW_UPDATE:
        frames.push({
          type,
          flags: 0,
          stream: random() < 0.3 ? 0 : stream(),
          increment: 1 + int(2 ** 31 - 1),
        });
        break;
      default:
        frames.push({ type, flags: int(256), stream: int(2 ** 31), body: octets() });
    }
  }
  return frames;
}

/** Writes the frames with the writer (no padding: the writer never pads; CONTINUATION its own). */
function writeFrames(frames: readonly PeerFrame[]): Buffer {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  const buf = (h = '') => Buffer.from(h, 'hex');
  for (const f of frames) {
    switch (f.type) {
      case FrameType.DATA:
        w.writeData(f.stream, buf(f.data), (f.flags & Flag.END_STREAM) !== 0);
        break;
      case FrameType.HEADERS:
        w.writeHeaders(
          f.stream,
          buf(f.data),
          (f.flags & Flag.END_STREAM) !== 0,
          f.dependency ?? -1,
          f.weight ?? 15,
          f.exclusive ?? false,
        );
        break;
      case FrameType.PRIORITY:
        w.writePriority(f.stream, f.dependency!, f.weight!, f.exclusive!);
        break;
      case FrameType.RST_STREAM:
        w.writeRstStream(f.stream, f.code!);
        break;
      case FrameType.SETTINGS:
        if ((f.flags & Flag.ACK) !== 0) w.writeSettingsAck();
        else w.writeSettings(f.settings ?? []);
        break;
      case FrameType.PUSH_PROMISE:
        w.writePushPromise(f.stream, f.promised!, buf(f.data));
        break;
      case FrameType.PING:
        w.writePing((f.flags & Flag.ACK) !== 0, buf(f.opaque));
        break;
      case FrameType.GOAWAY:
        w.writeGoaway(f.lastStreamId!, f.code!, buf(f.debug));
        break;
      case FrameType.WINDOW_UPDATE:
        w.writeWindowUpdate(f.stream, f.increment!);
        break;
      default:
        w.writeFrame(f.type, f.flags, f.stream, buf(f.body));
    }
  }
  w.flush();
  return sink.bytes();
}

test('seeded random sequences built by hyperframe parse to the same fields', async () => {
  for (let seed = 1; seed <= 8; seed++) {
    const frames = randomFrames(seededRandom(seed), 150, { padding: true, continuations: true });
    const bytes = await peer.build(frames);
    const expected = expectedEvents(frames);
    assert.deepEqual(parseChunks([bytes]).events, expected, `seed ${seed}`);
    const chunks = randomChunks(bytes, seededRandom(seed + 100), 2_000);
    assert.deepEqual(parseChunks(chunks).events, expected, `seed ${seed}, chunked`);
  }
});

test('seeded random sequences written by the writer are read alike by hyperframe and the parser', async () => {
  for (let seed = 11; seed <= 18; seed++) {
    // Complete field blocks only: the writer adds CONTINUATION itself when a block is long.
    const frames = randomFrames(seededRandom(seed), 150, { padding: false, continuations: false });
    const bytes = writeFrames(frames);
    const expected = expectedEvents(frames);
    assert.deepEqual(expectedEvents(await peer.parse(bytes)), expected, `seed ${seed}: hyperframe`);
    assert.deepEqual(parseChunks([bytes]).events, expected, `seed ${seed}: parser`);
  }
});
