// One HTTP request and its response, the same for HTTP/1.1 (node:http) and HTTP/2 (a server
// stream, typed by shape so this folder does not load node:http2): what the gateway reads of
// the request and how it answers.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type ResponseHeaders = Record<string, string | string[]>;

export interface HttpExchange {
  readonly method: string;
  /** Path and query, as sent (percent-encoded). */
  readonly target: string;
  /** The client's `address:port`, "" when unknown. */
  readonly peer: string;
  /** Request header fields as `[name, value, …]`, names lower-case. */
  readonly fields: readonly string[];
  header(name: string): string | undefined;
  /** The whole body; rejects with a BodyTooLarge once more than `limit` bytes arrived. */
  readBody(limit: number): Promise<Buffer>;
  /** Status and headers; once. */
  head(status: number, headers: ResponseHeaders): void;
  write(chunk: string): void;
  end(chunk?: string): void;
  /** Called once if the client goes away before `end()`. */
  onAbort(listener: () => void): void;
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

export function http1Exchange(req: IncomingMessage, res: ServerResponse): HttpExchange {
  const fields: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    fields.push(req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]);
  }
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    peer: formatPeer(req.socket.remoteAddress, req.socket.remotePort),
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
      res.write(chunk);
    },
    end: (chunk) => {
      res.end(chunk);
    },
    onAbort: (listener) => {
      res.on('close', () => {
        if (!res.writableFinished) listener();
      });
    },
  };
}

/** The parts of node:http2's ServerHttp2Stream the gateway uses. */
export interface ServerStreamLike extends NodeJS.ReadableStream {
  respond(headers: Record<string, string | string[] | number>): void;
  write(chunk: string): boolean;
  end(chunk?: string): this;
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly writableFinished: boolean;
  on(event: string, listener: (...args: never[]) => void): this;
  readonly session?: { readonly socket?: { remoteAddress?: string; remotePort?: number } };
}

function formatPeer(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '';
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}

export function http2Exchange(
  stream: ServerStreamLike,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawHeaders: readonly string[],
): HttpExchange {
  const fields: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].charCodeAt(0) !== 0x3a) fields.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  const authority = headers[':authority'];
  if (typeof authority === 'string') fields.push('host', authority);
  return {
    method: String(headers[':method'] ?? 'GET'),
    target: String(headers[':path'] ?? '/'),
    peer: formatPeer(stream.session?.socket?.remoteAddress, stream.session?.socket?.remotePort),
    fields,
    header: (name) => {
      const v = headers[name === 'host' ? ':authority' : name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    readBody: (limit) => collect(stream, limit),
    head: (status, h) => {
      if (stream.destroyed || stream.closed) return;
      // HTTP/2 has no connection-specific headers (RFC 9113 §8.2.2).
      const out: Record<string, string | string[] | number> = { ':status': status };
      for (const [k, v] of Object.entries(h)) if (k !== 'connection') out[k] = v;
      stream.respond(out);
    },
    write: (chunk) => {
      if (!stream.destroyed) stream.write(chunk);
    },
    end: (chunk) => {
      if (!stream.destroyed) stream.end(chunk);
    },
    onAbort: (listener) => {
      stream.on('close', () => {
        if (!stream.writableFinished) listener();
      });
    },
  };
}
