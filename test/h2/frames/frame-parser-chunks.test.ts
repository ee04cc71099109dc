// The parser reads the same frames however the byte stream is cut into chunks (every split
// point, byte by byte, seeded random chunkings), and hands out views of the chunk, not copies,
// for frames that arrive within one chunk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_PREFACE, Flag, FrameType, SettingId } from '../../../h2/frames/constants.js';
import type { FrameHandler } from '../../../h2/frames/frame-handler.js';
import { FrameParser } from '../../../h2/frames/frame-parser.js';
import { FrameWriter } from '../../../h2/frames/frame-writer.js';
import {
  byteByByte,
  CaptureSink,
  FrameRecorder,
  parseChunks,
  randomChunks,
  splitAt,
  pattern,
} from '../../support/frame-recorder.js';
import { seededRandom } from '../../support/fake-clock.js';
import { frame } from '../../support/h2-wire.js';

/** Whether two buffers share memory (comparing ArrayBuffers would print them on failure). */
function overlaps(a: Buffer, b: Buffer): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteOffset < b.byteOffset + b.length &&
    b.byteOffset < a.byteOffset + a.length
  );
}

/** A padded payload: Pad Length, `fields`, `body`, then `pad` zero octets. */
function padded(pad: number, body: Buffer, fields: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([pad]), fields, body, Buffer.alloc(pad)]);
}

/**
 * Every frame type, padded and not, priority fields, CONTINUATION, an unknown type; `large`
 * adds a 40,000-octet field block the writer splits into HEADERS + 2 CONTINUATION.
 */
function everyFrame(large = true): Buffer {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  w.writeSettings([
    [SettingId.INITIAL_WINDOW_SIZE, 1 << 20],
    [SettingId.MAX_FRAME_SIZE, 20_000],
  ]);
  w.writeSettingsAck();
  w.writeHeaders(1, pattern(60, 1), false);
  w.writeData(1, pattern(300, 2), false);
  w.writeHeaders(1, pattern(large ? 40_000 : 200, 3), true);
  w.writePriority(3, 1, 10, true);
  w.writeRstStream(3, 8);
  w.writePing(false, pattern(8, 4));
  w.writeWindowUpdate(0, 1000);
  w.writeWindowUpdate(5, 7);
  w.writeFrame(0x20, 0x3, 5, pattern(17, 5));
  w.writeGoaway(5, 0, pattern(12, 6));
  w.flush();
  const priority = Buffer.from([0x80, 0, 0, 1, 99]); // exclusive, depends on 1, weight 99
  return Buffer.concat([
    sink.bytes(),
    frame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 5, padded(10, pattern(20, 7))),
    frame(FrameType.DATA, Flag.PADDED, 7, padded(0, Buffer.alloc(0))),
    frame(FrameType.DATA, Flag.PADDED, 7, padded(255, pattern(3, 8))),
    frame(
      FrameType.HEADERS,
      Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS,
      9,
      padded(4, pattern(30, 9), priority),
    ),
    frame(FrameType.HEADERS, Flag.PADDED, 11, padded(3, pattern(5, 10))),
    frame(FrameType.CONTINUATION, 0, 11, pattern(6, 11)),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 11, Buffer.alloc(0)),
    frame(FrameType.PING, Flag.ACK, 0, pattern(8, 12)),
  ]);
}

const expectedEventCount = 18;

test('the frame sequence parses whole into the expected events', () => {
  const bytes = everyFrame();
  const r = parseChunks([bytes]);
  assert.equal(r.connectionError, undefined);
  assert.equal(r.events.length, expectedEventCount);
  assert.deepEqual(
    r.events.map((e) => e.kind),
    [
      'settings',
      'settings',
      'headers',
      'data',
      'headers',
      'priority',
      'rst',
      'ping',
      'window',
      'window',
      'unknown',
      'goaway',
      'data',
      'data',
      'data',
      'headers',
      'headers',
      'ping',
    ],
  );
  // The hand-built frames: padding removed, flow-controlled length with padding.
  const tail = r.events.slice(12);
  assert.deepEqual(tail[0], {
    kind: 'data',
    streamId: 5,
    data: pattern(20, 7).toString('hex'),
    endStream: true,
    flowLength: 31,
  });
  assert.deepEqual(tail[1], {
    kind: 'data',
    streamId: 7,
    data: '',
    endStream: false,
    flowLength: 1,
  });
  assert.deepEqual(tail[2], {
    kind: 'data',
    streamId: 7,
    data: pattern(3, 8).toString('hex'),
    endStream: false,
    flowLength: 259,
  });
  assert.deepEqual(tail[3], {
    kind: 'headers',
    streamId: 9,
    block: pattern(30, 9).toString('hex'),
    endStream: false,
    dependency: 1,
    weight: 99,
    exclusive: true,
  });
  assert.deepEqual(tail[4], {
    kind: 'headers',
    streamId: 11,
    block: Buffer.concat([pattern(5, 10), pattern(6, 11)]).toString('hex'),
    endStream: false,
    dependency: -1,
    weight: 0,
    exclusive: false,
  });
});

test('split at every byte boundary, the same frames come out', () => {
  const bytes = everyFrame(false);
  const whole = parseChunks([bytes]).events;
  // Every two-way split, and every three-way split with 4 octets between the cuts (so a frame
  // header can be cut twice).
  for (let cut = 1; cut < bytes.length; cut++) {
    for (const cuts of [[cut], [cut, cut + 4]]) {
      if (cuts[cuts.length - 1] >= bytes.length) continue;
      const events = parseChunks(splitAt(bytes, cuts)).events;
      assert.deepEqual(events, whole, `split at ${cuts.join(', ')}`);
    }
  }
  assert.ok(bytes.length > 800, `${bytes.length} octets`);
});

