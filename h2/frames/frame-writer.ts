// HTTP/2 frame writer (RFC 9113 §4–§6): builds frames for every type and gathers a turn's frames
// into one socket write — small frames copied into a slab, large payloads kept by reference.
import net from 'node:net';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  MAX_MAX_FRAME_SIZE,
  MAX_STREAM_ID,
  MAX_WINDOW_SIZE,
  PING_LENGTH,
  SETTINGS_ENTRY_LENGTH,
} from './constants.js';
import { FrameWriterError } from './errors.js';
import { isMaxFrameSize, settingValueError } from './setting-values.js';

/** What the writer needs of a socket: net.Socket, tls.TLSSocket and any Duplex have it. */
export interface FrameSink {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
  readonly writableLength: number;
  on(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

/**
 * When gathered frames go to the socket:
 * - `immediate` (default): once per event-loop turn, in a setImmediate after the poll phase, so
 *   every read handled in that turn (from any socket) shares one write to this socket;
 * - `tick`: in a process.nextTick, i.e. after the current callback (one write per read);
 * - `manual`: only when the caller calls `flush()`.
 * In every mode the writer also flushes when the slab is full, and `flush()` may be called.
 */
export type FlushMode = 'immediate' | 'tick' | 'manual';

export interface FrameWriterOptions {
  readonly flush?: FlushMode;
  /** The largest slab frames are gathered in (it starts at 4 KiB and grows). Default 64 KiB. */
  readonly slabSize?: number;
  /**
   * DATA payloads up to this many octets are copied into the slab; longer ones are written by
   * reference (cork + writev). Default 8 KiB (see DEFAULT_COPY_THRESHOLD). Field blocks are
   * always copied.
   */
  readonly copyThreshold?: number;
  /** The peer's SETTINGS_MAX_FRAME_SIZE: DATA and field blocks are split to fit. Default 16,384. */
  readonly maxFrameSize?: number;
  /** Called when the socket drained after a flush found it full (`needsDrain` went false). */
  readonly onDrain?: () => void;
  /**
   * Octets the socket may hold unsent before the writer reports it full. Default 64 KiB (see
   * DEFAULT_BUFFER_LIMIT); the socket's own high-water mark counts when it is larger.
   */
  readonly bufferLimit?: number;
  /**
   * Whether the sink is done with a written chunk once `writableLength` is 0 right after
   * write(), so the slab may be reused. Default: true for a net.Socket (TCP or TLS), which has
   * then handed the octets to the kernel or to OpenSSL; false for other Duplexes, which may keep
   * the chunk (a PassThrough queues it).
   */
  readonly reuseSlab?: boolean;
}

/** An entry for writeSettings(): identifier (SettingId) and value. */
export type SettingEntry = readonly [id: number, value: number];

/**
 * The largest slab: 64 KiB, a socket read's worth. A writer starts with INITIAL_SLAB_SIZE and
 * doubles its slab each time a turn overflows it, so a quiet connection keeps a small one.
 */
export const DEFAULT_SLAB_SIZE = 65_536;
/**
 * A net.Socket's write() says "full" once it holds its high-water mark, 16 KiB: one 16 KiB DATA
 * frame not yet through to the kernel is enough, and every stream then waits a tick for
 * 'drain' (server streaming in 16 KiB messages ran at half the direct rate). The writer calls
 * the socket full from 64 KiB, four such frames; the socket still emits 'drain' at its own mark.
 */
export const DEFAULT_BUFFER_LIMIT = 65_536;
/** 4 KiB: a turn of 16 small unary calls' frames (~150 octets each) fits in one write. */
const INITIAL_SLAB_SIZE = 4_096;
/** A turn gathering more than this (1 MiB) is flushed early rather than held in memory. */
const MAX_GATHER = 1 << 20;
/**
 * Copying a payload into the slab costs less CPU than a second iovec up to about 8–16 KiB
 * (loopback TCP, one turn of HEADERS + DATA + trailers: ~1 µs less at 1–8 KiB, even at 16 KiB,
 * ~3 µs more at 24–32 KiB; bench/h2-frames-bench.ts, "copy or reference").
 */
export const DEFAULT_COPY_THRESHOLD = 8_192;
/**
 * Ranges up to this many octets are copied byte by byte (see copyIn): below it the loop costs
 * less than the view Buffer#copy makes of a partial range.
 */
const SHORT_COPY = 128;

const EMPTY = Buffer.alloc(0);

/**
 * Writes HTTP/2 frames to one socket, gathered per turn.
 *
 * Frame headers, field blocks and payloads up to `copyThreshold` are copied into a slab; longer
 * DATA payloads (and GOAWAY debug data, extension frames) are referenced: the caller must not
 * modify them after the call. `flush()` sends what was gathered
 * as one `socket.write` when everything is in the slab, or as corked writes (one writev) when
 * payloads are referenced. Regions of the slab handed to the socket are not written again until
 * the socket has taken them (a net.Socket with nothing left buffered); otherwise the writer
 * moves on in the slab or takes a new one, so a queued write is never overwritten.
 *
 * Backpressure: when the socket's buffer passes its highWaterMark, `needsDrain` becomes true
 * and `onDrain` is called once it drains. The writer keeps accepting frames meanwhile; the
 * caller stops producing (stops granting flow-control credit) while `needsDrain` is true.
 */
export class FrameWriter {
  private readonly sink: FrameSink;
  private readonly mode: FlushMode;
  private readonly slabSize: number;
  private readonly copyThreshold: number;
  private readonly reusable: boolean;
  private readonly onDrain: (() => void) | undefined;
  private maxFrameSizeValue: number;

  private slab: Buffer = EMPTY;
  /** Start of the gathered, not yet flushed part of the slab. */
  private segStart = 0;
  /** Where the next octet goes. */
  private offset = 0;
  /** Slab segments and referenced payloads, in order, once a payload is referenced. */
  private readonly pieces: Buffer[] = [];
  /** Octets in `pieces`. */
  private piecesBytes = 0;
  /** Octets this turn already sent because the slab was full (0: the turn fit the slab). */
  private turnBytes = 0;
  private scheduled = false;
  private waitingForDrain = false;
  private readonly bufferLimit: number;
  private closed = false;
  private readonly flushCallback = (): void => {
    this.scheduled = false;
    this.flush();
  };
  private readonly drainListener = (): void => {
    if (!this.waitingForDrain) return;
    this.waitingForDrain = false;
    this.onDrain?.();
  };

  constructor(sink: FrameSink, options: FrameWriterOptions = {}) {
    this.sink = sink;
    this.mode = options.flush ?? 'immediate';
    this.slabSize = options.slabSize ?? DEFAULT_SLAB_SIZE;
    this.copyThreshold = options.copyThreshold ?? DEFAULT_COPY_THRESHOLD;
    if (!Number.isInteger(this.slabSize) || this.slabSize < 1024) {
      throw new FrameWriterError(`slabSize must be an integer >= 1024, got ${this.slabSize}`);
    }
    if (
      !Number.isInteger(this.copyThreshold) ||
      this.copyThreshold < 0 ||
      this.copyThreshold + FRAME_HEADER_LENGTH > this.slabSize
    ) {
      throw new FrameWriterError(
        `copyThreshold must be an integer from 0 to slabSize - 9, got ${this.copyThreshold}`,
      );
    }
    this.maxFrameSizeValue = checkedFrameSize(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
    this.reusable = options.reuseSlab ?? sink instanceof net.Socket;
    this.onDrain = options.onDrain;
    this.bufferLimit = options.bufferLimit ?? DEFAULT_BUFFER_LIMIT;
    if (!(this.bufferLimit >= 0)) {
      throw new FrameWriterError(`bufferLimit must be >= 0, got ${this.bufferLimit}`);
    }
    sink.on('drain', this.drainListener);
  }

  /** The peer's SETTINGS_MAX_FRAME_SIZE the writer splits by. */
  get maxFrameSize(): number {
    return this.maxFrameSizeValue;
  }

  /** Applies the peer's SETTINGS_MAX_FRAME_SIZE (16,384 to 2^24 − 1). */
  setMaxFrameSize(value: number): void {
    this.maxFrameSizeValue = checkedFrameSize(value);
  }

  /** Octets gathered and not yet flushed. */
  get pendingBytes(): number {
    return this.piecesBytes + this.offset - this.segStart;
  }

  /** True from a flush that filled the socket's buffer until it drains. */
  get needsDrain(): boolean {
    return this.waitingForDrain;
  }

  /** The client connection preface (RFC 9113 §3.4), to be followed by writeSettings(). */
  writePreface(): void {
    this.reserve(CLIENT_PREFACE.length);
    this.offset += CLIENT_PREFACE.copy(this.slab, this.offset);
  }

  /**
   * DATA on `streamId`, split into frames of at most the peer's max frame size; END_STREAM on
   * the last one when `endStream`. An empty `data` with `endStream` is one empty DATA frame.
   * Flow control is the caller's: it passes only what the windows allow.
   */
  writeData(streamId: number, data: Buffer, endStream: boolean): void {
    this.writeDataRange(streamId, data, 0, data.length, endStream);
  }

  /**
   * writeData() for `buf[start, end)`: DATA relayed straight from a parsed chunk (the range
   * FrameHandler.onData was given), without making a view of it unless it is long enough to be
   * written by reference.
   */
  writeDataRange(
    streamId: number,
    buf: Buffer,
    start: number,
    end: number,
    endStream: boolean,
  ): void {
    checkStream(streamId);
    const max = this.maxFrameSizeValue;
    if (end - start <= max) {
      this.frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, buf, start, end);
      return;
    }
    for (let at = start; at < end; at += max) {
      const to = Math.min(at + max, end);
      const flags = endStream && to === end ? Flag.END_STREAM : 0;
      this.frame(FrameType.DATA, flags, streamId, buf, at, to);
    }
  }

  /**
   * HEADERS with the field block `block`, followed by CONTINUATION frames when the block is
   * longer than the peer's max frame size. END_STREAM (`endStream`: trailers, or a request
   * without a body) rides on the HEADERS frame; END_HEADERS on the last frame.
   * `dependency` >= 0 adds the priority fields (PRIORITY flag; `weight` is the raw octet).
   * The block is always copied, whatever its size: an HPACK encoder reuses its output buffer
   * for the next block, before this turn's flush.
   */
  writeHeaders(
    streamId: number,
    block: Buffer,
    endStream: boolean,
    dependency = -1,
    weight = 15,
    exclusive = false,
  ): void {
    this.headers(streamId, block, block.length, endStream, dependency, weight, exclusive);
  }

  /**
   * HEADERS with the field block `buf[0, length)`, no priority: what a connection sends from
   * its encoder's buffer without making a view of it for every block.
   */
  writeHeaderBlock(streamId: number, buf: Buffer, length: number, endStream: boolean): void {
    this.headers(streamId, buf, length, endStream, -1, 15, false);
  }

  private headers(
    streamId: number,
    block: Buffer,
    length: number,
    endStream: boolean,
    dependency: number,
    weight: number,
    exclusive: boolean,
  ): void {
    checkStream(streamId);
    let flags = endStream ? Flag.END_STREAM : 0;
    let prefix = 0;
    if (dependency >= 0) {
      checkDependency(dependency, weight);
      flags |= Flag.PRIORITY;
      prefix = 5;
    }
    const first = Math.min(length, this.maxFrameSizeValue - prefix);
    if (first === length) flags |= Flag.END_HEADERS;
    this.reserve(FRAME_HEADER_LENGTH + prefix + first);
    this.putHeader(prefix + first, FrameType.HEADERS, flags, streamId);
    if (prefix !== 0) {
      this.putU32((exclusive ? 0x80000000 : 0) + dependency);
      this.slab[this.offset++] = weight;
    }
    this.copyIn(block, 0, first);
    this.continuation(streamId, block, first, length);
  }

  /** PUSH_PROMISE (a server's only) with its field block, continued like HEADERS. */
  writePushPromise(streamId: number, promisedStreamId: number, block: Buffer): void {
    checkStream(streamId);
    checkStream(promisedStreamId);
    const first = Math.min(block.length, this.maxFrameSizeValue - 4);
    const flags = first === block.length ? Flag.END_HEADERS : 0;
    this.reserve(FRAME_HEADER_LENGTH + 4 + first);
    this.putHeader(4 + first, FrameType.PUSH_PROMISE, flags, streamId);
    this.putU32(promisedStreamId);
    this.copyIn(block, 0, first);
    this.continuation(streamId, block, first, block.length);
  }

  /** PRIORITY (deprecated by RFC 9113, written for completeness and tests). */
  writePriority(streamId: number, dependency: number, weight: number, exclusive: boolean): void {
    checkStream(streamId);
    checkDependency(dependency, weight);
    this.reserve(FRAME_HEADER_LENGTH + 5);
    this.putHeader(5, FrameType.PRIORITY, 0, streamId);
    this.putU32((exclusive ? 0x80000000 : 0) + dependency);
    this.slab[this.offset++] = weight;
  }

  writeRstStream(streamId: number, code: number): void {
    checkStream(streamId);
    checkCode(code);
    this.fixed(FrameType.RST_STREAM, 0, streamId, code);
  }

  /** SETTINGS with `entries` in order ([SettingId, value] pairs; values checked per §6.5.2). */
  writeSettings(entries: readonly SettingEntry[]): void {
    const length = entries.length * SETTINGS_ENTRY_LENGTH;
    if (length > this.maxFrameSizeValue) {
      throw new FrameWriterError(`${entries.length} settings do not fit one frame`);
    }
    for (const [id, value] of entries) checkSetting(id, value);
    this.reserve(FRAME_HEADER_LENGTH + length);
    this.putHeader(length, FrameType.SETTINGS, 0, 0);
    for (const [id, value] of entries) {
      this.slab[this.offset++] = id >>> 8;
      this.slab[this.offset++] = id & 0xff;
      this.putU32(value);
    }
  }

  /** SETTINGS with ACK (acknowledging the peer's SETTINGS). */
  writeSettingsAck(): void {
    this.reserve(FRAME_HEADER_LENGTH);
    this.putHeader(0, FrameType.SETTINGS, Flag.ACK, 0);
  }

  /**
   * PING with the 8 octets of `opaque` at `offset` (the range FrameHandler.onPing was given,
   * when answering with `ack`).
   */
  writePing(ack: boolean, opaque: Buffer, offset = 0): void {
    if (!(offset >= 0 && opaque.length - offset >= PING_LENGTH)) {
      throw new FrameWriterError(
        `PING needs 8 octets at ${offset}, the buffer has ${opaque.length}`,
      );
    }
    this.reserve(FRAME_HEADER_LENGTH + PING_LENGTH);
    this.putHeader(PING_LENGTH, FrameType.PING, ack ? Flag.ACK : 0, 0);
    this.offset += opaque.copy(this.slab, this.offset, offset, offset + PING_LENGTH);
  }

  /** GOAWAY with the last stream id processed, an error code and optional debug data. */
  writeGoaway(lastStreamId: number, code: number, debug: Buffer = EMPTY): void {
    if (!Number.isInteger(lastStreamId) || lastStreamId < 0 || lastStreamId > MAX_STREAM_ID) {
      throw new FrameWriterError(`last stream id ${lastStreamId} is not a stream id`);
    }
    checkCode(code);
    const length = 8 + debug.length;
    if (length > this.maxFrameSizeValue) {
      throw new FrameWriterError(`GOAWAY debug data of ${debug.length} octets is too long`);
    }
    this.reserve(FRAME_HEADER_LENGTH + 8 + this.copied(debug.length));
    this.putHeader(length, FrameType.GOAWAY, 0, 0);
    this.putU32(lastStreamId);
    this.putU32(code);
    this.payload(debug, 0, debug.length);
  }

  /** WINDOW_UPDATE on a stream or (streamId 0) the connection; increment 1 to 2^31 − 1. */
  writeWindowUpdate(streamId: number, increment: number): void {
    if (!Number.isInteger(streamId) || streamId < 0 || streamId > MAX_STREAM_ID) {
      throw new FrameWriterError(`${streamId} is not a stream id`);
    }
    if (!Number.isInteger(increment) || increment < 1 || increment > MAX_WINDOW_SIZE) {
      throw new FrameWriterError(`window increment must be 1 to 2^31 - 1, got ${increment}`);
    }
    this.fixed(FrameType.WINDOW_UPDATE, 0, streamId, increment);
  }

  /**
   * Any frame as given, unchecked and unsplit: extension frame types, and peers that
   * misbehave on purpose in tests. `payload` must fit the peer's max frame size.
   */
  writeFrame(type: number, flags: number, streamId: number, payload: Buffer = EMPTY): void {
    if (payload.length > MAX_MAX_FRAME_SIZE) {
      throw new FrameWriterError(`a frame payload of ${payload.length} octets cannot be framed`);
    }
    this.frame(type, flags, streamId >>> 0, payload, 0, payload.length);
  }

  /**
   * Sends everything gathered: one `write` when it is all in the slab, corked writes (one
   * writev) when payloads are referenced. Returns false when the socket's buffer is full
   * (`needsDrain`; `onDrain` follows). Nothing gathered, or a destroyed socket: nothing written.
   */
  flush(): boolean {
    const turn = this.turnBytes + this.pendingBytes;
    const ok = this.send();
    if (this.turnBytes > 0) {
      // The turn overflowed the slab: give the next turns one that holds it all (up to the
      // largest), once this one is free again.
      this.turnBytes = 0;
      let size = this.slab.length;
      while (size < turn && size < this.slabSize) size *= 2;
      size = Math.min(size, this.slabSize);
      if (size > this.slab.length && this.offset === 0) {
        this.slab = Buffer.allocUnsafeSlow(size);
      }
    }
    return ok;
  }

  /** Writes what is gathered (flush() without the slab sizing). */
  private send(): boolean {
    const pieces = this.pieces;
    if (pieces.length === 0 && this.offset === this.segStart) return !this.waitingForDrain;
    const sink = this.sink;
    const slab = this.slab;
    this.piecesBytes = 0;
    if (this.closed || sink.destroyed) {
      pieces.length = 0;
      this.segStart = this.offset;
      return false;
    }
    let ok: boolean;
    if (pieces.length === 0) {
      ok = sink.write(slab.subarray(this.segStart, this.offset));
    } else {
      if (this.offset > this.segStart) pieces.push(slab.subarray(this.segStart, this.offset));
      sink.cork();
      ok = true;
      for (let i = 0; i < pieces.length; i++) ok = sink.write(pieces[i]);
      sink.uncork();
      pieces.length = 0;
    }
    if (this.reusable && sink.writableLength === 0) {
      // Written through to the kernel (or OpenSSL): the whole slab is free again.
      this.offset = 0;
    }
    this.segStart = this.offset;
    // write() said full, but what the socket holds is still under our limit: carry on. The
    // socket emits 'drain' all the same (ignored unless waiting), and once over the limit it
    // is over its own mark too, so a 'drain' is sure to follow.
    if (!ok && sink.writableLength < this.bufferLimit) ok = true;
    if (!ok) this.waitingForDrain = true;
    return ok;
  }

  /**
   * Drops what is gathered and stops: later frames are discarded. For a socket being destroyed;
   * does not touch the socket itself.
   */
  close(): void {
    this.closed = true;
    this.pieces.length = 0;
    this.piecesBytes = 0;
    this.segStart = this.offset;
    this.sink.removeListener('drain', this.drainListener);
  }

  /** A frame with a 4-octet payload (RST_STREAM, WINDOW_UPDATE). */
  private fixed(type: number, flags: number, streamId: number, value: number): void {
    this.reserve(FRAME_HEADER_LENGTH + 4);
    this.putHeader(4, type, flags, streamId);
    this.putU32(value);
  }

  /** One frame with `buf[start, end)` as its payload. */
  private frame(
    type: number,
    flags: number,
    streamId: number,
    buf: Buffer,
    start: number,
    end: number,
  ): void {
    const length = end - start;
    this.reserve(FRAME_HEADER_LENGTH + this.copied(length));
    this.putHeader(length, type, flags, streamId);
    this.payload(buf, start, end);
  }

  /** CONTINUATION frames for `block[from…]`, END_HEADERS on the last; copied like HEADERS. */
  /** CONTINUATION frames with `block[from, total)`. */
  private continuation(streamId: number, block: Buffer, from: number, total: number): void {
    const max = this.maxFrameSizeValue;
    for (let at = from; at < total; at += max) {
      const end = Math.min(at + max, total);
      this.reserve(FRAME_HEADER_LENGTH + end - at);
      this.putHeader(
        end - at,
        FrameType.CONTINUATION,
        end === total ? Flag.END_HEADERS : 0,
        streamId,
      );
      this.copyIn(block, at, end);
    }
  }

  /**
   * Copies `src[start, end)` to the slab at `offset` (space reserved). Short ranges go byte by
   * byte: Buffer#copy of a part of a buffer makes a new Uint8Array view first (Node 20-24), an
   * allocation per header block and per small DATA frame.
   */
  private copyIn(src: Buffer, start: number, end: number): void {
    const slab = this.slab;
    let at = this.offset;
    if (end - start <= SHORT_COPY) {
      for (let i = start; i < end; i++) slab[at++] = src[i];
      this.offset = at;
    } else {
      this.offset += src.copy(slab, at, start, end);
    }
  }

  /** The slab space a payload of `length` octets takes: all of it when copied, none when referenced. */
  private copied(length: number): number {
    return length <= this.copyThreshold ? length : 0;
  }

  /**
   * Appends `buf[start, end)` after a header already put: copied when short (space was reserved
   * with the header), referenced otherwise.
   */
  private payload(buf: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length <= this.copyThreshold) {
      if (length > 0) this.copyIn(buf, start, end);
      return;
    }
    this.seal();
    this.pieces.push(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    this.piecesBytes += length;
  }

  /**
   * Makes room for `n` octets at `offset`: flushes first when the slab is full, takes a new slab
   * when the rest of this one is still the socket's. Schedules the turn's flush.
   */
  private reserve(n: number): void {
    if (this.offset + n > this.slab.length) this.makeRoom(n);
    if (!this.scheduled && this.mode !== 'manual' && !this.closed) {
      this.scheduled = true;
      if (this.mode === 'immediate') setImmediate(this.flushCallback);
      else process.nextTick(this.flushCallback);
    }
  }

  /**
   * The slab has no room for `n` more octets. Mid-turn (something gathered), the slab is full:
   * on a socket that takes writes at once, write what it holds and go on in a slab twice as
   * large (or in the same one, written through, at the largest size); flush() then sizes the
   * slab for the whole turn, so later turns like it are one write. On any other sink (whose
   * slab regions are never reused) keep the full part as a piece and go on in a slab twice as
   * large, so the turn still ends in one writev, unless MAX_GATHER octets are waiting. Between
   * turns, the rest of the slab still belongs to a queued write: take a new one.
   */
  private makeRoom(n: number): void {
    let size =
      this.slab.length === 0 ? Math.min(INITIAL_SLAB_SIZE, this.slabSize) : this.slab.length;
    if (this.pieces.length > 0 || this.offset > this.segStart) {
      const grown = Math.min(2 * this.slab.length, this.slabSize);
      if (!this.reusable && this.pendingBytes < MAX_GATHER) {
        this.seal();
        size = grown;
      } else {
        this.turnBytes += this.pendingBytes;
        this.send();
        // Written through, the slab is free: reuse it, or (growing) leave it for a larger one.
        if (grown <= this.slab.length && this.offset + n <= this.slab.length) return;
        size = grown;
      }
    }
    this.slab = Buffer.allocUnsafeSlow(Math.max(size, n));
    this.segStart = this.offset = 0;
  }

  /** Moves the gathered part of the slab into `pieces`. */
  private seal(): void {
    if (this.offset > this.segStart) {
      this.pieces.push(this.slab.subarray(this.segStart, this.offset));
      this.piecesBytes += this.offset - this.segStart;
      this.segStart = this.offset;
    }
  }

  private putHeader(length: number, type: number, flags: number, streamId: number): void {
    const s = this.slab;
    const o = this.offset;
    s[o] = length >>> 16;
    s[o + 1] = (length >>> 8) & 0xff;
    s[o + 2] = length & 0xff;
    s[o + 3] = type;
    s[o + 4] = flags;
    s[o + 5] = (streamId >>> 24) & 0x7f;
    s[o + 6] = (streamId >>> 16) & 0xff;
    s[o + 7] = (streamId >>> 8) & 0xff;
    s[o + 8] = streamId & 0xff;
    this.offset = o + FRAME_HEADER_LENGTH;
  }

  private putU32(value: number): void {
    const s = this.slab;
    const o = this.offset;
    s[o] = value >>> 24;
    s[o + 1] = (value >>> 16) & 0xff;
    s[o + 2] = (value >>> 8) & 0xff;
    s[o + 3] = value & 0xff;
    this.offset = o + 4;
  }
}

function checkedFrameSize(value: number): number {
  if (!isMaxFrameSize(value)) {
    throw new FrameWriterError(
      `max frame size must be an integer from ${DEFAULT_MAX_FRAME_SIZE} to ${MAX_MAX_FRAME_SIZE}, got ${value}`,
    );
  }
  return value;
}

function checkStream(streamId: number): void {
  if (!(streamId >= 1 && streamId <= MAX_STREAM_ID) || !Number.isInteger(streamId)) {
    throw new FrameWriterError(`${streamId} is not a stream id (1 to 2^31 - 1)`);
  }
}

function checkDependency(dependency: number, weight: number): void {
  if (!Number.isInteger(dependency) || dependency < 0 || dependency > MAX_STREAM_ID) {
    throw new FrameWriterError(`stream dependency ${dependency} is not a stream id`);
  }
  if (!Number.isInteger(weight) || weight < 0 || weight > 255) {
    throw new FrameWriterError(`weight must be the raw octet 0 to 255, got ${weight}`);
  }
}

function checkCode(code: number): void {
  if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) {
    throw new FrameWriterError(`error code ${code} is not a 32-bit value`);
  }
}

function checkSetting(id: number, value: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) {
    throw new FrameWriterError(`setting identifier ${id} is not a 16-bit value`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new FrameWriterError(`setting ${id} value ${value} is not a 32-bit value`);
  }
  if (settingValueError(id, value) !== -1) {
    throw new FrameWriterError(`setting ${id} value ${value} is out of range (RFC 9113 §6.5.2)`);
  }
}
