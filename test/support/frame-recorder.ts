// A FrameHandler for tests: records every call as a plain event (octets as hex, plus the ranges
// themselves), and helpers to feed a parser whole, byte by byte or in seeded random chunks.
import { Writable } from 'node:stream';
import { FrameParser, type FrameParserOptions } from '../../h2/frames/frame-parser.js';
import type { FrameHandler } from '../../h2/frames/frame-handler.js';

export type FrameEvent =
  | { kind: 'data'; streamId: number; data: string; endStream: boolean; flowLength: number }
  | {
      kind: 'headers';
      streamId: number;
      block: string;
      endStream: boolean;
      dependency: number;
      weight: number;
      exclusive: boolean;
    }
  | { kind: 'priority'; streamId: number; dependency: number; weight: number; exclusive: boolean }
  | { kind: 'rst'; streamId: number; code: number }
  | { kind: 'settings'; ack: boolean; entries: Array<[number, number]> }
  | { kind: 'push'; streamId: number; promised: number; block: string }
  | { kind: 'ping'; ack: boolean; opaque: string }
  | { kind: 'goaway'; lastStreamId: number; code: number; debug: string }
  | { kind: 'window'; streamId: number; increment: number }
  | { kind: 'unknown'; type: number; flags: number; streamId: number; length: number }
  | { kind: 'stream-error'; streamId: number; code: number; reason: string }
  | { kind: 'connection-error'; code: number; reason: string; message: string };

/** An octet range a handler method was given. */
export interface Range {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

export class FrameRecorder implements FrameHandler {
  readonly events: FrameEvent[] = [];
  /** Every range handed to the handler, in order (DATA, field blocks, PING, GOAWAY debug). */
  readonly ranges: Range[] = [];

  private take(buf: Buffer, start: number, end: number): string {
    this.ranges.push({ buf, start, end });
    return buf.toString('hex', start, end);
  }

  onData(
    streamId: number,
    buf: Buffer,
    start: number,
    end: number,
    endStream: boolean,
    flowLength: number,
  ): void {
    const data = this.take(buf, start, end);
    this.events.push({ kind: 'data', streamId, data, endStream, flowLength });
  }
  onHeaders(
    streamId: number,
    buf: Buffer,
    start: number,
    end: number,
    endStream: boolean,
    dependency: number,
    weight: number,
    exclusive: boolean,
  ): void {
    const block = this.take(buf, start, end);
    this.events.push({
      kind: 'headers',
      streamId,
      block,
      endStream,
      dependency,
      weight,
      exclusive,
    });
  }
  onPriority(streamId: number, dependency: number, weight: number, exclusive: boolean): void {
    this.events.push({ kind: 'priority', streamId, dependency, weight, exclusive });
  }
  onRstStream(streamId: number, code: number): void {
    this.events.push({ kind: 'rst', streamId, code });
  }
  onSettings(ack: boolean, entries: Uint32Array, count: number): void {
    const list: Array<[number, number]> = [];
    for (let i = 0; i < count; i++) list.push([entries[2 * i], entries[2 * i + 1]]);
    this.events.push({ kind: 'settings', ack, entries: list });
  }
  onPushPromise(streamId: number, promised: number, buf: Buffer, start: number, end: number): void {
    const block = this.take(buf, start, end);
    this.events.push({ kind: 'push', streamId, promised, block });
  }
  onPing(ack: boolean, buf: Buffer, start: number): void {
    this.events.push({ kind: 'ping', ack, opaque: this.take(buf, start, start + 8) });
  }
  onGoaway(lastStreamId: number, code: number, buf: Buffer, start: number, end: number): void {
    const debug = this.take(buf, start, end);
    this.events.push({ kind: 'goaway', lastStreamId, code, debug });
  }
  onWindowUpdate(streamId: number, increment: number): void {
    this.events.push({ kind: 'window', streamId, increment });
  }
  onUnknownFrame(type: number, flags: number, streamId: number, length: number): void {
    this.events.push({ kind: 'unknown', type, flags, streamId, length });
  }
  onStreamError(streamId: number, code: number, reason: string): void {
    this.events.push({ kind: 'stream-error', streamId, code, reason });
  }
  onConnectionError(code: number, reason: string, message: string): void {
    this.events.push({ kind: 'connection-error', code, reason, message });
  }

  /** The connection error, if one was reported. */
  get connectionError(): Extract<FrameEvent, { kind: 'connection-error' }> | undefined {
    const last = this.events.at(-1);
    return last?.kind === 'connection-error' ? last : undefined;
  }
}

/** A client's parser: no preface; the first frame must be SETTINGS (RFC 9113 §3.4). */
export const CLIENT: FrameParserOptions = { role: 'client' };

/** Parses `chunks` in order with a fresh parser and recorder. */
export function parseChunks(
  chunks: readonly Buffer[],
  options: FrameParserOptions = CLIENT,
): FrameRecorder {
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, options);
  for (const c of chunks) parser.push(c);
  return recorder;
}

/** Splits `bytes` at the given offsets (ascending, inside the buffer). */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Each octet its own chunk. */
export function byteByByte(bytes: Buffer): Buffer[] {
  return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
}

/** `n` octets of a recognisable pattern that differs by `seed`. */
export function pattern(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Random chunk boundaries, each chunk 1 to `maxChunk` octets; each chunk is a copy of its own. */
export function randomChunks(bytes: Buffer, random: () => number, maxChunk = 64): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(random() * maxChunk);
    out.push(Buffer.from(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}

/** A Writable that keeps every chunk written to it and counts the writes (write and writev). */
export class CaptureSink extends Writable {
  readonly chunks: Buffer[] = [];
  writes = 0;
  constructor() {
    super({ highWaterMark: 1 << 30 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writes++;
    this.chunks.push(chunk);
    callback();
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: () => void): void {
    this.writes++;
    for (const c of chunks) this.chunks.push(c.chunk);
    callback();
  }
  /** Everything written so far, as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
