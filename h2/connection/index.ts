// The HTTP/2 connection layer: client and server endpoints over any Duplex socket (RFC 9113).
export { type H2Clock, type H2TimerHandle, h2SystemClock } from './clock.js';
export { H2Connection } from './connection.js';
export type { H2ConnectionHandler } from './connection-handler.js';
export { ConnectionErrorReason, H2ConnectionError, H2OpenRefusal } from './errors.js';
export { checkHeaderList, type HeaderFacts, HeaderKind } from './header-rules.js';
export {
  DEFAULTS as H2_CONNECTION_DEFAULTS,
  H2Counters,
  type H2ConnectionOptions,
} from './options.js';
export { H2Stream, type H2StreamHandler, StreamOutcome, StreamState } from './stream.js';
export { type RateLimit, TokenBucket } from './token-bucket.js';
