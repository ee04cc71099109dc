// Fuzzing the server role with random and mutated frame sequences (fast-check, bounded in runs
// and time): it never throws, ends any connection it ends with a code RFC 9113 defines, keeps
// its books consistent, and a fresh connection still serves a good call afterwards.
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  H2Connection,
  H2Stream,
  type H2StreamHandler,
  StreamOutcome,
} from '../../../h2/connection/index.js';
import { ErrorCode } from '../../../h2/frames/index.js';
import { FakeClock } from '../../support/fake-clock.js';
import {
  dataFrame,
  Flag,
  frame,
  FrameType,
  goawayFrame,
  grpcRequestFields,
  headerBlock,
  headersFrame,
  PREFACE,
  pingFrame,
  rstStreamFrame,
  SETTINGS_ACK,
  settingsFrame,
  windowUpdateFrame,
} from '../../support/h2-wire.js';
import { connectedPair, REQUEST } from './h2-pair.js';

const CODES = new Set<number>(Object.values(ErrorCode));
const MAX_STREAMS = 8;

/** A socket that swallows what the connection writes; input is emitted by the test. */
class NullSocket extends Duplex {
  written = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.written += chunk.length;
    done();
  }
}

/** A stream handler that consumes everything and sometimes answers, resets or writes. */
const handler: H2StreamHandler = {
  onHeaders() {},
  onData(stream, _buf, start, end, endStream) {
    stream.consume(end - start);
    if (endStream) stream.sendHeaders(['grpc-status', '0'], true);
  },
  onTrailers(stream) {
    stream.sendHeaders(['grpc-status', '0'], true);
  },
  onDrain() {},
  onClose() {},
};

const stream = fc.integer({ min: 0, max: 12 }).map((n) => (n === 12 ? 0x7fffffff : n));
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const fields = fc.constantFrom(
  grpcRequestFields('/a'),
  [...grpcRequestFields('/a'), ['content-length', '3'] as const],
  [['grpc-status', '0'] as const],
  [[':method', 'GET'] as const, ['X-Bad', '1'] as const],
  [[':status', '200'] as const],
);
const goodFrame = fc.oneof(
  fc
    .tuple(stream, fields, fc.boolean(), fc.boolean())
    .map(([id, f, end, endHeaders]) => headersFrame(id, f, { endStream: end, endHeaders })),
  fc.tuple(stream, bytes(40), fc.boolean()).map(([id, d, end]) => dataFrame(id, d, end)),
  fc.tuple(stream, fc.integer({ min: 0, max: 14 })).map(([id, c]) => rstStreamFrame(id, c)),
  fc
    .tuple(stream, fc.integer({ min: 0, max: 0x7fffffff }))
    .map(([id, n]) => windowUpdateFrame(id, n)),
  fc.constant(pingFrame()),
  fc.constant(SETTINGS_ACK),
  fc.integer({ min: 0, max: 1 << 20 }).map((w) => settingsFrame({ 0x4: w, 0x3: 5 })),
  fc
    .tuple(stream, bytes(20))
    .map(([id, d]) =>
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, id, headerBlock([['x', d.toString('hex')]])),
    ),
  fc
    .tuple(stream, stream)
    .map(([id, dep]) => frame(FrameType.PRIORITY, 0, id, Buffer.from([0, 0, 0, dep, 16]))),
  fc.constant(goawayFrame(3, 0)),
  fc
    .tuple(fc.integer({ min: 10, max: 255 }), stream, bytes(30))
    .map(([t, id, d]) => frame(t, 0, id, d)),
);
/** A frame, sometimes with one octet changed (header or payload). */
const mutated = fc
  .tuple(goodFrame, fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { freq: 4 }))
  .map(([f, m]) => {
    if (m === null || f.length === 0) return f;
    const out = Buffer.from(f);
    out[m[0] % out.length] = m[1];
    return out;
  });
const sequence = fc.tuple(fc.array(mutated, { maxLength: 30 }), fc.integer({ min: 1, max: 64 }));

test('random and mutated frame sequences: no throw, RFC codes only, books consistent', () => {
  fc.assert(
    fc.property(sequence, ([frames, chunk]) => {
      const socket = new NullSocket();
      let closed = false;
      let errorCode = -1;
      const conn = new H2Connection(
        socket,
        {
          onStream: () => handler,
          onSettings() {},
          onGoaway() {},
          onClose(error) {
            assert.equal(closed, false, 'onClose twice');
            closed = true;
            errorCode = error === null || error.remote ? -1 : error.errorCode;
          },
        },
        {
          role: 'server',
          clock: new FakeClock(),
          maxConcurrentStreams: MAX_STREAMS,
          flush: 'manual',
        },
      );
      const input = Buffer.concat([PREFACE, settingsFrame({}), ...frames]);
      // Chunks of a random size: frames cut anywhere.
      for (let at = 0; at < input.length; at += chunk)
        socket.emit('data', input.subarray(at, at + chunk));
      assert.ok(conn.activeStreams >= 0 && conn.activeStreams <= MAX_STREAMS);
      if (closed && errorCode !== -1) assert.ok(CODES.has(errorCode), `code ${errorCode}`);
      if (conn.closed) assert.equal(conn.activeStreams, 0);
      conn.destroy();
      assert.equal(conn.activeStreams, 0);
    }),
    { numRuns: 3_000, seed: 0x5eed, interruptAfterTimeLimit: 20_000 },
  );
});

test('after the fuzz, a fresh connection serves a good call', async () => {
  const p = await connectedPair();
  try {
    const s = p.client.request(REQUEST, false, p.recorder);
    assert.ok(s instanceof H2Stream);
    const record = p.recorder.track(s);
    s.write(Buffer.from('still here'), true);
    await record.done;
    assert.equal(record.outcome, StreamOutcome.COMPLETE);
    assert.equal(Buffer.concat(record.data).toString(), 'still here');
  } finally {
    p.close();
  }
});
