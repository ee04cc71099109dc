// The admin listener's JSON endpoints through a real proxy: /ready, /live, /clusters, /config
// (secrets redacted), POST /reload, and the page's assets.
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { describe, it } from 'node:test';
import type { ProxyView, Readiness } from '../../observability/admin/cluster-view.js';
import type { ReloadSummary } from '../../proxy/switchyard.js';
import { createResolver } from '../../resolver/create-resolver.js';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { eventually, testCluster } from '../support/proxy-harness.js';
import { adminJson, adminRequest, startObservedProxy } from './observed-proxy.js';

const SUMMARY: ReloadSummary = {
  listeners: { added: [], removed: [], changed: [] },
  clusters: { added: ['extra'], removed: [], changed: [], kept: ['default'] },
  routes: 2,
};

function errorOf(body: string): string {
  return (JSON.parse(body) as { error: string }).error;
}

describe('admin endpoints', () => {
  it('/ready answers 503 with the reason until an endpoint is ready, then 200', async (t) => {
    // A port that refuses connections now and gets a backend later.
    const first = await startEchoBackend({ name: 'first' });
    const port = first.port;
    first.kill();
    const proxy = await startObservedProxy({ upstream: `127.0.0.1:${port}` });
    const backends: EchoBackend[] = [];
    t.after(async () => {
      await proxy.close();
      for (const b of backends) b.kill();
    });

    const before = await adminJson<Readiness>(proxy.admin, '/ready');
    assert.equal(before.status, 503);
    assert.equal(before.body.ready, false);
    assert.equal(before.body.reasons.length, 1);
    assert.match(before.body.reasons[0], /cluster "default" has no endpoint that can take calls/);
    assert.match(
      before.body.reasons[0],
      new RegExp(`127\\.0\\.0\\.1:${port} (connecting|failing)`),
    );

    backends.push(await startEchoBackend({ name: 'late', port }));
    // The pool retries with backoff from 1 s.
    await eventually(
      async () => (await adminRequest(proxy.admin, '/ready')).status === 200,
      10_000,
      '/ready to answer 200',
    );
    const after = await adminJson<Readiness>(proxy.admin, '/ready');
    assert.deepEqual(after.body, { ready: true, reasons: [] });

    proxy.observability.shuttingDown();
    const draining = await adminJson<Readiness>(proxy.admin, '/ready');
    assert.equal(draining.status, 503);
    assert.deepEqual(draining.body.reasons, ['switchyard is shutting down']);
    // Liveness is not readiness.
    const live = await adminJson(proxy.admin, '/live');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { live: true });
  });

  it('/clusters shows every cluster, endpoint, route and listener', async (t) => {
    const a = await startEchoBackend({ name: 'a' });
    const b = await startEchoBackend({ name: 'b' });
    const c = await startEchoBackend({ name: 'c' });
    const proxy = await startObservedProxy({
      upstream: [a.address, b.address],
      cluster: { balancer: { policy: 'least_loaded', settings: {} } },
      clusters: [testCluster('side', c.address)],
      routes: [
        {
          name: 'to-side',
          match: { service: 'test.Echo', method: 'ServerStream', headers: [] },
          cluster: 'side',
        },
      ],
    });
    const client = echoClient(proxy.target);
    t.after(async () => {
      client.close();
      await proxy.close();
      for (const backend of [a, b, c]) backend.kill();
    });
    for (let i = 0; i < 10; i++) await echoUnaryOk(client, {});

    let view: ProxyView | undefined;
    await eventually(
      async () => {
        const res = await adminJson<ProxyView>(proxy.admin, '/clusters');
        view = res.body;
        const calls = view.clusters.flatMap((cl) => cl.endpoints).reduce((n, e) => n + e.calls, 0);
        return (
          calls === 10 &&
          view.clusters.every((cl) => cl.endpoints.every((e) => e.state === 'ready'))
        );
      },
      5_000,
      'every endpoint ready with 10 calls counted',
    );
    assert.ok(view);
    assert.equal(view.version, '9.9.9-test');
    assert.equal(view.inFlight, 0);
    assert.deepEqual(
      view.routes.map((r) => `${r.name}->${r.cluster}`),
      ['to-side->side', 'default->default'],
    );
    assert.deepEqual(
      view.listeners.map((l) => [l.name, l.address]),
      [['main', proxy.target]],
    );
    const byName = new Map(view.clusters.map((cl) => [cl.name, cl]));
    const main = byName.get('default')!;
    assert.equal(main.policy, 'least_loaded');
    assert.equal(main.target, `${a.address},${b.address}`);
    assert.equal(main.resolver.updates, 1);
    assert.equal(main.resolver.errors, 0);
    assert.deepEqual(main.endpoints.map((e) => e.key).sort(), [a.address, b.address].sort());
    for (const e of main.endpoints) {
      assert.equal(e.state, 'ready');
      assert.equal(e.connectivity, 'ready');
      assert.equal(e.health, 'unchecked');
      assert.equal(e.ejected, false);
      assert.equal(e.inFlight, 0);
      assert.equal(e.connections, 1);
      assert.ok(e.calls > 0, `${e.key} took calls`);
      assert.ok(typeof e.latencyMs === 'number' && e.latencyMs > 0);
    }
    const side = byName.get('side')!;
    assert.deepEqual(
      side.endpoints.map((e) => [e.key, e.state, e.calls]),
      [[c.address, 'ready', 0]],
    );
  });

  it('/config shows the running config with the Consul token and proxy password redacted', async (t) => {
    const backend = await startEchoBackend({ name: 'a' });
    const proxy = await startObservedProxy({
      clusters: [
        testCluster('users', 'consul:///users', {
          resolver: { token: 'acl-secret-7f3a', address: '127.0.0.1:8500' },
          proxy: 'http://alice:s3cret-pw@127.0.0.1:3128',
        }),
      ],
      routes: [{ name: 'all', match: { headers: [] }, cluster: 'users' }],
      // Every cluster resolves to the backend: this test is about what /config shows.
      proxyOptions: { createResolver: () => createResolver(`static:///${backend.address}`) },
    });
    t.after(async () => {
      await proxy.close();
      backend.kill();
    });
    const res = await adminRequest(proxy.admin, '/config');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.doesNotMatch(res.body, /acl-secret-7f3a|s3cret-pw/);
    const config = JSON.parse(res.body) as {
      clusters: { name: string; proxy: string; resolver: Record<string, string>; target: string }[];
      admin: { address: { host: string } };
    };
    const users = config.clusters.find((c) => c.name === 'users')!;
    assert.equal(users.resolver.token, '[redacted]');
    assert.equal(users.resolver.address, '127.0.0.1:8500');
    assert.equal(users.proxy, 'http://alice:[redacted]@127.0.0.1:3128');
    assert.equal(users.target, 'consul:///users');
    assert.equal(config.admin.address.host, '127.0.0.1');
  });

  it('POST /reload answers the summary, 400 for a bad config, 500 for a failure', async (t) => {
    let outcome: () => Promise<ReloadSummary> = () => Promise.resolve(SUMMARY);
    let reloads = 0;
    const proxy = await startObservedProxy(
      { upstream: 'static:///127.0.0.1:1' },
      {
        reload: () => {
          reloads++;
          return outcome();
        },
      },
    );
    t.after(() => proxy.close());

    const ok = await adminRequest(proxy.admin, '/reload', { method: 'POST' });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), SUMMARY);

    outcome = () =>
      Promise.reject(
        Object.assign(new Error('switchyard.yaml:3:5: clusters.users.target: required'), {
          code: 'SWY_ERR_CONFIG_INVALID',
        }),
      );
    const bad = await adminRequest(proxy.admin, '/reload', { method: 'POST' });
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body), {
      error: 'switchyard.yaml:3:5: clusters.users.target: required',
      code: 'SWY_ERR_CONFIG_INVALID',
    });

    outcome = () => Promise.reject(new Error('listener "side" cannot listen on 127.0.0.1:80'));
    const failed = await adminRequest(proxy.admin, '/reload', { method: 'POST' });
    assert.equal(failed.status, 500);
    assert.match(errorOf(failed.body), /cannot listen/);

    const get = await adminRequest(proxy.admin, '/reload');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');

    // A page of another origin cannot make a browser reload the proxy.
    const cross = await adminRequest(proxy.admin, '/reload', {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 403);
    const same = await adminRequest(proxy.admin, '/reload', {
      method: 'POST',
      headers: { origin: proxy.admin },
    });
    assert.equal(same.status, 500);
    assert.equal(reloads, 4);
  });

  it('POST /reload answers 404 when nothing can reload; unknown paths 404', async (t) => {
    const proxy = await startObservedProxy({ upstream: 'static:///127.0.0.1:1' });
    t.after(() => proxy.close());
    const reload = await adminRequest(proxy.admin, '/reload', { method: 'POST' });
    assert.equal(reload.status, 404);
    assert.match(errorOf(reload.body), /reload is not available/);
    const missing = await adminRequest(proxy.admin, '/nope?x=1');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { error: 'no such admin path: /nope' });
  });

  it('serves the page, its script and style, locked to its own origin', async (t) => {
    const proxy = await startObservedProxy({ upstream: 'static:///127.0.0.1:1' });
    t.after(() => proxy.close());
    const page = await adminRequest(proxy.admin, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.match(page.body, /<script src="admin.js" defer><\/script>/);
    assert.match(page.body, /aria-live="polite"/);
    const script = await adminRequest(proxy.admin, '/admin.js');
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    // It parses as a script (the browser test runs it).
    assert.doesNotThrow(() => new vm.Script(script.body, { filename: 'admin.js' }));
    const style = await adminRequest(proxy.admin, '/admin.css');
    assert.match(String(style.headers['content-type']), /^text\/css/);
    assert.match(style.body, /tr\[data-state="failing"\]/);
  });
});
