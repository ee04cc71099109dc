// HTTP/2 frame layer benchmark: the cost of parsing and of writing the frames of gRPC unary
// calls (request HEADERS + DATA, response HEADERS + DATA + trailers), in ns per call and per
// frame; and, over a loopback socket, copying a DATA payload into the writer's slab against
// writing it by reference (writev), per payload size, which sets the writer's copy threshold.
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import type { FrameHandler } from '../h2/frames/frame-handler.js';
import { FrameParser } from '../h2/frames/frame-parser.js';
import { FrameWriter, type FrameSink } from '../h2/frames/frame-writer.js';

export interface H2FramesBenchOptions {
  /** Calls per timed run. Default 50,000. */
  readonly calls?: number;
  /** Timed runs (the median is reported). Default 7. */
  readonly runs?: number;
  /** Calls written per flush (one event-loop turn's worth). Default 16. */
  readonly callsPerTurn?: number;
  /** DATA payload sizes for copy against reference. Default 256 B to 16 KiB. */
  readonly copySizes?: readonly number[];
  /** Turns per copy/reference measurement. Default 2,000. */
  readonly copyTurns?: number;
}

export interface H2FramesCost {
  /** Median ns per call (5 frames: 2 request, 3 response). */
  readonly nsPerCall: number;
  /** Fastest run's ns per call: the least disturbed by other work on the machine. */
  readonly nsPerCallBest: number;
  /** Median ns per frame. */
  readonly nsPerFrame: number;
}

export interface CopyOrReferenceRow {
  /** DATA payload octets. */
  readonly bytes: number;
  /** Median µs per turn (HEADERS + DATA + trailers, one flush) with the payload copied. */
  readonly copyUs: number;
  /** The same with the payload written by reference (cork + writev). */
  readonly referenceUs: number;
}

export interface H2FramesBenchResult {
  readonly callsPerRun: number;
  readonly parse: H2FramesCost;
  readonly write: H2FramesCost;
  readonly copyOrReference: readonly CopyOrReferenceRow[];
}

const FRAMES_PER_CALL = 5;
/**
 * Field block sizes of a gRPC unary call as h2/hpack encodes what @grpc/grpc-js sends, with the
 * dynamic table warm (octets; the `hpack` scenario in bench/README.md: 16, 4 and 2).
 */
const REQUEST_BLOCK = 16;
const RESPONSE_BLOCK = 4;
const TRAILERS_BLOCK = 2;
/** A 10-octet message with gRPC's 5-octet prefix. */
const MESSAGE = 15;

/**
 * CPU time of this process in ns (user + system): unlike wall time, it does not count the
 * time other processes on a busy machine take from this one.
 */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const round = (n: number) => Math.round(n * 10) / 10;

