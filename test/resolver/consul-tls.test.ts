// The consul resolver against an agent that serves its API over HTTPS and asks for client
// certificates (Consul's verify_incoming), with the environment Consul's own tools read:
// CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT/KEY, CONSUL_TLS_SERVER_NAME and
// CONSUL_HTTP_SSL_VERIFY; directly and through an HTTP CONNECT proxy (tinyproxy).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createResolver } from '../../resolver/create-resolver.js';
import { ResolverOptionsError } from '../../resolver/errors.js';
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

  void it('keeps the client certificate inside a CONNECT tunnel (https_proxy)', async (t) => {
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
    const proxy = await startTestProxy({
      upstream: `consul://${consul.address}/echo`,
      proxyOptions: {
        env: { https_proxy: tinyproxy.url(), CONSUL_HTTP_SSL: 'true', ...clientEnv() },
      },
    });
    t.after(() => proxy.close());
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
