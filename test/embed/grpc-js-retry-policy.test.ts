// One A6 retry policy, published once in a DNS TXT `grpc_config` record served by a real dnsmasq,
// executed by a real grpc-js client through registerWithGrpcJs(): the flaky backend counts the
// attempts the client made per the policy it received, and a client that turned resolver service
// config off makes one attempt.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { registerWithGrpcJs } from '../../embed/register.js';
import { Dnsmasq } from '../support/dnsmasq.js';
import { echoClient, echoUnary, type EchoServiceClient } from '../support/echo-backend.js';
import { startFlakyBackend, type FlakyBackend } from '../support/flaky-backend.js';

registerWithGrpcJs(grpc);

/** The same shape a cluster's `retryPolicy` has in switchyard's YAML, in A6's JSON spelling. */
function serviceConfig(maxAttempts: number) {
  return {
    loadBalancingConfig: [{ pick_first: {} }],
    methodConfig: [
      {
        name: [{ service: 'test.Echo', method: 'Unary' }],
        retryPolicy: {
          maxAttempts,
          initialBackoff: '0.01s',
          maxBackoff: '0.05s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ],
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
  };
}

/** Re-resolve fast and look up the TXT record (switchyard's DNS resolver skips it by default). */
const RESOLVER = JSON.stringify({
  dns: { serviceConfig: true, minRefreshMs: 100, maxRefreshMs: 500 },
});

async function flaky(t: TestContext): Promise<FlakyBackend> {
  const b = await startFlakyBackend('flaky');
  t.after(() => b.close());
  return b;
}

async function dnsWith(t: TestContext, host: string, maxAttempts: number): Promise<Dnsmasq> {
  const dns = new Dnsmasq({
    hosts: [`127.0.0.1 ${host}`],
    txt: [
      {
        name: `_grpc_config.${host}`,
        text: `grpc_config=${JSON.stringify([{ serviceConfig: serviceConfig(maxAttempts) }])}`,
      },
    ],
  });
  t.after(() => dns.close());
  await dns.start();
  return dns;
}

function client(
  t: TestContext,
  target: string,
  extra: grpc.ChannelOptions = {},
): EchoServiceClient {
  const c = echoClient(target, {
    channelOptions: { 'switchyard.resolver_options': RESOLVER, ...extra },
  });
  t.after(() => c.close());
  return c;
}

const port = (b: FlakyBackend) => b.address.split(':')[1];
const fail = { kind: 'fail', code: grpc.status.UNAVAILABLE } as const;

void describe('an A6 retry policy from a DNS TXT record, executed by grpc-js', () => {
  void it('retries UNAVAILABLE up to maxAttempts and succeeds', { timeout: 20_000 }, async (t) => {
    const b = await flaky(t);
    const dns = await dnsWith(t, 'retry.test', 3);
    const c = client(t, `switchyard-dns://${dns.server}/retry.test:${port(b)}`);
    b.script(fail, fail);
    const result = await echoUnary(c, { payload: Buffer.from('x') }, { deadlineMs: 5_000 });
    assert.equal(result.status.code, grpc.status.OK, result.status.details);
    assert.equal(b.calls, 3);
    // grpc-js says which attempt each one is (A6: absent on the first).
    assert.deepEqual(b.previousAttempts, ['', '1', '2']);
  });

  void it('gives up after maxAttempts with the last status', { timeout: 20_000 }, async (t) => {
    const b = await flaky(t);
    const dns = await dnsWith(t, 'twice.test', 2);
    const c = client(t, `switchyard-dns://${dns.server}/twice.test:${port(b)}`);
    b.script(fail, fail, fail);
    const result = await echoUnary(c, { payload: Buffer.from('x') }, { deadlineMs: 5_000 });
    assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    assert.equal(b.calls, 2);
  });

  void it(
    'makes one attempt when the channel turned resolver service config off',
    { timeout: 20_000 },
    async (t) => {
      const b = await flaky(t);
      const dns = await dnsWith(t, 'off.test', 3);
      const c = client(t, `switchyard-dns://${dns.server}/off.test:${port(b)}`, {
        'grpc.service_config_disable_resolution': 1,
      });
      b.script(fail, fail);
      const result = await echoUnary(c, { payload: Buffer.from('x') }, { deadlineMs: 5_000 });
      assert.equal(result.status.code, grpc.status.UNAVAILABLE);
      assert.equal(b.calls, 1);
    },
  );
});
