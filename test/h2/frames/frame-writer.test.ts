// The frame writer's socket behaviour: one socket write per turn (a unary exchange's HEADERS,
// DATA and trailers together), large payloads by reference, backpressure reported, and slab
// reuse that never corrupts a queued write, over TCP, TLS and a plain Duplex.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { ErrorCode, SettingId } from '../../../h2/frames/constants.js';
import { FrameWriterError } from '../../../h2/frames/errors.js';
import { FrameParser } from '../../../h2/frames/frame-parser.js';
import { DEFAULT_COPY_THRESHOLD, FrameWriter } from '../../../h2/frames/frame-writer.js';
import { createTestCerts, type TestCerts } from '../../support/certs.js';
import { CaptureSink, FrameRecorder, parseChunks, pattern } from '../../support/frame-recorder.js';
import { eventually } from '../../support/proxy-harness.js';
import { seededRandom } from '../../support/fake-clock.js';
import { tcpPair, tlsPair, type SocketPair } from '../../support/socket-pair.js';

/** Counts the socket's write requests (each _write or _writev is one write to the kernel). */
function countWrites(socket: net.Socket): { readonly count: number } {
  const counter = { count: 0 };
  const s = socket as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  const write = s._write.bind(socket);
  const writev = s._writev.bind(socket);
  s._write = (...args: unknown[]) => {
    counter.count++;
    write(...args);
  };
  s._writev = (...args: unknown[]) => {
    counter.count++;
    writev(...args);
  };
  return counter;
}

const turn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

/** A parser on the reading end, recording frames (after a SETTINGS the test sends first). */
function reader(socket: net.Socket): { recorder: FrameRecorder; parser: FrameParser } {
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client' });
  socket.on('data', (chunk: Buffer) => parser.push(chunk));
  return { recorder, parser };
}

/** A gRPC unary response as the connection layer writes it: HEADERS, DATA, trailers. */
function unaryResponse(w: FrameWriter, streamId: number, message: Buffer): void {
  w.writeHeaders(streamId, pattern(12, streamId), false);
  w.writeData(streamId, message, false);
  w.writeHeaders(streamId, pattern(20, streamId + 1), true);
}

let pair: SocketPair;
before(async () => {
  pair = await tcpPair();
});
after(() => pair.close());

for (const mode of ['immediate', 'tick'] as const) {
  test(`a unary exchange's HEADERS + DATA + trailers cost one socket write (${mode})`, async () => {
    const writes = countWrites(pair.server);
    const { recorder } = reader(pair.client);
    const w = new FrameWriter(pair.server, { flush: mode });
    w.writeSettings([]);
    w.flush();
    await eventually(() => recorder.events.length === 1, 10_000, 'SETTINGS');
    const before = writes.count;
    unaryResponse(w, 1, pattern(15, 1));
    assert.equal(writes.count, before, 'nothing written before the turn ends');
    await turn();
    assert.equal(writes.count, before + 1);
    await eventually(() => recorder.events.length === 4, 10_000, 'three frames');
    assert.deepEqual(
      recorder.events.slice(1).map((e) => [e.kind, 'endStream' in e ? e.endStream : null]),
      [
        ['headers', false],
        ['data', false],
        ['headers', true],
      ],
    );
    pair.client.removeAllListeners('data');
    w.close();
  });
}

test('a 16 KiB response (payload referenced, not copied) still costs one write: a writev', async () => {
  const writes = countWrites(pair.server);
  const { recorder } = reader(pair.client);
  const w = new FrameWriter(pair.server);
  w.writeSettings([]);
  const message = pattern(16_384, 2);
  unaryResponse(w, 1, message);
  unaryResponse(w, 3, pattern(5, 3));
  await turn();
  assert.equal(writes.count, 1);
  await eventually(() => recorder.events.length === 7, 10_000, 'frames');
  assert.equal(
    recorder.events[2].kind === 'data' && recorder.events[2].data,
    message.toString('hex'),
  );
  pair.client.removeAllListeners('data');
  w.close();
});

