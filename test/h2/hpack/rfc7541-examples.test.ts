// RFC 7541 Appendix C, C.2 to C.6: each header block decoded from the RFC's exact bytes and
// encoded to them, with the dynamic table the RFC shows after it on both sides.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteWriter } from '../../../h2/hpack/byte-writer.js';
import { HpackDecoder } from '../../../h2/hpack/decoder.js';
import { HpackEncoder } from '../../../h2/hpack/encoder.js';
import { decodeBlock } from './decode-block.js';
import { hex } from './hex.js';

interface ExampleBlock {
  readonly bytes: string;
  /** What the encoder sends when it differs from `bytes` (equally valid, never longer). */
  readonly encoded?: string;
  /** name, value, name, value, ... */
  readonly fields: readonly string[];
  /** Dynamic table after the block, newest first. */
  readonly table: readonly (readonly [string, string])[];
  readonly tableSize: number;
}

interface Example {
  readonly name: string;
  /** SETTINGS_HEADER_TABLE_SIZE of both sides. */
  readonly maxTableSize: number;
  readonly huffman: boolean;
  /** Fields sent as never indexed (C.2.3), and names sent without indexing (C.2.2). */
  readonly sensitive?: readonly string[];
  readonly unindexed?: readonly string[];
  /** Blocks in order, one context for all of them. */
  readonly blocks: readonly ExampleBlock[];
}

const AUTHORITY = [':authority', 'www.example.com'] as const;
const REQ1 = [':method', 'GET', ':scheme', 'http', ':path', '/', ...AUTHORITY];
const REQ2 = [...REQ1, 'cache-control', 'no-cache'];
const REQ3 = [
  ':method',
  'GET',
  ':scheme',
  'https',
  ':path',
  '/index.html',
  ...AUTHORITY,
  'custom-key',
  'custom-value',
];
const REQ_TABLES = [
  { table: [AUTHORITY], tableSize: 57 },
  { table: [['cache-control', 'no-cache'], AUTHORITY], tableSize: 110 },
  {
    table: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], AUTHORITY],
    tableSize: 164,
  },
] as const;

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = ['location', 'https://www.example.com'] as const;
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RES1 = [':status', '302', 'cache-control', 'private', 'date', DATE1, ...LOCATION];
const RES2 = [':status', '307', 'cache-control', 'private', 'date', DATE1, ...LOCATION];
const RES3 = [
  ':status',
  '200',
  'cache-control',
  'private',
  'date',
  DATE2,
  ...LOCATION,
  'content-encoding',
  'gzip',
  'set-cookie',
  COOKIE,
];
const RES_TABLES = [
  {
    table: [LOCATION, ['date', DATE1], ['cache-control', 'private'], [':status', '302']],
    tableSize: 222,
  },
  {
    table: [[':status', '307'], LOCATION, ['date', DATE1], ['cache-control', 'private']],
    tableSize: 222,
  },
  {
    table: [
      ['set-cookie', COOKIE],
      ['content-encoding', 'gzip'],
      ['date', DATE2],
    ],
    tableSize: 215,
  },
] as const;