function filled(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

/** A writer's sink that only counts: the cost measured is the writer's own. */
class CountingSink implements FrameSink {
  writes = 0;
  octets = 0;
  readonly destroyed = false;
  readonly writableLength = 0;
  write(chunk: Buffer): boolean {
    this.writes++;
    this.octets += chunk.length;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  on(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
}

/** Touches every argument so the calls cannot be optimised away. */
class SumHandler implements FrameHandler {
  sum = 0;
  onData(
    streamId: number,
    _buf: Buffer,
    start: number,
    end: number,
    endStream: boolean,
    length: number,
  ): void {
    this.sum += streamId + end - start + (endStream ? 1 : 0) + length;
  }
  onHeaders(streamId: number, _buf: Buffer, start: number, end: number, endStream: boolean): void {
    this.sum += streamId + end - start + (endStream ? 1 : 0);
  }
  onPriority(): void {}
  onRstStream(): void {}
  onSettings(_ack: boolean, _entries: Uint32Array, count: number): void {
    this.sum += count;
  }
  onPushPromise(): void {}
  onPing(): void {}
  onGoaway(): void {}
  onWindowUpdate(): void {}
  onUnknownFrame(): void {}
  onStreamError(): void {
    throw new Error('unexpected stream error');
  }
  onConnectionError(_code: number, reason: string, message: string): void {
    throw new Error(`unexpected connection error: ${reason}: ${message}`);
  }
}

/** Writes `calls` unary calls' frames, both directions, flushing every `perTurn` calls. */
function writeCalls(
  toUpstream: FrameWriter,
  toClient: FrameWriter,
  calls: number,
  perTurn: number,
  blocks: readonly Buffer[],
): void {
  const [request, response, trailers, message] = blocks;
  for (let i = 0, id = 1; i < calls; i++, id += 2) {
    toUpstream.writeHeaders(id, request, false);
    toUpstream.writeData(id, message, true);
    toClient.writeHeaders(id, response, false);
    toClient.writeData(id, message, false);
    toClient.writeHeaders(id, trailers, true);
    if ((i + 1) % perTurn === 0) {
      toUpstream.flush();
      toClient.flush();
    }
  }
  toUpstream.flush();
  toClient.flush();
}

/** The bytes of `calls` calls in each direction, as 64 KiB socket-sized chunks. */
function wireBytes(
  calls: number,
  blocks: readonly Buffer[],
): { requests: Buffer[]; responses: Buffer[] } {
  const up = new CountingSink();
  const down = new CountingSink();
  const upChunks: Buffer[] = [];
  const downChunks: Buffer[] = [];
  up.write = (c: Buffer) => (upChunks.push(Buffer.from(c)), true);
  down.write = (c: Buffer) => (downChunks.push(Buffer.from(c)), true);
  const toUpstream = new FrameWriter(up, { flush: 'manual' });
  const toClient = new FrameWriter(down, { flush: 'manual' });
  toUpstream.writePreface();
  toUpstream.writeSettings([]);
  toClient.writeSettings([]);
  writeCalls(toUpstream, toClient, calls, 64, blocks);
  const chunk = (parts: Buffer[]) => {
    const all = Buffer.concat(parts);
    const out: Buffer[] = [];
    for (let at = 0; at < all.length; at += 65_536) out.push(all.subarray(at, at + 65_536));
    return out;
  };
  return { requests: chunk(upChunks), responses: chunk(downChunks) };
}

function timeParse(
  bytes: { requests: Buffer[]; responses: Buffer[] },
  handler: SumHandler,
): number {
  const start = cpuNs();
  const server = new FrameParser(handler, { role: 'server' });
  for (const c of bytes.requests) server.push(c);
  const client = new FrameParser(handler, { role: 'client' });
  for (const c of bytes.responses) client.push(c);
  return cpuNs() - start;
}

function timeWrite(calls: number, perTurn: number, blocks: readonly Buffer[]): number {
  // Like a socket that takes each write at once (the slab is reused), without the syscall.
  const toUpstream = new FrameWriter(new CountingSink(), { flush: 'manual', reuseSlab: true });
  const toClient = new FrameWriter(new CountingSink(), { flush: 'manual', reuseSlab: true });
  const start = cpuNs();
  writeCalls(toUpstream, toClient, calls, perTurn, blocks);
  return cpuNs() - start;
}

function cost(samples: number[], calls: number): H2FramesCost {
  const perCall = samples.map((ns) => ns / calls);
  return {
    nsPerCall: round(median(perCall)),
    nsPerCallBest: round(Math.min(...perCall)),
    nsPerFrame: round(median(perCall) / FRAMES_PER_CALL),
  };
}

async function loopback(): Promise<{ writer: net.Socket; close: () => Promise<void> }> {
  const server = net.createServer((s) => s.on('data', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const writer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => writer.once('connect', resolve));
  return {
    writer,
    close: () =>
      new Promise<void>((resolve) => {
        writer.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * µs of CPU per turn (HEADERS + DATA of `bytes` + trailers, flushed, and read by the other end
 * in this process) with the given copy threshold.
 */
async function timeTurns(
  socket: net.Socket,
  bytes: number,
  threshold: number,
  turns: number,
): Promise<number> {
  const w = new FrameWriter(socket, {
    flush: 'manual',
    slabSize: Math.max(65_536, 2 * bytes),
    copyThreshold: threshold,
    maxFrameSize: Math.max(16_384, bytes),
  });
  const headers = filled(RESPONSE_BLOCK, 1);
  const trailers = filled(TRAILERS_BLOCK, 2);
  const payload = filled(bytes, 3);
  const start = cpuNs();
  for (let t = 0, id = 1; t < turns; t++, id += 2) {
    w.writeHeaders(id, headers, false);
    w.writeData(id, payload, false);
    w.writeHeaders(id, trailers, true);
    w.flush();
    if (socket.writableLength > 0) await new Promise((resolve) => socket.once('drain', resolve));
    else await new Promise((resolve) => setImmediate(resolve));
  }
  const ns = cpuNs() - start;
  w.close();
  return ns / turns / 1000;
}

async function copyOrReference(
  sizes: readonly number[],
  turns: number,
  runs: number,
): Promise<CopyOrReferenceRow[]> {
  const { writer, close } = await loopback();
  try {
    const rows: CopyOrReferenceRow[] = [];
    await timeTurns(writer, 1024, 1024, Math.min(turns, 500)); // warm-up
    for (const bytes of sizes) {
      const copy: number[] = [];
      const reference: number[] = [];
      for (let r = 0; r < runs; r++) {
        copy.push(await timeTurns(writer, bytes, bytes, turns));
        reference.push(await timeTurns(writer, bytes, bytes - 1, turns));
      }
      rows.push({
        bytes,
        copyUs: Math.round(median(copy) * 100) / 100,
        referenceUs: Math.round(median(reference) * 100) / 100,
      });
    }
    return rows;
  } finally {
    await close();
  }
}

export async function h2FramesBench(
  options: H2FramesBenchOptions = {},
): Promise<H2FramesBenchResult> {
  const calls = options.calls ?? 50_000;
  const runs = options.runs ?? 7;
  const perTurn = options.callsPerTurn ?? 16;
  const blocks = [
    filled(REQUEST_BLOCK, 1),
    filled(RESPONSE_BLOCK, 2),
    filled(TRAILERS_BLOCK, 3),
    filled(MESSAGE, 4),
  ];
  const bytes = wireBytes(calls, blocks);
  const handler = new SumHandler();
  // Warm-up: let the JIT settle.
  timeParse(wireBytes(Math.min(calls, 5_000), blocks), handler);
  timeWrite(Math.min(calls, 5_000), perTurn, blocks);
  const parseNs: number[] = [];
  const writeNs: number[] = [];
  for (let r = 0; r < runs; r++) {
    parseNs.push(timeParse(bytes, handler));
    writeNs.push(timeWrite(calls, perTurn, blocks));
  }
  if (handler.sum < 0) console.log(handler.sum);
  const sizes = options.copySizes ?? [256, 1024, 2048, 4096, 8192, 16_384];
  return {
    callsPerRun: calls,
    parse: cost(parseNs, calls),
    write: cost(writeNs, calls),
    copyOrReference: await copyOrReference(
      sizes,
      options.copyTurns ?? 2_000,
      Math.max(1, Math.min(runs, 5)),
    ),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await h2FramesBench();
  console.log(JSON.stringify({ parse: result.parse, write: result.write }, null, 2));
  console.table(result.copyOrReference);
}
