// The headers built-in fills `${peer.*}` from the verified client certificate of a mutual-TLS
// listener: a grpc-js client whose certificate (made by openssl here) carries a SPIFFE URI, two
// DNS names, another URI and an email; the backend gets each value exactly. On a listener that
// asks for a certificate but does not require one, a client without one (or with one the CA did
// not sign) has no identity: a header whose value needs it is left out, not sent empty, while
// `${peer.address}` is still filled.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { HeaderEditsConfig, ServerTlsConfig } from '../../config/types.js';
import { echoClient, echoUnary, startEchoBackend } from '../support/echo-backend.js';
import { createRefusedClientCerts, createTestCerts, type TestCerts } from '../support/certs.js';
import { startTestProxy } from '../support/proxy-harness.js';

const run = promisify(execFile);

const NO_EDITS: HeaderEditsConfig = { add: {}, set: {}, remove: [], rename: {} };

/** Request metadata the filter sets, and the template each is filled from. */
const FILLED: Readonly<Record<string, string>> = {
  'x-peer-subject': '${peer.subject}',
  'x-peer-cn': '${peer.cn}',
  'x-peer-spiffe': '${peer.spiffe}',
  'x-peer-dns': '${peer.dns}',
  'x-peer-uri': '${peer.uri}',
  'x-peer-email': '${peer.email}',
  'x-peer-address': '${peer.address}',
  // Text around a value: written only when the value is there.
  'x-peer-who': 'cn=${peer.cn}; from ${peer.address}',
};

const SPIFFE = 'spiffe://acme.test/ns/prod/sa/web';

/** A client certificate for `certs.clientKey` with these SANs, signed by the test CA. */
async function clientCert(certs: TestCerts, subject: string, san: string[]): Promise<Buffer> {
  const path = (f: string) => join(certs.dir, f);
  await writeFile(
    path('identity.ext'),
    [
      'basicConstraints=CA:FALSE',
      'extendedKeyUsage=clientAuth',
      'subjectAltName=@alt',
      '[alt]',
      ...san,
    ].join('\n') + '\n',
  );
  await run(
    'openssl',
    ['req', '-new', '-key', certs.clientKeyPath, '-out', path('identity.csr')].concat([
      '-subj',
      subject,
    ]),
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    path('identity.csr'),
    '-CA',
    certs.caCertPath,
    '-CAkey',
    certs.caKeyPath,
    '-set_serial',
    '0x7e57',
    '-days',
    '2',
    '-extfile',
    path('identity.ext'),
    '-out',
    path('identity.pem'),
  ]);
  return readFile(path('identity.pem'));
}

