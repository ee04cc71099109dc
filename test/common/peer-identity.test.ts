// The verified identity of a client certificate, read from real TLS handshakes on loopback with
// certificates made by openssl here: every SAN kind, a SAN value with a comma (quoted by Node),
// no identity without a certificate or with one the listener's CA did not sign.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import {
  parseSubjectAltNames,
  peerIdentity,
  verifiedPeerIdentity,
  type PeerIdentity,
} from '../../common/peer-identity.js';
import { createRefusedClientCerts, createTestCerts, type TestCerts } from '../support/certs.js';

const run = promisify(execFile);

/** A client certificate signed by the test CA, with the given subject and SAN section. */
async function clientCert(certs: TestCerts, name: string, subject: string, san: string[]) {
  const path = (f: string) => join(certs.dir, f);
  await writeFile(
    path(`${name}.ext`),
    [
      'basicConstraints=CA:FALSE',
      'extendedKeyUsage=clientAuth',
      ...(san.length > 0 ? ['subjectAltName=@alt', '[alt]', ...san] : []),
    ].join('\n') + '\n',
  );
  await run('openssl', [
    'req',
    '-new',
    '-key',
    certs.clientKeyPath,
    '-out',
    path(`${name}.csr`),
    '-subj',
    subject,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    path(`${name}.csr`),
    '-CA',
    certs.caCertPath,
    '-CAkey',
    certs.caKeyPath,
    '-set_serial',
    '0x1234',
    '-days',
    '2',
    '-extfile',
    path(`${name}.ext`),
    '-out',
    path(`${name}.pem`),
  ]);
  return readFile(path(`${name}.pem`));
}

describe('peer identity', () => {
  let certs: TestCerts;
  let server: tls.Server;
  let port: number;
  /** What the server side read from each connection, in order. */
  const seen: (PeerIdentity | undefined)[] = [];

  before(async () => {
    certs = await createTestCerts();
    server = tls.createServer({
      cert: certs.serverCert,
      key: certs.serverKey,
      ca: certs.ca,
      requestCert: true,
      // As a listener with `ca` and without `requireClientCert`: unverified clients get in.
      rejectUnauthorized: false,
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      seen.push(verifiedPeerIdentity(socket));
      socket.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.close();
    await certs.cleanup();
  });

  /** Connects with `cert` (or none) and resolves with what the server read. */
  async function identityFor(cert: Buffer | undefined): Promise<PeerIdentity | undefined> {
    const before = seen.length;
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: certs.ca,
      ...(cert ? { cert, key: certs.clientKey } : {}),
    });
    socket.on('data', () => undefined);
    await once(socket, 'end');
    socket.destroy();
    assert.equal(seen.length, before + 1);
    return seen[before];
  }

  it('reads every SAN kind, the subject and the SPIFFE ID of a verified certificate', async () => {
    const cert = await clientCert(certs, 'full', '/O=Example Corp/OU=payments/CN=pay-client', [
      'DNS.1 = pay.example.test',
      'DNS.2 = *.pay.example.test',
      'URI.1 = spiffe://example.test/ns/pay/sa/client',
      'URI.2 = https://example.test/client',
      'email.1 = pay@example.test',
      'IP.1 = 10.1.2.3',
      'IP.2 = fd00::1',
    ]);
    const identity = await identityFor(cert);
    assert.deepEqual(identity, {
      subject: 'O=Example Corp, OU=payments, CN=pay-client',
      commonName: 'pay-client',
      dns: ['pay.example.test', '*.pay.example.test'],
      uri: ['spiffe://example.test/ns/pay/sa/client', 'https://example.test/client'],
      spiffeId: 'spiffe://example.test/ns/pay/sa/client',
      email: ['pay@example.test'],
      ip: ['10.1.2.3', 'FD00:0:0:0:0:0:0:1'],
      fingerprint256: identity?.fingerprint256,
    });
    assert.match(identity.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // A plain object: it goes into JSON lines and across processes as it is.
    assert.deepEqual(JSON.parse(JSON.stringify(identity)), identity);
  });

  it('keeps a SAN value with a comma whole', async () => {
    const cert = await clientCert(certs, 'comma', '/CN=odd', [
      'URI.1 = https://example.test/a,b',
      'DNS.1 = after.example.test',
    ]);
    const identity = await identityFor(cert);
    assert.deepEqual(identity?.uri, ['https://example.test/a,b']);
    assert.deepEqual(identity?.dns, ['after.example.test']);
    assert.equal(identity?.spiffeId, undefined);
  });

  it('a certificate with no SAN has its subject only', async () => {
    const identity = await identityFor(certs.clientCert);
    assert.equal(identity?.subject, 'CN=switchyard-test-client');
    assert.equal(identity?.commonName, 'switchyard-test-client');
    assert.deepEqual(
      [identity?.dns, identity?.uri, identity?.email, identity?.ip],
      [[], [], [], []],
    );
  });

  it('no certificate, or one another CA signed, is no identity', async () => {
    assert.equal(await identityFor(undefined), undefined);
    const { untrusted, expired } = await createRefusedClientCerts(certs);
    assert.equal(await identityFor(untrusted.cert), undefined);
    assert.equal(await identityFor(expired.cert), undefined);
  });

  it('a socket that is not TLS has none', () => {
    assert.equal(verifiedPeerIdentity({}), undefined);
    assert.equal(peerIdentity({}), undefined);
  });

  it('splits subjectaltname text as Node writes it', () => {
    assert.deepEqual(
      parseSubjectAltNames('DNS:a.test, URI:"spiffe://td/x,y", email:me@a.test, IP Address:::1'),
      [
        ['DNS', 'a.test'],
        ['URI', 'spiffe://td/x,y'],
        ['email', 'me@a.test'],
        ['IP Address', '::1'],
      ],
    );
    assert.deepEqual(parseSubjectAltNames(''), []);
  });
});
