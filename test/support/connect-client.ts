// A raw HTTP/1.1 client for forward-proxy tests: sends a request head (or anything) on a plain
// socket and reads the proxy's answer, or sees the connection close.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** The status line and headers, up to the blank line; '' when none came. */
  readonly head: string;
  /** The status code, or 0 when no answer came. */
  readonly status: number;
  /** Everything after the head that arrived before the end (or `settleMs`). */
  readonly body: string;
  /** The proxy closed the connection. */
  readonly closed: boolean;
  /** The socket, still open when the proxy answered 200 (a tunnel). */
  readonly socket: Socket;
}

/**
 * Connects to `address`, writes `request`, and resolves with the answer once the proxy closes
 * the connection, or a 200 head arrived (the socket is then a tunnel), or `waitMs` passed.
 */
export function rawRequest(
  address: string,
  request: string | Buffer,
  waitMs = 3_000,
): Promise<RawAnswer> {
  const at = address.lastIndexOf(':');
  const socket = connect(Number(address.slice(at + 1)), address.slice(0, at));
  socket.on('error', () => {});
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? '' : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ head, status, body: end < 0 ? text : text.slice(end + 4), closed, socket });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (/^HTTP\/1\.[01] 200 [^\r]*\r\n\r\n/.test(text)) finish(false);
    };
    socket.on('data', onData);
    socket.once('close', () => finish(true));
    socket.once('connect', () => socket.write(request));
  });
}

/** Resolves with how long it took the peer to close `socket` (rejects after `maxMs`). */
export function closedWithin(socket: Socket, maxMs: number): Promise<number> {
  const started = Date.now();
  if (socket.destroyed) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${maxMs} ms`)), maxMs);
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}
