// HTTP/2 frame parser (RFC 9113 §4–§6): reads a socket's chunks, checks each frame's framing
// rules and calls a FrameHandler method per frame, with ranges of the chunk instead of copies.
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  GOAWAY_MIN_LENGTH,
  LAST_KNOWN_SETTING,
  MAX_MAX_FRAME_SIZE,
  PING_LENGTH,
  PRIORITY_LENGTH,
  RST_STREAM_LENGTH,
  SETTINGS_ENTRY_LENGTH,
  SettingId,
  WINDOW_UPDATE_LENGTH,
  frameTypeName,
  settingName,
} from './constants.js';
import { FrameErrorReason } from './errors.js';
import type { FrameHandler } from './frame-handler.js';
import { isMaxFrameSize, settingValueError } from './setting-values.js';

/**
 * Default cap on one assembled field block: four times node:http2's default header list limit
 * (65,535 octets). A field block is compressed, so a legitimate one is smaller than the header
 * list it decodes to; anything larger is a CONTINUATION flood (CVE-2024-27316).
 */
export const DEFAULT_MAX_HEADER_BLOCK_BYTES = 262_144;
/** Default cap on CONTINUATION frames per field block: nghttp2's default (8) since CVE-2024-28182. */
export const DEFAULT_MAX_CONTINUATIONS = 8;
/** Default cap on entries per SETTINGS frame: nghttp2's and node:http2's default (32) since CVE-2020-11080. */
export const DEFAULT_MAX_SETTINGS_ENTRIES = 32;

export interface FrameParserOptions {
  /**
   * `server`: the input starts with the client preface (RFC 9113 §3.4), and PUSH_PROMISE is a
   * connection error (§8.4). `client`: no preface; SETTINGS_ENABLE_PUSH = 1 from the server is a
   * connection error (§6.5.2). Either way the first frame must be SETTINGS.
   */
  readonly role: 'server' | 'client';
  /** Our SETTINGS_MAX_FRAME_SIZE: longer frames are a FRAME_SIZE_ERROR. Default 16,384. */
  readonly maxFrameSize?: number;
  /** Cap on one field block's octets across HEADERS/PUSH_PROMISE + CONTINUATION. */
  readonly maxHeaderBlockBytes?: number;
  /** Cap on CONTINUATION frames in one field block. */
  readonly maxContinuations?: number;
  /** Cap on entries in one SETTINGS frame (unknown identifiers included). */
  readonly maxSettingsEntries?: number;
}

// What the parser is in the middle of, between chunks.
const STATE_PREFACE = 0;
const STATE_FRAME_HEADER = 1;
const STATE_PAYLOAD = 2;
const STATE_SKIP = 3;

// What checkHeader() decided about a frame.
const ACTION_FAIL = 0;
const ACTION_READ = 1;
const ACTION_SKIP = 2;

const EMPTY = Buffer.alloc(0);

/** An unsigned 32-bit big-endian value at `at` (the caller has checked the bounds). */
function u32(buf: Buffer, at: number): number {
  return buf[at] * 0x1000000 + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]);
}

/**
 * Turns chunks of an HTTP/2 byte stream into FrameHandler calls.
 *
 * Contract: `push()` chunks in order; each complete frame is checked and delivered before
 * `push()` returns; a frame cut by a chunk boundary is delivered when its last byte arrives.
 * A frame within one chunk is delivered as ranges of that chunk; only a frame that spans chunks
 * is copied (into a buffer of its own), and a field block continued over several frames is
 * assembled (one copy). After a connection error the parser is stopped and ignores input. The
 * parser never throws on input; only a throwing handler makes `push()` throw.
 */
export class FrameParser {
  private readonly handler: FrameHandler;
  private readonly isServer: boolean;
  private maxFrameSizeValue: number;
  private readonly maxHeaderBlockBytes: number;
  private readonly maxContinuations: number;
  private readonly maxSettingsEntries: number;

  private isStopped = false;
  private state: number;
  private prefaceFill = 0;
  /** True until the first frame (which must be a SETTINGS frame) has been seen. */
  private expectSettings = true;

