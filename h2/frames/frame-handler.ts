// What the frame parser calls for each frame it reads: one method per frame type, with numbers
// and octet ranges of the socket's chunk as arguments, so parsing allocates nothing per frame.
import type { FrameErrorReason } from './errors.js';

/**
 * Receives parsed frames from `FrameParser.push()`, synchronously, in wire order.
 *
 * Payload octets arrive as a range `buf[start, end)`, not as a new Buffer: `buf` is the socket
 * chunk itself when the frame arrived within one chunk (no copy, and no view object either: a
 * `subarray()` per frame was most of the parser's cost, see bench/h2-frames-bench.ts), or a
 * buffer the parser allocated for a frame that spanned chunks or for a field block assembled
 * from CONTINUATION frames. The parser never writes to either again, so a handler may keep
 * `buf.subarray(start, end)` (queued for another socket, say) after the call returns. The one
 * exception is `onSettings`' `entries` array, which is reused and valid only during the call.
 *
 * Stream ids arrive with the reserved bit cleared (RFC 9113 §4.1). Flags a frame type does not
 * define are ignored. Frame-level rules (lengths, stream 0 or not, padding, CONTINUATION
 * sequencing, setting values) are checked before a method is called; rules that need stream
 * state (DATA on a closed stream, an even stream id from a client, window overflow, PRIORITY
 * or WINDOW_UPDATE on an idle stream) are the connection's.
 *
 * A method may call `parser.stop()` (the parser then delivers nothing more) and the parser's
 * setters such as `setMaxFrameSize()`; it must not call `push()` and should not throw (an
 * exception propagates out of `push()` and leaves the parser stopped).
 */
export interface FrameHandler {
  /**
   * DATA. `buf[start, end)` is the data, without the Pad Length octet and the padding;
   * `flowControlledLength` is the whole frame payload length, padding included, which is what
   * counts against the flow-control windows (RFC 9113 §6.9.1). A zero-length DATA frame is
   * delivered like any other.
   */
  onData(
    streamId: number,
    buf: Buffer,
    start: number,
    end: number,
    endStream: boolean,
    flowControlledLength: number,
  ): void;

  /**
   * HEADERS and its CONTINUATION frames: `buf[start, end)` is the whole field block (padding and
   * priority fields removed). `dependency` is -1 when the frame carried no priority fields (no PRIORITY flag);
   * otherwise `weight` is the raw octet (0–255: weight − 1) and `exclusive` the E bit.
   * Delivered even after a stream error on the same frame (`onStreamError` for a self-dependency
   * comes first), because the block must still pass through the HPACK decoder to keep its
   * dynamic table in step with the peer's.
   */
  onHeaders(
    streamId: number,
    buf: Buffer,
    start: number,
    end: number,
    endStream: boolean,
    dependency: number,
    weight: number,
    exclusive: boolean,
  ): void;

  /** PRIORITY (deprecated by RFC 9113 §5.3.2; delivered so the connection may count it). */
  onPriority(streamId: number, dependency: number, weight: number, exclusive: boolean): void;

  /** RST_STREAM. `code` may be one RFC 9113 does not define. */
  onRstStream(streamId: number, code: number): void;

  /**
   * SETTINGS. With `ack`, `count` is 0. Otherwise `entries` holds `count` pairs in wire order,
   * `entries[2 * i]` the identifier and `entries[2 * i + 1]` the value, for the identifiers RFC
   * 9113 defines only (others are ignored, §6.5.2), values already checked (§6.5.2). Later
   * entries for the same identifier override earlier ones (§6.5.3). `entries` is reused: read it
   * during the call.
   */
  onSettings(ack: boolean, entries: Uint32Array, count: number): void;

  /**
   * PUSH_PROMISE and its CONTINUATION frames: `buf[start, end)` is the whole field block. Only a
   * client receives it
   * (a server's parser reports a connection error); the connection decides whether push is
   * enabled and whether the promised id is valid.
   */
  onPushPromise(
    streamId: number,
    promisedStreamId: number,
    buf: Buffer,
    start: number,
    end: number,
  ): void;

  /** PING: the 8-octet payload is `buf[start, start + 8)`, to be echoed in the ACK. */
  onPing(ack: boolean, buf: Buffer, start: number): void;

  /** GOAWAY: `buf[start, end)` is the additional debug data (often empty). */
  onGoaway(lastStreamId: number, code: number, buf: Buffer, start: number, end: number): void;

  /**
   * WINDOW_UPDATE with a non-zero increment (reserved bit cleared). An increment of 0 comes as
   * `onStreamError` (stream id > 0) or `onConnectionError` (stream 0) instead.
   */
  onWindowUpdate(streamId: number, increment: number): void;

  /**
   * A frame of a type RFC 9113 does not define: ignored (§4.1, §5.5), reported only so the
   * connection can count it toward its flood limits. Its payload is skipped.
   */
  onUnknownFrame(type: number, flags: number, streamId: number, length: number): void;

  /**
   * A stream error (RFC 9113 §5.4.2) the frame alone shows: PRIORITY of the wrong length, a
   * self-dependency, WINDOW_UPDATE with increment 0 on a stream. Parsing continues; the
   * connection answers RST_STREAM with `code` (or escalates, if the stream's state says so).
   */
  onStreamError(streamId: number, code: number, reason: FrameErrorReason, message: string): void;

  /**
   * A connection error (RFC 9113 §5.4.1): the connection should send GOAWAY with `code` and
   * close. The parser has stopped: nothing more is delivered, and later `push()` calls are
   * ignored.
   */
  onConnectionError(code: number, reason: FrameErrorReason, message: string): void;
}
