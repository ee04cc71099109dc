// The consul resolver against an agent that serves its API over HTTPS and asks for client
// certificates (Consul's verify_incoming), with the environment Consul's own tools read:
// CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT/KEY, CONSUL_TLS_SERVER_NAME and
// CONSUL_HTTP_SSL_VERIFY; directly and through an HTTP CONNECT proxy (tinyproxy); and a client
// certificate renewed on disk, used from the next query on.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createResolver } from '../../resolver/create-resolver.js';
import { ResolverOptionsError } from '../../resolver/errors.js';
import { ConsulTls } from '../../resolver/consul-tls.js';
import { ConsulDouble } from '../support/consul-double.js';
import { createTestCerts, type TestCerts } from '../support/certs.js';
import { echoClient, echoUnaryOk, startEchoBackend } from '../support/echo-backend.js';
import { eventually, startTestProxy } from '../support/proxy-harness.js';
import { startTinyproxy } from '../support/tinyproxy.js';
import { Recorder, keysOf } from './recorder.js';

const FAST = { waitMs: 2_000, timeoutMs: 1_000, backoffInitialMs: 50, backoffMaxMs: 200 };

void describe('consul resolver over HTTPS', () => {
  let certs: TestCerts;
  /** Another CA, which did not sign the agent's certificate. */
  let other: TestCerts;

  before(async () => {
    [certs, other] = await Promise.all([createTestCerts(), createTestCerts()]);
  });
  after(async () => {
    await certs.cleanup();
    await other.cleanup();
  });

  /** An agent that requires a client certificate signed by the test CA. */
  async function mtlsConsul(t: TestContext): Promise<ConsulDouble> {
    const consul = await ConsulDouble.start({
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
    });
    t.after(() => consul.close());
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 5001 });
    return consul;
  }

  function watch(t: TestContext, consul: ConsulDouble, env: Record<string, string>): Recorder {
    const resolver = createResolver(`consul://${consul.address}/users`, {
      consul: FAST,
      env: { CONSUL_HTTP_SSL: 'true', ...env },
      random: () => 0.5,
    });
    t.after(() => resolver.close());
    const rec = new Recorder();
    resolver.subscribe(rec);
    return rec;
  }

  const clientEnv = () => ({
    CONSUL_CACERT: certs.caCertPath,
    CONSUL_CLIENT_CERT: certs.clientCertPath,
    CONSUL_CLIENT_KEY: certs.clientKeyPath,
  });

  void it('resolves with the CA and a client certificate, which the agent verified', async (t) => {
    const consul = await mtlsConsul(t);
    const rec = watch(t, consul, clientEnv());
    await rec.waitFor((r) => r.updates.length === 1);
    assert.deepEqual(keysOf(rec.updates[0]), ['10.0.0.1:5001']);
    assert.equal(consul.requests[0].clientCn, 'switchyard-test-client');
  });

  void it('fails, and says why, without a client certificate or against another CA', async (t) => {
    const consul = await mtlsConsul(t);
    const noCert = watch(t, consul, { CONSUL_CACERT: certs.caCertPath });
    const wrongCa = watch(t, consul, { ...clientEnv(), CONSUL_CACERT: other.caCertPath });
    await noCert.waitFor((r) => r.errors.length >= 1);
    await wrongCa.waitFor((r) => r.errors.length >= 1);
    assert.equal(noCert.updates.length, 0);
    assert.equal(wrongCa.updates.length, 0);
    assert.match(wrongCa.errors[0].message, /certificate/i);
    assert.equal(consul.requests.length, 0, 'no request passed the handshake');
  });

  void it('checks the name CONSUL_TLS_SERVER_NAME gives, or nothing with CONSUL_HTTP_SSL_VERIFY=false', async (t) => {
    const consul = await mtlsConsul(t);
    // The certificate names localhost and 127.0.0.1, not consul.example.
    const wrongName = watch(t, consul, {
      ...clientEnv(),
      CONSUL_TLS_SERVER_NAME: 'consul.example',
    });
    const rightName = watch(t, consul, { ...clientEnv(), CONSUL_TLS_SERVER_NAME: 'localhost' });
    await wrongName.waitFor((r) => r.errors.length >= 1);
    assert.match(wrongName.errors[0].message, /consul\.example/);
    await rightName.waitFor((r) => r.updates.length === 1);
    const unchecked = watch(t, consul, {
      CONSUL_CACERT: other.caCertPath,
      CONSUL_CLIENT_CERT: certs.clientCertPath,
      CONSUL_CLIENT_KEY: certs.clientKeyPath,
      CONSUL_HTTP_SSL_VERIFY: 'false',
    });
    await unchecked.waitFor((r) => r.updates.length === 1);
  });

  void it('refuses unreadable files and a certificate without its key, naming the variable', () => {
    const make = (env: Record<string, string>) =>
      createResolver('consul://127.0.0.1:8501/users', { env: { CONSUL_HTTP_SSL: 'true', ...env } });
    assert.throws(
      () => make({ CONSUL_CACERT: join(certs.dir, 'missing.pem') }),
      (err: Error) =>
        err instanceof ResolverOptionsError &&
        /CONSUL_CACERT: cannot read .*missing\.pem/.test(err.message),
    );
    assert.throws(
      () => make({ CONSUL_CLIENT_CERT: certs.clientCertPath }),
      (err: Error) =>
        err instanceof ResolverOptionsError &&
        /CONSUL_CLIENT_KEY: is needed with CONSUL_CLIENT_CERT/.test(err.message),
    );
    // Plain http reads none of them.
    createResolver('consul://127.0.0.1:8500/users', {
      env: { CONSUL_CACERT: join(certs.dir, 'missing.pem') },
    }).close();
  });

  /** A folder with `client.pem` and `client.key`, replaced as a renewal does (write, rename). */
  function certFolder(t: TestContext, from: TestCerts) {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-consul-cert-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const put = (source: TestCerts) => {
      for (const [name, body] of [
        ['client.pem', source.clientCert],
        ['client.key', source.clientKey],
      ] as const) {
        writeFileSync(join(dir, `${name}.new`), body);
        renameSync(join(dir, `${name}.new`), join(dir, name));
      }
    };
    put(from);
    return {
      env: {
        CONSUL_CACERT: certs.caCertPath,
        CONSUL_CLIENT_CERT: join(dir, 'client.pem'),
        CONSUL_CLIENT_KEY: join(dir, 'client.key'),
      },
      renew: () => put(certs),
      remove: () => rmSync(join(dir, 'client.pem')),
    };
  }

  void it('reads the files again when they change: the same settings until then, the last good ones if a file is gone', (t) => {
    const folder = certFolder(t, other);
    const tls = ConsulTls.fromEnv('consul:///users', folder.env);
    const first = tls.settings();
    assert.equal(tls.settings(), first, 'unchanged files: the same object');
    assert.deepEqual(first.cert, other.clientCert);
    folder.renew();
    const renewed = tls.settings();
    assert.notEqual(renewed, first);
    assert.deepEqual(renewed.cert, certs.clientCert);
    assert.deepEqual(renewed.key, certs.clientKey);
    assert.deepEqual(renewed.ca, certs.ca);
    folder.remove();
    assert.equal(tls.settings(), renewed, 'a file gone mid-renewal: the last good settings');
  });

  void it('uses a renewed client certificate from the next query on, without a reload', async (t) => {
    const consul = await mtlsConsul(t);
    // At first the certificate is one the agent does not trust (another CA signed it).
    const folder = certFolder(t, other);
    const rec = watch(t, consul, folder.env);
    await rec.waitFor((r) => r.errors.length >= 1);
    assert.equal(rec.updates.length, 0);
    folder.renew();
    await rec.waitFor((r) => r.updates.length === 1);
    assert.deepEqual(keysOf(rec.updates[0]), ['10.0.0.1:5001']);
    assert.equal(consul.requests.at(-1)?.clientCn, 'switchyard-test-client');
  });

  void it('keeps the client certificate inside a CONNECT tunnel (https_proxy), renewed too', async (t) => {
    const tinyproxy = await startTinyproxy();
    const consul = await ConsulDouble.start({
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
    });
    const backend = await startEchoBackend({ name: 'b' });
    t.after(async () => {
      await consul.close();
      backend.kill();
      await tinyproxy.stop();
    });
    consul.register({ id: 'b', service: 'echo', port: backend.port });
    const folder = certFolder(t, other);
    const proxy = await startTestProxy({
      upstream: `consul://${consul.address}/echo`,
      proxyOptions: {
        env: { https_proxy: tinyproxy.url(), CONSUL_HTTP_SSL: 'true', ...folder.env },
      },
    });
    t.after(() => proxy.close());
    // The certificate the agent refuses goes through the tunnel and fails the handshake.
    await eventually(
      () => tinyproxy.connects().includes(consul.address),
      20_000,
      'a CONNECT to the agent',
    );
    assert.equal(consul.requests.length, 0);
    folder.renew();
    await eventually(() => consul.requests.length > 0, 20_000, 'a query through the tunnel');
    assert.ok(
      tinyproxy.connects().includes(consul.address),
      `Consul through the proxy: ${tinyproxy.connects().join(', ')}`,
    );
    assert.equal(consul.requests[0].clientCn, 'switchyard-test-client');
    const client = echoClient(proxy.target);
    try {
      const reply = await echoUnaryOk(client, {}, { deadlineMs: 10_000 });
      assert.equal(reply.backend, 'b');
    } finally {
      client.close();
    }
  });
});
