// Reloading a running proxy: clusters and routes swap atomically, unchanged clusters keep
// their state, listeners come and go, a bad config changes nothing, and no call fails for it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { listenerConfig } from '../../config/defaults.js';
import type { Config } from '../../config/types.js';
import {
  echoClient,
  echoServerStream,
  echoUnary,
  startEchoBackend,
} from '../support/echo-backend.js';
import { eventually, startTestProxy, testCluster, clientFor } from '../support/proxy-harness.js';

describe('reload', () => {
  it('survives 20 reloads under load without failing a call', async (t) => {
    const bs = await Promise.all(['a', 'b', 'c'].map((name) => startEchoBackend({ name })));
    const proxy = await startTestProxy({ upstream: bs[0].address });
    const client = clientFor(t, proxy);
    t.after(() => {
      bs.forEach((b) => b.kill());
    });
    const base = proxy.proxy.config;
    const variant = (i: number): Config => {
      const endpoints = [bs[i % 3].address, bs[(i + 1) % 3].address];
      const clusters = [testCluster('default', endpoints.join(','))];
      const routes = [...base.routes];
      if (i % 2 === 0) {
        // A second cluster and a route to it come and go.
        clusters.push(testCluster('extra', bs[2].address));
        routes.unshift({
          name: 'extra',
          match: { service: 'test.Echo', method: 'ServerStream', headers: [] },
          cluster: 'extra',
        });
      }
      const listeners = [base.listeners[0]];
      if (i % 4 === 1) listeners.push(listenerConfig('side', { host: '127.0.0.1', port: 0 }));
      return { ...base, clusters, routes, listeners };
    };

    let stop = false;
    const failures: string[] = [];
    let calls = 0;
    const worker = async () => {
      while (!stop) {
        const r = await echoUnary(client, {});
        calls++;
        if (r.status.code !== grpc.status.OK) failures.push(`${r.status.code} ${r.status.details}`);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // A stream that starts before the reloads and answers while they go on.
    const stream = echoServerStream(client, { responseCount: 3, delayMs: 500 });

    let rejected = 0;
    for (let i = 0; i < 20; i++) {
      if (i === 10) {
        // A config that cannot be applied (unreadable certificate): rejected, nothing changes.
        const broken: Config = {
          ...variant(i),
          listeners: [
            {
              ...listenerConfig('tls', { host: '127.0.0.1', port: 0 }),
              tls: {
                certFile: '/nonexistent/cert.pem',
                keyFile: '/nonexistent/key.pem',
                caFile: undefined,
                requireClientCert: false,
                minVersion: 'TLSv1.2',
                ciphers: undefined,
                watch: false,
                expiryWarningDays: 14,
              },
            },
          ],
        };
        const before = proxy.proxy.config;
        await assert.rejects(proxy.proxy.reload(broken), /cannot read certificate/);
        assert.equal(proxy.proxy.config, before);
        rejected++;
        continue;
      }
      await proxy.proxy.reload(variant(i));
      // Let calls run on each new config before the next change, however slow the machine.
      const target = calls + 15;
      await eventually(() => calls >= target, 10_000, 'calls on the new config');
    }
    stop = true;
    await Promise.all(workers);
    assert.equal(rejected, 1);
    assert.deepEqual(failures, []);
    assert.ok(calls > 200, `only ${calls} calls`);
    const s = await stream;
    assert.equal(s.status.code, grpc.status.OK, s.status.details);
    assert.equal(s.messages, 3);
  });

  it('keeps an unchanged cluster, with its endpoint state, across a reload', async (t) => {
    const b = await startEchoBackend({ name: 'b' });
    const proxy = await startTestProxy({ upstream: b.address });
    const client = clientFor(t, proxy);
    t.after(() => {
      b.kill();
    });
    await echoUnary(client, {});
    const before = proxy.proxy.cluster('default')!;
    const calls = before.balancer.snapshot().hosts[0].calls;
    const summary = await proxy.proxy.reload({ ...proxy.proxy.config, shutdownGraceMs: 1_234 });
    assert.deepEqual(summary.clusters.kept, ['default']);
    assert.equal(proxy.proxy.cluster('default'), before);
    assert.equal(before.balancer.snapshot().hosts[0].calls, calls);
    const changed = await proxy.proxy.reload({
      ...proxy.proxy.config,
      clusters: [{ ...proxy.proxy.config.clusters[0], panicThreshold: 0.3 }],
    });
    assert.deepEqual(changed.clusters.changed, ['default']);
    assert.notEqual(proxy.proxy.cluster('default'), before);
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
  });

  it('opens an added listener and closes a removed one', async (t) => {
    const b = await startEchoBackend({ name: 'b' });
    const proxy = await startTestProxy({ upstream: b.address });
    t.after(async () => {
      await proxy.close();
      b.kill();
    });
    const base = proxy.proxy.config;
    await proxy.proxy.reload({
      ...base,
      listeners: [...base.listeners, listenerConfig('second', { host: '127.0.0.1', port: 0 })],
    });
    const second = proxy.proxy.addresses().second;
    const client = echoClient(`127.0.0.1:${second.port}`);
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
    client.close();
    await proxy.proxy.reload(base);
    assert.deepEqual(Object.keys(proxy.proxy.addresses()), ['main']);
    const gone = echoClient(`127.0.0.1:${second.port}`);
    const r = await echoUnary(gone, {}, { deadlineMs: 1_000 });
    gone.close();
    assert.equal(r.status.code, grpc.status.UNAVAILABLE);
  });
});
