// TLS failures in words: every alert a backend may send to a client whose certificate it
// refuses (OpenSSL-based servers send them; Node's hang up instead), with advice that names the
// cluster, and what the proxy knows about its own certificate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  describeTlsFailure,
  tlsAlertOf,
  type TlsFailureContext,
} from '../../upstream/tls-failures.js';
import { createRefusedClientCerts, createTestCerts, type TestCerts } from '../support/certs.js';

/** An error as Node reports a TLS alert from the peer. */
function alert(n: number, code = 'ERR_SSL_ALERT'): Error {
  return Object.assign(
    new Error(`C0:error:0A000000:SSL routines:ssl3_read_bytes:alert:SSL alert number ${n}`),
    { code },
  );
}

describe('TLS failures in words', () => {
  let certs: TestCerts;
  let expired: Buffer;
  before(async () => {
    certs = await createTestCerts();
    expired = (await createRefusedClientCerts(certs)).expired.cert;
  });
  after(() => certs.cleanup());

  it('reads the alert number', () => {
    assert.equal(tlsAlertOf(alert(116)), 116);
    assert.equal(tlsAlertOf(new Error('socket hang up')), undefined);
    assert.equal(tlsAlertOf('alert 116'), undefined);
  });

  it('names alerts and says what to change', () => {
    const none: TlsFailureContext = { cluster: 'users', clientCert: undefined };
    const mine: TlsFailureContext = { cluster: 'users', clientCert: certs.clientCert };
    const cases: Array<[Error, TlsFailureContext, RegExp]> = [
      [
        alert(116),
        none,
        /^TLS alert: certificate required — the backend wants a client certificate; set tls.cert and tls.key on cluster "users"$/,
      ],
      [
        alert(40),
        none,
        /^TLS alert: handshake failure — the backend may want a client certificate/,
      ],
      [
        alert(48),
        mine,
        /^TLS alert: unknown CA — the backend does not trust the issuer of the client certificate \(tls.cert of cluster "users", issued by CN=switchyard test CA\)$/,
      ],
      [alert(42), mine, /^TLS alert: bad certificate — the backend refused the client certificate/],
      [
        alert(45),
        mine,
        /^TLS alert: certificate expired — the backend says the client certificate/,
      ],
      [alert(112), none, /^TLS alert: unrecognized name — .*tls.serverName on cluster "users"$/],
      [alert(120), none, /^TLS alert: no application protocol — .*ALPN h2/],
      [alert(99), none, /^TLS alert: number 99$/],
    ];
    for (const [err, context, expected] of cases) {
      assert.match(describeTlsFailure(err, 'handshake', context) ?? '', expected);
    }
  });

  it('says when its own client certificate has expired, whatever the backend said', () => {
    const context = { cluster: 'users', clientCert: expired };
    for (const err of [alert(45), alert(42), alert(48), undefined]) {
      assert.match(
        describeTlsFailure(err, 'after-handshake', context) ?? '',
        /the client certificate \(tls.cert of cluster "users"\) expired on \d{4}-\d\d-\d\dT/,
      );
    }
  });

  it('explains a hang-up during or right after the handshake, and nothing else', () => {
    const context = { cluster: 'users', clientCert: certs.clientCert };
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    assert.match(
      describeTlsFailure(reset, 'handshake', context) ?? '',
      /^the backend closed the connection during the TLS handshake — it may not accept the client certificate/,
    );
    assert.equal(
      describeTlsFailure(undefined, 'after-handshake', { cluster: 'users', clientCert: undefined }),
      'the backend closed the connection right after the TLS handshake, before HTTP/2 SETTINGS',
    );
    const verify = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    assert.equal(describeTlsFailure(verify, 'handshake', context), undefined);
  });
});
