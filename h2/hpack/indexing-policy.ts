// Which fields the HPACK encoder keeps out of the dynamic table, and which it sends as never
// indexed: the defaults, with the reason for each group.

/**
 * Sent as "never indexed" (RFC 7541 §6.2.3) so that no hop adds them to a table where a
 * compression-ratio attack could guess them; §7.1.3 names Cookie and Authorization.
 */
export const DEFAULT_SENSITIVE_NAMES: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
];

/**
 * Values that differ on (nearly) every call: adding them to the table only evicts entries that
 * would have been reused (the gRPC request's :path, :authority, content-type, te, user-agent
 * and metadata that repeat are indexed). Their name still enters the table once, with the
 * first value, so that later fields refer to it by index.
 */
export const DEFAULT_UNINDEXED_NAMES: readonly string[] = [
  // gRPC: the deadline left, error text and details, retry pushback (gRPC PROTOCOL-HTTP2.md).
  'grpc-timeout',
  'grpc-message',
  'grpc-status-details-bin',
  'grpc-retry-pushback-ms',
  // HTTP fields nghttp2's encoder also leaves out of its table (nghttp2_hd.c), per message.
  'content-length',
  'date',
  'age',
  'etag',
  'last-modified',
  'if-modified-since',
  'if-none-match',
  'location',
  'set-cookie',
  // Tracing identifiers, new on every call (W3C Trace Context, B3, gRPC census, vendors).
  'traceparent',
  'tracestate',
  'grpc-trace-bin',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-request-id',
  'x-amzn-trace-id',
  'x-cloud-trace-context',
  'uber-trace-id',
];
