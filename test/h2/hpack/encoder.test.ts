// HPACK encoder: which representation each field gets (indexed, literal with or without
// indexing, never indexed), Huffman only where shorter, table size updates, output growth,
// and its table staying in step with a decoder's over many seeded blocks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from '../../../h2/hpack/byte-writer.js';
import { HpackDecoder } from '../../../h2/hpack/decoder.js';
import { HpackEncoder } from '../../../h2/hpack/encoder.js';
import { HeaderList } from '../../../h2/hpack/header-list.js';
import { grpcRequest } from '../../../bench/hpack-bench.js';
import { seededRandom } from '../../support/fake-clock.js';
import { decodeBlock } from './decode-block.js';

function encodeHex(encoder: HpackEncoder, fields: string[], never?: number[]): string {
  const out = new ByteWriter(8);
  encoder.encode(fields, out, never ?? null);
  return out.written().toString('hex');
}

/** Encodes with `encoder`, decodes with `decoder`, and checks fields and both tables. */
function roundTrip(
  encoder: HpackEncoder,
  decoder: HpackDecoder,
  fields: string[],
  never: number[] = [],
): Buffer {
  const out = new ByteWriter(8);
  encoder.encode(fields, out, never);
  const block = out.written();
  const { out: decoded, error } = decodeBlock(decoder, block);
  assert.equal(error, null, error?.message);
  assert.deepEqual(decoded, fields);
  assert.deepEqual(encoder.table.entries(), decoder.table.entries());
  assert.equal(encoder.table.size, decoder.table.size);
  assert.equal(encoder.table.maxSize, decoder.table.maxSize);
  return Buffer.from(block);
}

/** A gRPC request as grpc-js sends it (the benchmark's). */
const REQUEST = grpcRequest(0);

test('static exact matches are one byte; the rest enter the table and are one byte next time', () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const first = roundTrip(encoder, decoder, REQUEST);
  assert.equal(first[0], 0x83); // :method POST
  assert.equal(first[1], 0x86); // :scheme http
  assert.equal(first[2], 0x44); // :path, incremental indexing, name 4
  // Seven literals entered the table (grpc-timeout too: its name was in no table yet).
  assert.equal(encoder.table.length, 7);
  // Call 4: the same method, another deadline.
  const second = roundTrip(encoder, decoder, grpcRequest(4));
  // Everything but grpc-timeout indexed; grpc-timeout's value stays out of the table, its name
  // refers to the entry of the first call: without indexing, name 62 (15 + 47), then "98996u"
  // in 5 Huffman bytes.
  assert.equal(second.length, 2 + 6 + 2 + 1 + 5);
  assert.equal(second.subarray(8, 11).toString('hex'), '0f2f85');
  assert.equal(encoder.table.length, 7);
});

test('unindexed names keep changing values out of the table', () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  for (let i = 0; i < 50; i++) {
    roundTrip(encoder, decoder, [
      'grpc-timeout',
      `${i}m`,
      'content-length',
      String(i),
      'traceparent',
      `00-${i}`,
    ]);
  }
  // Only the first grpc-timeout and traceparent (names in no table); content-length is static.
  assert.deepEqual(
    encoder.table.entries().map((e) => e[0]),
    ['traceparent', 'grpc-timeout'],
  );
});

test('sensitive names and flagged fields go as never indexed, even with an exact match', () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const fields = [
    'authorization',
    'Bearer abc',
    'cookie',
    'a=b',
    'x-api-key',
    'k1',
    ':method',
    'GET',
  ];
  const block = roundTrip(encoder, decoder, fields, [4, 6]);
  assert.equal(block[0], 0x1f); // never indexed, name index 23 = 15 + 8
  assert.equal(block[1], 0x08);
  assert.equal(encoder.table.length, 0);
  // :method GET is static entry 2, but a flagged field stays literal: never indexed, name 2.
  const bytes = Buffer.from(encodeHex(new HpackEncoder(), fields, [4, 6]), 'hex');
  const { never, error } = decodeBlock(new HpackDecoder(), bytes);
  assert.equal(error, null);
  assert.deepEqual(never, [0, 2, 4, 6]);
  assert.equal(bytes.subarray(-5).toString('hex'), '1203474554'); // name 2, "GET" raw
});

