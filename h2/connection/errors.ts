// Why a connection ended or a stream could not be opened: stable reasons beside RFC 9113 codes.
import { errorCodeName } from '../frames/index.js';

/**
 * The connection's own reasons for a connection or stream error, beside the frame parser's
 * (FrameErrorReason), each with the RFC 9113 code it is sent with.
 */
export const ConnectionErrorReason = {
  /** No preface and SETTINGS from the peer within the handshake deadline. */
  HANDSHAKE_TIMEOUT: 'handshake-timeout',
  /** Our SETTINGS not acknowledged in time (§6.5.3): SETTINGS_TIMEOUT. */
  SETTINGS_TIMEOUT: 'settings-timeout',
  /** A client opened an even stream id, or a server an odd one (§5.1.1): PROTOCOL_ERROR. */
  BAD_STREAM_ID: 'bad-stream-id',
  /** A frame other than HEADERS/PRIORITY on an idle stream (§5.1): PROTOCOL_ERROR. */
  IDLE_STREAM: 'idle-stream',
  /** DATA or HEADERS on a closed stream we did not reset (§5.1): STREAM_CLOSED. */
  CLOSED_STREAM: 'closed-stream',
  /** A window past 2^31-1 or DATA beyond it (§6.9): FLOW_CONTROL_ERROR. */
  FLOW_CONTROL: 'flow-control',
  /** The peer's header block could not be decoded (§4.3): COMPRESSION_ERROR. */
  COMPRESSION: 'compression',
  /** PUSH_PROMISE while push is disabled (§6.6): PROTOCOL_ERROR. */
  PUSH_DISABLED: 'push-disabled',
  /** Resets received or streams refused faster than the budget (CVE-2023-44487): ENHANCE_YOUR_CALM. */
  RAPID_RESET: 'rapid-reset',
  /** SETTINGS faster than the limit: ENHANCE_YOUR_CALM. */
  SETTINGS_FLOOD: 'settings-flood',
  /** PING faster than the limit: ENHANCE_YOUR_CALM. */
  PING_FLOOD: 'ping-flood',
  /** Empty DATA frames without END_STREAM faster than the limit: ENHANCE_YOUR_CALM. */
  EMPTY_DATA_FLOOD: 'empty-data-flood',
  /** PRIORITY and unknown frames faster than the limit: ENHANCE_YOUR_CALM. */
  CONTROL_FLOOD: 'control-flood',
  /** The socket failed or closed under the connection. */
  SOCKET: 'socket',
} as const;
export type ConnectionErrorReason =
  (typeof ConnectionErrorReason)[keyof typeof ConnectionErrorReason];

/** A connection that ended with an error: ours (`remote` false) or the peer's GOAWAY. */
export class H2ConnectionError extends Error {
  override readonly name = 'H2ConnectionError';
  readonly code = 'ERR_H2_CONNECTION';
  constructor(
    /** The RFC 9113 error code sent or received in GOAWAY. */
    readonly errorCode: number,
    /** A FrameErrorReason or ConnectionErrorReason value. */
    readonly reason: string,
    message: string,
    readonly remote = false,
    /** What failed underneath: the socket's own error, for a SOCKET reason. */
    cause?: Error,
  ) {
    super(
      `${errorCodeName(errorCode)} (${reason}): ${message}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** Why `request()` could not open a stream. Preallocated: returned, never thrown. */
export class H2OpenRefusal {
  private constructor(readonly reason: string) {}
  /** GOAWAY sent or received, or the connection is gone: use another connection. */
  static readonly CLOSING = new H2OpenRefusal('closing');
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached: wait, or open another connection. */
  static readonly MAX_STREAMS = new H2OpenRefusal('max-streams');
  /** No stream ids left (2^31 - 1, or the configured limit): open another connection. */
  static readonly IDS_EXHAUSTED = new H2OpenRefusal('ids-exhausted');
  /** The header list is larger than the peer's SETTINGS_MAX_HEADER_LIST_SIZE. */
  static readonly HEADERS_TOO_LARGE = new H2OpenRefusal('headers-too-large');
}