test('manual mode writes nothing until flush(), then everything in one write', async () => {
  const writes = countWrites(pair.server);
  const w = new FrameWriter(pair.server, { flush: 'manual' });
  for (let id = 1; id < 40; id += 2) unaryResponse(w, id, pattern(15, id));
  await turn();
  assert.equal(writes.count, 0);
  assert.ok(w.pendingBytes > 20 * (9 * 3 + 15));
  assert.equal(w.flush(), true);
  assert.equal(writes.count, 1);
  assert.equal(w.pendingBytes, 0);
  assert.equal(w.flush(), true, 'nothing left: no write');
  assert.equal(writes.count, 1);
  w.close();
});

test('the writer flushes mid-turn only when its slab is full (on a socket, at the largest slab size)', async () => {
  const p = await tcpPair();
  try {
    const writes = countWrites(p.server);
    let received = 0;
    p.client.on('data', (c: Buffer) => (received += c.length));
    const w = new FrameWriter(p.server, { flush: 'manual', slabSize: 4096, copyThreshold: 1024 });
    // 100 frames of 9 + 100 octets: 10,900 octets, so the 4 KiB slab fills twice.
    for (let i = 0; i < 100; i++) w.writeData(1, pattern(100, i), false);
    assert.equal(writes.count, 2);
    w.flush();
    assert.equal(writes.count, 3);
    await eventually(() => received === 100 * 109, 10_000, 'every octet');
  } finally {
    await p.close();
  }
});

test('a turn that overflows the slab on a socket grows it, so the next turns of that size are one write', async () => {
  const p = await tcpPair();
  try {
    const writes = countWrites(p.server);
    let received = 0;
    p.client.on('data', (c: Buffer) => (received += c.length));
    const w = new FrameWriter(p.server, { flush: 'manual' });
    const turn = () => {
      // 200 frames of 9 + 100 octets: 21,800 octets, over the 4 KiB first slab.
      for (let i = 0; i < 200; i++) w.writeData(1 + 2 * i, pattern(100, i), false);
      w.flush();
    };
    turn();
    const first = writes.count;
    assert.ok(first > 1 && first <= 4, `${first} writes`);
    for (let t = 1; t <= 3; t++) {
      await eventually(() => p.server.writableLength === 0, 10_000, 'the socket to take the turn');
      turn();
      assert.equal(writes.count, first + t);
    }
    await eventually(() => received === 4 * 200 * 109, 10_000, 'every octet');
  } finally {
    await p.close();
  }
});

test('on a sink whose chunks are kept, a turn that overflows the slab is still one writev', () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  for (let t = 1; t <= 3; t++) {
    for (let i = 0; i < 200; i++) w.writeData(1 + 2 * i, pattern(100, i), false);
    w.flush();
    assert.equal(sink.writes, t);
  }
  const events = parseChunks([
    Buffer.concat([Buffer.from('000000040000000000', 'hex'), sink.bytes()]),
  ]).events;
  assert.equal(events.length, 1 + 600);
  for (let i = 0; i < 600; i++) {
    const e = events[1 + i];
    assert.ok(e.kind === 'data' && e.data === pattern(100, i % 200).toString('hex'), `frame ${i}`);
  }
});

test('reuseSlab: a sink done with each chunk gets the same slab region every turn; by default a Duplex never does', () => {
  const regions = (reuseSlab: boolean | undefined) => {
    const seen: string[] = [];
    const sink = new CaptureSink();
    const write = sink.write.bind(sink);
    // Copies each chunk (so reusing the slab is safe) and notes where it was.
    sink.write = ((chunk: Buffer) => {
      seen.push(`${chunk.byteOffset}`);
      return write(Buffer.from(chunk));
    }) as typeof sink.write;
    const w = new FrameWriter(sink, { flush: 'manual', reuseSlab });
    for (let t = 0; t < 3; t++) {
      unaryResponse(w, 1 + 2 * t, pattern(15, t));
      w.flush();
    }
    assert.equal(
      parseChunks([Buffer.concat([Buffer.from('000000040000000000', 'hex'), sink.bytes()])]).events
        .length,
      10,
    );
    return seen;
  };
  assert.deepEqual(regions(true), ['0', '0', '0']);
  const moving = regions(undefined);
  assert.equal(new Set(moving).size, 3, moving.join(', '));
});