test('callers may name more sensitive and unindexed names', () => {
  const encoder = new HpackEncoder({ sensitiveNames: ['x-secret'], unindexedNames: [] });
  const decoder = new HpackDecoder();
  const bytes = Buffer.from(
    encodeHex(encoder, ['x-secret', 's', 'authorization', 'a', 'date', 'd']),
    'hex',
  );
  const { never, error } = decodeBlock(decoder, bytes);
  assert.equal(error, null);
  assert.deepEqual(never, [0]);
  // authorization is no longer sensitive, and date is indexed.
  assert.deepEqual(
    encoder.table.entries().map((e) => e[0]),
    ['date', 'authorization'],
  );
});

test('Huffman only where it is shorter, and not at all when turned off', () => {
  const encoder = new HpackEncoder({ unindexedNames: ['x'] });
  // Name "x" (1 byte raw), value of bytes with long codes: both raw (H bit clear).
  const rare = String.fromCharCode(0, 1, 2, 3);
  assert.equal(encodeHex(encoder, ['x', rare]), '4001780400010203');
  // A common value: Huffman (H bit set), 12 bytes instead of 15.
  const hex = encodeHex(encoder, ['x', 'www.example.com']);
  assert.equal(hex.slice(0, 4), '0f2f'); // without indexing, name 62 = 15 + 47
  assert.equal(hex.slice(4, 6), '8c');
  const raw = new HpackEncoder({ huffman: false, unindexedNames: ['x'] });
  assert.equal(encodeHex(raw, ['x', 'www.example.com']).slice(6, 8), '0f');
});

test('a field over 3/4 of the table is sent without indexing', () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const big = 'v'.repeat(3072 - 32 - 5 + 1); // name "x-big" (5): 3,073 octets
  const block = roundTrip(encoder, decoder, ['x-big', big]);
  assert.equal(block[0], 0x00);
  assert.equal(encoder.table.length, 0);
  roundTrip(encoder, decoder, ['x-big', big.slice(1)]); // 3,072 octets: indexed
  assert.equal(encoder.table.length, 1);
});

test("the peer's SETTINGS_HEADER_TABLE_SIZE: updates at the next block start, the lowest first", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  roundTrip(encoder, decoder, REQUEST);
  // Lowered to 0: the next block starts with an update to 0 and nothing is indexed.
  encoder.setPeerMaxTableSize(0);
  decoder.setMaxTableSize(0);
  const empty = roundTrip(encoder, decoder, REQUEST);
  assert.equal(empty[0], 0x20);
  assert.equal(encoder.table.length, 0);
  // Up to 256, then 4096, before the next block: nothing in between was below the current 0, so
  // only the final size is announced.
  encoder.setPeerMaxTableSize(256);
  encoder.setPeerMaxTableSize(4096);
  decoder.setMaxTableSize(256);
  decoder.setMaxTableSize(4096);
  const up = roundTrip(encoder, decoder, REQUEST);
  assert.equal(up.subarray(0, 4).toString('hex'), '3fe11f83'); // 4096, then :method POST
  // Lowered then raised again: the lowest value is announced, then the final one.
  encoder.setPeerMaxTableSize(100);
  encoder.setPeerMaxTableSize(4096);
  decoder.setMaxTableSize(100);
  decoder.setMaxTableSize(4096);
  const dip = roundTrip(encoder, decoder, REQUEST);
  assert.equal(dip.subarray(0, 5).toString('hex'), '3f453fe11f');
  // Unchanged or above the encoder's own maximum: nothing to announce.
  encoder.setPeerMaxTableSize(65536);
  decoder.setMaxTableSize(65536);
  assert.equal(roundTrip(encoder, decoder, REQUEST)[0], 0x83);
});

test('an encoder with a smaller table announces it in its first block', () => {
  const encoder = new HpackEncoder({ maxTableSize: 1024 });
  const decoder = new HpackDecoder();
  const block = roundTrip(encoder, decoder, REQUEST);
  assert.equal(block.subarray(0, 3).toString('hex'), '3fe107'); // 1024 = 31 + 993
  assert.equal(roundTrip(encoder, decoder, REQUEST)[0], 0x83);
});

test('the output grows as needed and each block starts where the last ended', () => {
  const encoder = new HpackEncoder();
  const out = new ByteWriter(4);
  const long = 'z'.repeat(70_000);
  encoder.encode(['x-long', long, ':method', 'GET'], out);
  const firstEnd = out.pos;
  encoder.encode([':method', 'GET'], out);
  assert.equal(out.pos, firstEnd + 1);
  const decoder = new HpackDecoder({ maxHeaderListSize: 1 << 20 });
  const { out: fields, error } = decodeBlock(decoder, out.buf, 0, firstEnd);
  assert.equal(error, null);
  assert.deepEqual(fields, ['x-long', long, ':method', 'GET']);
});

