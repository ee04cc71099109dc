// The configs in examples/ run as written, with the certificates `npm run example-certs` makes
// (made here when missing): every listener opens, the mTLS listener of tls.yaml admits the
// example client certificate and refuses a client without one, and TLS inside a CONNECT tunnel
// of forward-proxy.yaml verifies against the example CA. Addresses move to 127.0.0.1:0 and
// resolvers are stubbed, so nothing leaves loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { loadConfig } from '../../config/load-config.js';
import type { Config } from '../../config/types.js';
import { configValidators } from '../../proxy/config-validators.js';
import { Switchyard } from '../../proxy/switchyard.js';
import type { Resolver } from '../../resolver/resolver.js';
import { rawRequest } from '../support/connect-client.js';
import { EXAMPLES_DIR, ensureExampleCerts, exampleCert } from '../support/example-certs.js';

await ensureExampleCerts();

/** A resolver that never answers: the examples' backends do not exist here. */
function silentResolver(target: string): Resolver {
  return {
    target,
    subscribe: () => () => undefined,
    refresh: () => undefined,
    current: () => undefined,
    close: () => undefined,
  };
}

async function startExample(name: string): Promise<Switchyard> {
  const config = await loadConfig(join(EXAMPLES_DIR, name), {
    validators: configValidators,
    env: {},
  });
  const local: Config = {
    ...config,
    listeners: config.listeners.map((l) => ({ ...l, address: { host: '127.0.0.1', port: 0 } })),
    admin: undefined,
    workers: 1,
  };
  return Switchyard.start(local, { createResolver: silentResolver, env: {} });
}

/** Whether an HTTP/2 session with `options` gets the proxy's SETTINGS (or closes first). */
async function h2Settles(
  port: number,
  options: http2.SecureClientSessionOptions,
): Promise<boolean> {
  const session = http2.connect(`https://localhost:${port}`, options);
  session.on('error', () => undefined);
  try {
    const settled = await Promise.race([
      once(session, 'remoteSettings').then(() => true),
      once(session, 'close').then(() => false),
    ]);
    return settled;
  } finally {
    session.destroy();
  }
}

const ca = readFileSync(exampleCert('ca.pem'));

void describe('examples/ with the example certificates', () => {
  const names = readdirSync(EXAMPLES_DIR).filter((n) => n.endsWith('.yaml'));
  for (const name of names) {
    void it(`${name} opens every listener`, async (t) => {
      const proxy = await startExample(name);
      t.after(() => proxy.close(0));
      const addresses = proxy.addresses();
      assert.equal(Object.keys(addresses).length, proxy.config.listeners.length);
    });
  }

  void it('tls.yaml: the mtls listener admits the example client and refuses one without a certificate', async (t) => {
    const proxy = await startExample('tls.yaml');
    t.after(() => proxy.close(0));
    const { port } = proxy.addresses().mtls;
    const client = {
      ca,
      cert: readFileSync(exampleCert('client.pem')),
      key: readFileSync(exampleCert('client.key')),
    };
    assert.equal(await h2Settles(port, client), true, 'with the client certificate');
    // Without one: under TLS 1.3 the refusal (alert 116, certificate required) follows the
    // client's side of the handshake.
    const bare = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca });
    const [err] = (await once(bare, 'error')) as [Error];
    assert.match(err.message, /certificate required/);
  });

  void it('forward-proxy.yaml: TLS inside a tunnel to users.internal verifies against the CA', async (t) => {
    const proxy = await startExample('forward-proxy.yaml');
    t.after(() => proxy.close(0));
    const { port } = proxy.addresses().forward;
    const answer = await rawRequest(
      `127.0.0.1:${port}`,
      'CONNECT users.internal:443 HTTP/1.1\r\nHost: users.internal:443\r\n\r\n',
    );
    assert.equal(answer.status, 200, answer.head);
    const socket = tls.connect({
      socket: answer.socket,
      ca,
      servername: 'users.internal',
      ALPNProtocols: ['h2'],
    });
    t.after(() => socket.destroy());
    await once(socket, 'secureConnect');
    assert.equal(socket.authorized, true);
    assert.equal(socket.alpnProtocol, 'h2');
    assert.equal(socket.getPeerCertificate().subject.CN, 'users.internal');
  });
});
