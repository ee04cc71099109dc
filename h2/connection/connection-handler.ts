// What an HTTP/2 connection tells its owner: one handler object per connection.
import type { HeaderList } from '../hpack/index.js';
import type { H2ConnectionError } from './errors.js';
import type { H2Stream, H2StreamHandler } from './stream.js';

/** Events of a connection, synchronous from the socket's events and the connection's timers. */
export interface H2ConnectionHandler {
  /**
   * Server role: a new request. Returns the handler for its further events (the same object
   * for every stream is fine: each call names its stream). `list` is valid during the call.
   */
  onStream(stream: H2Stream, list: HeaderList, endStream: boolean): H2StreamHandler;
  /** The peer's SETTINGS were applied (the first time: the handshake is done). */
  onSettings(): void;
  /**
   * The peer sent GOAWAY: no new streams; ours above `lastStreamId` were closed as REFUSED
   * before this call. `debug` is the frame's opaque debug data (a view, valid during the call).
   */
  onGoaway(lastStreamId: number, code: number, debug: Buffer): void;
  /** The connection is gone; `error` null for a clean close. Nothing follows. */
  onClose(error: H2ConnectionError | null): void;
}
