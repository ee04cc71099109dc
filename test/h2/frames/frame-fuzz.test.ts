// Fuzzing the parser with seeded random and mutated frame sequences (bounded in count and time):
// it never throws, reports at most one connection error and then stops, and never reads past
// its input (views stay inside their chunk, and bytes around a chunk change nothing).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  FrameType,
  SettingId,
} from '../../../h2/frames/constants.js';
import { FrameErrorReason } from '../../../h2/frames/errors.js';
import { FrameParser, type FrameParserOptions } from '../../../h2/frames/frame-parser.js';
import { FrameWriter } from '../../../h2/frames/frame-writer.js';
import {
  CaptureSink,
  FrameRecorder,
  parseChunks,
  randomChunks,
  pattern,
} from '../../support/frame-recorder.js';
import { seededRandom } from '../../support/fake-clock.js';
import { frame } from '../../support/h2-wire.js';

const CODES = new Set<number>(Object.values(ErrorCode));
const REASONS = new Set<string>(Object.values(FrameErrorReason));

/** Valid frame sequences to mutate: what a client and a server send. */
function corpus(): Buffer[] {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  w.writeSettings([
    [SettingId.INITIAL_WINDOW_SIZE, 1 << 20],
    [SettingId.MAX_FRAME_SIZE, 16_384],
  ]);
  w.writeSettingsAck();
  for (let id = 1; id < 12; id += 2) {
    w.writeHeaders(id, pattern(50 + id, id), false, id > 5 ? id - 2 : -1);
    w.writeData(id, pattern(15 * id, id), true);
    w.writeWindowUpdate(id, 1000 * id);
  }
  w.writeHeaders(13, pattern(2_000, 1), true);
  w.writePriority(15, 13, 4, true);
  w.writeRstStream(15, ErrorCode.CANCEL);
  w.writePing(false, pattern(8, 2));
  w.writeFrame(0x33, 0xff, 17, pattern(40, 3));
  w.writeGoaway(13, ErrorCode.NO_ERROR, pattern(20, 4));
  w.flush();
  const requests = sink.bytes();
  const handmade = Buffer.concat([
    frame(FrameType.SETTINGS, 0, 0),
    frame(
      FrameType.HEADERS,
      Flag.PADDED | Flag.PRIORITY,
      1,
      Buffer.from([3, 0, 0, 0, 0, 16, 0x82, 0, 0, 0]),
    ),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.from([0x84])),
    frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([2, 9, 9, 0, 0])),
    frame(
      FrameType.PUSH_PROMISE,
      Flag.PADDED | Flag.END_HEADERS,
      1,
      Buffer.from([1, 0, 0, 0, 2, 0x88, 0]),
    ),
    frame(FrameType.PING, Flag.ACK, 0, pattern(8, 5)),
  ]);
  return [requests, handmade];
}

type Mutation = (b: Buffer, random: () => number, other: Buffer) => Buffer;
const int = (random: () => number, n: number) => Math.floor(random() * n);
const mutations: Mutation[] = [
  // Flip one bit.
  (b, r) => {
    const out = Buffer.from(b);
    if (out.length > 0) out[int(r, out.length)] ^= 1 << int(r, 8);
    return out;
  },
  // An interesting value in a frame-header-like place.
  (b, r) => {
    const out = Buffer.from(b);
    if (out.length > 0) out[int(r, out.length)] = [0, 1, 0x7f, 0x80, 0xff, 5, 8, 9][int(r, 8)];
    return out;
  },
  // Insert random octets.
  (b, r) => {
    const at = int(r, b.length + 1);
    const bytes = Buffer.from(Array.from({ length: 1 + int(r, 12) }, () => int(r, 256)));
    return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
  },
  // Delete a range.
  (b, r) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(r, 20))]);
  },
  // Duplicate a range.
  (b, r) => {
    const at = int(r, b.length + 1);
    const piece = b.subarray(at, at + 1 + int(r, 200));
    return Buffer.concat([b.subarray(0, at), piece, piece, b.subarray(at + piece.length)]);
  },
  // Splice in a piece of another sequence.
  (b, r, other) => {
    const at = int(r, b.length + 1);
    const from = int(r, other.length);
    return Buffer.concat([
      b.subarray(0, at),
      other.subarray(from, from + int(r, 300)),
      b.subarray(at),
    ]);
  },
  // Truncate.
  (b, r) => b.subarray(0, int(r, b.length + 1)),
];

/**
 * Copies each chunk into the middle of a larger buffer of random guard octets, so reading past a
 * chunk's end (or before its start) would see them.
 */
function guarded(chunks: readonly Buffer[], random: () => number): Buffer[] {
  return chunks.map((c) => {
    const before = 1 + int(random, 16);
    const room = Buffer.allocUnsafeSlow(before + c.length + 16);
    for (let i = 0; i < room.length; i++) room[i] = int(random, 256);
    c.copy(room, before);
    return room.subarray(before, before + c.length);
  });
}

