// Upstream connections through a real HTTP CONNECT proxy (tinyproxy): one tunnel per endpoint so
// calls are still spread, no_proxy and `proxy: none` bypass it, basic auth, and every proxy
// failure reaching the caller as UNAVAILABLE with the reason.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoUnary,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { eventually, startTestProxy, type TestProxy } from '../support/proxy-harness.js';
import { ConsulDouble } from '../support/consul-double.js';
import { closedPort } from '../support/raw-upstream.js';
import { startScriptedProxy } from '../support/scripted-proxy.js';
import { startTinyproxy, type Tinyproxy } from '../support/tinyproxy.js';
import type { ProxyEnv } from '../../egress/proxy-settings.js';

const CALLS = 300;

/**
 * Waits until `count` endpoints of the default cluster are connected, so shares are even. On
 * timeout it says what each endpoint was doing and what the proxy logged.
 */
async function ready(proxy: TestProxy, count: number, tinyproxy: Tinyproxy): Promise<void> {
  const hosts = () => [...proxy.proxy.cluster('default')!.balancer.hosts()];
  // Two hops through tinyproxy (the Consul query, then each endpoint's tunnel), each a process
  // of its own: allow for a machine busy with other test files and coverage. A call sent
  // before then would wait at most the cluster's connect timeout (5 s) and could fail.
  try {
    await eventually(
      () => hosts().filter((h) => h.connectivity === 'ready').length >= count,
      20_000,
      `${count} endpoints ready`,
    );
  } catch (err) {
    const state = hosts().map((h) => `${h.key}: ${h.connectivity} ${h.connectivityReason}`);
    const log = tinyproxy.log().trim().split('\n').slice(-20).join('\n');
    throw new Error(
      `${(err as Error).message}; endpoints: [${state.join('; ')}]; tinyproxy's log ends:\n${log}`,
      { cause: err },
    );
  }
}

async function spread(target: string, calls = CALLS): Promise<Map<string, number>> {
  const client = echoClient(target);
  try {
    const counts = new Map<string, number>();
    // Sequential batches of 20: enough concurrency to exercise the sessions, bounded.
    for (let i = 0; i < calls; i += 20) {
      const batch = await Promise.all(
        // A deadline, so a call that cannot be served fails the test with its status.
        Array.from({ length: Math.min(20, calls - i) }, () =>
          echoUnaryOk(client, {}, { deadlineMs: 10_000 }),
        ),
      );
      for (const r of batch) counts.set(r.backend, (counts.get(r.backend) ?? 0) + 1);
    }
    return counts;
  } finally {
    client.close();
  }
}

void describe('upstream connections through tinyproxy', () => {
  let tinyproxy: Tinyproxy;
  let backends: EchoBackend[];

  before(async () => {
    tinyproxy = await startTinyproxy();
    backends = await Promise.all(['a', 'b', 'c'].map((name) => startEchoBackend({ name })));
  });
  after(async () => {
    for (const b of backends) b.kill();
    await tinyproxy.stop();
  });

  void it('tunnels to each endpoint separately, so calls are still spread over all three', async (t) => {
    const before = tinyproxy.connects().length;
    const proxy = await startTestProxy({
      upstream: backends.map((b) => b.address),
      proxyOptions: { env: { http_proxy: tinyproxy.url() } },
    });
    t.after(() => proxy.close());
    await ready(proxy, 3, tinyproxy);
    const counts = await spread(proxy.target);
    for (const b of backends) {
      const share = counts.get(b.name) ?? 0;
      assert.ok(
        share >= CALLS / 3 - 10 && share <= CALLS / 3 + 10,
        `backend ${b.name} served ${share} of ${CALLS}: ${JSON.stringify([...counts])}`,
      );
    }
    const connects = tinyproxy.connects().slice(before);
    for (const b of backends) {
      assert.ok(
        connects.includes(b.address),
        `tinyproxy logged CONNECT ${b.address}: ${connects.join(', ')}`,
      );
    }
    // One tunnel per endpoint: the sessions are multiplexed, not one per call.
    assert.ok(connects.length <= 6, `${connects.length} CONNECTs for ${CALLS} calls`);
  });

  void it('honours the precedence grpc_proxy > https_proxy > http_proxy', async (t) => {
    const decoy = `http://127.0.0.1:${await closedPort()}`;
    const before = tinyproxy.connects().length;
    const proxy = await startTestProxy({
      upstream: [backends[0].address],
      proxyOptions: {
        env: { GRPC_PROXY: tinyproxy.url(), https_proxy: decoy, http_proxy: decoy },
      },
    });
    t.after(() => proxy.close());
    const counts = await spread(proxy.target, 10);
    assert.equal(counts.get('a'), 10);
    assert.ok(tinyproxy.connects().slice(before).includes(backends[0].address));
  });

  void it('connects directly to endpoints that no_proxy names', async (t) => {
    const [a, b] = backends;
    const before = tinyproxy.connects().length;
    const proxy = await startTestProxy({
      upstream: [a.address, b.address],
      proxyOptions: {
        env: { http_proxy: tinyproxy.url(), NO_PROXY: `localhost, ${a.address}` },
      },
    });
    t.after(() => proxy.close());
    await ready(proxy, 2, tinyproxy);
    const counts = await spread(proxy.target, 40);
    assert.equal(counts.get('a'), 20);
    assert.equal(counts.get('b'), 20);
    assert.deepEqual(tinyproxy.connects().slice(before), [b.address]);
  });

  void it('lets a cluster override the environment with proxy: none or its own URL', async (t) => {
    const before = tinyproxy.connects().length;
    const none = await startTestProxy({
      upstream: [backends[0].address],
      cluster: { proxy: 'none' },
      proxyOptions: { env: { http_proxy: `http://127.0.0.1:${await closedPort()}` } },
    });
    t.after(() => none.close());
    assert.equal((await spread(none.target, 5)).get('a'), 5);
    assert.deepEqual(tinyproxy.connects().slice(before), []);

    const own = await startTestProxy({
      upstream: [backends[1].address],
      cluster: { proxy: tinyproxy.url() },
      proxyOptions: { env: {} },
    });
    t.after(() => own.close());
    assert.equal((await spread(own.target, 5)).get('b'), 5);
    assert.deepEqual(tinyproxy.connects().slice(before), [backends[1].address]);
  });

  void it('routes around an endpoint the proxy cannot reach, and says why', async (t) => {
    const dead = `127.0.0.1:${await closedPort()}`;
    const proxy = await startTestProxy({
      upstream: [dead, backends[0].address],
      proxyOptions: { env: { http_proxy: tinyproxy.url() } },
    });
    t.after(() => proxy.close());
    const counts = await spread(proxy.target, 40);
    assert.equal(counts.get('a'), 40);
    await eventually(
      () => proxy.logged(`answered 500`).length > 0,
      5_000,
      'the failed CONNECT to be logged',
    );
    const host = [...proxy.proxy.cluster('default')!.balancer.hosts()].find((h) => h.key === dead);
    assert.equal(host?.connectivity, 'failing');
    assert.match(host?.connectivityReason ?? '', /proxy 127\.0\.0\.1:\d+ answered 500/);
  });
});

