// The throwaway TLS material: a CA that signs a localhost server certificate and a client
// certificate, all in a temp dir that cleanup removes.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import { createTestCerts } from '../support/certs.js';

void test('createTestCerts makes a CA, a localhost server cert and a client cert', async (t) => {
  const certs = await createTestCerts({ extraNames: ['backend.test'] });
  t.after(() => certs.cleanup());
  const ca = new X509Certificate(certs.ca);
  const server = new X509Certificate(certs.serverCert);
  const client = new X509Certificate(certs.clientCert);
  assert.equal(ca.ca, true);
  assert.equal(server.ca, false);
  assert.ok(server.verify(ca.publicKey), 'server certificate is signed by the CA');
  assert.ok(client.verify(ca.publicKey), 'client certificate is signed by the CA');
  assert.equal(server.checkHost('localhost'), 'localhost');
  assert.equal(server.checkHost('backend.test'), 'backend.test');
  assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(server.checkIP('::1'), '::1');
  assert.equal(server.checkHost('example.com'), undefined);
  assert.ok(server.checkPrivateKey(createPrivateKey(certs.serverKey)));
  for (const path of [
    certs.caCertPath,
    certs.serverCertPath,
    certs.serverKeyPath,
    certs.clientKeyPath,
  ]) {
    assert.ok(path.startsWith(certs.dir) && existsSync(path), path);
  }
  await certs.cleanup();
  assert.equal(existsSync(certs.dir), false);
  await certs.cleanup(); // twice is fine
});