/** Feeds chunks and checks the invariants; returns the events. */
function check(
  chunks: readonly Buffer[],
  options: FrameParserOptions,
  what: string,
): FrameRecorder {
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, options);
  for (const c of chunks) {
    try {
      parser.push(c);
    } catch (err) {
      assert.fail(`${what}: push() threw ${(err as Error).stack}`);
    }
  }
  const errors = recorder.events.filter((e) => e.kind === 'connection-error');
  assert.ok(errors.length <= 1, `${what}: ${errors.length} connection errors`);
  if (errors.length === 1) {
    assert.equal(recorder.events.at(-1), errors[0], `${what}: events after the connection error`);
    assert.equal(parser.stopped, true);
  }
  for (const e of recorder.events) {
    if (e.kind === 'connection-error' || e.kind === 'stream-error') {
      assert.ok(CODES.has(e.code), `${what}: code ${e.code}`);
      assert.ok(REASONS.has(e.reason), `${what}: reason ${e.reason}`);
    }
  }
  // A range lies inside the chunk it names, or in the parser's own copy of a frame that
  // spanned chunks (which shares no memory with any chunk).
  for (const { buf, start, end } of recorder.ranges) {
    assert.ok(
      start >= 0 && start <= end && end <= buf.length,
      `${what}: a range outside its buffer`,
    );
    if (chunks.includes(buf) || end === start) continue;
    const shared = chunks.some(
      (c) =>
        c.buffer === buf.buffer &&
        buf.byteOffset < c.byteOffset + c.length &&
        c.byteOffset < buf.byteOffset + buf.length,
    );
    assert.ok(!shared, `${what}: a copy overlapping a chunk`);
  }
  return recorder;
}

test('mutated frame sequences: no throw, one connection error at most, nothing read past a chunk', () => {
  const bases = corpus();
  const random = seededRandom(20_240_401);
  // 2,000 runs when the machine is quiet; at least 200 however busy it is (8 s is a time budget
  // for the extra runs, not a speed requirement).
  const deadline = Date.now() + 8_000;
  let runs = 0;
  let errors = 0;
  for (; runs < 2_000 && (runs < 200 || Date.now() < deadline); runs++) {
    const base = bases[runs % bases.length];
    let bytes = base;
    for (let m = 1 + int(random, 6); m > 0; m--) {
      bytes = mutations[int(random, mutations.length)](
        bytes,
        random,
        bases[(runs + 1) % bases.length],
      );
    }
    const server = runs % 3 === 0;
    const options: FrameParserOptions = server ? { role: 'server' } : { role: 'client' };
    if (server) bytes = Buffer.concat([CLIENT_PREFACE, bytes]);
    const whole = check([Buffer.from(bytes)], options, `run ${runs} whole`);
    const chunks = guarded(randomChunks(bytes, random, [3, 17, 200, 4096][runs % 4]), random);
    const chunked = check(chunks, options, `run ${runs} chunked`);
    // The guard octets around each chunk changed nothing.
    assert.deepEqual(chunked.events, whole.events, `run ${runs}`);
    if (whole.connectionError) errors++;
  }
  assert.ok(errors > runs / 4 && errors < runs, `${errors} of ${runs} runs ended in an error`);
});

test('random octets after a valid start (fast-check): no throw, the same events however chunked', () => {
  const start = Buffer.concat([CLIENT_PREFACE, frame(FrameType.SETTINGS, 0, 0)]);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2_000 }),
      fc.array(fc.nat(2_100), { maxLength: 20 }),
      (tail, cuts) => {
        const bytes = Buffer.concat([start, tail]);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let from = 0;
        for (const p of points) {
          chunks.push(bytes.subarray(from, p));
          from = p;
        }
        chunks.push(bytes.subarray(from));
        const whole = check([bytes], { role: 'server' }, 'whole');
        const split = check(chunks, { role: 'server' }, 'split');
        assert.deepEqual(split.events, whole.events);
      },
    ),
    { seed: 42, numRuns: 500, interruptAfterTimeLimit: 8_000 },
  );
});

test('random frame headers with small payloads (fast-check): every reported error is one RFC 9113 names', () => {
  const header = fc.record({
    type: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 255 })),
    flags: fc.integer({ min: 0, max: 255 }),
    stream: fc.oneof(fc.constantFrom(0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xffffffff), fc.nat()),
    payload: fc.uint8Array({ maxLength: 40 }),
  });
  fc.assert(
    fc.property(fc.array(header, { minLength: 1, maxLength: 12 }), (frames) => {
      const bytes = Buffer.concat([
        frame(FrameType.SETTINGS, 0, 0),
        ...frames.map((f) => {
          const b = frame(f.type, f.flags, 0, Buffer.from(f.payload));
          b.writeUInt32BE(f.stream >>> 0, 5);
          return b;
        }),
      ]);
      const r = check([bytes], { role: 'client' }, 'frames');
      check(randomChunks(bytes, seededRandom(bytes.length), 5), { role: 'client' }, 'chunked');
      // Stream errors only for PRIORITY and WINDOW_UPDATE, as RFC 9113 names them.
      for (const e of r.events) {
        if (e.kind === 'stream-error') {
          assert.ok(
            [ErrorCode.FRAME_SIZE_ERROR, ErrorCode.PROTOCOL_ERROR].includes(e.code as 1 | 6),
          );
        }
      }
    }),
    { seed: 7, numRuns: 2_000, interruptAfterTimeLimit: 8_000 },
  );
});

test('a long valid exchange in random chunks parses the same as whole (fast-check chunkings)', () => {
  const [bytes] = corpus();
  const whole = parseChunks([bytes]).events;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 5_000 }),
      (seed, max) => {
        const chunks = randomChunks(bytes, seededRandom(seed), max);
        assert.deepEqual(check(chunks, { role: 'client' }, `seed ${seed}`).events, whole);
      },
    ),
    { seed: 3, numRuns: 100, interruptAfterTimeLimit: 8_000 },
  );
});