describe('headers filled from the mTLS peer identity', () => {
  let certs: TestCerts;
  let identityCert: Buffer;
  let untrustedCert: Buffer;

  before(async () => {
    certs = await createTestCerts();
    identityCert = await clientCert(certs, '/O=Acme/OU=Payments/CN=web', [
      `URI.1 = ${SPIFFE}`,
      'URI.2 = https://web.acme.test/id',
      'DNS.1 = web.acme.test',
      'DNS.2 = web.internal.acme.test',
      'email.1 = ops@acme.test',
    ]);
    untrustedCert = (await createRefusedClientCerts(certs)).untrusted.cert;
  });
  after(() => certs.cleanup());

  /** A backend behind a TLS listener whose route sets FILLED; one call with `credentials`. */
  async function callThrough(
    t: TestContext,
    requireClientCert: boolean,
    credentials: grpc.ChannelCredentials,
    calls = 1,
  ): Promise<grpc.Metadata[]> {
    const b = await startEchoBackend({ name: 'b1' });
    t.after(() => b.close());
    const tls: ServerTlsConfig = {
      certFile: certs.serverCertPath,
      keyFile: certs.serverKeyPath,
      caFile: certs.caCertPath,
      requireClientCert,
      minVersion: 'TLSv1.2',
      ciphers: undefined,
      watch: false,
      expiryWarningDays: 14,
    };
    const proxy = await startTestProxy({
      upstream: b.address,
      listener: { tls },
      routes: [
        {
          name: 'echo',
          match: { service: 'test.Echo', headers: [] },
          cluster: 'default',
          filters: [
            {
              kind: 'headers',
              source: 'test',
              request: { ...NO_EDITS, set: FILLED },
              response: NO_EDITS,
            },
          ],
        },
      ],
    });
    t.after(() => proxy.close());
    const client = echoClient(`localhost:${proxy.port}`, { credentials });
    t.after(() => client.close());
    const seen: grpc.Metadata[] = [];
    for (let i = 0; i < calls; i++) {
      const r = await echoUnary(client, {});
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
      seen.push(b.lastMetadata!);
    }
    return seen;
  }

  function one(md: grpc.Metadata, name: string): string | undefined {
    const values = md.get(name);
    assert.ok(values.length <= 1, `${name}: ${values.length} values`);
    return values.length === 0 ? undefined : String(values[0]);
  }

  it('fills every ${peer.*} name from a verified client certificate', async (t) => {
    const creds = grpc.credentials.createSsl(certs.ca, certs.clientKey, identityCert);
    const seen = await callThrough(t, true, creds, 2);
    const md = seen[0];
    // As OpenSSL prints it, most significant first.
    assert.equal(one(md, 'x-peer-subject'), 'O=Acme, OU=Payments, CN=web');
    assert.equal(one(md, 'x-peer-cn'), 'web');
    assert.equal(one(md, 'x-peer-spiffe'), SPIFFE);
    // Lists joined with ",", in certificate order.
    assert.equal(one(md, 'x-peer-dns'), 'web.acme.test,web.internal.acme.test');
    assert.equal(one(md, 'x-peer-uri'), `${SPIFFE},https://web.acme.test/id`);
    assert.equal(one(md, 'x-peer-email'), 'ops@acme.test');
    const address = one(md, 'x-peer-address');
    assert.match(address ?? '', /^127\.0\.0\.1:\d+$/);
    assert.equal(one(md, 'x-peer-who'), `cn=web; from ${address}`);
    // The second call on the same channel comes from the same connection.
    assert.equal(one(seen[1], 'x-peer-address'), address);
    assert.equal(one(seen[1], 'x-peer-spiffe'), SPIFFE);
  });

  it('leaves out the SANs a certificate does not have', async (t) => {
    // The test certificate: CN only, no SAN at all.
    const creds = grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert);
    const [md] = await callThrough(t, true, creds);
    assert.equal(one(md, 'x-peer-subject'), 'CN=switchyard-test-client');
    assert.equal(one(md, 'x-peer-cn'), 'switchyard-test-client');
    for (const name of ['x-peer-spiffe', 'x-peer-dns', 'x-peer-uri', 'x-peer-email']) {
      assert.equal(one(md, name), undefined, name);
    }
    assert.match(one(md, 'x-peer-address') ?? '', /^127\.0\.0\.1:\d+$/);
  });

  it('has no identity for a client without a verified certificate where one is optional', async (t) => {
    for (const cert of [undefined, untrustedCert]) {
      const creds =
        cert === undefined
          ? grpc.credentials.createSsl(certs.ca)
          : grpc.credentials.createSsl(certs.ca, certs.clientKey, cert);
      const [md] = await callThrough(t, false, creds);
      for (const name of Object.keys(FILLED)) {
        if (name === 'x-peer-address') continue;
        // Left out, not sent empty: a backend tells "no identity" from an empty value.
        assert.equal(one(md, name), undefined, `${name} (${cert ? 'untrusted' : 'no'} cert)`);
      }
      assert.match(one(md, 'x-peer-address') ?? '', /^127\.0\.0\.1:\d+$/);
    }
  });
});
