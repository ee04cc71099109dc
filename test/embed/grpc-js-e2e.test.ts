// Real grpc-js clients with registerWithGrpcJs() and round_robin, finding real backends through
// dnsmasq (SRV and A records) and the Consul double, and following endpoint changes.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { registerWithGrpcJs } from '../../embed/register.js';
import { ConsulDouble } from '../support/consul-double.js';
import { Dnsmasq } from '../support/dnsmasq.js';
import {
  echoClient,
  echoUnary,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';

const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

/** Quick re-resolution so a test sees SRV changes within about a second. */
const FAST_RESOLVER = JSON.stringify({
  dns: {
    minRefreshMs: 100,
    maxRefreshMs: 500,
    timeoutMs: 300,
    tries: 1,
    backoffInitialMs: 100,
    backoffMaxMs: 500,
  },
  consul: { waitMs: 5_000, minIntervalMs: 20, backoffInitialMs: 50, backoffMaxMs: 200 },
});

registerWithGrpcJs(grpc);

async function backend(t: TestContext, name: string, host: string, port = 0): Promise<EchoBackend> {
  const b = await startEchoBackend({ name, host, port });
  t.after(() => b.kill());
  return b;
}

function client(t: TestContext, target: string): EchoServiceClient {
  const c = echoClient(target, {
    channelOptions: {
      'grpc.service_config': ROUND_ROBIN,
      'switchyard.resolver_options': FAST_RESOLVER,
    },
  });
  t.after(() => c.close());
  return c;
}

/** Backend names of `n` sequential calls, counted. */
async function spread(c: EchoServiceClient, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await echoUnaryOk(c, {}, { deadlineMs: 3_000 });
    seen.set(r.backend, (seen.get(r.backend) ?? 0) + 1);
  }
  return seen;
}

/** Calls until the last `window` calls reached exactly `names`, or fails after `timeoutMs`. */
async function untilServedBy(
  c: EchoServiceClient,
  names: string[],
  timeoutMs = 8_000,
  window = 12,
): Promise<void> {
  const want = [...names].sort().join(',');
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const seen = await spread(c, window);
    last = [...seen.keys()].sort().join(',');
    if (last === want) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`calls never settled on [${want}]; last window reached [${last}]`);
}

void describe('grpc-js with switchyard resolvers', () => {
  void it(
    'dns+srv: round_robin spreads calls and follows SRV changes',
    { timeout: 20_000 },
    async (t) => {
      const a = await backend(t, 'a', '127.0.0.2');
      const b = await backend(t, 'b', '127.0.0.3');
      const c = await backend(t, 'c', '127.0.0.4');
      const srv = (...list: EchoBackend[]) =>
        list.map((x) => ({
          name: '_grpc._tcp.echo.test',
          target: `${x.name}.test`,
          port: x.port,
          weight: 1,
        }));
      const dns = new Dnsmasq({
        hosts: ['127.0.0.2 a.test', '127.0.0.3 b.test', '127.0.0.4 c.test'],
        srv: srv(a, b),
      });
      t.after(() => dns.close());
      await dns.start();
      const cl = client(t, `dns+srv://${dns.server}/_grpc._tcp.echo.test`);
      // Once both subchannels are ready, round_robin alternates.
      await untilServedBy(cl, ['a', 'b']);
      const first = await spread(cl, 20);
      assert.deepEqual([...first.keys()].sort(), ['a', 'b']);
      assert.ok(Math.abs((first.get('a') ?? 0) - (first.get('b') ?? 0)) <= 2, 'even spread');
      await dns.restartWith({ srv: srv(a, b, c) });
      await untilServedBy(cl, ['a', 'b', 'c']);
      await dns.restartWith({ srv: srv(b, c) });
      await untilServedBy(cl, ['b', 'c']);
      const callsToA = a.calls;
      await spread(cl, 20);
      assert.equal(a.calls, callsToA, 'a removed backend gets no more calls');
    },
  );

  void it(
    'switchyard-dns: follows A records through TTL expiry',
    { timeout: 20_000 },
    async (t) => {
      const a = await backend(t, 'a', '127.0.0.2');
      const b = await backend(t, 'b', '127.0.0.3', a.port);
      const dns = new Dnsmasq({ hosts: ['127.0.0.2 echo.test'] });
      t.after(() => dns.close());
      await dns.start();
      const cl = client(t, `switchyard-dns://${dns.server}/echo.test:${a.port}`);
      assert.deepEqual([...(await spread(cl, 6)).keys()], ['a']);
      await dns.setHosts(['127.0.0.2 echo.test', '127.0.0.3 echo.test']);
      await untilServedBy(cl, ['a', 'b']);
      await dns.setHosts(['127.0.0.3 echo.test']);
      await untilServedBy(cl, ['b']);
      assert.ok(b.calls > 0);
    },
  );

  void it(
    'consul: round_robin spreads calls and follows registrations within a second',
    { timeout: 20_000 },
    async (t) => {
      const a = await backend(t, 'a', '127.0.0.2');
      const b = await backend(t, 'b', '127.0.0.3');
      const c = await backend(t, 'c', '127.0.0.4');
      const consul = await ConsulDouble.start();
      t.after(() => consul.close());
      const register = (x: EchoBackend) =>
        consul.register({
          id: x.name,
          service: 'echo',
          address: x.host,
          port: x.port,
          tags: ['grpc'],
        });
      register(a);
      register(b);
      const cl = client(t, `consul://${consul.address}/echo?tag=grpc`);
      const first = await spread(cl, 20);
      assert.deepEqual([...first.keys()].sort(), ['a', 'b']);
      register(c);
      await untilServedBy(cl, ['a', 'b', 'c'], 3_000);
      consul.setStatus('a', 'critical');
      await untilServedBy(cl, ['b', 'c'], 3_000);
      const callsToA = a.calls;
      await spread(cl, 20);
      assert.equal(a.calls, callsToA);
    },
  );

  void it(
    'fails calls with UNAVAILABLE naming the target for names that resolve to nothing',
    { timeout: 20_000 },
    async (t) => {
      const dns = new Dnsmasq({ hosts: ['127.0.0.2 a.test'] });
      t.after(() => dns.close());
      await dns.start();
      const consul = await ConsulDouble.start();
      t.after(() => consul.close());
      // An agent behind a misconfigured proxy: every answer is an HTML page.
      const html = await ConsulDouble.start();
      t.after(() => html.close());
      html.injectFaults(
        ...Array.from({ length: 50 }, () => ({ body: '<html/>', contentType: 'text/html' })),
      );
      const cases: [string, RegExp][] = [
        [
          `dns+srv://${dns.server}/_grpc._tcp.none.test`,
          /no SRV records for _grpc\._tcp\.none\.test/,
        ],
        [`switchyard-dns://${dns.server}/missing.test:1`, /missing\.test has no A or AAAA records/],
        [`consul://${consul.address}/nothing`, /no passing instances of "nothing"/],
        [`consul://${html.address}/echo`, /is not a JSON list \(text\/html\)/],
      ];
      for (const [target, details] of cases) {
        const result = await echoUnary(client(t, target), {}, { deadlineMs: 5_000 });
        assert.equal(
          result.status.code,
          grpc.status.UNAVAILABLE,
          `${target}: ${result.status.details}`,
        );
        assert.match(result.status.details, details);
        assert.ok(
          result.status.details.includes(target.replace(/^switchyard-dns:/, 'dns:')),
          result.status.details,
        );
      }
    },
  );
});
