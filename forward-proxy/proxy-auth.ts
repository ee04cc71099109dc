// Who may open tunnels through a forward-proxy listener: HTTP Basic credentials in the CONNECT
// request's Proxy-Authorization header (RFC 9110 §11.7.1, §11.6.2), checked against the
// listener's `connect.users`. The same credentials grpc-js and curl send for an http_proxy URL
// with `user:password@`.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ProxyUser {
  readonly user: string;
  readonly password: string;
}

export type ProxyAuthVerdict =
  { readonly ok: true; readonly user: string } | { readonly ok: false; readonly reason: string };

/** The challenge a 407 carries. */
export const PROXY_AUTHENTICATE = 'Basic realm="switchyard", charset="UTF-8"';

/** Digests of the credentials, made once per config: a check hashes only what the client sent. */
export class ProxyCredentials {
  private readonly digests: readonly { readonly user: string; readonly digest: Buffer }[];

  constructor(users: readonly ProxyUser[]) {
    this.digests = users.map((u) => ({ user: u.user, digest: digest(`${u.user}:${u.password}`) }));
  }

  get required(): boolean {
    return this.digests.length > 0;
  }

  /**
   * Checks a Proxy-Authorization header. Every configured pair is compared, in constant time,
   * on equal-length digests: how long the check takes says nothing of how much of a name or a
   * password was right.
   */
  check(header: string | undefined): ProxyAuthVerdict {
    if (header === undefined) return { ok: false, reason: 'proxy credentials required' };
    const m = /^basic(?:[ \t]+(.*))?$/i.exec(header);
    if (m === null) return { ok: false, reason: 'proxy credentials must use the Basic scheme' };
    const token = (m[1] ?? '').trim();
    if (!/^[A-Za-z0-9+/]*=*$/.test(token)) {
      return { ok: false, reason: 'malformed Basic proxy credentials (not base64)' };
    }
    const sent = digest(Buffer.from(token, 'base64').toString('utf8'));
    let user: string | undefined;
    for (const d of this.digests) {
      if (timingSafeEqual(d.digest, sent) && user === undefined) user = d.user;
    }
    return user === undefined
      ? { ok: false, reason: 'wrong proxy credentials' }
      : { ok: true, user };
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
