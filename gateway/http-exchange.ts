// One HTTP request and its response, the same for HTTP/1.1 (node:http) and HTTP/2 (a stream of
// the downstream seam): what the gateway reads of the request and how it answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { verifiedPeerIdentity, type PeerIdentity } from '../common/peer-identity.js';
import type { DownstreamHandler, DownstreamStream } from '../transport/downstream.js';
import { fieldValue } from '../transport/header-fields.js';
import type { StallWatch, WaitingResponse } from './stall-watch.js';

/** RST_STREAM code ENHANCE_YOUR_CALM (RFC 9113 §7): a stalled client's stream is cut with it. */
const ENHANCE_YOUR_CALM = 0xb;

/**
 * Request headers never passed on as metadata, whatever a gateway's allow-list says: hop-by-hop
 * (RFC 9110 §7.6.1) and the ones that describe the HTTP message itself.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'host',
  'content-length',
  'content-type',
]);

export type ResponseHeaders = Record<string, string | string[]>;

export interface HttpExchange {
  readonly method: string;
  /** Path and query, as sent (percent-encoded). */
  readonly target: string;
  /** The client's `address:port`, "" when unknown. */
  readonly peer: string;
  /** The connection is TLS. */
  readonly secure: boolean;
  /** The verified client certificate's identity (mutual TLS), when there is one. */
  readonly identity: PeerIdentity | undefined;
  /** Request header fields as `[name, value, …]`, names lower-case. */
  readonly fields: readonly string[];
  header(name: string): string | undefined;
  /** The whole body; rejects with a BodyTooLarge once more than `limit` bytes arrived. */
  readBody(limit: number): Promise<Buffer>;
  /** Status and headers; once. */
  head(status: number, headers: ResponseHeaders): void;
  /** false: the client is behind; `onDrain` listeners run when it catches up. */
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): void;
  /** Called once if the client goes away before `end()`. */
  onAbort(listener: () => void): void;
  onDrain(listener: () => void): void;
}

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body over the limit of ${limit} bytes`);
  }
}

function collect(
  source: NodeJS.ReadableStream & { destroy?: (e?: Error) => void },
  limit: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    source.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    source.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
      done = true;
    });
    source.on('error', (err: Error) => {
      if (!done) reject(err);
      done = true;
    });
  });
}

/** Peer identities of HTTP/1.1 TLS connections, read once per connection, not per request. */
const identities = new WeakMap<TLSSocket, PeerIdentity | null>();

function identityOf(socket: TLSSocket): PeerIdentity | undefined {
  let id = identities.get(socket);
  if (id === undefined) {
    id = verifiedPeerIdentity(socket) ?? null;
    identities.set(socket, id);
  }
  return id ?? undefined;
}

/**
 * `stalls`: where a response whose client falls behind is watched, and cut (the connection
 * closed) when the client takes nothing for the listener's stall timeout.
 */
export function http1Exchange(
  req: IncomingMessage,
  res: ServerResponse,
  stalls?: StallWatch,
): HttpExchange {
  const fields: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    fields.push(req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]);
  }
  // Made the first time the client falls behind: most responses never do.
  let waiting: WaitingResponse | undefined;
  const behind = (watch: StallWatch): void => {
    if (waiting === undefined) {
      const w: WaitingResponse = {
        unsentBytes: () => res.writableLength,
        cut: () => res.destroy(),
      };
      res.on('drain', () => watch.caughtUp(w));
      res.once('close', () => watch.caughtUp(w));
      waiting = w;
    }
    watch.behind(waiting);
  };
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    peer: formatPeer(req.socket.remoteAddress, req.socket.remotePort),
    secure: req.socket instanceof TLSSocket,
    identity: req.socket instanceof TLSSocket ? identityOf(req.socket) : undefined,
    fields,
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    readBody: (limit) => collect(req, limit),
    head: (status, headers) => {
      res.writeHead(status, headers);
    },
    write: (chunk) => {
      if (res.write(chunk)) return true;
      if (stalls !== undefined) behind(stalls);
      return false;
    },
    // A response ended while its client is behind stays watched until it is sent or closed.
    // One that ends in a single large write (a unary answer) is not: its call is over, so no
    // upstream stream is held, and a slow client reading it would show no progress until the
    // whole write is taken.
    end: (chunk) => {
      res.end(chunk);
    },
    onAbort: (listener) => {
      res.on('close', () => {
        if (!res.writableFinished) listener();
      });
    },
    onDrain: (listener) => {
      res.on('drain', listener);
    },
  };
}

function formatPeer(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '';
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}

/**
 * An HTTP/2 request on the proxy's own HTTP/2 (the downstream seam): `fields` are the request's
 * header fields as they came.
 */
export function downstreamExchange(
  stream: DownstreamStream,
  fields: readonly string[],
  stalls?: StallWatch,
): HttpExchange {
  const regular: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i].charCodeAt(0) !== 0x3a) regular.push(fields[i], fields[i + 1]);
  }
  const authority = fieldValue(fields, ':authority');
  if (authority !== undefined) regular.push('host', authority);
  const chunks: Buffer[] = [];
  let size = 0;
  let limit = Infinity;
  let ended = false;
  let closed = false;
  let responded = false;
  let body: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  const aborts: (() => void)[] = [];
  const drains: (() => void)[] = [];
  // Made the first time the client falls behind: most responses never do.
  let waiting: WaitingResponse | undefined;
  const handler: DownstreamHandler = {
    onRequestData(_s, chunk) {
      if (ended) return;
      size += chunk.length;
      if (size > limit) {
        ended = true;
        body?.reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(Buffer.from(chunk));
    },
    onRequestEnd() {
      if (ended) return;
      ended = true;
      body?.resolve(Buffer.concat(chunks));
    },
    onResponseDrain() {
      if (waiting !== undefined) stalls?.caughtUp(waiting);
      for (const d of drains) d();
    },
    onStreamClose() {
      closed = true;
      if (waiting !== undefined) stalls?.caughtUp(waiting);
      if (!ended) {
        ended = true;
        body?.reject(new Error('the client closed the stream'));
      }
      if (!responded) for (const a of aborts) a();
    },
  };
  stream.attach(handler);
  return {
    method: fieldValue(fields, ':method') ?? 'GET',
    target: fieldValue(fields, ':path') ?? '/',
    peer: stream.info.peer,
    secure: stream.info.tls !== undefined,
    identity: stream.info.tls?.identity,
    fields: regular,
    header: (name) => {
      let value: string | undefined;
      for (let i = 0; i < regular.length; i += 2) {
        if (regular[i] === name)
          value = value === undefined ? regular[i + 1] : `${value}, ${regular[i + 1]}`;
      }
      return value;
    },
    readBody: (max) =>
      new Promise<Buffer>((resolve, reject) => {
        limit = max;
        body = { resolve, reject };
        stream.resume();
      }),
    head: (status, h) => {
      if (closed) return;
      // HTTP/2 has no connection-specific headers (RFC 9113 §8.2.2).
      const out = [':status', String(status)];
      for (const [k, v] of Object.entries(h)) {
        const name = k.toLowerCase();
        if (name === 'connection') continue;
        if (Array.isArray(v)) for (const one of v) out.push(name, one);
        else out.push(name, String(v));
      }
      stream.respond(out, false);
    },
    write: (chunk) => {
      if (closed || stream.write(toBuffer(chunk))) return true;
      stalls?.behind(
        (waiting ??= {
          unsentBytes: () => stream.unsentBytes,
          cut: () => stream.reset(ENHANCE_YOUR_CALM),
        }),
      );
      return false;
    },
    end: (chunk) => {
      responded = true;
      if (closed) return;
      if (chunk !== undefined && chunk.length > 0) {
        stream.write(toBuffer(chunk));
      }
      stream.end([]);
    },
    onAbort: (listener) => {
      aborts.push(listener);
    },
    onDrain: (listener) => {
      drains.push(listener);
    },
  };
}

function toBuffer(chunk: string | Uint8Array): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.isBuffer(chunk)
    ? chunk
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
