// https:// proxies (TLS to the proxy, then CONNECT inside): a TLS front on tinyproxy, and
// switchyard's own TLS listener in forward-proxy mode serving another switchyard's tunnels.
import assert from 'node:assert/strict';
import { createServer as createTlsServer, type Server } from 'node:tls';
import { connect as connectTcp, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CONNECT } from '../../config/defaults.js';
import { parseProxyUrl, type ProxyServer } from '../../egress/proxy-settings.js';
import { openTunnel, TunnelError } from '../../egress/tunnel-dialer.js';
import { createTestCerts, type TestCerts } from '../support/certs.js';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { eventually, startTestProxy } from '../support/proxy-harness.js';
import { closedPort } from '../support/raw-upstream.js';
import { startSwitchyard } from '../support/switchyard-process.js';
import { startTinyproxy, type Tinyproxy } from '../support/tinyproxy.js';

/** TLS in front of a plain TCP server: what an https:// proxy looks like from outside. */
async function startTlsFront(
  certs: TestCerts,
  target: string,
): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const at = target.lastIndexOf(':');
  const server: Server = createTlsServer(
    { cert: certs.serverCert, key: certs.serverKey },
    (tls) => {
      const plain = connectTcp(Number(target.slice(at + 1)), target.slice(0, at));
      sockets.add(plain);
      plain.on('close', () => sockets.delete(plain));
      const end = () => {
        tls.destroy();
        plain.destroy();
      };
      tls.on('error', end);
      plain.on('error', end);
      tls.pipe(plain).pipe(tls);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function proxy(url: string): ProxyServer {
  const parsed = parseProxyUrl(url, 'test');
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

void describe('https:// proxies', () => {
  let certs: TestCerts;
  let tinyproxy: Tinyproxy;
  let backend: EchoBackend;
  before(async () => {
    certs = await createTestCerts();
    tinyproxy = await startTinyproxy();
    backend = await startEchoBackend({ name: 'tls-proxied' });
  });
  after(async () => {
    backend.kill();
    await tinyproxy.stop();
    await certs.cleanup();
  });

  void it('opens a tunnel after TLS to the proxy, checking its certificate', async (t) => {
    const front = await startTlsFront(certs, tinyproxy.address);
    t.after(() => front.close());
    const url = `https://localhost:${front.address.split(':')[1]}`;
    const socket = await openTunnel(proxy(url), '127.0.0.1', backend.port, 2_000, {
      ca: certs.ca,
    });
    socket.destroy();
    assert.ok(tinyproxy.connects().includes(backend.address));

    await assert.rejects(
      openTunnel(proxy(url), '127.0.0.1', backend.port, 2_000),
      (err: unknown) =>
        err instanceof TunnelError &&
        err.code === 'SWY_ERR_CONNECT_FAILED' &&
        /cannot reach proxy localhost:\d+ for CONNECT 127\.0\.0\.1:\d+: .*certificate/i.test(
          err.message,
        ),
    );
  });

  void it('chains a switchyard through another switchyard’s TLS forward-proxy listener', async (t) => {
    // The far switchyard: a TLS listener that takes CONNECT and tunnels loopback targets.
    const far = await startTestProxy({
      upstream: [backend.address],
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
        connect: { ...DEFAULT_CONNECT, passthrough: ['127.0.0.0/8'] },
      },
      proxyOptions: { env: {} },
    });
    t.after(() => far.close());
    // The near one, as a binary, with the far one as its https:// proxy.
    const port = await closedPort();
    const near = await startSwitchyard(
      ['--listen', `127.0.0.1:${port}`, '--upstream', backend.address],
      {
        env: {
          https_proxy: `https://localhost:${far.port}`,
          NODE_EXTRA_CA_CERTS: certs.caCertPath,
        },
      },
    );
    t.after(() => near.stop());
    const client = echoClient(`127.0.0.1:${port}`);
    t.after(() => client.close());
    const listener = [...far.proxy.listenerList()][0];
    assert.equal((await echoUnaryOk(client, {})).backend, 'tls-proxied');
    await eventually(() => listener.tunnelCount === 1, 2_000, 'the passthrough tunnel');
  });
});
