// Upstream TLS failures, including those that surface after the client's handshake completed
// (under TLS 1.3 a backend checks the client certificate after that): the caller gets
// UNAVAILABLE at once with a message that names the cause, the endpoint shows it, and the proxy
// keeps retrying with backoff.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ProxyView } from '../../observability/admin/cluster-view.js';
import { adminJson, startObservedProxy } from '../observability/observed-proxy.js';
import {
  createRefusedClientCerts,
  createTestCerts,
  type ClientCert,
  type TestCerts,
} from '../support/certs.js';
import { echoClient, echoUnary } from '../support/echo-backend.js';
import { spawnEchoBackend, type EchoBackendProcess } from '../support/echo-backend-process.js';
import { eventually, testCluster } from '../support/proxy-harness.js';
import { startTcpRelay } from '../support/tcp-relay.js';

for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
  describe(`upstream TLS failures over ${version}`, () => {
    let certs: TestCerts;
    let refused: { expired: ClientCert; untrusted: ClientCert };
    let backend: EchoBackendProcess;

    before(async () => {
      certs = await createTestCerts();
      refused = await createRefusedClientCerts(certs);
      // A grpc-js backend that requires client certificates from the test CA, limited to one
      // TLS version.
      backend = await spawnEchoBackend('mtls', {
        tls: {
          certPath: certs.serverCertPath,
          keyPath: certs.serverKeyPath,
          clientCaPath: certs.caCertPath,
        },
        execArgv: version === 'TLSv1.2' ? ['--tls-max-v1.2'] : ['--tls-min-v1.3'],
      });
    });
    after(async () => {
      await backend.kill();
      await certs.cleanup();
    });

    /**
     * A proxy whose cluster `name` reaches the backend (through a relay that counts
     * connections) with `cert` as its client certificate; one call through it.
     */
    async function attempt(name: string, cert: ClientCert | undefined) {
      const relay = await startTcpRelay(backend.address);
      const proxy = await startObservedProxy({
        clusters: [
          testCluster(name, relay.address, {
            tls: {
              caFile: certs.caCertPath,
              certFile: cert?.certPath,
              keyFile: cert === undefined ? undefined : certs.clientKeyPath,
              serverName: 'localhost',
              insecureSkipVerify: false,
            },
          }),
        ],
        routes: [{ name: 'all', match: { headers: [] }, cluster: name }],
      });
      const client = echoClient(proxy.target);
      const started = Date.now();
      const result = await echoUnary(client, {}, { deadlineMs: 20_000 });
      const elapsed = Date.now() - started;
      return {
        result,
        elapsed,
        relay,
        proxy,
        close: async () => {
          client.close();
          await proxy.close();
          await relay.close();
        },
      };
    }

    async function expectRefused(name: string, cert: ClientCert | undefined, cause: RegExp) {
      const a = await attempt(name, cert);
      try {
        const { status } = a.result;
        assert.equal(status.code, grpc.status.UNAVAILABLE, status.details);
        assert.match(status.details, cause);
        assert.ok(a.elapsed < 3_000, `UNAVAILABLE after ${a.elapsed} ms`);
        // The endpoint shows why, and the proxy tries again (gRPC's backoff: 1 s, then 1.6 s).
        const view = await adminJson<ProxyView>(a.proxy.admin, '/clusters');
        const endpoint = view.body.clusters[0].endpoints[0];
        assert.notEqual(endpoint.state, 'ready');
        assert.match(endpoint.connectivityReason, cause);
        await eventually(() => a.relay.accepted >= 2, 5_000, 'a second connection attempt');
        // Logged once, not once per attempt.
        assert.equal(
          a.proxy.logged('connect failed').length,
          1,
          a.proxy.logged('connect').join('\n'),
        );
      } finally {
        await a.close();
      }
    }

    it('names a missing client certificate the backend requires', async () => {
      await expectRefused(
        'nocert',
        undefined,
        /the backend (wants|may want) a client certificate.*set tls\.cert and tls\.key on cluster "nocert"/,
      );
    });

    it('names a client certificate from a CA the backend does not trust', async () => {
      await expectRefused(
        'untrusted',
        refused.untrusted,
        /client certificate \(tls\.cert of cluster "untrusted", issued by CN=switchyard test other CA\)/,
      );
    });

    it('names an expired client certificate', async () => {
      await expectRefused(
        'expired',
        refused.expired,
        /client certificate \(tls\.cert of cluster "expired"\) expired on \d{4}-/,
      );
    });

    it('still connects with the right client certificate', async () => {
      const a = await attempt('mtls', { certPath: certs.clientCertPath, cert: certs.clientCert });
      try {
        assert.equal(a.result.status.code, grpc.status.OK, a.result.status.details);
      } finally {
        await a.close();
      }
    });
  });
}
