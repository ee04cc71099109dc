// A connection's settings and limits with their defaults, and the abuse counters it keeps.
import type { FlushMode } from '../frames/index.js';
import type { H2Clock } from './clock.js';
import type { RateLimit } from './token-bucket.js';

export interface H2ConnectionOptions {
  readonly role: 'client' | 'server';
  readonly clock?: H2Clock;
  /**
   * Server: the client's preface and SETTINGS must arrive within this; client: the server's
   * SETTINGS. Default 10 s. A silent or byte-at-a-time peer is closed then.
   */
  readonly handshakeTimeoutMs?: number;
  /** Our SETTINGS must be acknowledged within this (RFC 9113 §6.5.3). Default 10 s. */
  readonly settingsTimeoutMs?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we announce: what one stream may have unconsumed. Default 1 MiB. */
  readonly streamWindow?: number;
  /** Our connection-level receive window. Default 16 MiB. */
  readonly connectionWindow?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS we announce and enforce (REFUSED_STREAM above). Default 1,000. */
  readonly maxConcurrentStreams?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we announce and enforce while decoding. Default 65,535. */
  readonly maxHeaderListSize?: number;
  /** SETTINGS_MAX_FRAME_SIZE we announce. Default 16,384. */
  readonly maxFrameSize?: number;
  /** Caps on one received field block (see FrameParserOptions). */
  readonly maxHeaderBlockBytes?: number;
  readonly maxContinuations?: number;
  /** Highest stream id this side opens (client role); default 2^31 - 1. Lower it in tests. */
  readonly maxStreamId?: number;
  /** Queued DATA per stream above which write() returns false. Default 64 KiB. */
  readonly streamHighWaterMark?: number;
  /** Resets received plus streams refused (rapid reset). Default burst 1,000 at 33/s (nghttp2's). */
  readonly resetLimit?: RateLimit;
  /** PINGs received. Default burst 100 at 10/s. */
  readonly pingLimit?: RateLimit;
  /** SETTINGS received. Default burst 100 at 10/s. */
  readonly settingsLimit?: RateLimit;
  /** Empty DATA frames without END_STREAM. Default burst 100 at 10/s. */
  readonly emptyDataLimit?: RateLimit;
  /** PRIORITY and unknown-type frames. Default burst 1,000 at 100/s. */
  readonly controlLimit?: RateLimit;
  /** PINGs of ours awaiting an ACK at once. Default 10. */
  readonly maxOutstandingPings?: number;
  /** After a connection error's GOAWAY, the socket is destroyed this much later. Default 1 s. */
  readonly closeLingerMs?: number;
  /** When gathered frames are written (FrameWriter). Default once per event-loop turn. */
  readonly flush?: FlushMode;
}

export const DEFAULTS = {
  handshakeTimeoutMs: 10_000,
  settingsTimeoutMs: 10_000,
  streamWindow: 1 << 20,
  connectionWindow: 16 << 20,
  maxConcurrentStreams: 1_000,
  maxHeaderListSize: 65_535,
  streamHighWaterMark: 65_536,
  resetLimit: { burst: 1_000, ratePerSecond: 33 },
  pingLimit: { burst: 100, ratePerSecond: 10 },
  settingsLimit: { burst: 100, ratePerSecond: 10 },
  emptyDataLimit: { burst: 100, ratePerSecond: 10 },
  controlLimit: { burst: 1_000, ratePerSecond: 100 },
  maxOutstandingPings: 10,
  closeLingerMs: 1_000,
} as const;

/** What a connection counted: for metrics, and for tests of the limits. */
export class H2Counters {
  streamsOpened = 0;
  /** Streams we answered REFUSED_STREAM (over our concurrency limit). */
  streamsRefused = 0;
  resetsReceived = 0;
  resetsSent = 0;
  /** Stream errors we sent for malformed header lists or content-length mismatches. */
  malformed = 0;
  pingsReceived = 0;
  settingsReceived = 0;
  emptyDataFrames = 0;
  /** The connection error that ended the connection (RFC 9113 code), -1 for none. */
  errorCode = -1;
  /** Its reason (FrameErrorReason or ConnectionErrorReason), '' for none. */
  errorReason = '';
}