void describe('proxy failures reach the caller as UNAVAILABLE with the reason', () => {
  let backend: EchoBackend;
  before(async () => {
    backend = await startEchoBackend({ name: 'only' });
  });
  after(() => backend.kill());

  /**
   * The status of a call through a proxy whose only endpoint cannot be reached. The call is
   * made once the endpoint has failed: a call already waiting while the endpoint's first
   * connect fails waits out the connect timeout (the cluster re-examines waiting calls only
   * when an endpoint becomes ready), which says nothing about the proxy.
   */
  async function failure(proxyUrl: string): Promise<grpc.StatusObject> {
    const proxy = await startTestProxy({
      upstream: [backend.address],
      proxyOptions: { env: { grpc_proxy: proxyUrl } },
    });
    const client = echoClient(proxy.target);
    try {
      const host = () => [...proxy.proxy.cluster('default')!.balancer.hosts()][0];
      await eventually(() => host()?.connectivity === 'failing', 5_000, 'the endpoint to fail');
      const started = Date.now();
      const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
      assert.ok(Date.now() - started < 2_000, 'failed at once, not at the deadline');
      return result.status;
    } finally {
      client.close();
      await proxy.close();
    }
  }

  void it('proxy unreachable', async () => {
    const port = await closedPort();
    const status = await failure(`http://127.0.0.1:${port}`);
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    assert.match(
      status.details,
      new RegExp(
        `cannot reach proxy 127\\.0\\.0\\.1:${port} for CONNECT ${backend.address}: connection refused`,
      ),
    );
  });

  void it('407 without credentials, 401 with a wrong password; basic auth from the URL works', async (t) => {
    const tinyproxy = await startTinyproxy({ basicAuth: { user: 'svc', password: 's3cret' } });
    t.after(() => tinyproxy.stop());
    const none = await failure(tinyproxy.url());
    assert.equal(none.code, grpc.status.UNAVAILABLE);
    assert.match(
      none.details,
      new RegExp(`proxy ${tinyproxy.address} answered 407 Proxy Authentication Required`),
    );
    // tinyproxy answers credentials it rejects with 401 (squid with 407): either way the
    // caller hears what the proxy said.
    const wrong = await failure(tinyproxy.url({ user: 'svc', password: 'wrong' }));
    assert.equal(wrong.code, grpc.status.UNAVAILABLE);
    assert.match(wrong.details, new RegExp(`proxy ${tinyproxy.address} answered 401 Unauthorized`));

    const proxy = await startTestProxy({
      upstream: [backend.address],
      proxyOptions: { env: { http_proxy: tinyproxy.url({ user: 'svc', password: 's3cret' }) } },
    });
    t.after(() => proxy.close());
    assert.equal((await spread(proxy.target, 5)).get('only'), 5);
    assert.ok(tinyproxy.connects().includes(backend.address));
  });

  void it('403 from a proxy that does not allow the port', async (t) => {
    const tinyproxy = await startTinyproxy({ connectPorts: [443] });
    t.after(() => tinyproxy.stop());
    const status = await failure(tinyproxy.url());
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    assert.match(status.details, new RegExp(`proxy ${tinyproxy.address} answered 403 Forbidden`));
  });

  void it('502 from the proxy', async (t) => {
    const scripted = await startScriptedProxy({ answer: '502 Bad Gateway' });
    t.after(() => scripted.close());
    const status = await failure(scripted.url);
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    assert.match(status.details, /answered 502 Bad Gateway to CONNECT/);
    assert.equal(scripted.requests[0], `CONNECT ${backend.address} HTTP/1.1`);
  });

  void it('a tunnel closed right after the 200', async (t) => {
    const scripted = await startScriptedProxy({ closeTunnel: true });
    t.after(() => scripted.close());
    const status = await failure(scripted.url);
    assert.equal(status.code, grpc.status.UNAVAILABLE);
    assert.match(
      status.details,
      new RegExp(`proxy ${scripted.address} closed the tunnel to ${backend.address}`),
    );
  });

  void it('a proxy that never answers the CONNECT', async (t) => {
    const scripted = await startScriptedProxy({ silent: true });
    t.after(() => scripted.close());
    const proxy = await startTestProxy({
      upstream: [backend.address],
      cluster: { timeouts: { defaultMs: undefined, maxMs: undefined, connectMs: 300 } },
      proxyOptions: { env: { http_proxy: scripted.url } },
    });
    const client = echoClient(proxy.target);
    t.after(async () => {
      client.close();
      await proxy.close();
    });
    const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    assert.match(result.status.details, /did not answer CONNECT .* within 300 ms/);
  });
});