test('fields added one by one with startBlock and encodeField', () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  encoder.setPeerMaxTableSize(512);
  decoder.setMaxTableSize(512);
  const out = new ByteWriter();
  encoder.startBlock(out);
  encoder.encodeField(out, ':status', '200');
  encoder.encodeField(out, 'x-secret', 'v', true);
  const { out: fields, never, error } = decodeBlock(decoder, out.buf, 0, out.pos);
  assert.equal(error, null);
  assert.deepEqual(fields, [':status', '200', 'x-secret', 'v']);
  assert.deepEqual(never, [2]);
  assert.equal(decoder.table.maxSize, 512);
});

test('2,000 seeded random blocks: the tables stay in step through evictions and size changes', () => {
  const random = seededRandom(9113);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const names = ['x-a', 'x-b', 'x-c', 'content-type', ':path', 'grpc-timeout', 'cookie', 'date'];
  const values = ['', '1', 'application/grpc', '/pkg.Svc/Method', 'v'.repeat(40), 'w'.repeat(90)];
  const sizes = [0, 64, 150, 256, 1000, 4096];
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  for (let n = 0; n < 2_000; n++) {
    if (random() < 0.03) {
      const size = pick(sizes);
      encoder.setPeerMaxTableSize(size);
      decoder.setMaxTableSize(size);
    }
    const fields: string[] = [];
    const never: number[] = [];
    const count = Math.floor(random() * 12);
    for (let i = 0; i < count; i++) {
      if (random() < 0.05) never.push(fields.length);
      fields.push(pick(names), random() < 0.1 ? `r${Math.floor(random() * 1e6)}` : pick(values));
    }
    roundTrip(encoder, decoder, fields, never);
  }
});

test('a Huffman string that needs one length byte less than the raw one is moved into place', () => {
  const encoder = new HpackEncoder();
  const value = 'a'.repeat(130); // raw: 7f 03 + 130 bytes; Huffman: 82 bytes (5 bits each)
  const out = new ByteWriter();
  encoder.encode(['x-long', value], out);
  const block = out.written();
  // Literal with indexing, new name "x-long" (Huffman, 5 bytes), then the value: 0x80 | 82.
  assert.equal(block[0], 0x40);
  assert.equal(block[1], 0x85);
  assert.equal(block[7], 0x80 | 82);
  assert.equal(block.length, 8 + 82);
  const { out: fields, error } = decodeBlock(new HpackDecoder(), block);
  assert.equal(error, null);
  assert.deepEqual(fields, ['x-long', value]);
});

test('a decoded list is forwarded as it came: its length, and its never-indexed fields', () => {
  const upstream = new HpackEncoder();
  const client = new HpackEncoder();
  const proxy = new HpackDecoder();
  const list = new HeaderList();
  const out = new ByteWriter();
  // A first, longer block leaves entries past the second one's length.
  client.encode([':method', 'POST', 'x-a', '1', 'x-b', '2'], out);
  assert.equal(proxy.decode(out.buf, 0, out.pos, list), null);
  out.reset();
  client.encode([':method', 'GET', 'x-secret', 's'], out, [2]);
  assert.equal(proxy.decode(out.buf, 0, out.pos, list), null);
  assert.equal(list.length, 4);
  out.reset();
  upstream.encode(list.fields, out, list.neverIndexed, list.length);
  const { out: fields, never, error } = decodeBlock(new HpackDecoder(), out.written());
  assert.equal(error, null);
  assert.deepEqual(fields, [':method', 'GET', 'x-secret', 's']);
  assert.deepEqual(never, [2]);
});

test('encoders with their own sensitive names do not change the defaults of others', () => {
  const special = new HpackEncoder({ sensitiveNames: ['x-token'] });
  const plain = new HpackEncoder();
  const out = new ByteWriter();
  special.encode(['x-token', 't', 'authorization', 'a'], out);
  assert.deepEqual(
    special.table.entries().map((e) => e[0]),
    ['authorization'],
  );
  out.reset();
  plain.encode(['x-token', 't', 'authorization', 'a'], out);
  assert.deepEqual(
    plain.table.entries().map((e) => e[0]),
    ['x-token'],
  );
});
