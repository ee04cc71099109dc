// Header-field benchmark: what readying one header block for forwarding costs per call
// (prepareHeaderFields), without repeated names (every call) and with them (the slow path).
// Run: node dist/bench/header-fields-bench.js
import { pathToFileURL } from 'node:url';
import { prepareHeaderFields } from '../grpc/header-fields.js';

export interface HeaderFieldsBenchRow {
  readonly block: string;
  readonly fields: number;
  /** Median CPU ns per block over the timed runs. */
  readonly nsPerBlock: number;
  /** Fastest run: the least disturbed by other work on the machine. */
  readonly nsPerBlockBest: number;
}

/** Request headers as grpc-js sends them, with a little metadata. */
const REQUEST: readonly string[] = [
  ':method', 'POST',
  ':scheme', 'http',
  ':path', '/bench.Bench/Unary',
  ':authority', '127.0.0.1:8080',
  'grpc-accept-encoding', 'identity,deflate,gzip',
  'accept-encoding', 'identity',
  'grpc-timeout', '9999957u',
  'user-agent', 'grpc-node-js/1.14.7',
  'content-type', 'application/grpc',
  'te', 'trailers',
  'x-request-id', '6f1c1c8e-8d44-4c55-9e8f-0b2b8f8c1f3a',
  'x-trace-bin', 'AAECAwQFBgcICQoLDA0ODw',
]; // prettier-ignore

/** Trailers with a rich error status, whose -bin value is checked. */
const TRAILERS: readonly string[] = [
  'grpc-status', '5',
  'grpc-message', 'no such user',
  'grpc-status-details-bin', 'CAUSDG5vIHN1Y2ggdXNlchoyCi10eXBlLmdvb2dsZWFwaXMuY29tL2dvb2dsZS5ycGMuRXJyb3JJbmZvEgEKABIBCgA',
]; // prettier-ignore

/** The request with one -bin key and one text key sent twice. */
const REPEATED: readonly string[] = [
  ...REQUEST,
  'x-trace-bin',
  'EBESExQVFhcYGRobHB0eHw',
  'x-tenant',
  'a',
  'x-tenant',
  'b',
];

/** Node's parsed object for `raw`: null prototype, repeated values joined with ", ". */
function parsedLikeNode(raw: readonly string[]): Record<string, unknown> {
  const parsed = Object.create(null) as Record<string, string>;
  for (let i = 0; i < raw.length; i += 2) {
    const prior = parsed[raw[i]];
    parsed[raw[i]] = prior === undefined ? raw[i + 1] : `${prior}, ${raw[i + 1]}`;
  }
  return parsed;
}

/** Blocks per timed window: long enough that cpuUsage()'s microsecond steps do not matter. */
const WINDOW = 32_768;

/** A copy of `s` that is not the same string in memory, as Node decodes header fields. */
function freshString(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * CPU ns per block (process.cpuUsage, so time the process spent waiting for a core on a busy
 * machine does not count), over `blocks` blocks in windows of fresh parsed objects.
 */
function timeBlocks(raw: readonly string[], blocks: number): number {
  const template = parsedLikeNode(raw);
  let sink = 0;
  let cpuMicros = 0;
  let done = 0;
  while (done < blocks) {
    // Fresh strings and a fresh parsed object per block, as Node makes them per stream,
    // built before timing.
    const raws = Array.from({ length: WINDOW }, () => raw.map(freshString));
    const fresh = Array.from({ length: WINDOW }, () =>
      Object.assign(Object.create(null) as Record<string, unknown>, template),
    );
    const start = process.cpuUsage();
    for (let i = 0; i < fresh.length; i++) sink += prepareHeaderFields(fresh[i], raws[i]);
    const used = process.cpuUsage(start);
    cpuMicros += used.user + used.system;
    done += fresh.length;
  }
  if (sink < 0) console.log(sink); // keep the loop from being optimised away
  return (cpuMicros * 1000) / done;
}

export function headerFieldsBench(blocks = 300_000, runs = 5): HeaderFieldsBenchRow[] {
  const rows: HeaderFieldsBenchRow[] = [];
  for (const [name, raw] of [
    ['request, no repeats', REQUEST],
    ['trailers with -bin status details', TRAILERS],
    ['request, two keys repeated', REPEATED],
  ] as const) {
    timeBlocks(raw, 100_000); // warm-up: let the JIT settle
    const ns: number[] = [];
    for (let r = 0; r < runs; r++) ns.push(timeBlocks(raw, blocks));
    rows.push({
      block: name,
      fields: raw.length / 2,
      nsPerBlock: Math.round(median(ns) * 10) / 10,
      nsPerBlockBest: Math.round(Math.min(...ns) * 10) / 10,
    });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`node ${process.version}`);
  console.table(headerFieldsBench());
}
