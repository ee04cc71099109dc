// The proxy follows its resolvers: real DNS (dnsmasq) records added and removed, the DNS
// server stopped, Consul instances coming and going; calls in flight survive endpoint removal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ConsulDouble } from '../support/consul-double.js';
import { Dnsmasq } from '../support/dnsmasq.js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import { delay, eventually, startTestProxy, clientFor } from '../support/proxy-harness.js';
import { spawnProxy } from '../support/spawn-proxy.js';

async function backendsOnOnePort(hosts: string[]): Promise<EchoBackend[]> {
  const first = await startEchoBackend({ name: hosts[0], host: hosts[0] });
  const rest = await Promise.all(
    hosts.slice(1).map((host) => startEchoBackend({ name: host, host, port: first.port })),
  );
  return [first, ...rest];
}

async function servedBy(
  client: EchoServiceClient,
  calls: number,
): Promise<{ backends: Set<string>; failures: string[] }> {
  const results = await Promise.all(Array.from({ length: calls }, () => echoUnary(client, {})));
  return {
    backends: new Set(results.flatMap((r) => (r.response ? [r.response.backend] : []))),
    failures: results.filter((r) => r.status.code !== grpc.status.OK).map((r) => r.status.details),
  };
}

describe('service discovery in the proxy', () => {
  it('follows A records as they are added and removed, without failing a call', async (t) => {
    const bs = await backendsOnOnePort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const dns = new Dnsmasq({ hosts: ['127.0.0.2 echo.test'], localTtl: 1 });
    await dns.start();
    const proxy = await startTestProxy({ upstream: `dns://${dns.server}/echo.test:${bs[0].port}` });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await dns.close();
      bs.forEach((b) => b.kill());
    });
    const failures: string[] = [];
    const check = async (calls: number) => {
      const r = await servedBy(client, calls);
      failures.push(...r.failures);
      return r.backends;
    };
    assert.deepEqual([...(await check(20))], ['127.0.0.2']);

    await dns.setHosts(['127.0.0.2 echo.test', '127.0.0.3 echo.test']);
    await eventually(
      async () => (await check(10)).has('127.0.0.3'),
      6_000,
      'the added endpoint to get calls',
    );

    // Removed while idle: later calls go elsewhere and none fails.
    await dns.setHosts(['127.0.0.3 echo.test', '127.0.0.4 echo.test']);
    await eventually(
      async () => !(await check(10)).has('127.0.0.2'),
      6_000,
      'the removed endpoint to stop getting calls',
    );
    const settled = await check(30);
    assert.ok(!settled.has('127.0.0.2'));
    assert.deepEqual(failures, []);
  });

  it('lets a call in flight finish on an endpoint that DNS removes', async (t) => {
    const bs = await backendsOnOnePort(['127.0.0.5', '127.0.0.6']);
    const dns = new Dnsmasq({ hosts: ['127.0.0.5 echo.test'], localTtl: 1 });
    await dns.start();
    const proxy = await startTestProxy({ upstream: `dns://${dns.server}/echo.test:${bs[0].port}` });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await dns.close();
      bs.forEach((b) => b.kill());
    });
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
    const long = echoUnary(client, { delayMs: 2_500, payload: Buffer.from('slow') });
    await dns.setHosts(['127.0.0.6 echo.test']);
    await eventually(
      async () => (await echoUnary(client, {})).response?.backend === '127.0.0.6',
      6_000,
      'the new endpoint',
    );
    const r = await long;
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    assert.equal(r.response?.backend, '127.0.0.5');
  });

  it('keeps the last good endpoints when the DNS server goes away', async (t) => {
    const bs = await backendsOnOnePort(['127.0.0.7']);
    const dns = new Dnsmasq({ hosts: ['127.0.0.7 echo.test'], localTtl: 1 });
    await dns.start();
    const proxy = await startTestProxy({
      upstream: `dns://${dns.server}/echo.test:${bs[0].port}`,
      cluster: { resolver: { timeoutMs: 200, tries: 1 } },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await dns.close();
      bs.forEach((b) => b.kill());
    });
    assert.equal((await servedBy(client, 5)).failures.length, 0);
    await dns.stop();
    await delay(2_500); // several TTLs: re-resolution fails and is retried
    const after = await servedBy(client, 20);
    assert.deepEqual(after.failures, []);
    assert.ok(proxy.logged('resolver error').length > 0, 'the failed re-resolution is logged');
  });

  it('follows Consul instances through blocking queries', async (t) => {
    const bs = await Promise.all(['c1', 'c2', 'c3'].map((name) => startEchoBackend({ name })));
    const consul = await ConsulDouble.start();
    consul.register({ id: 'c1', service: 'echo', port: bs[0].port });
    consul.register({ id: 'c2', service: 'echo', port: bs[1].port });
    const proxy = await startTestProxy({ upstream: `consul://${consul.address}/echo` });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await consul.close();
      bs.forEach((b) => b.kill());
    });
    await eventually(
      async () => (await servedBy(client, 10)).backends.size === 2,
      5_000,
      'both instances',
    );
    consul.register({ id: 'c3', service: 'echo', port: bs[2].port });
    await eventually(
      async () => (await servedBy(client, 10)).backends.has('c3'),
      3_000,
      'the new instance',
    );
    consul.setStatus('c1', 'critical');
    await eventually(
      async () => !(await servedBy(client, 10)).backends.has('c1'),
      3_000,
      'the failing instance to leave',
    );
    await consul.close(); // the agent goes away: the last good set stays
    await delay(300);
    const r = await servedBy(client, 20);
    assert.deepEqual(r.failures, []);
    assert.deepEqual([...r.backends].sort(), ['c2', 'c3']);
  });

  it('takes any resolver target on the quick start', async (t) => {
    const [backend] = await backendsOnOnePort(['127.0.0.8']);
    const dns = new Dnsmasq({ hosts: ['127.0.0.8 backends.test'] });
    await dns.start();
    const proxy = await spawnProxy([
      '--upstream',
      `dns://${dns.server}/backends.test:${backend.port}`,
    ]);
    const client = echoClient(proxy.target);
    t.after(async () => {
      client.close();
      await proxy.stop();
      await dns.close();
      backend.kill();
    });
    const r = await echoUnary(client, {}, { deadlineMs: 5_000 });
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    assert.equal(r.response?.backend, '127.0.0.8');
  });
});
