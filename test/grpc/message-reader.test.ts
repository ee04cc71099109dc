// The length-prefixed message reader behind message hooks: the same stream of messages cut
// into chunks at every byte boundary, and into random pieces, gives the same messages; a
// message over the limit and a bad flag end the stream with a status; a sink that says stop
// stops the reading.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageReader, type MessageSink } from '../../grpc/message-reader.js';
import { Status } from '../../grpc/grpc-status.js';

function frame(message: Buffer, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

interface Seen {
  hex: string;
  compressed: boolean;
}

function collector(): { sink: MessageSink; seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    sink: {
      message(bytes, compressed) {
        // Copied: a view of a chunk is only valid while the chunk is.
        seen.push({ hex: Buffer.from(bytes).toString('hex'), compressed });
        return true;
      },
    },
  };
}

/** Messages of sizes 0, 1, 4, 5, 6 and 300, one compressed, each byte i of message k (k+i)%256. */
function messages(): { stream: Buffer; expected: Seen[] } {
  const sizes = [0, 1, 4, 5, 6, 300];
  const expected: Seen[] = [];
  const frames: Buffer[] = [];
  sizes.forEach((size, k) => {
    const m = Buffer.alloc(size);
    for (let i = 0; i < size; i++) m[i] = (k + i) % 256;
    const compressed = k === 3;
    frames.push(frame(m, compressed));
    expected.push({ hex: m.toString('hex'), compressed });
  });
  return { stream: Buffer.concat(frames), expected };
}

describe('MessageReader', () => {
  it('reads the same messages wherever the stream is cut in two', () => {
    const { stream, expected } = messages();
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new MessageReader(1024, 'request');
      const { sink, seen } = collector();
      assert.equal(reader.read(stream.subarray(0, cut), sink), null);
      assert.equal(reader.read(stream.subarray(cut), sink), null);
      assert.deepEqual(seen, expected, `cut at ${cut}`);
      assert.equal(reader.count, expected.length);
      assert.equal(reader.pending, 0);
    }
  });

  it('reads the same messages one byte at a time, and in pieces of every size up to 17', () => {
    const { stream, expected } = messages();
    for (let piece = 1; piece <= 17; piece++) {
      const reader = new MessageReader(1024, 'response');
      const { sink, seen } = collector();
      for (let at = 0; at < stream.length; at += piece) {
        assert.equal(reader.read(stream.subarray(at, at + piece), sink), null);
      }
      assert.deepEqual(seen, expected, `pieces of ${piece}`);
    }
  });

  it('refuses a message over the limit with RESOURCE_EXHAUSTED, from its prefix alone', () => {
    const reader = new MessageReader(100, 'request');
    const { sink, seen } = collector();
    assert.equal(reader.read(frame(Buffer.alloc(100)), sink), null);
    const big = frame(Buffer.alloc(101));
    const problem = reader.read(big.subarray(0, 5), sink);
    assert.deepEqual(problem, {
      code: Status.RESOURCE_EXHAUSTED,
      message: 'request message 1 of 101 bytes is over the 100 that filters read',
    });
    assert.equal(seen.length, 1);
  });

  it('refuses a flag other than 0 or 1 with INTERNAL', () => {
    const reader = new MessageReader(100, 'response');
    const bad = frame(Buffer.from('x'));
    bad[0] = 2;
    const problem = reader.read(bad, collector().sink);
    assert.equal(problem?.code, Status.INTERNAL);
    assert.equal(problem?.message, 'response message 0 has compressed flag 2, not 0 or 1');
  });

  it('stops reading when the sink says so', () => {
    const reader = new MessageReader(100, 'request');
    let calls = 0;
    const chunk = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]);
    reader.read(chunk, {
      message() {
        calls++;
        return false;
      },
    });
    assert.equal(calls, 1);
  });
});
