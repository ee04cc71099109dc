// Where a call's retry policy comes from in the proxy: a route's own policy wins over its
// cluster's, and a service config the cluster's resolver publishes (a DNS TXT `grpc_config` in a
// real dnsmasq) replaces the cluster's, as a gRPC client lets it replace its default config.
// Real grpc-js client and flaky backend; the backend counts the attempts.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RetryPolicyConfig } from '../../config/types.js';
import { Dnsmasq } from '../support/dnsmasq.js';
import { echoUnary } from '../support/echo-backend.js';
import { startFlakyBackend, type FlakyBackend } from '../support/flaky-backend.js';
import { clientFor, eventually, startTestProxy } from '../support/proxy-harness.js';

const POLICY: RetryPolicyConfig = {
  maxAttempts: 2,
  initialBackoffMs: 10,
  maxBackoffMs: 100,
  backoffMultiplier: 2,
  retryableStatusCodes: [grpc.status.UNAVAILABLE],
  perTryTimeoutMs: undefined,
  retryClientRetries: false,
};

const UNAVAILABLE = { kind: 'fail', code: grpc.status.UNAVAILABLE } as const;

async function flaky(t: TestContext): Promise<FlakyBackend> {
  const b = await startFlakyBackend('flaky');
  t.after(() => b.close());
  return b;
}

void describe('retry policy sources in the proxy', () => {
  void it("a route's retry policy wins over its cluster's", async (t) => {
    const b = await flaky(t);
    b.always(UNAVAILABLE);
    const proxy = await startTestProxy({
      upstream: [b.address],
      cluster: { retryPolicy: POLICY },
      routes: [
        {
          name: 'own-policy',
          match: {
            service: 'test.Echo',
            method: 'Unary',
            headers: [{ name: 'x-route', exact: 'own' }],
          },
          cluster: 'default',
          retryPolicy: { ...POLICY, maxAttempts: 4 },
        },
      ],
    });
    t.after(() => proxy.close());
    const client = clientFor(t, proxy);
    const own = new grpc.Metadata();
    own.set('x-route', 'own');
    const routed = await echoUnary(client, {}, { deadlineMs: 10_000, metadata: own });
    assert.equal(routed.status.code, grpc.status.UNAVAILABLE);
    assert.equal(b.calls, 4, "the route's 4 attempts");
    const plain = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(plain.status.code, grpc.status.UNAVAILABLE);
    assert.equal(b.calls, 4 + 2, "the cluster's 2 attempts");
  });

  void it("a route's retryPolicy: off sends its calls once, under a cluster that retries", async (t) => {
    const b = await flaky(t);
    b.always(UNAVAILABLE);
    const proxy = await startTestProxy({
      upstream: [b.address],
      cluster: { retryPolicy: { ...POLICY, maxAttempts: 3 } },
      routes: [
        {
          name: 'not-idempotent',
          match: {
            service: 'test.Echo',
            method: 'Unary',
            headers: [{ name: 'x-route', exact: 'once' }],
          },
          cluster: 'default',
          retryPolicy: 'off',
        },
      ],
    });
    t.after(() => proxy.close());
    const client = clientFor(t, proxy);
    const once = new grpc.Metadata();
    once.set('x-route', 'once');
    const routed = await echoUnary(client, {}, { deadlineMs: 10_000, metadata: once });
    assert.equal(routed.status.code, grpc.status.UNAVAILABLE);
    assert.equal(b.calls, 1, 'one attempt');
    const plain = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(plain.status.code, grpc.status.UNAVAILABLE);
    assert.equal(b.calls, 1 + 3, "the cluster's 3 attempts");
  });

  void it("a TXT service config's policy replaces the cluster's, and applies without one", async (t) => {
    const b = await flaky(t);
    const port = b.address.split(':')[1];
    const serviceConfig = {
      methodConfig: [
        {
          name: [{ service: 'test.Echo' }],
          retryPolicy: {
            maxAttempts: 4,
            initialBackoff: '0.01s',
            maxBackoff: '0.1s',
            backoffMultiplier: 2,
            retryableStatusCodes: ['UNAVAILABLE'],
          },
        },
      ],
    };
    const dns = new Dnsmasq({
      hosts: ['127.0.0.1 flaky.test'],
      txt: [
        {
          name: '_grpc_config.flaky.test',
          text: `grpc_config=${JSON.stringify([{ serviceConfig }])}`,
        },
      ],
    });
    t.after(() => dns.close());
    await dns.start();
    for (const [i, retryPolicy] of [POLICY, undefined].entries()) {
      const proxy = await startTestProxy({
        upstream: `dns://${dns.server}/flaky.test:${port}`,
        cluster: { retryPolicy, resolver: { serviceConfig: true } },
      });
      t.after(() => proxy.close());
      // A TXT query that timed out on a loaded machine leaves the first set without the config
      // (the next refresh brings it): wait until the cluster has it.
      const [cluster] = proxy.proxy.clusterList();
      await eventually(
        () => cluster.policiesFor('/test.Echo/Unary').retry?.maxAttempts === 4,
        10_000,
        "the record's policy",
      );
      const before = b.calls;
      b.script(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE);
      const result = await echoUnary(clientFor(t, proxy), {}, { deadlineMs: 10_000 });
      assert.equal(result.status.code, grpc.status.OK, `case ${i}: ${result.status.details}`);
      assert.equal(b.calls - before, 4, `case ${i}: the record's 4 attempts`);
    }
  });
});