test('payloads over the copy threshold are written by reference; smaller ones are copied', () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  const big = pattern(DEFAULT_COPY_THRESHOLD + 1, 1);
  const small = pattern(DEFAULT_COPY_THRESHOLD, 2);
  w.writeData(1, small, false);
  w.writeData(1, big, false);
  w.flush();
  assert.ok(sink.chunks.includes(big), 'the large payload is the caller’s buffer');
  assert.ok(!sink.chunks.includes(small));
  // A referenced slice of a larger buffer (DATA split by max frame size) is a view of it; the
  // last 7,232 octets are under the threshold, so copied.
  const huge = pattern(40_000, 3);
  w.writeData(5, huge, true);
  w.flush();
  const views = sink.chunks.filter((c) => c.buffer === huge.buffer);
  assert.deepEqual(
    views.map((v) => v.length),
    [16_384, 16_384],
  );
});

test('field blocks are copied whatever their size, so an encoder may reuse its buffer before the flush', () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  // One output buffer for every block, as an HPACK encoder keeps: 20,000 octets (HEADERS +
  // CONTINUATION), then overwritten by the next block before the turn is flushed.
  const out = Buffer.alloc(20_000);
  pattern(20_000, 1).copy(out);
  w.writeHeaders(1, out, false);
  pattern(20_000, 2).copy(out);
  w.writeHeaders(3, out, true);
  pattern(20_000, 3).copy(out);
  w.writePushPromise(1, 2, out.subarray(0, 10_000));
  out.fill(0);
  w.flush();
  assert.ok(!sink.chunks.some((c) => c.buffer === out.buffer));
  const events = parseChunks([
    Buffer.concat([Buffer.from('000000040000000000', 'hex'), sink.bytes()]),
  ]).events;
  assert.deepEqual(
    events.slice(1).map((e) => (e.kind === 'headers' || e.kind === 'push' ? e.block : e.kind)),
    [
      pattern(20_000, 1).toString('hex'),
      pattern(20_000, 2).toString('hex'),
      pattern(10_000, 3).toString('hex'),
    ],
  );
});

test('writeHeaderBlock sends the first `length` octets of a larger buffer, continued past the frame size', () => {
  const sink = new CaptureSink();
  const w = new FrameWriter(sink, { flush: 'manual' });
  const out = Buffer.alloc(40_000);
  pattern(40_000, 4).copy(out);
  w.writeHeaderBlock(1, out, 20_000, true);
  w.writeHeaderBlock(3, out, 12, false);
  out.fill(0);
  w.flush();
  const events = parseChunks([
    Buffer.concat([Buffer.from('000000040000000000', 'hex'), sink.bytes()]),
  ]).events;
  assert.deepEqual(
    events.slice(1).map((e) => (e.kind === 'headers' ? [e.block, e.endStream] : e.kind)),
    [
      [pattern(40_000, 4).subarray(0, 20_000).toString('hex'), true],
      [pattern(40_000, 4).subarray(0, 12).toString('hex'), false],
    ],
  );
});

test('a frame past the socket high-water mark that the kernel took at once does not make the writer wait', async () => {
  const pair = await tcpPair();
  const { client, server } = pair;
  try {
    let drained = 0;
    const w = new FrameWriter(server, { flush: 'manual', onDrain: () => drained++ });
    // 20 KiB: over a net.Socket's 16 KiB mark, so its write() answers "full".
    w.writeData(1, pattern(20_000, 1), false);
    assert.equal(w.flush(), true);
    assert.equal(server.writableLength, 0);
    assert.equal(w.needsDrain, false);
    const got: Buffer[] = [];
    client.on('data', (c: Buffer) => got.push(c));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(drained, 0, 'no onDrain without a wait');
    // Two DATA frames (16,384 + 3,616 octets), each with its 9-octet header.
    assert.equal(Buffer.concat(got).length, 2 * 9 + 20_000);
  } finally {
    await pair.close();
  }
});

