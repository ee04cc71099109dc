// Who may use the admin listener: a bearer token from the config, or a client certificate the
// listener's CA verified, for the endpoints that change things (POST /reload) or for all but
// the probes; and whether an address is loopback, for the warning about an open listener.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AdminAuthConfig } from '../../config/types.js';

/** Why a request is refused: the status, a message, and the headers that go with it. */
export interface AdminDenial {
  readonly status: 401 | 403;
  readonly error: string;
  readonly headers: Record<string, string>;
}

/** Decides a request for `path` (a route answering `method`); undefined lets it through. */
export type AdminAccess = (
  req: IncomingMessage,
  path: string,
  method: 'GET' | 'POST',
) => AdminDenial | undefined;

/** Probes stay open under `protect: all`: orchestrators call them without credentials. */
const PROBES = new Set(['/live', '/ready']);

const REALM = 'Bearer realm="switchyard admin"';
const NO_HEADERS: Record<string, string> = {};

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The bearer token of an `authorization` header, or undefined when it carries none. */
function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m === null ? undefined : m[1];
}

/** The access check for an `admin.auth` block; undefined when nothing is protected. */
export function adminAccess(auth: AdminAuthConfig | undefined): AdminAccess | undefined {
  if (auth === undefined) return undefined;
  // Compared as SHA-256 digests: equal lengths for timingSafeEqual, and no early exit that
  // tells how much of a guess was right.
  const expected = auth.token === undefined ? undefined : digest(auth.token);
  const accepted = [
    ...(expected !== undefined ? ['authorization: Bearer <token>'] : []),
    ...(auth.clientCert ? ['a client certificate signed by admin.tls.ca'] : []),
  ].join(' or ');
  return (req, path, method) => {
    if (method !== 'POST' && (auth.protect === 'writes' || PROBES.has(path))) return undefined;
    if (auth.clientCert && (req.socket as Partial<TLSSocket>).authorized === true) return undefined;
    const header = req.headers.authorization;
    const token = bearerToken(header);
    if (expected !== undefined && token !== undefined) {
      if (timingSafeEqual(digest(token), expected)) return undefined;
      return {
        status: 401,
        error: `${method} ${path}: the bearer token is not the one admin.auth.token names`,
        headers: { 'www-authenticate': `${REALM}, error="invalid_token"` },
      };
    }
    // 401 asks for a token (and must say how, RFC 9110 §15.5.2); without a token to give,
    // only a certificate would do: 403.
    return {
      status: expected !== undefined ? 401 : 403,
      error: `${method} ${path} needs credentials: ${accepted}`,
      headers: expected !== undefined ? { 'www-authenticate': REALM } : NO_HEADERS,
    };
  };
}

/** Whether `host` (an address or name as configured) reaches this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^::ffff:127\./.test(h);
}