void describe('Consul queries through the proxy', () => {
  /**
   * A Consul double naming two echo backends, and a tinyproxy of its own: each half below has
   * its own, so one half's CONNECT lines can never be read as the other's. When the test ends,
   * the proxy closes first, then what it used.
   */
  async function consulSetup(
    t: TestContext,
    env: (consul: ConsulDouble, tp: Tinyproxy) => ProxyEnv,
  ) {
    const tinyproxy = await startTinyproxy();
    const consul = await ConsulDouble.start();
    const backends = await Promise.all(['c1', 'c2'].map((name) => startEchoBackend({ name })));
    const opened: { proxy?: TestProxy } = {};
    t.after(async () => {
      await opened.proxy?.close();
      await consul.close();
      backends.forEach((b) => b.kill());
      await tinyproxy.stop();
    });
    backends.forEach((b, i) => consul.register({ id: `c${i + 1}`, service: 'echo', port: b.port }));
    const proxy = (opened.proxy = await startTestProxy({
      upstream: `consul://${consul.address}/echo`,
      proxyOptions: { env: env(consul, tinyproxy) },
    }));
    return { tinyproxy, consul, backends, proxy };
  }

  void it('reach the agent through tinyproxy (http_proxy), with each endpoint tunnelled', async (t) => {
    const { tinyproxy, consul, backends, proxy } = await consulSetup(t, (_, tp) => ({
      http_proxy: tp.url(),
    }));
    await ready(proxy, 2, tinyproxy);
    // Both endpoints Consul named serve calls. How evenly is the balancer's test; here a
    // connection replaced under a loaded machine may move calls.
    const counts = await spread(proxy.target, 40);
    const served = [...counts.entries()].sort();
    assert.deepEqual(
      served.map(([name]) => name),
      ['c1', 'c2'],
      `served: ${JSON.stringify(served)}`,
    );
    const connects = tinyproxy.connects();
    assert.ok(
      connects.includes(consul.address),
      `Consul at ${consul.address} through the proxy: ${connects.join(', ')}`,
    );
    for (const b of backends) {
      assert.ok(
        connects.includes(b.address),
        `${b.address} through the proxy: ${connects.join(', ')}`,
      );
    }
  });

  void it('reach the agent directly when no_proxy names it, the endpoints still tunnelled', async (t) => {
    const { tinyproxy, consul, backends, proxy } = await consulSetup(t, (c, tp) => ({
      http_proxy: tp.url(),
      no_proxy: c.address,
    }));
    await ready(proxy, 2, tinyproxy);
    const counts = await spread(proxy.target, 10);
    assert.equal(
      [...counts.values()].reduce((a, b) => a + b),
      10,
    );
    const connects = tinyproxy.connects();
    assert.ok(!connects.includes(consul.address), `Consul directly: ${connects.join(', ')}`);
    for (const b of backends) {
      assert.ok(
        connects.includes(b.address),
        `${b.address} through the proxy: ${connects.join(', ')}`,
      );
    }
  });
});
