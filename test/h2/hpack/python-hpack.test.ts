// Cross-check against an independent HPACK implementation, Debian's python3-hpack: seeded
// random header lists encoded by us and decoded by it, and encoded by it and decoded by us,
// each side keeping one context over hundreds of blocks, with table size changes and
// never-indexed fields; the dynamic tables are compared after every block.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ByteWriter } from '../../../h2/hpack/byte-writer.js';
import { HpackDecoder } from '../../../h2/hpack/decoder.js';
import { HpackEncoder } from '../../../h2/hpack/encoder.js';
import { DEFAULT_SENSITIVE_NAMES } from '../../../h2/hpack/indexing-policy.js';
import { seededRandom } from '../../support/fake-clock.js';
import { decodeBlock } from './decode-block.js';

// Compiled code runs from <repo>/dist/test/h2/hpack; the script stays in <repo>/test/fixtures.
const PEER = fileURLToPath(new URL('../../../../test/fixtures/hpack-peer.py', import.meta.url));
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-hpack is installed
const BLOCKS = 400;

type Field = [name: string, value: string, never: boolean];
type WireField = [nameHex: string, valueHex: string, never: boolean];
type WireEntry = [nameHex: string, valueHex: string];

interface PeerResult {
  decoded: ({ fields: WireField[]; table: WireEntry[] } | { error: string })[];
  /** `never`: the fields python3-hpack did send as never indexed. */
  encoded: { block: string; never: boolean[]; table: WireEntry[] }[];
}

const toHex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const entriesHex = (entries: [string, string][]): WireEntry[] =>
  entries.map(([n, v]) => [toHex(n), toHex(v)]);

function runPeer(job: unknown): PeerResult {
  const run = spawnSync(PYTHON, [PEER], {
    input: JSON.stringify(job),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(run.error, undefined, `${PYTHON}: ${run.error?.message}`);
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as PeerResult;
}

/** Seeded header lists: gRPC-like fields that repeat, and random names, values and bytes. */
function headerLists(seed: number): { fields: Field[]; tableSize?: number }[] {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const text = (length: number, from: number, span: number) => {
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCharCode(from + int(span));
    return s;
  };
  const names = [
    ':method',
    ':scheme',
    ':path',
    ':authority',
    ':status',
    'content-type',
    'te',
    'user-agent',
    'grpc-timeout',
    'grpc-encoding',
    'grpc-accept-encoding',
    'grpc-status',
    'grpc-message',
    'authorization',
    'cookie',
    'date',
    'traceparent',
    'x-user-bin',
    'custom-key',
  ];
  const values = [
    '',
    'GET',
    'POST',
    '/',
    '200',
    '0',
    'http',
    'application/grpc',
    'trailers',
    'identity,deflate,gzip',
    '/grpc.testing.TestService/UnaryCall',
    'localhost:50051',
    'grpc-node-js/1.14.3',
  ];
  const sizes = [0, 32, 100, 256, 1024, 4096, 8192];
  const lists: { fields: Field[]; tableSize?: number }[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const fields: Field[] = [];
    const count = int(17);
    for (let i = 0; i < count; i++) {
      const r = random();
      const name = r < 0.7 ? pick(names) : text(1 + int(20), 97, 26);
      const v = random();
      const value =
        v < 0.55
          ? pick(values)
          : v < 0.8
            ? text(int(60), 32, 95) // printable
            : v < 0.95
              ? text(int(40), 0, 256) // any octet
              : text(100 + int(300), 32, 95); // long: evictions
      fields.push([name, value, random() < 0.05]);
    }
    lists.push(random() < 0.03 ? { fields, tableSize: pick(sizes) } : { fields });
  }
  return lists;
}

test('python3-hpack decodes what we encode, and we decode what it encodes, table for table', () => {
  // Our encoder -> python's decoder.
  const ours = headerLists(1);
  const encoder = new HpackEncoder();
  const out = new ByteWriter();
  const decodeJob = ours.map(({ fields, tableSize }) => {
    if (tableSize !== undefined) encoder.setPeerMaxTableSize(tableSize);
    out.reset();
    const flat = fields.flatMap(([n, v]) => [n, v]);
    const never = fields.flatMap(([, , nv], i) => (nv ? [2 * i] : []));
    encoder.encode(flat, out, never);
    return {
      ...(tableSize === undefined ? {} : { tableSize }),
      block: out.written().toString('hex'),
      table: entriesHex(encoder.table.entries()),
    };
  });

  // Python's encoder -> our decoder.
  const theirs = headerLists(2);
  let peerSize = 4096;
  const encodeJob = theirs.map(({ fields, tableSize }) => {
    // python3-hpack forgets a change set twice to the same value: only send real changes.
    const change = tableSize !== undefined && tableSize !== peerSize;
    if (change) peerSize = tableSize;
    return {
      ...(change ? { tableSize } : {}),
      fields: fields.map(([n, v, never]): WireField => [toHex(n), toHex(v), never]),
    };
  });

  const result = runPeer({
    decode: decodeJob.map(({ tableSize, block }) => ({ tableSize, block })),
    encode: encodeJob,
  });

  assert.equal(result.decoded.length, BLOCKS);
  for (const [i, got] of result.decoded.entries()) {
    assert.ok(!('error' in got), `block ${i}: python3-hpack: ${'error' in got ? got.error : ''}`);
    const expected = ours[i].fields.map(([n, v, never]): WireField => [
      toHex(n),
      toHex(v),
      never || DEFAULT_SENSITIVE_NAMES.includes(n),
    ]);
    assert.deepEqual(got.fields, expected, `block ${i} as python3-hpack decoded it`);
    assert.deepEqual(got.table, decodeJob[i].table, `python3-hpack's table after block ${i}`);
  }

  const decoder = new HpackDecoder({ maxHeaderListSize: 1 << 24 });
  assert.equal(result.encoded.length, BLOCKS);
  let neverSent = 0;
  for (const [i, { block, never: sentNever, table }] of result.encoded.entries()) {
    const size = encodeJob[i].tableSize;
    if (size !== undefined) decoder.setMaxTableSize(size);
    const bytes = Buffer.from(block, 'hex');
    const { out: fields, never, error } = decodeBlock(decoder, bytes);
    assert.equal(error, null, `block ${i}: ${error?.message}`);
    const sent = theirs[i].fields;
    assert.deepEqual(
      fields,
      sent.flatMap(([n, v]) => [n, v]),
      `block ${i} as we decoded it`,
    );
    assert.deepEqual(
      never,
      sentNever.flatMap((nv, k) => (nv ? [2 * k] : [])),
      `never-indexed fields of block ${i}`,
    );
    neverSent += never.length;
    assert.deepEqual(entriesHex(decoder.table.entries()), table, `our table after block ${i}`);
  }
  // The runs did change sizes and evict, or they would prove less.
  assert.ok(decodeJob.some((s) => s.tableSize !== undefined));
  assert.ok(encodeJob.some((s) => s.tableSize !== undefined));
  assert.ok(neverSent > 10);
});