test('backpressure: needsDrain when the socket buffer fills, onDrain once it drains', async () => {
  const pair = await tcpPair();
  const { client, server } = pair;
  try {
    client.pause(); // the peer stops reading
    let drained = 0;
    const w = new FrameWriter(server, { onDrain: () => drained++ });
    const chunk = pattern(65_536, 1);
    let turns = 0;
    while (!w.needsDrain && turns < 2_000) {
      w.writeData(1, chunk, false);
      await turn();
      turns++;
    }
    // Until the kernel's buffers filled, each turn's write drained before the next turn.
    assert.equal(w.needsDrain, true, `socket still accepting after ${turns} turns`);
    assert.equal(w.flush(), false);
    const before = drained;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(drained, before, 'no drain while the peer does not read');
    assert.equal(w.needsDrain, true);
    let received = 0;
    client.on('data', (c: Buffer) => (received += c.length));
    client.resume();
    await eventually(() => drained === before + 1, 10_000, 'drain');
    assert.equal(w.needsDrain, false);
    await eventually(() => received === turns * (9 * 4 + 65_536), 10_000, 'all bytes');
    w.close();
  } finally {
    await pair.close();
  }
});

/**
 * Writes `turns` turns of random frames (small, large, split) and checks the reading end parses
 * exactly them: a reused slab region overwritten before the socket took it would show here.
 */
