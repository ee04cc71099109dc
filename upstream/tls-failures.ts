// What a failed TLS connection to an endpoint means, in words: the alert the backend sent (or
// its hang-up during or right after the handshake), the likely cause, and what to change.
import { X509Certificate } from 'node:crypto';

/** What the explanation may refer to. */
export interface TlsFailureContext {
  /** The cluster, for "set tls.cert … on cluster" advice. */
  readonly cluster: string | undefined;
  /** The client certificate chain (PEM) the proxy presents, if any. */
  readonly clientCert: Buffer | undefined;
}

/** When the connection failed: in the handshake, or after it but before HTTP/2 SETTINGS. */
export type TlsFailureStage = 'handshake' | 'after-handshake';

/** Alert descriptions (RFC 8446 §6, and RFC 5246 §7.2 for TLS 1.2's), as people write them. */
const ALERTS: Readonly<Record<number, string>> = {
  0: 'close notify',
  10: 'unexpected message',
  20: 'bad record MAC',
  22: 'record overflow',
  40: 'handshake failure',
  42: 'bad certificate',
  43: 'unsupported certificate',
  44: 'certificate revoked',
  45: 'certificate expired',
  46: 'certificate unknown',
  47: 'illegal parameter',
  48: 'unknown CA',
  49: 'access denied',
  50: 'decode error',
  51: 'decrypt error',
  70: 'protocol version',
  71: 'insufficient security',
  80: 'internal error',
  86: 'inappropriate fallback',
  90: 'user canceled',
  109: 'missing extension',
  110: 'unsupported extension',
  112: 'unrecognized name',
  113: 'bad certificate status response',
  115: 'unknown PSK identity',
  116: 'certificate required',
  120: 'no application protocol',
};

/** The alert number of an OpenSSL error ("… SSL alert number 116"), if it carries one. */
export function tlsAlertOf(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  const match = /SSL alert number (\d+)/.exec(err.message);
  return match === null ? undefined : Number(match[1]);
}

/** True for errors that mean the peer hung up (no alert, no answer). */
function isHangUp(err: Error | undefined): boolean {
  if (err === undefined) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    /disconnected before secure TLS connection/.test(err.message)
  );
}

interface CertFacts {
  readonly issuer: string;
  readonly validFrom: Date;
  readonly validTo: Date;
}

function certFacts(pem: Buffer): CertFacts | undefined {
  try {
    const cert = new X509Certificate(pem);
    return {
      issuer: cert.issuer.replace(/\n/g, ', '),
      validFrom: new Date(cert.validFrom),
      validTo: new Date(cert.validTo),
    };
  } catch {
    return undefined;
  }
}

/**
 * Why the TLS connection failed, or undefined when `err` is neither an alert nor a hang-up
 * (`err` undefined: the connection just closed). Mentions what the proxy knows itself, such as
 * a client certificate that has expired.
 */
export function describeTlsFailure(
  err: Error | undefined,
  stage: TlsFailureStage,
  context: TlsFailureContext,
  now = Date.now(),
): string | undefined {
  const on = context.cluster !== undefined ? ` on cluster "${context.cluster}"` : '';
  const certName =
    context.cluster !== undefined ? `tls.cert of cluster "${context.cluster}"` : 'tls.cert';
  const facts = context.clientCert !== undefined ? certFacts(context.clientCert) : undefined;
  const hasCert = context.clientCert !== undefined;
  /** What is wrong with our own certificate, if anything. */
  const certProblem =
    facts === undefined
      ? undefined
      : now > facts.validTo.getTime()
        ? `the client certificate (${certName}) expired on ${facts.validTo.toISOString()}`
        : now < facts.validFrom.getTime()
          ? `the client certificate (${certName}) is valid only from ${facts.validFrom.toISOString()}`
          : undefined;
  const issuedBy = facts !== undefined ? `, issued by ${facts.issuer}` : '';
  const refused =
    certProblem ?? `the backend refused the client certificate (${certName}${issuedBy})`;

  const alert = tlsAlertOf(err);
  if (alert !== undefined) {
    let hint: string | undefined;
    switch (alert) {
      case 116:
        hint = hasCert
          ? refused
          : `the backend wants a client certificate; set tls.cert and tls.key${on}`;
        break;
      case 40:
        hint = hasCert
          ? (certProblem ??
            'no cipher or TLS version in common, or the backend refused the client certificate')
          : `the backend may want a client certificate (set tls.cert and tls.key${on}), or shares no cipher or TLS version with switchyard`;
        break;
      case 42:
      case 43:
      case 44:
      case 46:
      case 49:
        hint = refused;
        break;
      case 45:
        hint = certProblem ?? `the backend says the client certificate (${certName}) has expired`;
        break;
      case 48:
        hint =
          certProblem ??
          `the backend does not trust the issuer of the client certificate (${certName}${issuedBy})`;
        break;
      case 70:
        hint = 'no TLS version in common with the backend';
        break;
      case 71:
        hint = 'the backend wants a stronger cipher';
        break;
      case 112:
        hint = `the backend does not serve the name sent in SNI; check tls.serverName${on}`;
        break;
      case 120:
        hint = 'the backend does not offer HTTP/2 over TLS (ALPN h2)';
        break;
      default:
        hint = undefined;
    }
    const name = ALERTS[alert] ?? `number ${alert}`;
    return `TLS alert: ${name}${hint !== undefined ? ` — ${hint}` : ''}`;
  }
  if (!isHangUp(err)) return undefined;
  const when =
    stage === 'handshake'
      ? 'during the TLS handshake'
      : 'right after the TLS handshake, before HTTP/2 SETTINGS';
  // A backend that checks client certificates after the handshake (Node's TLS servers do)
  // hangs up without an alert when it refuses one.
  const why = hasCert
    ? ` — ${certProblem ?? `it may not accept the client certificate (${certName}${issuedBy})`}`
    : '';
  return `the backend closed the connection ${when}${why}`;
}
