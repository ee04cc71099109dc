// The GOAWAY a client gets for a connection error Node sees: node:http2 ends the session with
// INTERNAL_ERROR whatever nghttp2 reported (HEADERS on an even stream id, more streams than
// SETTINGS_MAX_CONCURRENT_STREAMS, …), where RFC 9113 §5.4.1 asks for the error's own code.
// Node destroys such a session through its public `destroy(error)`; a session whose `destroy`
// is wrapped here passes the code nghttp2 itself would use (nghttp2_session.c,
// get_error_code_from_lib_error_code). Costs nothing per frame: it runs only on that error.
import http2 from 'node:http2';

const C = http2.constants;

/** nghttp2 library error numbers (nghttp2.h, enum nghttp2_error). */
const NGHTTP2_ERR_PROTO = -505;
const NGHTTP2_ERR_STREAM_CLOSED = -510;
const NGHTTP2_ERR_FRAME_SIZE_ERROR = -522;
const NGHTTP2_ERR_HEADER_COMP = -523;
const NGHTTP2_ERR_FLOW_CONTROL = -524;
const NGHTTP2_ERR_HTTP_HEADER = -531;
const NGHTTP2_ERR_HTTP_MESSAGING = -532;
const NGHTTP2_ERR_REFUSED_STREAM = -533;
const NGHTTP2_ERR_SETTINGS_EXPECTED = -536;
const NGHTTP2_ERR_CALLBACK_FAILURE = -902;
const NGHTTP2_ERR_BAD_CLIENT_MAGIC = -903;
const NGHTTP2_ERR_FLOODED = -904;

/** The HTTP/2 error code for an nghttp2 error number; INTERNAL_ERROR for anything else. */
export function goawayCode(errno: number): number {
  switch (errno) {
    case NGHTTP2_ERR_PROTO:
    case NGHTTP2_ERR_HTTP_HEADER:
    case NGHTTP2_ERR_HTTP_MESSAGING:
    case NGHTTP2_ERR_SETTINGS_EXPECTED:
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
      return C.NGHTTP2_PROTOCOL_ERROR;
    case NGHTTP2_ERR_STREAM_CLOSED:
      return C.NGHTTP2_STREAM_CLOSED;
    case NGHTTP2_ERR_FRAME_SIZE_ERROR:
      return C.NGHTTP2_FRAME_SIZE_ERROR;
    case NGHTTP2_ERR_HEADER_COMP:
      return C.NGHTTP2_COMPRESSION_ERROR;
    case NGHTTP2_ERR_FLOW_CONTROL:
      return C.NGHTTP2_FLOW_CONTROL_ERROR;
    case NGHTTP2_ERR_REFUSED_STREAM:
      return C.NGHTTP2_REFUSED_STREAM;
    // Node fails its callbacks on purpose when a client exceeds its limits (more streams
    // refused than maxSessionRejectedStreams, more invalid frames than maxSessionInvalidFrames,
    // as a rapid-reset burst does): the client is generating excessive load.
    case NGHTTP2_ERR_CALLBACK_FAILURE:
    case NGHTTP2_ERR_FLOODED:
      return C.NGHTTP2_ENHANCE_YOUR_CALM;
    default:
      return C.NGHTTP2_INTERNAL_ERROR;
  }
}

type Destroy = (error?: Error | number, code?: number) => void;
let inherited: Destroy | undefined;

/** Destroy as Node's, with the code of an nghttp2 error when the caller gave none. */
function destroyWithErrorCode(this: http2.Http2Session, error?: Error | number, code?: number) {
  const errno = (error as { errno?: unknown } | undefined)?.errno;
  if (code === undefined && error instanceof Error && typeof errno === 'number' && errno < 0) {
    inherited!.call(this, error, goawayCode(errno));
    return;
  }
  inherited!.call(this, error, code);
}

/** Makes the session answer the connection errors Node reports with their own GOAWAY code. */
export function answerWithErrorCodes(session: http2.Http2Session): void {
  inherited ??= (Object.getPrototypeOf(session) as { destroy: Destroy }).destroy;
  session.destroy = destroyWithErrorCode;
}