const EXAMPLES: readonly Example[] = [
  {
    name: 'C.2.1 literal field with indexing',
    maxTableSize: 4096,
    huffman: false,
    blocks: [
      {
        bytes: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
        fields: ['custom-key', 'custom-header'],
        table: [['custom-key', 'custom-header']],
        tableSize: 55,
      },
    ],
  },
  {
    name: 'C.2.2 literal field without indexing',
    maxTableSize: 4096,
    huffman: false,
    unindexed: [':path'],
    blocks: [
      {
        bytes: '040c 2f73 616d 706c 652f 7061 7468',
        fields: [':path', '/sample/path'],
        table: [],
        tableSize: 0,
      },
    ],
  },
  {
    name: 'C.2.3 literal field never indexed',
    maxTableSize: 4096,
    huffman: false,
    sensitive: ['password'],
    blocks: [
      {
        bytes: '1008 7061 7373 776f 7264 0673 6563 7265 74',
        fields: ['password', 'secret'],
        table: [],
        tableSize: 0,
      },
    ],
  },
  {
    name: 'C.2.4 indexed field',
    maxTableSize: 4096,
    huffman: false,
    blocks: [{ bytes: '82', fields: [':method', 'GET'], table: [], tableSize: 0 }],
  },
  {
    name: 'C.3 requests without Huffman coding',
    maxTableSize: 4096,
    huffman: false,
    blocks: [
      {
        bytes: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        fields: REQ1,
        ...REQ_TABLES[0],
      },
      { bytes: '8286 84be 5808 6e6f 2d63 6163 6865', fields: REQ2, ...REQ_TABLES[1] },
      {
        bytes: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        fields: REQ3,
        ...REQ_TABLES[2],
      },
    ],
  },
  {
    name: 'C.4 requests with Huffman coding',
    maxTableSize: 4096,
    huffman: true,
    blocks: [
      { bytes: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', fields: REQ1, ...REQ_TABLES[0] },
      { bytes: '8286 84be 5886 a8eb 1064 9cbf', fields: REQ2, ...REQ_TABLES[1] },
      {
        bytes: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
        fields: REQ3,
        ...REQ_TABLES[2],
      },
    ],
  },
  {
    name: 'C.5 responses without Huffman coding, 256-octet table',
    maxTableSize: 256,
    huffman: false,
    blocks: [
      {
        bytes:
          '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 ' +
          '2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 ' +
          '6c65 2e63 6f6d',
        fields: RES1,
        ...RES_TABLES[0],
      },
      { bytes: '4803 3330 37c1 c0bf', fields: RES2, ...RES_TABLES[1] },
      {
        bytes:
          '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d ' +
          '54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 ' +
          '5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e ' +
          '3d31',
        fields: RES3,
        ...RES_TABLES[2],
      },
    ],
  },
  {
    name: 'C.6 responses with Huffman coding, 256-octet table',
    maxTableSize: 256,
    huffman: true,
    blocks: [
      {
        bytes:
          '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 ' +
          '2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
        fields: RES1,
        ...RES_TABLES[0],
      },
      {
        bytes: '4883 640e ffc1 c0bf',
        // "307" is 3 bytes raw and 3 Huffman-coded; Huffman only when shorter sends it raw.
        encoded: '4803 3330 37c1 c0bf',
        fields: RES2,
        ...RES_TABLES[1],
      },
      {
        bytes:
          '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab ' +
          '77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f ' +
          '9587 3160 65c0 03ed 4ee5 b106 3d50 07',
        fields: RES3,
        ...RES_TABLES[2],
      },
    ],
  },
];

void describe('RFC 7541 Appendix C, decoding', () => {
  for (const example of EXAMPLES) {
    void it(example.name, () => {
      // The examples start both tables at their size, as if it were the protocol's initial one.
      const decoder = new HpackDecoder({ maxTableSize: example.maxTableSize });
      for (const [i, block] of example.blocks.entries()) {
        const bytes = hex(block.bytes);
        const { out, never, error } = decodeBlock(decoder, bytes);
        assert.equal(error, null);
        assert.deepEqual(out, block.fields, `block ${i + 1}`);
        assert.deepEqual(never, example.sensitive ? [0] : [], `block ${i + 1}`);
        assert.deepEqual(decoder.table.entries(), block.table, `table after block ${i + 1}`);
        assert.equal(decoder.table.size, block.tableSize, `table size after block ${i + 1}`);
      }
    });
  }
});

void describe('RFC 7541 Appendix C, encoding', () => {
  for (const example of EXAMPLES) {
    void it(example.name, () => {
      const encoder = new HpackEncoder({
        maxTableSize: example.maxTableSize,
        huffman: example.huffman,
        sensitiveNames: example.sensitive ?? [],
        unindexedNames: example.unindexed ?? [],
      });
      const out = new ByteWriter(16);
      for (const [i, block] of example.blocks.entries()) {
        out.reset();
        encoder.encode(block.fields, out);
        // An encoder whose table is below the protocol's initial 4,096 says so first; the RFC's
        // examples instead start both sides at 256 (a size update to 256 is 3f e1 01).
        const announce = i === 0 && example.maxTableSize !== 4096 ? '3fe101' : '';
        assert.equal(
          out.written().toString('hex'),
          hex(announce + (block.encoded ?? block.bytes)).toString('hex'),
          `block ${i + 1}`,
        );
        assert.deepEqual(encoder.table.entries(), block.table, `table after block ${i + 1}`);
        assert.equal(encoder.table.size, block.tableSize, `table size after block ${i + 1}`);
      }
    });
  }
});
