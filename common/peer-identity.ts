// The verified identity of a client that presented a certificate (mutual TLS): its subject and
// subject alternative names (DNS, URI with the SPIFFE ID picked out, email, IP), as a plain
// object made once per connection, for the access log and, later, for filters and policies.
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';

export interface PeerIdentity {
  /** The subject, most significant part first as printed by OpenSSL: `O=Example, CN=client`. */
  readonly subject: string;
  /** The subject's common name, when it has one. */
  readonly commonName?: string;
  readonly dns: readonly string[];
  readonly uri: readonly string[];
  /** The first `spiffe://` URI SAN (a SPIFFE X.509-SVID carries exactly one). */
  readonly spiffeId?: string;
  readonly email: readonly string[];
  readonly ip: readonly string[];
  /** SHA-256 fingerprint of the certificate, `AA:BB:…`. */
  readonly fingerprint256: string;
}

/** What is read from a TLS socket: a tls.TLSSocket, or the socket proxy of an HTTP/2 session. */
export interface PeerCertificateSource {
  readonly authorized: boolean;
  getPeerCertificate(detailed?: false): PeerCertificate | DetailedPeerCertificate;
}

/**
 * Splits Node's `subjectaltname` text (`DNS:a.example, URI:spiffe://td/x, IP Address:10.0.0.1`).
 * A value holding a comma, quote or control character is written as a JSON string (Node ≥ 17,
 * and 12.22.9/14.18.3/16.13.2: CVE-2021-44532), so it is read as one rather than split.
 */
export function parseSubjectAltNames(text: string): [kind: string, value: string][] {
  const out: [string, string][] = [];
  const entry = /\s*([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/y;
  let at = 0;
  while (at < text.length) {
    entry.lastIndex = at;
    const m = entry.exec(text);
    if (m === null) break;
    let value = m[2];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // Leave it as written.
      }
    }
    out.push([m[1], value.trim()]);
    at = entry.lastIndex;
  }
  return out;
}

/** The subject as one line, from the certificate's DER when there is one. */
function subjectOf(cert: PeerCertificate): string {
  if (cert.raw !== undefined && cert.raw.length > 0) {
    try {
      return new X509Certificate(cert.raw).subject.split('\n').join(', ');
    } catch {
      // Fall back to the parsed object.
    }
  }
  const parts: string[] = [];
  for (const [key, value] of Object.entries(cert.subject ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${key}=${String(v)}`);
  }
  return parts.join(', ');
}

/**
 * The identity in a peer certificate as `getPeerCertificate()` returns it; undefined for the
 * empty object Node returns when the peer sent none. Does not check the certificate: see
 * verifiedPeerIdentity.
 */
export function peerIdentity(
  peer: PeerCertificate | Record<string, never>,
): PeerIdentity | undefined {
  if (!('fingerprint256' in peer) || peer.fingerprint256 === undefined) return undefined;
  const cert = peer as PeerCertificate;
  const dns: string[] = [];
  const uri: string[] = [];
  const email: string[] = [];
  const ip: string[] = [];
  for (const [kind, value] of parseSubjectAltNames(cert.subjectaltname ?? '')) {
    if (kind === 'DNS') dns.push(value);
    else if (kind === 'URI') uri.push(value);
    else if (kind === 'email') email.push(value);
    else if (kind === 'IP Address') ip.push(value);
  }
  const cn = cert.subject?.CN;
  const commonName = Array.isArray(cn) ? cn[0] : cn;
  const spiffeId = uri.find((u) => u.startsWith('spiffe://'));
  return {
    subject: subjectOf(cert),
    ...(commonName !== undefined ? { commonName } : {}),
    dns,
    uri,
    ...(spiffeId !== undefined ? { spiffeId } : {}),
    email,
    ip,
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * The identity of a peer whose certificate the TLS handshake verified against the listener's
 * CA; undefined when it sent none, or one that did not verify (a listener with `ca` but without
 * `requireClientCert` lets those in), or when the socket is not TLS.
 */
export function verifiedPeerIdentity(
  socket: Partial<PeerCertificateSource>,
): PeerIdentity | undefined {
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') {
    return undefined;
  }
  return peerIdentity(socket.getPeerCertificate());
}