async function integrity(
  writerEnd: net.Socket | PassThrough,
  readerEnd: { on(e: 'data', l: (c: Buffer) => void): unknown },
  seed: number,
  turns: number,
  options: { prefillBytes?: number; afterWrites?: () => void } = {},
): Promise<void> {
  const random = seededRandom(seed);
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client' });
  readerEnd.on('data', (c: Buffer) => parser.push(c));
  const w = new FrameWriter(writerEnd, { slabSize: 2048, copyThreshold: 512 });
  const expected: string[] = [];
  w.writeSettings([[SettingId.MAX_FRAME_SIZE, 16_384]]);
  expected.push('settings');
  // Extension frames (skipped by the parser) to fill the kernel's buffers first, if asked.
  const filler = Buffer.alloc(16_384);
  for (let n = 0; n < (options.prefillBytes ?? 0); n += filler.length) {
    w.writeFrame(0xfe, 0, 0, filler);
    expected.push('unknown');
  }
  for (let t = 0; t < turns; t++) {
    const frames = 1 + Math.floor(random() * 12);
    for (let f = 0; f < frames; f++) {
      const size = [0, 5, 100, 511, 512, 513, 3000, 20_000][Math.floor(random() * 8)];
      const body = pattern(size, t * 31 + f);
      const id = 1 + 2 * Math.floor(random() * 50);
      if (random() < 0.3) {
        w.writeHeaders(id, body, false);
        expected.push(`headers ${id} ${body.toString('hex')}`);
      } else {
        w.writeData(id, body, false);
        for (let at = 0; at < size || (size === 0 && at === 0); at += 16_384) {
          expected.push(`data ${id} ${body.subarray(at, at + 16_384).toString('hex')}`);
        }
      }
      if (random() < 0.1) {
        w.writeWindowUpdate(id, 1 + t);
        expected.push(`window ${id} ${1 + t}`);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  w.flush();
  options.afterWrites?.();
  await eventually(() => recorder.events.length >= expected.length, 10_000, 'every frame');
  const seen = recorder.events.map((e) =>
    e.kind === 'data'
      ? `data ${e.streamId} ${e.data}`
      : e.kind === 'headers'
        ? `headers ${e.streamId} ${e.block}`
        : e.kind === 'window'
          ? `window ${e.streamId} ${e.increment}`
          : e.kind,
  );
  assert.equal(seen.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (seen[i] !== expected[i]) assert.fail(`frame ${i} differs (seed ${seed})`);
  }
  w.close();
}

test('many turns over TCP: every frame arrives intact (slab reused after each write)', async () => {
  const p = await tcpPair();
  try {
    await integrity(p.server, p.client, 1, 300);
  } finally {
    await p.close();
  }
});

test('many turns over TCP to a reader that has stopped: queued writes are never overwritten', async () => {
  const p = await tcpPair();
  try {
    // 32 MiB first fill the kernel's socket buffers, so the turns after queue inside Node
    // (writableLength > 0) and the writer must move on in its slab instead of reusing it.
    p.client.pause();
    await integrity(p.server, p.client, 2, 300, {
      prefillBytes: 32 << 20,
      afterWrites: () => p.client.resume(),
    });
  } finally {
    await p.close();
  }
});

let certs: TestCerts | undefined;
after(() => certs?.cleanup());

test('many turns over TLS: every frame arrives intact', async () => {
  certs = await createTestCerts();
  const p = await tlsPair(certs);
  try {
    await integrity(p.server, p.client, 3, 200);
  } finally {
    await p.close();
  }
});

test('a Duplex that keeps written chunks (PassThrough): slab regions are never reused', async () => {
  // Nothing reads while the frames are written, so every chunk stays queued, by reference,
  // inside the PassThrough (which reports each write done at once).
  const through = new PassThrough({ highWaterMark: 1 << 30 });
  let listener: ((c: Buffer) => void) | undefined;
  await integrity(
    through,
    {
      on: (_event: 'data', l: (c: Buffer) => void) => {
        listener = l;
      },
    },
    4,
    100,
    { afterWrites: () => through.on('data', listener!) },
  );
});

test('close() drops gathered frames; a destroyed socket is not written to', async () => {
  const p = await tcpPair();
  try {
    const writes = countWrites(p.server);
    const w = new FrameWriter(p.server);
    unaryResponse(w, 1, pattern(10, 1));
    w.close();
    await turn();
    assert.equal(writes.count, 0);
    const w2 = new FrameWriter(p.server, { flush: 'manual' });
    unaryResponse(w2, 1, pattern(10, 1));
    p.server.destroy();
    assert.equal(w2.flush(), false);
    assert.equal(writes.count, 0);
  } finally {
    await p.close();
  }
});

test('writer methods refuse what cannot go on the wire (programming errors)', () => {
  const w = new FrameWriter(new CaptureSink(), { flush: 'manual' });
  const bad: Array<[string, () => void]> = [
    ['DATA on stream 0', () => w.writeData(0, Buffer.alloc(1), false)],
    ['HEADERS on stream 2^31', () => w.writeHeaders(2 ** 31, Buffer.alloc(1), false)],
    ['RST_STREAM on stream 0', () => w.writeRstStream(0, ErrorCode.CANCEL)],
    ['RST_STREAM with code 2^32', () => w.writeRstStream(1, 2 ** 32)],
    ['WINDOW_UPDATE of 0', () => w.writeWindowUpdate(1, 0)],
    ['WINDOW_UPDATE of 2^31', () => w.writeWindowUpdate(0, 2 ** 31)],
    ['PING of 7 octets', () => w.writePing(false, Buffer.alloc(7))],
    ['weight 256', () => w.writePriority(1, 3, 256, false)],
    ['SETTINGS_ENABLE_PUSH = 2', () => w.writeSettings([[SettingId.ENABLE_PUSH, 2]])],
    ['SETTINGS_MAX_FRAME_SIZE = 100', () => w.writeSettings([[SettingId.MAX_FRAME_SIZE, 100]])],
    ['GOAWAY last stream -1', () => w.writeGoaway(-1, 0)],
    ['max frame size 2^24', () => w.setMaxFrameSize(2 ** 24)],
    ['slab of 100 octets', () => new FrameWriter(new CaptureSink(), { slabSize: 100 })],
  ];
  for (const [what, call] of bad) assert.throws(call, FrameWriterError, what);
  w.flush();
});
