// Reading an HTTP/1.1 `CONNECT host:port` request head (forward-proxy mode) and the short
// HTTP/1.1 answers a forward proxy gives: strict, bounded, and never throwing on client input.
import { isIP } from 'node:net';
import { PROXY_AUTHENTICATE } from './proxy-auth.js';

/** A request head larger than this is refused (431), as nginx's default header buffer. */
export const MAX_HEAD_BYTES = 8 * 1024;

export interface ConnectTarget {
  /** Lower case; IPv6 without brackets. */
  readonly host: string;
  /** The host as the client wrote it (cluster names are case-sensitive). */
  readonly rawHost: string;
  readonly port: number;
  /** `host:port`, IPv6 in brackets, lower case. */
  readonly authority: string;
}

export type ConnectHead =
  | {
      readonly ok: true;
      readonly target: ConnectTarget;
      readonly headers: ReadonlyMap<string, string>;
    }
  | { readonly ok: false; readonly status: 400 | 405 | 431; readonly reason: string };

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
const AUTHORITY = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/;

/**
 * Where the head ends in `buffer` (the index just past the blank line), -1 while incomplete.
 * Bare LF line ends are accepted, as most servers do.
 */
export function headEnd(buffer: Buffer): number {
  const crlf = buffer.indexOf('\r\n\r\n', 0, 'latin1');
  const lf = buffer.indexOf('\n\n', 0, 'latin1');
  if (crlf < 0) return lf < 0 ? -1 : lf + 2;
  return lf >= 0 && lf < crlf ? lf + 2 : crlf + 4;
}

/** Parses `CONNECT host:port HTTP/1.1` and its header lines (the head without the blank line). */
export function parseConnectHead(head: string): ConnectHead {
  const lines = head.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const request = REQUEST_LINE.exec(lines[0] ?? '');
  if (request === null) {
    return { ok: false, status: 400, reason: 'malformed request line' };
  }
  const [, method, target] = request;
  if (method !== 'CONNECT') {
    return {
      ok: false,
      status: 405,
      reason: `${method} is not accepted here: this port takes CONNECT host:port (forward-proxy mode) and gRPC over h2c`,
    };
  }
  const authority = AUTHORITY.exec(target);
  const port = authority ? Number(authority[3]) : 0;
  const v6 = authority?.[1];
  if (authority === null || port < 1 || port > 65535 || (v6 !== undefined && isIP(v6) !== 6)) {
    return {
      ok: false,
      status: 400,
      reason: `CONNECT needs host:port, got "${target.slice(0, 100)}"`,
    };
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const header = HEADER_LINE.exec(line);
    if (header === null) return { ok: false, status: 400, reason: 'malformed header line' };
    headers.set(header[1].toLowerCase(), header[2]);
  }
  const rawHost = v6 ?? authority[2];
  const host = rawHost.toLowerCase();
  return {
    ok: true,
    target: {
      host,
      rawHost,
      port,
      authority: v6 !== undefined ? `[${host}]:${port}` : `${host}:${port}`,
    },
    headers,
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/** The answer that opens a tunnel. */
export const CONNECT_ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

/** A refusal with a one-line plain-text reason; the connection closes after it. */
export function connectRefusal(status: number, reason: string): string {
  const body = `switchyard: ${reason}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
    (status === 405 ? 'Allow: CONNECT\r\n' : '') +
    (status === 407 ? `Proxy-Authenticate: ${PROXY_AUTHENTICATE}\r\n` : '') +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}
