// The client handshake deadline: a connection must deliver the whole HTTP/2 preface and its
// first SETTINGS frame (RFC 9113 §3.4) within the listener's handshake timeout, counted from
// accept (h2c) or from the end of the TLS handshake. One timer per connection, held on the
// socket so the HTTP/2 connection that later owns the socket can clear it.
import type { Duplex } from 'node:stream';

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const kHandshake = Symbol('switchyard.handshake');
type Tracked = Duplex & { [kHandshake]?: NodeJS.Timeout };

/** What the first bytes of a connection are, as far as they go. */
export type PrefaceMatch = 'preface' | 'partial' | 'other';

/** Whether `bytes` hold the whole preface, a proper prefix of it, or something else. */
export function matchPreface(bytes: Buffer): PrefaceMatch {
  const n = Math.min(bytes.length, PREFACE.length);
  if (bytes.compare(PREFACE, 0, n, 0, n) !== 0) return 'other';
  return n === PREFACE.length ? 'preface' : 'partial';
}

/** `seen` followed by everything the socket has buffered now. */
export function readBuffered(socket: Duplex, seen: Buffer): Buffer {
  let out = seen;
  for (
    let chunk = socket.read() as Buffer | null;
    chunk !== null;
    chunk = socket.read() as Buffer | null
  ) {
    out = out.length === 0 ? chunk : Buffer.concat([out, chunk]);
  }
  return out;
}

/**
 * Starts the deadline: `onExpired` runs (default: the socket is destroyed) unless
 * `handshakeDone` is called first. A second call on the same socket restarts it.
 */
export function armHandshake(socket: Duplex, timeoutMs: number, onExpired?: () => void): void {
  const tracked = socket as Tracked;
  clearTimeout(tracked[kHandshake]);
  const timer = setTimeout(onExpired ?? (() => socket.destroy()), timeoutMs);
  timer.unref();
  tracked[kHandshake] = timer;
  socket.once('close', () => clearTimeout(timer));
}

/** Stops the deadline of a socket (no-op when none is running). */
export function disarmHandshake(socket: Duplex): void {
  const tracked = socket as Tracked;
  clearTimeout(tracked[kHandshake]);
  tracked[kHandshake] = undefined;
}

/** Whether the socket's handshake deadline is still running. */
export function handshakePending(socket: Duplex): boolean {
  return (socket as Tracked)[kHandshake] !== undefined;
}
