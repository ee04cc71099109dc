// Why the frame parser rejected input (a stable reason beside the RFC 9113 error code), and
// typed errors for the connection layer and for misuse of the writer.
import { errorCodeName } from './constants.js';

/**
 * Why a frame was rejected. Each reason comes with the RFC 9113 error code the parser reports
 * beside it; the reason tells apart cases that share a code (a metric per reason, a log line),
 * and the ENHANCE_YOUR_CALM ones mark a peer that is abusing limits rather than confused.
 */
export const FrameErrorReason = {
  /** The first 24 octets are not the client preface (§3.4): PROTOCOL_ERROR. */
  BAD_PREFACE: 'bad-preface',
  /** The first frame after the preface is not a SETTINGS frame without ACK (§3.4): PROTOCOL_ERROR. */
  SETTINGS_EXPECTED: 'settings-expected',
  /** Length over the local SETTINGS_MAX_FRAME_SIZE (§4.2): FRAME_SIZE_ERROR. */
  FRAME_TOO_LARGE: 'frame-too-large',
  /** A length the frame type does not allow, or too short for its fixed fields (§4.2, §6): FRAME_SIZE_ERROR. */
  BAD_LENGTH: 'bad-length',
  /** A stream frame on stream 0 (§6.1–§6.4, §6.6, §6.10): PROTOCOL_ERROR. */
  STREAM_ID_REQUIRED: 'stream-id-required',
  /** A connection frame (SETTINGS, PING, GOAWAY) on a stream (§6.5, §6.7, §6.8): PROTOCOL_ERROR. */
  STREAM_ID_FORBIDDEN: 'stream-id-forbidden',
  /** Padding as long as the payload left for it or longer (§6.1, §6.2, §6.6): PROTOCOL_ERROR. */
  BAD_PADDING: 'bad-padding',
  /** A field block was open and another frame came (§4.3, §6.10): PROTOCOL_ERROR. */
  CONTINUATION_EXPECTED: 'continuation-expected',
  /** CONTINUATION with no field block open (§6.10): PROTOCOL_ERROR. */
  UNEXPECTED_CONTINUATION: 'unexpected-continuation',
  /** The assembled field block passed the configured byte cap (CVE-2024-27316): ENHANCE_YOUR_CALM. */
  HEADER_BLOCK_TOO_LARGE: 'header-block-too-large',
  /** More CONTINUATION frames in one field block than configured (CVE-2024-27316): ENHANCE_YOUR_CALM. */
  TOO_MANY_CONTINUATIONS: 'too-many-continuations',
  /** More entries in one SETTINGS frame than configured (CVE-2020-11080): ENHANCE_YOUR_CALM. */
  TOO_MANY_SETTINGS: 'too-many-settings',
  /** A setting value out of range (§6.5.2): PROTOCOL_ERROR, or FLOW_CONTROL_ERROR for the window. */
  BAD_SETTING_VALUE: 'bad-setting-value',
  /** WINDOW_UPDATE with increment 0 (§6.9): PROTOCOL_ERROR, on the stream or the connection. */
  ZERO_WINDOW_INCREMENT: 'zero-window-increment',
  /** A stream made to depend on itself (§5.3.1): stream error PROTOCOL_ERROR. */
  SELF_DEPENDENCY: 'self-dependency',
  /** PUSH_PROMISE sent by a client (§8.4): PROTOCOL_ERROR. */
  PUSH_FROM_CLIENT: 'push-from-client',
} as const;
export type FrameErrorReason = (typeof FrameErrorReason)[keyof typeof FrameErrorReason];

/**
 * A connection or stream error as an Error object, for a connection layer that ends a socket
 * or a stream with one. The parser itself never throws it: it reports code and reason to its
 * handler.
 */
export class H2FrameError extends Error {
  override readonly name = 'H2FrameError';
  readonly code = 'SWY_ERR_H2_FRAME';
  constructor(
    /** The RFC 9113 error code (ErrorCode). */
    readonly errorCode: number,
    readonly reason: FrameErrorReason,
    message: string,
    /** The stream a stream error is about; 0 for a connection error. */
    readonly streamId = 0,
  ) {
    super(`${errorCodeName(errorCode)} (${reason}): ${message}`);
  }
}

/** A writer method called with something it cannot put on the wire: a programming error. */
export class FrameWriterError extends Error {
  override readonly name = 'FrameWriterError';
  readonly code = 'SWY_ERR_H2_FRAME_WRITER';
}
