// TLS on both sides: a TLS listener with ALPN h2 (certificate generated in the test), HTTP/1.1
// over TLS refused readably, and TLS to upstream endpoints.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createTestCerts, type TestCerts } from '../support/certs.js';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { startTestProxy, type TestProxy } from '../support/proxy-harness.js';

describe('TLS', () => {
  let certs: TestCerts;
  let plainBackend: EchoBackend;
  let tlsBackend: EchoBackend;
  let proxy: TestProxy;
  let toTlsUpstream: TestProxy;

  before(async () => {
    certs = await createTestCerts();
    plainBackend = await startEchoBackend({ name: 'plain' });
    tlsBackend = await startEchoBackend({
      name: 'secure',
      credentials: grpc.ServerCredentials.createSsl(null, [
        { cert_chain: certs.serverCert, private_key: certs.serverKey },
      ]),
    });
    proxy = await startTestProxy({
      upstream: plainBackend.address,
      listener: {
        tls: {
          certFile: certs.serverCertPath,
          keyFile: certs.serverKeyPath,
          caFile: undefined,
          requireClientCert: false,
          minVersion: 'TLSv1.2',
          ciphers: undefined,
          watch: false,
          expiryWarningDays: 14,
        },
      },
    });
    toTlsUpstream = await startTestProxy({
      upstream: tlsBackend.address,
      cluster: {
        tls: {
          caFile: certs.caCertPath,
          certFile: undefined,
          keyFile: undefined,
          serverName: 'localhost',
          insecureSkipVerify: false,
        },
      },
    });
  });
  after(async () => {
    await proxy.close();
    await toTlsUpstream.close();
    plainBackend.kill();
    tlsBackend.kill();
    await certs.cleanup();
  });

  it('serves gRPC over TLS with ALPN h2', async () => {
    const client = echoClient(`localhost:${proxy.port}`, {
      credentials: grpc.credentials.createSsl(certs.ca),
    });
    try {
      const res = await echoUnaryOk(client, { payload: Buffer.from('secret') });
      assert.equal(res.payload.toString(), 'secret');
      assert.equal(res.backend, 'plain');
    } finally {
      client.close();
    }
  });

  it('refuses a client that does not trust the certificate', async () => {
    const client = echoClient(`localhost:${proxy.port}`, {
      credentials: grpc.credentials.createSsl(),
    });
    try {
      await assert.rejects(
        echoUnaryOk(client, {}, { deadlineMs: 3_000 }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.UNAVAILABLE);
          return true;
        },
      );
    } finally {
      client.close();
    }
  });

  it('answers HTTP/1.1 over TLS with a readable error', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect(
        {
          host: '127.0.0.1',
          port: proxy.port,
          ca: certs.ca,
          servername: 'localhost',
          ALPNProtocols: ['http/1.1'],
        },
        () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (c: Buffer) => (data += c.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(data));
    });
    assert.match(text, /^HTTP\/1\.1 505 /);
    assert.match(text, /HTTP\/2/);
  });

  it('connects to upstream endpoints over TLS, checking their certificate', async () => {
    const client = echoClient(toTlsUpstream.target);
    try {
      const res = await echoUnaryOk(client, { payload: Buffer.from('through tls') });
      assert.equal(res.backend, 'secure');
    } finally {
      client.close();
    }
  });

  it('fails with UNAVAILABLE naming the reason when the upstream certificate is not trusted', async () => {
    const untrusting = await startTestProxy({
      upstream: tlsBackend.address,
      cluster: {
        tls: {
          caFile: undefined,
          certFile: undefined,
          keyFile: undefined,
          serverName: 'localhost',
          insecureSkipVerify: false,
        },
      },
    });
    const client = echoClient(untrusting.target);
    try {
      await assert.rejects(
        echoUnaryOk(client, {}, { deadlineMs: 5_000 }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.UNAVAILABLE);
          assert.match(err.details, /TLS|certificate/i);
          return true;
        },
      );
    } finally {
      client.close();
      await untrusting.close();
    }
  });
});