  // The frame being read when it spans chunks.
  private readonly header = Buffer.alloc(FRAME_HEADER_LENGTH);
  private headerFill = 0;
  private frameLength = 0;
  private frameType = 0;
  private frameFlags = 0;
  private frameStream = 0;
  private partial: Buffer = EMPTY;
  private partialFill = 0;
  private skipRemaining = 0;

  // The field block being assembled (blockStream 0: none open).
  private blockStream = 0;
  private blockIsPush = false;
  private blockEndStream = false;
  private blockDependency = -1;
  private blockWeight = 0;
  private blockExclusive = false;
  private blockPromised = 0;
  private blockBytes = 0;
  private blockContinuations = 0;
  /**
   * Fragments of the open block: views, concatenated once when END_HEADERS arrives. They keep
   * at most maxContinuations + 1 chunks alive, and the octets are capped by maxHeaderBlockBytes.
   */
  private readonly fragments: Buffer[] = [];

  /** SETTINGS entries for onSettings: [id, value, id, value, …], reused. */
  private readonly settings: Uint32Array;

  constructor(handler: FrameHandler, options: FrameParserOptions) {
    this.handler = handler;
    this.isServer = options.role === 'server';
    this.state = this.isServer ? STATE_PREFACE : STATE_FRAME_HEADER;
    this.maxFrameSizeValue = checkedMaxFrameSize(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
    this.maxHeaderBlockBytes = positive(
      'maxHeaderBlockBytes',
      options.maxHeaderBlockBytes ?? DEFAULT_MAX_HEADER_BLOCK_BYTES,
    );
    this.maxContinuations = positive(
      'maxContinuations',
      options.maxContinuations ?? DEFAULT_MAX_CONTINUATIONS,
      0,
    );
    this.maxSettingsEntries = positive(
      'maxSettingsEntries',
      options.maxSettingsEntries ?? DEFAULT_MAX_SETTINGS_ENTRIES,
    );
    this.settings = new Uint32Array(2 * this.maxSettingsEntries);
  }

  /** Our SETTINGS_MAX_FRAME_SIZE as the parser enforces it. */
  get maxFrameSize(): number {
    return this.maxFrameSizeValue;
  }

  /**
   * Changes the enforced SETTINGS_MAX_FRAME_SIZE (16,384 to 2^24 − 1). Raise it when announcing
   * a larger value; lower it only once the peer has acknowledged the SETTINGS that lowered it
   * (RFC 9113 §6.5.3), since frames sent before the ACK may use the old value.
   */
  setMaxFrameSize(value: number): void {
    this.maxFrameSizeValue = checkedMaxFrameSize(value);
  }

  /** Whether the parser has stopped (a connection error, or `stop()`). */
  get stopped(): boolean {
    return this.isStopped;
  }

  /** True while a field block is open: only CONTINUATION frames of its stream may come. */
  get headerBlockOpen(): boolean {
    return this.blockStream !== 0;
  }

  /** Stops delivering frames (also from within a handler call) and drops buffered input. */
  stop(): void {
    this.isStopped = true;
    this.partial = EMPTY;
    this.closeBlock();
  }

  /** Parses a chunk of the byte stream. */
  push(chunk: Buffer): void {
    if (this.isStopped) return;
    try {
      this.consume(chunk);
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  private consume(chunk: Buffer): void {
    const end = chunk.length;
    let off = 0;
    if (this.state !== STATE_FRAME_HEADER || this.headerFill !== 0) {
      off = this.continuePartial(chunk);
      if (off < 0) return;
    }
    // Frames whose header starts in this chunk.
    for (;;) {
      const left = end - off;
      if (left < FRAME_HEADER_LENGTH) {
        if (left > 0) {
          chunk.copy(this.header, 0, off, end);
          this.headerFill = left;
        }
        return;
      }
      const length = (chunk[off] << 16) | (chunk[off + 1] << 8) | chunk[off + 2];
      const type = chunk[off + 3];
      const flags = chunk[off + 4];
      const streamId =
        ((chunk[off + 5] & 0x7f) << 24) |
        (chunk[off + 6] << 16) |
        (chunk[off + 7] << 8) |
        chunk[off + 8];
      const action = this.checkHeader(length, type, flags, streamId);
      if (action === ACTION_FAIL) return;
      const start = off + FRAME_HEADER_LENGTH;
      const available = end - start;
      if (available >= length) {
        off = start + length;
        if (action === ACTION_READ) {
          this.dispatch(type, flags, streamId, chunk, start, length);
          if (this.isStopped) return;
        }
        continue;
      }
      this.frameLength = length;
      this.frameType = type;
      this.frameFlags = flags;
      this.frameStream = streamId;
      if (action === ACTION_SKIP) {
        this.skipRemaining = length - available;
        this.state = STATE_SKIP;
      } else {
        this.partial = Buffer.allocUnsafe(length);
        chunk.copy(this.partial, 0, start, end);
        this.partialFill = available;
        this.state = STATE_PAYLOAD;
      }
      return;
    }
  }

  /**
   * Continues what the previous chunk left unfinished: the preface, a frame header or a payload.
   * Returns the offset where whole frames start, or -1 when the chunk is used up or the parser
   * stopped.
   */
  private continuePartial(chunk: Buffer): number {
    const end = chunk.length;
    let off = 0;
    if (this.state === STATE_PREFACE) {
      let fill = this.prefaceFill;
      while (off < end && fill < CLIENT_PREFACE.length) {
        if (chunk[off] !== CLIENT_PREFACE[fill]) {
          this.fail(
            ErrorCode.PROTOCOL_ERROR,
            FrameErrorReason.BAD_PREFACE,
            `octet ${fill} of the connection preface is 0x${chunk[off].toString(16)}, expected 0x${CLIENT_PREFACE[fill].toString(16)}`,
          );
          return -1;
        }
        off++;
        fill++;
      }
      this.prefaceFill = fill;
      if (fill < CLIENT_PREFACE.length) return -1;
      this.state = STATE_FRAME_HEADER;
    }
    if (this.state === STATE_FRAME_HEADER && this.headerFill !== 0) {
      const n = Math.min(FRAME_HEADER_LENGTH - this.headerFill, end - off);
      chunk.copy(this.header, this.headerFill, off, off + n);
      this.headerFill += n;
      off += n;
      if (this.headerFill < FRAME_HEADER_LENGTH) return -1;
      this.headerFill = 0;
      const h = this.header;
      const length = (h[0] << 16) | (h[1] << 8) | h[2];
      const type = h[3];
      const flags = h[4];
      const streamId = ((h[5] & 0x7f) << 24) | (h[6] << 16) | (h[7] << 8) | h[8];
      const action = this.checkHeader(length, type, flags, streamId);
      if (action === ACTION_FAIL) return -1;
      const available = end - off;
      if (available >= length) {
        // Only the header was cut: the payload is whole in this chunk, so no copy.
        if (action === ACTION_READ) {
          this.dispatch(type, flags, streamId, chunk, off, length);
          if (this.isStopped) return -1;
        }
        return off + length;
      }
      this.frameLength = length;
      this.frameType = type;
      this.frameFlags = flags;
      this.frameStream = streamId;
      if (action === ACTION_SKIP) {
        this.skipRemaining = length;
        this.state = STATE_SKIP;
      } else {
        this.partial = Buffer.allocUnsafe(length);
        this.partialFill = 0;
        this.state = STATE_PAYLOAD;
      }
    }
    if (this.state === STATE_SKIP) {
      const n = Math.min(this.skipRemaining, end - off);
      this.skipRemaining -= n;
      off += n;
      if (this.skipRemaining > 0) return -1;
      this.state = STATE_FRAME_HEADER;
    } else if (this.state === STATE_PAYLOAD) {
      const n = Math.min(this.frameLength - this.partialFill, end - off);
      chunk.copy(this.partial, this.partialFill, off, off + n);
      this.partialFill += n;
      off += n;
      if (this.partialFill < this.frameLength) return -1;
      this.state = STATE_FRAME_HEADER;
      const payload = this.partial;
      this.partial = EMPTY;
      this.dispatch(
        this.frameType,
        this.frameFlags,
        this.frameStream,
        payload,
        0,
        this.frameLength,
      );
      if (this.isStopped) return -1;
    }
    return off;
  }

  /**
   * The checks a frame header alone allows, made before its payload is buffered: length limits,
   * stream 0 or not, CONTINUATION sequencing. Reports the error and returns ACTION_FAIL, or says
   * whether to read or skip the payload.
   */
  private checkHeader(length: number, type: number, flags: number, streamId: number): number {
    if (length > this.maxFrameSizeValue) {
      return this.failHeader(
        ErrorCode.FRAME_SIZE_ERROR,
        FrameErrorReason.FRAME_TOO_LARGE,
        type,
        `${length} octets, over SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSizeValue}`,
      );
    }
    if (this.expectSettings) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) {
        return this.failHeader(
          ErrorCode.PROTOCOL_ERROR,
          FrameErrorReason.SETTINGS_EXPECTED,
          type,
          'the first frame must be SETTINGS (RFC 9113 §3.4)',
        );
      }
      this.expectSettings = false;
    }
    if (this.blockStream !== 0) {
      if (type !== FrameType.CONTINUATION || streamId !== this.blockStream) {
        return this.failHeader(
          ErrorCode.PROTOCOL_ERROR,
          FrameErrorReason.CONTINUATION_EXPECTED,
          type,
          `on stream ${streamId} while the field block of stream ${this.blockStream} is open`,
        );
      }
      if (++this.blockContinuations > this.maxContinuations) {
        return this.failHeader(
          ErrorCode.ENHANCE_YOUR_CALM,
          FrameErrorReason.TOO_MANY_CONTINUATIONS,
          type,
          `more than ${this.maxContinuations} in one field block on stream ${streamId}`,
        );
      }
      if (this.blockBytes + length > this.maxHeaderBlockBytes) {
        return this.failHeader(
          ErrorCode.ENHANCE_YOUR_CALM,
          FrameErrorReason.HEADER_BLOCK_TOO_LARGE,
          type,
          `field block on stream ${streamId} passes ${this.maxHeaderBlockBytes} octets`,
        );
      }
      return ACTION_READ;
    }
    switch (type) {
      case FrameType.DATA:
        if (streamId === 0) return this.failStreamZero(type);
        if ((flags & Flag.PADDED) !== 0 && length < 1) return this.failTooShort(type, length);
        return ACTION_READ;
      case FrameType.HEADERS: {
        if (streamId === 0) return this.failStreamZero(type);
        const fixed =
          ((flags & Flag.PADDED) !== 0 ? 1 : 0) +
          ((flags & Flag.PRIORITY) !== 0 ? PRIORITY_LENGTH : 0);
        if (length < fixed) return this.failTooShort(type, length);
        return ACTION_READ;
      }
      case FrameType.PRIORITY:
        if (streamId === 0) return this.failStreamZero(type);
        if (length !== PRIORITY_LENGTH) {
          // A stream error (RFC 9113 §6.3): the connection goes on, the payload is skipped.
          this.handler.onStreamError(
            streamId,
            ErrorCode.FRAME_SIZE_ERROR,
            FrameErrorReason.BAD_LENGTH,
            `PRIORITY of ${length} octets, not ${PRIORITY_LENGTH}`,
          );
          return this.isStopped ? ACTION_FAIL : ACTION_SKIP;
        }
        return ACTION_READ;
      case FrameType.RST_STREAM:
        if (streamId === 0) return this.failStreamZero(type);
        if (length !== RST_STREAM_LENGTH) return this.failLength(type, length, RST_STREAM_LENGTH);
        return ACTION_READ;
      case FrameType.SETTINGS:
        if (streamId !== 0) return this.failStreamNonZero(type, streamId);
        if ((flags & Flag.ACK) !== 0) {
          if (length !== 0) return this.failLength(type, length, 0);
        } else if (length % SETTINGS_ENTRY_LENGTH !== 0) {
          return this.failHeader(
            ErrorCode.FRAME_SIZE_ERROR,
            FrameErrorReason.BAD_LENGTH,
            type,
            `${length} octets, not a multiple of ${SETTINGS_ENTRY_LENGTH}`,
          );
        } else if (length / SETTINGS_ENTRY_LENGTH > this.maxSettingsEntries) {
          return this.failHeader(
            ErrorCode.ENHANCE_YOUR_CALM,
            FrameErrorReason.TOO_MANY_SETTINGS,
            type,
            `${length / SETTINGS_ENTRY_LENGTH} entries, over ${this.maxSettingsEntries}`,
          );
        }
        return ACTION_READ;
      case FrameType.PUSH_PROMISE:
        if (this.isServer) {
          return this.failHeader(
            ErrorCode.PROTOCOL_ERROR,
            FrameErrorReason.PUSH_FROM_CLIENT,
            type,
            'a client cannot push (RFC 9113 §8.4)',
          );
        }
        if (streamId === 0) return this.failStreamZero(type);
        if (length < ((flags & Flag.PADDED) !== 0 ? 5 : 4)) return this.failTooShort(type, length);
        return ACTION_READ;
      case FrameType.PING:
        if (streamId !== 0) return this.failStreamNonZero(type, streamId);
        if (length !== PING_LENGTH) return this.failLength(type, length, PING_LENGTH);
        return ACTION_READ;
      case FrameType.GOAWAY:
        if (streamId !== 0) return this.failStreamNonZero(type, streamId);
        if (length < GOAWAY_MIN_LENGTH) return this.failTooShort(type, length);
        return ACTION_READ;
      case FrameType.WINDOW_UPDATE:
        if (length !== WINDOW_UPDATE_LENGTH) {
          return this.failLength(type, length, WINDOW_UPDATE_LENGTH);
        }
        return ACTION_READ;
      case FrameType.CONTINUATION:
        if (streamId === 0) return this.failStreamZero(type);
        return this.failHeader(
          ErrorCode.PROTOCOL_ERROR,
          FrameErrorReason.UNEXPECTED_CONTINUATION,
          type,
          `on stream ${streamId} with no field block open`,
        );
      default:
        this.handler.onUnknownFrame(type, flags, streamId, length);
        return this.isStopped ? ACTION_FAIL : ACTION_SKIP;
    }
  }

  /** Delivers a frame whose header passed checkHeader(); `buf[start, start + length)` is its payload. */
  private dispatch(
    type: number,
    flags: number,
    streamId: number,
    buf: Buffer,
    start: number,
    length: number,
  ): void {
    const handler = this.handler;
    switch (type) {
      case FrameType.DATA: {
        let from = start;
        let to = start + length;
        if ((flags & Flag.PADDED) !== 0) {
          const pad = buf[from++];
          if (pad >= length) {
            this.failPadding(type, pad, length);
            return;
          }
          to -= pad;
        }
        handler.onData(streamId, buf, from, to, (flags & Flag.END_STREAM) !== 0, length);
        return;
      }
      case FrameType.HEADERS: {
        let from = start;
        let to = start + length;
        if ((flags & Flag.PADDED) !== 0) {
          const pad = buf[from++];
          if (pad > to - from - ((flags & Flag.PRIORITY) !== 0 ? PRIORITY_LENGTH : 0)) {
            this.failPadding(type, pad, length);
            return;
          }
          to -= pad;
        }
        let dependency = -1;
        let weight = 0;
        let exclusive = false;
        if ((flags & Flag.PRIORITY) !== 0) {
          exclusive = buf[from] >= 0x80;
          dependency = u32(buf, from) & 0x7fffffff;
          weight = buf[from + 4];
          from += PRIORITY_LENGTH;
          if (dependency === streamId) {
            this.selfDependency(streamId);
            if (this.isStopped) return;
          }
        }
        if (to - from > this.maxHeaderBlockBytes) {
          this.failBlockTooLarge(streamId);
          return;
        }
        const endStream = (flags & Flag.END_STREAM) !== 0;
        if ((flags & Flag.END_HEADERS) !== 0) {
          handler.onHeaders(streamId, buf, from, to, endStream, dependency, weight, exclusive);
          return;
        }
        this.openBlock(streamId, false, buf.subarray(from, to));
        this.blockEndStream = endStream;
        this.blockDependency = dependency;
        this.blockWeight = weight;
        this.blockExclusive = exclusive;
        return;
      }
      case FrameType.PRIORITY: {
        const dependency = u32(buf, start) & 0x7fffffff;
        if (dependency === streamId) {
          this.selfDependency(streamId);
          return;
        }
        handler.onPriority(streamId, dependency, buf[start + 4], buf[start] >= 0x80);
        return;
      }
      case FrameType.RST_STREAM:
        handler.onRstStream(streamId, u32(buf, start));
        return;
      case FrameType.SETTINGS:
        if ((flags & Flag.ACK) !== 0) handler.onSettings(true, this.settings, 0);
        else this.readSettings(buf, start, length);
        return;
      case FrameType.PUSH_PROMISE: {
        let from = start;
        let to = start + length;
        if ((flags & Flag.PADDED) !== 0) {
          const pad = buf[from++];
          if (pad > to - from - 4) {
            this.failPadding(type, pad, length);
            return;
          }
          to -= pad;
        }
        const promised = u32(buf, from) & 0x7fffffff;
        from += 4;
        if (to - from > this.maxHeaderBlockBytes) {
          this.failBlockTooLarge(streamId);
          return;
        }
        if ((flags & Flag.END_HEADERS) !== 0) {
          handler.onPushPromise(streamId, promised, buf, from, to);
          return;
        }
        this.openBlock(streamId, true, buf.subarray(from, to));
        this.blockPromised = promised;
        return;
      }
      case FrameType.PING:
        handler.onPing((flags & Flag.ACK) !== 0, buf, start);
        return;
      case FrameType.GOAWAY:
        handler.onGoaway(
          u32(buf, start) & 0x7fffffff,
          u32(buf, start + 4),
          buf,
          start + GOAWAY_MIN_LENGTH,
          start + length,
        );
        return;
      case FrameType.WINDOW_UPDATE: {
        const increment = u32(buf, start) & 0x7fffffff;
        if (increment !== 0) {
          handler.onWindowUpdate(streamId, increment);
        } else if (streamId === 0) {
          this.fail(
            ErrorCode.PROTOCOL_ERROR,
            FrameErrorReason.ZERO_WINDOW_INCREMENT,
            'WINDOW_UPDATE with increment 0 on the connection',
          );
        } else {
          handler.onStreamError(
            streamId,
            ErrorCode.PROTOCOL_ERROR,
            FrameErrorReason.ZERO_WINDOW_INCREMENT,
            `WINDOW_UPDATE with increment 0 on stream ${streamId}`,
          );
        }
        return;
      }
      case FrameType.CONTINUATION:
        this.continueBlock(flags, buf.subarray(start, start + length));
        return;
    }
  }

  private readSettings(buf: Buffer, start: number, length: number): void {
    const out = this.settings;
    let count = 0;
    for (let at = start, end = start + length; at < end; at += SETTINGS_ENTRY_LENGTH) {
      const id = (buf[at] << 8) | buf[at + 1];
      if (id === 0 || id > LAST_KNOWN_SETTING) continue; // unknown: ignored (§6.5.2)
      const value = u32(buf, at + 2);
      let code = settingValueError(id, value);
      // A server must not enable push (§6.5.2): a client refuses SETTINGS_ENABLE_PUSH = 1.
      if (id === SettingId.ENABLE_PUSH && value === 1 && !this.isServer) {
        code = ErrorCode.PROTOCOL_ERROR;
      }
      if (code !== -1) {
        this.fail(
          code,
          FrameErrorReason.BAD_SETTING_VALUE,
          `SETTINGS_${settingName(id)} = ${value}${id === SettingId.ENABLE_PUSH && value === 1 ? ' from a server' : ''}`,
        );
        return;
      }
      out[2 * count] = id;
      out[2 * count + 1] = value;
      count++;
    }
    this.handler.onSettings(false, out, count);
  }

  private openBlock(streamId: number, isPush: boolean, fragment: Buffer): void {
    this.blockStream = streamId;
    this.blockIsPush = isPush;
    this.blockBytes = fragment.length;
    this.blockContinuations = 0;
    this.fragments.push(fragment);
  }

  private continueBlock(flags: number, fragment: Buffer): void {
    this.blockBytes += fragment.length;
    this.fragments.push(fragment);
    if ((flags & Flag.END_HEADERS) === 0) return;
    // The whole block: one copy of its fragments (the only copy a field block ever needs).
    const block = Buffer.allocUnsafe(this.blockBytes);
    let at = 0;
    for (const f of this.fragments) {
      f.copy(block, at);
      at += f.length;
    }
    const streamId = this.blockStream;
    this.closeBlock();
    if (this.blockIsPush) {
      this.handler.onPushPromise(streamId, this.blockPromised, block, 0, block.length);
    } else {
      this.handler.onHeaders(
        streamId,
        block,
        0,
        block.length,
        this.blockEndStream,
        this.blockDependency,
        this.blockWeight,
        this.blockExclusive,
      );
    }
  }

  private closeBlock(): void {
    this.blockStream = 0;
    this.blockBytes = 0;
    this.fragments.length = 0;
  }

  private selfDependency(streamId: number): void {
    this.handler.onStreamError(
      streamId,
      ErrorCode.PROTOCOL_ERROR,
      FrameErrorReason.SELF_DEPENDENCY,
      `stream ${streamId} depends on itself`,
    );
  }

  private fail(code: number, reason: FrameErrorReason, message: string): void {
    this.stop();
    this.handler.onConnectionError(code, reason, message);
  }

  private failHeader(code: number, reason: FrameErrorReason, type: number, what: string): number {
    this.fail(code, reason, `${frameTypeName(type)}: ${what}`);
    return ACTION_FAIL;
  }

  private failStreamZero(type: number): number {
    return this.failHeader(
      ErrorCode.PROTOCOL_ERROR,
      FrameErrorReason.STREAM_ID_REQUIRED,
      type,
      'on stream 0',
    );
  }

  private failStreamNonZero(type: number, streamId: number): number {
    return this.failHeader(
      ErrorCode.PROTOCOL_ERROR,
      FrameErrorReason.STREAM_ID_FORBIDDEN,
      type,
      `on stream ${streamId}, allowed on stream 0 only`,
    );
  }

  private failLength(type: number, length: number, expected: number): number {
    return this.failHeader(
      ErrorCode.FRAME_SIZE_ERROR,
      FrameErrorReason.BAD_LENGTH,
      type,
      `${length} octets, not ${expected}`,
    );
  }

  private failTooShort(type: number, length: number): number {
    return this.failHeader(
      ErrorCode.FRAME_SIZE_ERROR,
      FrameErrorReason.BAD_LENGTH,
      type,
      `${length} octets, too short for its fixed fields`,
    );
  }

  private failPadding(type: number, pad: number, length: number): void {
    this.fail(
      ErrorCode.PROTOCOL_ERROR,
      FrameErrorReason.BAD_PADDING,
      `${frameTypeName(type)}: ${pad} octets of padding in a ${length}-octet payload`,
    );
  }

  private failBlockTooLarge(streamId: number): void {
    this.fail(
      ErrorCode.ENHANCE_YOUR_CALM,
      FrameErrorReason.HEADER_BLOCK_TOO_LARGE,
      `field block on stream ${streamId} passes ${this.maxHeaderBlockBytes} octets`,
    );
  }
}

function checkedMaxFrameSize(value: number): number {
  if (!isMaxFrameSize(value)) {
    throw new RangeError(
      `maxFrameSize must be an integer from ${DEFAULT_MAX_FRAME_SIZE} to ${MAX_MAX_FRAME_SIZE}, got ${value}`,
    );
  }
  return value;
}

function positive(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
