// HPACK benchmark: ns to decode and to encode typical gRPC header blocks (request, response
// headers, trailers) with the tables warm, as on a long-lived connection, and on a new one.
// Times are the process's CPU time (process.cpuUsage), so waiting for a busy core does not count.
import { pathToFileURL } from 'node:url';
import { ByteWriter, HeaderList, HpackDecoder, HpackEncoder } from '../h2/hpack/index.js';

export interface HpackBenchOptions {
  /** Blocks per timed run. Default 200,000. */
  readonly blocks?: number;
  /** Timed runs (the median is reported). Default 5. */
  readonly runs?: number;
}

export interface HpackBenchRow {
  readonly block: string;
  readonly fields: number;
  /** Encoded size with the tables warm (what most blocks of a connection cost on the wire). */
  readonly bytes: number;
  /** Encoded size of the first such block on a connection. */
  readonly firstBytes: number;
  /** Median and fastest run's CPU ns per block, decoding blocks as our encoder sent them. */
  readonly decodeNs: number;
  readonly decodeNsBest: number;
  readonly encodeNs: number;
  readonly encodeNsBest: number;
  /** CPU ns for a new encoder and decoder (a connection's pair) and one first block through them. */
  readonly newConnectionNs: number;
}

export interface HpackBenchResult {
  readonly blocksPerRun: number;
  readonly rows: readonly HpackBenchRow[];
}

/** Variants per block kind: values that change per call cycle through these. */
const VARIANTS = 1024;
const METHODS = [
  '/grpc.testing.TestService/UnaryCall',
  '/grpc.testing.TestService/StreamingOutputCall',
  '/routeguide.RouteGuide/GetFeature',
  '/routeguide.RouteGuide/ListFeatures',
];

/**
 * The request @grpc/grpc-js 1.14 sends for call `i`: the deadline left changes per call, the
 * method cycles over four.
 */
export function grpcRequest(i: number): string[] {
  return [
    ':method',
    'POST',
    ':scheme',
    'http',
    ':path',
    METHODS[i & 3],
    ':authority',
    'backend.internal:50051',
    'content-type',
    'application/grpc',
    'te',
    'trailers',
    'user-agent',
    'grpc-node-js/1.14.3',
    'grpc-accept-encoding',
    'identity,deflate,gzip',
    'grpc-timeout',
    `${99_000 - (i % 1000)}u`,
  ];
}

/** What @grpc/grpc-js 1.14 sends and answers, field for field. */
const KINDS: readonly { name: string; fields: (i: number) => string[] }[] = [
  { name: 'request', fields: grpcRequest },
  {
    name: 'request + auth + trace id',
    fields: (i) => [
      ...grpcRequest(i),
      'authorization',
      'Bearer eyJhbGciOiJIUzI1NiJ9.c3dpdGNoeWFyZA.b2s',
      'traceparent',
      `00-${(0x1000_0000 + i * 7919).toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`,
    ],
  },
  {
    name: 'response headers',
    fields: () => [
      ':status',
      '200',
      'content-type',
      'application/grpc',
      'grpc-accept-encoding',
      'identity,deflate,gzip',
      'grpc-encoding',
      'identity',
    ],
  },
  { name: 'trailers', fields: () => ['grpc-status', '0', 'grpc-message', ''] },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const round = (ns: number) => Math.round(ns * 10) / 10;

/** CPU ns per item since `start` (a process.cpuUsage() reading). */
function cpuNs(start: NodeJS.CpuUsage, items: number): number {
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / items;
}

/** Encodes `count` blocks in order with one encoder; returns them back to back with offsets. */
function encodeAll(lists: string[][], count: number): { bytes: Buffer; ends: Int32Array } {
  const encoder = new HpackEncoder();
  const out = new ByteWriter(count * 32);
  const ends = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    encoder.encode(lists[i % VARIANTS], out);
    ends[i] = out.pos;
  }
  return { bytes: out.buf, ends };
}

function timeDecode(bytes: Buffer, ends: Int32Array): number {
  const decoder = new HpackDecoder();
  const list = new HeaderList();
  let sink = 0;
  let start = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < ends.length; i++) {
    if (decoder.decode(bytes, start, ends[i], list) !== null) throw new Error(`block ${i}`);
    sink += list.length;
    start = ends[i];
  }
  const ns = cpuNs(t0, ends.length);
  if (sink < 0) console.log(sink); // keep the loop from being optimised away
  return ns;
}

function timeEncode(lists: string[][], count: number): number {
  const encoder = new HpackEncoder();
  const out = new ByteWriter();
  let sink = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    out.reset();
    encoder.encode(lists[i & (VARIANTS - 1)], out);
    sink += out.pos;
  }
  const ns = cpuNs(t0, count);
  if (sink < 0) console.log(sink);
  return ns;
}

/** A new encoder and decoder, and the first block through them. */
function timeNewConnection(fields: string[], count: number): number {
  let sink = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const out = new ByteWriter(256);
    encoder.encode(fields, out);
    const list = new HeaderList();
    decoder.decode(out.buf, 0, out.pos, list);
    sink += list.length;
  }
  const ns = cpuNs(t0, count);
  if (sink < 0) console.log(sink);
  return ns;
}

function blockSizes(lists: string[][]): { first: number; warm: number } {
  const encoder = new HpackEncoder();
  const out = new ByteWriter();
  encoder.encode(lists[0], out);
  const first = out.pos;
  // By the 16th block every :path has been seen.
  for (let i = 1; i <= 16; i++) {
    out.reset();
    encoder.encode(lists[i], out);
  }
  return { first, warm: out.pos };
}

export function hpackBench(options: HpackBenchOptions = {}): Promise<HpackBenchResult> {
  const count = options.blocks ?? 200_000;
  const runs = options.runs ?? 5;
  const rows: HpackBenchRow[] = [];
  for (const kind of KINDS) {
    const lists = Array.from({ length: VARIANTS }, (_, i) => kind.fields(i));
    const { bytes, ends } = encodeAll(lists, count);
    // Warm-up: let the JIT settle on both paths.
    timeDecode(bytes, ends.subarray(0, Math.min(count, 50_000)));
    timeEncode(lists, Math.min(count, 50_000));
    const decodeNs: number[] = [];
    const encodeNs: number[] = [];
    for (let r = 0; r < runs; r++) {
      decodeNs.push(timeDecode(bytes, ends));
      encodeNs.push(timeEncode(lists, count));
    }
    const sizes = blockSizes(lists);
    rows.push({
      block: kind.name,
      fields: lists[0].length / 2,
      bytes: sizes.warm,
      firstBytes: sizes.first,
      decodeNs: round(median(decodeNs)),
      decodeNsBest: round(Math.min(...decodeNs)),
      encodeNs: round(median(encodeNs)),
      encodeNsBest: round(Math.min(...encodeNs)),
      newConnectionNs: round(timeNewConnection(lists[0], Math.max(1_000, count >> 6))),
    });
  }
  return Promise.resolve({ blocksPerRun: count, rows });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await hpackBench();
  console.table(result.rows);
}
