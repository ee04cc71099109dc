// Balancing through the real proxy: each policy against real grpc-js backends, health checks
// and outlier ejection steering calls, endpoints coming back on their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ClusterConfig } from '../../config/types.js';
import { Dnsmasq } from '../support/dnsmasq.js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import { HealthStatusTable } from '../support/grpc-health.js';
import {
  delay,
  eventually,
  startTestProxy,
  type TestProxy,
  clientFor,
} from '../support/proxy-harness.js';
import { startRawUpstream } from '../support/raw-upstream.js';

interface Tally {
  readonly byBackend: Map<string, number>;
  readonly failures: string[];
}

/** `total` unary calls, `concurrency` at a time; counts answers per backend. */
async function run(
  client: EchoServiceClient,
  total: number,
  concurrency: number,
  metadata?: (i: number) => grpc.Metadata,
): Promise<Tally> {
  const byBackend = new Map<string, number>();
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const r = await echoUnary(client, {}, { metadata: metadata?.(i), deadlineMs: 10_000 });
      if (r.status.code !== grpc.status.OK) failures.push(`${r.status.code} ${r.status.details}`);
      else byBackend.set(r.response!.backend, (byBackend.get(r.response!.backend) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { byBackend, failures };
}

function hostsOf(proxy: TestProxy) {
  return proxy.proxy.cluster('default')!.balancer.snapshot().hosts;
}

async function allEligible(proxy: TestProxy, n: number): Promise<void> {
  await eventually(
    () => hostsOf(proxy).filter((h) => h.eligible).length === n,
    5_000,
    `${n} eligible endpoints`,
  );
}

async function backends(
  names: string[],
  options: Partial<Parameters<typeof startEchoBackend>[0]> = {},
) {
  return Promise.all(names.map((name) => startEchoBackend({ name, ...options })));
}

describe('balancing through the proxy', () => {
  it('round_robin spreads 3,000 calls over 3 backends within ±1 of even', async (t) => {
    const bs = await backends(['a', 'b', 'c']);
    const proxy = await startTestProxy({ upstream: bs.map((b) => b.address) });
    const client = clientFor(t, proxy);
    t.after(() => {
      bs.forEach((b) => b.kill());
    });
    await allEligible(proxy, 3);
    const { byBackend, failures } = await run(client, 3000, 16);
    assert.deepEqual(failures, []);
    for (const name of ['a', 'b', 'c']) {
      const n = byBackend.get(name) ?? 0;
      assert.ok(Math.abs(n - 1000) <= 1, `${name} served ${n}`);
    }
  });

  it('least_loaded sends far fewer calls to a backend 10× slower, and its share returns when it speeds up', async (t) => {
    const bs = await backends(['fast1', 'fast2', 'slow']);
    bs[0].setDelay(3);
    bs[1].setDelay(3);
    bs[2].setDelay(30);
    const proxy = await startTestProxy({
      upstream: bs.map((b) => b.address),
      // A short decay so the test can watch recovery; the default (10 s) reacts the same way, slower.
      cluster: { balancer: { policy: 'least_loaded', settings: { decayMs: 500 } } },
    });
    const client = clientFor(t, proxy);
    t.after(() => {
      bs.forEach((b) => b.kill());
    });
    await allEligible(proxy, 3);
    const slow = await run(client, 900, 6);
    assert.deepEqual(slow.failures, []);
    // With 6 calls in flight over three endpoints, P2C compares latency × (in-flight + 1):
    // the slow endpoint costs about 10× a fast one at equal load, so it wins a comparison only
    // when both fast endpoints carry about 10× its load, which 6 calls in flight cannot do. It is
    // picked only while its estimate decays (a probe every few decay periods), so its share
    // stays far below round-robin's third. On a quiet machine it is under 10 %; on a loaded one
    // the fast endpoints slow down too and the run lasts more decay periods (19 % was seen with
    // the load average at 18), so the bound is well under round robin's third.
    const slowShare = (slow.byBackend.get('slow') ?? 0) / 900;
    assert.ok(slowShare < 0.2, `slow backend served ${(slowShare * 100).toFixed(1)} %`);
    bs[2].setDelay(3);
    await run(client, 300, 6); // let its estimate catch up
    await delay(600);
    const recovered = await run(client, 900, 6);
    const share = (recovered.byBackend.get('slow') ?? 0) / 900;
    assert.ok(share > 0.2, `recovered backend served ${(share * 100).toFixed(1)} %`);
  });

  it('weighted_round_robin follows SRV weights 1:2:7 through real DNS', async (t) => {
    const bs = await backends(['w1', 'w2', 'w7']);
    const dns = new Dnsmasq({
      hosts: ['127.0.0.1 w1.test', '127.0.0.1 w2.test', '127.0.0.1 w7.test'],
      srv: bs.map((b, i) => ({
        name: '_grpc._tcp.echo.test',
        target: `${b.name}.test`,
        port: b.port,
        priority: 0,
        weight: [1, 2, 7][i],
      })),
    });
    await dns.start();
    const proxy = await startTestProxy({
      upstream: `dns+srv://${dns.server}/_grpc._tcp.echo.test`,
      cluster: { balancer: { policy: 'weighted_round_robin', settings: {} } },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await dns.close();
      bs.forEach((b) => b.kill());
    });
    await allEligible(proxy, 3);
    const { byBackend, failures } = await run(client, 1000, 8);
    assert.deepEqual(failures, []);
    const share = (name: string) => (byBackend.get(name) ?? 0) / 1000;
    assert.ok(Math.abs(share('w1') - 0.1) < 0.02, `w1 ${share('w1')}`);
    assert.ok(Math.abs(share('w2') - 0.2) < 0.02, `w2 ${share('w2')}`);
    assert.ok(Math.abs(share('w7') - 0.7) < 0.02, `w7 ${share('w7')}`);
  });

  it('stops sending calls to a backend whose health check says NOT_SERVING, and resumes when SERVING', async (t) => {
    const tables = [new HealthStatusTable(), new HealthStatusTable()];
    const bs = await Promise.all(
      ['a', 'b'].map((name, i) =>
        startEchoBackend({ name, setup: (server) => tables[i].addTo(server) }),
      ),
    );
    const healthCheck: ClusterConfig['healthCheck'] = {
      service: '',
      intervalMs: 100,
      timeoutMs: 1_000,
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    };
    const proxy = await startTestProxy({
      upstream: bs.map((b) => b.address),
      cluster: { healthCheck },
    });
    const client = clientFor(t, proxy);
    t.after(() => {
      bs.forEach((b) => b.kill());
    });
    await allEligible(proxy, 2);
    tables[0].set('', 'NOT_SERVING');
    await eventually(
      () => hostsOf(proxy).find((h) => h.key === bs[0].address)?.health === 'unhealthy',
      3_000,
      'a to turn unhealthy',
    );
    const during = await run(client, 100, 4);
    assert.deepEqual(during.failures, []);
    assert.equal(during.byBackend.get('a') ?? 0, 0);
    assert.ok(tables[0].checks > 1, 'the proxy checked a');
    tables[0].set('', 'SERVING');
    await allEligible(proxy, 2);
    const after = await run(client, 100, 4);
    assert.ok((after.byBackend.get('a') ?? 0) > 30, `a served ${after.byBackend.get('a')}`);
  });

  it('ejects an endpoint that keeps failing and lets it back after the ejection time', async (t) => {
    let failing = true;
    const flaky = await startRawUpstream((stream) => {
      if (failing) {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': 'overloaded',
            'x-backend': 'flaky',
          },
          { endStream: true },
        );
      } else {
        // A valid empty EchoResponse{backend: "flaky"}.
        const msg = Buffer.from([0x12, 5, ...Buffer.from('flaky')]);
        const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc' },
          { waitForTrailers: true },
        );
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame);
      }
    });
    const good = await startEchoBackend({ name: 'good' });
    const proxy = await startTestProxy({
      upstream: [flaky.address, good.address],
      cluster: {
        outlierDetection: {
          consecutiveFailures: 3,
          failureRateThreshold: undefined,
          minimumCalls: 10,
          intervalMs: 1_000,
          // Long enough for the 100 calls made while it is out, however busy the machine (they
          // took over 1 s under coverage at load 15, and the last ones met the flaky host again).
          baseEjectionMs: 3_000,
          maxEjectionMs: 10_000,
          maxEjectedShare: 0.5,
        },
      },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await flaky.close();
      good.kill();
    });
    await allEligible(proxy, 2);
    const first = await run(client, 20, 1);
    assert.ok(
      first.failures.length <= 3,
      `${first.failures.length} calls failed before the ejection`,
    );
    const flakyHost = () => hostsOf(proxy).find((h) => h.key === flaky.address)!;
    assert.equal(flakyHost().ejected, true);
    const during = await run(client, 100, 4);
    assert.deepEqual(during.failures, []);
    assert.equal(during.byBackend.get('good'), 100);
    failing = false;
    await eventually(() => !flakyHost().ejected, 8_000, 'the ejection to end');
    const back = await run(client, 100, 4);
    assert.deepEqual(back.failures, []);
    assert.ok(
      (back.byBackend.get('flaky') ?? 0) > 20,
      `flaky served ${back.byBackend.get('flaky')}`,
    );
  });

  it('keeps calls succeeding while a killed backend is out, and reinstates it once it is back', async (t) => {
    const [a, b] = await backends(['a', 'b']);
    const port = a.port;
    const proxy = await startTestProxy({
      upstream: [a.address, b.address],
      cluster: {
        outlierDetection: {
          consecutiveFailures: 2,
          failureRateThreshold: undefined,
          minimumCalls: 10,
          intervalMs: 1_000,
          baseEjectionMs: 500,
          maxEjectionMs: 5_000,
          maxEjectedShare: 0.5,
        },
      },
    });
    const client = echoClient(proxy.target);
    const restarted: EchoBackend[] = [];
    t.after(async () => {
      client.close();
      await proxy.close();
      b.kill();
      restarted.forEach((r) => r.kill());
    });
    await allEligible(proxy, 2);
    a.kill();
    const during = await run(client, 200, 8);
    assert.deepEqual(during.failures, []);
    assert.equal(during.byBackend.get('b'), 200);
    restarted.push(await startEchoBackend({ name: 'a-again', port }));
    await eventually(
      async () => (await run(client, 10, 2)).byBackend.has('a-again'),
      8_000,
      'the restarted backend to get calls',
    );
  });

  it('ring_hash keeps each key on one backend and moves only the keys of a removed backend', async (t) => {
    // One port on three loopback addresses, so one DNS name with three A records covers them.
    const first = await startEchoBackend({ name: 'r0', host: '127.0.0.2' });
    const rest = await Promise.all(
      ['127.0.0.3', '127.0.0.4'].map((host, i) =>
        startEchoBackend({ name: `r${i + 1}`, host, port: first.port }),
      ),
    );
    const port = first.port;
    const all = [first, ...rest];
    const dns = new Dnsmasq({ hosts: all.map((b) => `${b.host} echo.test`) });
    await dns.start();
    const proxy = await startTestProxy({
      upstream: `dns://${dns.server}/echo.test:${port}`,
      cluster: { balancer: { policy: 'ring_hash', settings: { hashKey: 'x-user-id' } } },
    });
    const client = clientFor(t, proxy);
    t.after(async () => {
      await dns.close();
      all.forEach((b) => b.kill());
    });
    await allEligible(proxy, 3);
    const user = (i: number) => {
      const md = new grpc.Metadata();
      md.set('x-user-id', `user-${i}`);
      return md;
    };
    const placement = async () => {
      const where = new Map<number, string>();
      for (let i = 0; i < 60; i++) {
        for (let repeat = 0; repeat < 3; repeat++) {
          const r = await echoUnary(client, {}, { metadata: user(i) });
          assert.equal(r.status.code, grpc.status.OK);
          const seen = where.get(i);
          assert.ok(
            seen === undefined || seen === r.response!.backend,
            `user-${i} moved between calls`,
          );
          where.set(i, r.response!.backend);
        }
      }
      return where;
    };
    const before = await placement();
    assert.equal(new Set(before.values()).size, 3, 'keys spread over all three backends');
    await dns.setHosts(all.slice(0, 2).map((b) => `${b.host} echo.test`));
    await eventually(
      () => hostsOf(proxy).length === 2,
      5_000,
      'the removed backend to leave the set',
    );
    const after = await placement();
    for (const [key, backend] of before) {
      if (backend !== 'r2')
        assert.equal(after.get(key), backend, `user-${key} moved from ${backend}`);
      else assert.notEqual(after.get(key), 'r2');
    }
  });
});