test('byte by byte, the same frames come out', () => {
  const bytes = everyFrame(false);
  assert.deepEqual(parseChunks(byteByByte(bytes)).events, parseChunks([bytes]).events);
});

test('in seeded random chunkings, the same frames come out', () => {
  const bytes = everyFrame();
  const whole = parseChunks([bytes]).events;
  for (let seed = 1; seed <= 200; seed++) {
    const random = seededRandom(seed);
    const maxChunk = [3, 17, 100, 4096, 70_000][seed % 5];
    const chunks = randomChunks(bytes, random, maxChunk);
    assert.deepEqual(parseChunks(chunks).events, whole, `seed ${seed}`);
  }
});

test('a server parser takes the client preface byte by byte, then frames', () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  w.writePreface();
  w.writeSettings([[SettingId.ENABLE_PUSH, 0]]);
  w.writeHeaders(1, pattern(20, 1), true);
  w.flush();
  const bytes = sink.bytes();
  const expected = parseChunks([bytes], { role: 'server' }).events;
  assert.deepEqual(
    expected.map((e) => e.kind),
    ['settings', 'headers'],
  );
  assert.deepEqual(parseChunks(byteByByte(bytes), { role: 'server' }).events, expected);
  for (let cut = 1; cut < CLIENT_PREFACE.length + 9; cut++) {
    assert.deepEqual(parseChunks(splitAt(bytes, [cut]), { role: 'server' }).events, expected);
  }
});

test('DATA payloads and field blocks within one chunk are ranges of the chunk itself, not copies', () => {
  const bytes = everyFrame();
  const recorder = new FrameRecorder();
  new FrameParser(recorder, { role: 'client' }).push(bytes);
  assert.ok(recorder.ranges.length > 5);
  for (const { buf, start, end } of recorder.ranges) {
    // The 40,000-octet field block came in three frames, the 11-octet one in three: those are
    // assembled, in a buffer of their own.
    if (end - start === 40_000 || end - start === 11) {
      assert.ok(
        buf !== bytes && !overlaps(buf, bytes),
        'an assembled block is a buffer of its own',
      );
      continue;
    }
    assert.ok(buf === bytes, 'the chunk itself');
    assert.ok(start >= 0 && start <= end && end <= bytes.length);
  }
  const data = recorder.ranges.find((r) => r.end - r.start === 300)!;
  assert.equal(data.buf.toString('hex', data.start, data.end), pattern(300, 2).toString('hex'));
});

test('a frame that spans chunks is copied once into a buffer of its own, which stays valid', () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  w.writeSettings([]);
  w.writeData(1, pattern(1000, 1), false);
  w.flush();
  const bytes = sink.bytes();
  const a = Buffer.from(bytes.subarray(0, 500));
  const b = Buffer.from(bytes.subarray(500));
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client' });
  parser.push(a);
  parser.push(b);
  const [{ buf, start, end }] = recorder.ranges;
  assert.equal(end - start, 1000);
  assert.ok(!overlaps(buf, a) && !overlaps(buf, b));
  a.fill(0);
  b.fill(0);
  assert.ok(buf.subarray(start, end).equals(pattern(1000, 1)), 'kept when the chunks are reused');
});

test('a frame whose header is cut but whose payload is whole in the next chunk is a range of that chunk', () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  w.writeSettings([]);
  w.writeData(1, pattern(100, 1), false);
  w.flush();
  const bytes = sink.bytes();
  const a = Buffer.from(bytes.subarray(0, 9 + 4));
  const b = Buffer.from(bytes.subarray(9 + 4));
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client' });
  parser.push(a);
  parser.push(b);
  const [{ buf, start, end }] = recorder.ranges;
  assert.ok(buf === b);
  assert.equal(b.toString('hex', start, end), pattern(100, 1).toString('hex'));
});

test('a handler may stop the parser mid-chunk; the rest of the chunk and later chunks are ignored', () => {
  const bytes = everyFrame();
  const recorder = new FrameRecorder();
  const parser = new FrameParser(
    {
      ...bindAll(recorder),
      onRstStream(streamId: number, code: number) {
        recorder.onRstStream(streamId, code);
        parser.stop();
      },
    },
    { role: 'client' },
  );
  parser.push(bytes);
  parser.push(bytes);
  assert.equal(recorder.events.at(-1)?.kind, 'rst');
  assert.equal(recorder.events.length, 7);
  assert.equal(parser.stopped, true);
});

test('a handler that throws leaves the parser stopped and the exception reaches the caller', () => {
  const bytes = everyFrame();
  const recorder = new FrameRecorder();
  const parser = new FrameParser(
    {
      ...bindAll(recorder),
      onPing() {
        throw new Error('handler bug');
      },
    },
    { role: 'client' },
  );
  assert.throws(() => parser.push(bytes), /handler bug/);
  assert.equal(parser.stopped, true);
  const before = recorder.events.length;
  parser.push(bytes);
  assert.equal(recorder.events.length, before);
});

/** The recorder's methods bound to it, to spread into a handler that overrides some. */
function bindAll(r: FrameRecorder): FrameHandler {
  const out: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(FrameRecorder.prototype)) {
    const value: unknown = (r as unknown as Record<string, unknown>)[name];
    if (typeof value === 'function' && name !== 'constructor') {
      out[name] = (value as (...args: unknown[]) => unknown).bind(r);
    }
  }
  return out as unknown as FrameHandler;
}
