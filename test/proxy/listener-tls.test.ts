// A TLS listener's certificate over time: rotated files are picked up for new connections
// while an open connection keeps working on the old certificate (a certificate written before
// its key is waited for), the minimum TLS version refuses older clients, and the expiry shows
// in the metrics and as a /ready warning.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import tls from 'node:tls';
import type { ServerTlsConfig } from '../../config/types.js';
import { createTestCerts, type TestCerts } from '../support/certs.js';
import { eventually, startTestProxy } from '../support/proxy-harness.js';
import { adminJson, adminRequest, startObservedProxy } from '../observability/observed-proxy.js';

function serverTls(certs: TestCerts, overrides: Partial<ServerTlsConfig> = {}): ServerTlsConfig {
  return {
    certFile: certs.serverCertPath,
    keyFile: certs.serverKeyPath,
    caFile: undefined,
    requireClientCert: false,
    minVersion: 'TLSv1.2',
    ciphers: undefined,
    watch: true,
    expiryWarningDays: 14,
    ...overrides,
  };
}

/** The fingerprint of the certificate a new TLS connection to `port` gets. */
async function servedFingerprint(port: number, ca: Buffer[]): Promise<string> {
  const socket = tls.connect({
    port,
    host: '127.0.0.1',
    servername: 'localhost',
    ca,
    ALPNProtocols: ['h2'],
  });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerCertificate().fingerprint256;
  } finally {
    socket.destroy();
  }
}

function fingerprint(pem: Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Copies a file in beside its destination, then renames it over it (as tools rotate files). */
function install(from: string, to: string): void {
  copyFileSync(from, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-listener-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('listener TLS', () => {
  it('serves a rotated certificate to new connections; an open one keeps working', async (t) => {
    const [first, second] = await Promise.all([createTestCerts(), createTestCerts()]);
    t.after(() => Promise.all([first.cleanup(), second.cleanup()]));
    const dir = tempDir(t);
    const cert = join(dir, 'server.pem');
    const key = join(dir, 'server.key');
    install(first.serverCertPath, cert);
    install(first.serverKeyPath, key);
    const proxy = await startTestProxy({
      listener: { tls: serverTls(first, { certFile: cert, keyFile: key }) },
    });
    t.after(() => proxy.close());
    const cas = [first.ca, second.ca];
    assert.equal(await servedFingerprint(proxy.port, cas), fingerprint(first.serverCert));

    // An HTTP/2 connection opened on the first certificate.
    const session = http2.connect(`https://localhost:${proxy.port}`, { ca: cas });
    t.after(() => session.destroy());
    session.on('error', () => undefined);
    await once(session, 'remoteSettings');
    const ask = async (): Promise<number> => {
      const stream = session.request({ ':method': 'GET', ':path': '/x' });
      const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      stream.resume();
      await once(stream, 'end');
      return Number(headers[':status']);
    };
    assert.equal(await ask(), 405);

    // The certificate first, with the old key: not usable, so the running one stays.
    install(second.serverCertPath, cert);
    await eventually(
      () => proxy.logged('cannot be used, the running certificate stays').length > 0,
      10_000,
      'the mismatch to be noticed',
    );
    assert.equal(await servedFingerprint(proxy.port, cas), fingerprint(first.serverCert));

    install(second.serverKeyPath, key);
    await eventually(
      async () => (await servedFingerprint(proxy.port, cas)) === fingerprint(second.serverCert),
      10_000,
      'the new certificate',
    );
    assert.equal(proxy.logged('certificate reloaded from its files').length, 1);
    // The open connection still carries requests, on the certificate it began with.
    assert.equal(await ask(), 405);
    const socket = session.socket as tls.TLSSocket;
    assert.equal(socket.getPeerCertificate().fingerprint256, fingerprint(first.serverCert));
  });

  it('minVersion TLSv1.3 refuses a TLS 1.2 client and admits a TLS 1.3 one', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const proxy = await startTestProxy({
      listener: { tls: serverTls(certs, { minVersion: 'TLSv1.3', watch: false }) },
    });
    t.after(() => proxy.close());
    const connect = (maxVersion: tls.SecureVersion) =>
      tls.connect({
        port: proxy.port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca: certs.ca,
        maxVersion,
        ALPNProtocols: ['h2'],
      });
    const old = connect('TLSv1.2');
    const [err] = (await once(old, 'error')) as [Error];
    assert.match(err.message, /protocol version|unsupported protocol/i);
    const current = connect('TLSv1.3');
    t.after(() => current.destroy());
    await once(current, 'secureConnect');
    assert.equal(current.getProtocol(), 'TLSv1.3');
  });

  it('a cipher list limits TLS 1.2 to its ciphers', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const proxy = await startTestProxy({
      listener: {
        tls: serverTls(certs, { ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', watch: false }),
      },
    });
    t.after(() => proxy.close());
    const socket = tls.connect({
      port: proxy.port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: certs.ca,
      maxVersion: 'TLSv1.2',
    });
    t.after(() => socket.destroy());
    await once(socket, 'secureConnect');
    assert.equal(socket.getCipher().name, 'ECDHE-ECDSA-AES256-GCM-SHA384');
  });

  it('reports days left in the metrics and a /ready warning within expiryWarningDays', async (t) => {
    // Test certificates are valid for 2 days: inside the 14-day default.
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const proxy = await startObservedProxy({
      listener: { name: 'secure', tls: serverTls(certs, { watch: false }) },
    });
    t.after(() => proxy.close());
    const ready = await adminJson<{ ready: boolean; reasons: string[]; warnings?: string[] }>(
      proxy.admin,
      '/ready',
    );
    // Readiness is about the cluster (no endpoint here); the warning is there either way.
    assert.equal(ready.body.warnings?.length, 1);
    assert.match(
      ready.body.warnings[0],
      /^listener "secure": its certificate \(.*server\.pem\) expires in [12](\.\d+)? days, on 20/,
    );
    const metrics = await adminRequest(proxy.admin, '/metrics');
    const m = /^switchyard_listener_certificate_days_left\{listener="secure"\} ([\d.]+)$/m.exec(
      metrics.body,
    );
    assert.ok(m, metrics.body.slice(0, 200));
    assert.ok(Number(m[1]) > 1 && Number(m[1]) <= 2, m[1]);
  });

  it('no /ready warning when the certificate is further out than expiryWarningDays', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const proxy = await startObservedProxy({
      listener: { tls: serverTls(certs, { watch: false, expiryWarningDays: 1 }) },
    });
    t.after(() => proxy.close());
    const ready = await adminJson<{ warnings?: string[] }>(proxy.admin, '/ready');
    assert.equal(ready.body.warnings, undefined);
  });
});
