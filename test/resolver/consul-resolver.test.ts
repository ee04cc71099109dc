// The consul resolver against the HTTP double: blocking queries, index rules, filters, failures.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createResolver } from '../../resolver/create-resolver.js';
import type { ConsulResolverOptions, ResolverOptions } from '../../resolver/options.js';
import type { Resolver } from '../../resolver/resolver.js';
import { ConsulDouble, type ConsulDoubleOptions } from '../support/consul-double.js';
import { Recorder } from './recorder.js';

/** Short waits and retries so each test finishes in a second or two. */
const FAST: Partial<ConsulResolverOptions> = {
  waitMs: 2_000,
  timeoutMs: 1_000,
  minIntervalMs: 20,
  backoffInitialMs: 50,
  backoffMaxMs: 200,
};

async function startConsul(
  t: TestContext,
  options: ConsulDoubleOptions = {},
): Promise<ConsulDouble> {
  const consul = await ConsulDouble.start(options);
  t.after(() => consul.close());
  return consul;
}

function watch(
  t: TestContext,
  target: string,
  consul: Partial<ConsulResolverOptions> = {},
  extra: Omit<ResolverOptions, 'consul'> = {},
): { resolver: Resolver; rec: Recorder } {
  const resolver = createResolver(target, {
    consul: { ...FAST, ...consul },
    env: {},
    random: () => 0.5,
    ...extra,
  });
  t.after(() => resolver.close());
  const rec = new Recorder();
  resolver.subscribe(rec);
  return { resolver, rec };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

void describe('consul resolver', () => {
  void it('turns passing instances into endpoints (address fallback, weights, metadata)', async (t) => {
    const consul = await startConsul(t);
    consul.register({
      id: 'a',
      service: 'users',
      address: '10.0.0.1',
      port: 5001,
      weights: { passing: 10, warning: 1 },
      tags: ['v2'],
      meta: { zone: 'a' },
    });
    consul.register({ id: 'b', service: 'users', nodeAddress: '10.0.0.2', port: 5002 });
    consul.register({
      id: 'c',
      service: 'users',
      address: '10.0.0.3',
      port: 5003,
      status: 'critical',
    });
    consul.register({
      id: 'd',
      service: 'users',
      address: '10.0.0.4',
      port: 5004,
      status: 'warning',
    });
    consul.register({ id: 'e', service: 'other', address: '10.0.0.5', port: 5005 });
    const { rec } = watch(t, `consul://${consul.address}/users`);
    await rec.waitFor((r) => r.updates.length === 1);
    assert.deepEqual(
      rec.updates[0].endpoints.map((e) => [e.key, e.weight]),
      [
        ['10.0.0.1:5001', 10],
        ['10.0.0.2:5002', 1],
      ],
    );
    assert.deepEqual(rec.updates[0].endpoints[0].metadata, {
      zone: 'a',
      'consul.node': 'node-a',
      'consul.serviceId': 'a',
      'consul.tags': 'v2',
    });
    assert.equal(consul.requests[0].query.passing, 'true');
  });

  void it('sees a change within a second through a blocking query, without polling', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { rec } = watch(t, `consul://${consul.address}/users`, { waitMs: 5_000 });
    await rec.waitFor((r) => r.updates.length === 1);
    await sleep(300);
    assert.equal(consul.held, 1, 'the second query is held open');
    const second = consul.requests[1];
    assert.equal(second.index, consul.indexOf('users'));
    assert.equal(second.query.wait, '5000ms');
    const changedAt = performance.now();
    consul.register({ id: 'b', service: 'users', address: '10.0.0.2', port: 1 });
    await rec.waitFor((r) => r.updates.length === 2, 1_000, 'the change within a second');
    assert.ok(performance.now() - changedAt < 1_000);
    assert.deepEqual(rec.keys, ['10.0.0.1:1', '10.0.0.2:1']);
    consul.deregister('a');
    await rec.waitFor((r) => r.updates.length === 3, 1_000, 'deregistration');
    assert.deepEqual(rec.keys, ['10.0.0.2:1']);
    assert.ok(consul.requests.length <= 5, `no polling (${consul.requests.length} requests)`);
  });

  void it('re-asks after the wait elapses with nothing changed, and emits nothing', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { rec } = watch(t, `consul://${consul.address}/users`, { waitMs: 1_000 });
    await rec.waitFor((r) => r.updates.length === 1);
    await sleep(1_400);
    assert.ok(
      consul.requests.length >= 3,
      `a fresh blocking query after the wait (${consul.requests.length})`,
    );
    assert.ok(consul.requests.length <= 4);
    assert.equal(rec.events.length, 1);
  });

  void it('filters by tags, datacenter, namespace and a filter expression', async (t) => {
    const consul = await startConsul(t, { datacenters: ['dc1', 'dc2'] });
    consul.register({
      id: 'a',
      service: 'users',
      address: '10.0.0.1',
      port: 1,
      tags: ['v2', 'grpc'],
      datacenter: 'dc2',
      namespace: 'team',
    });
    consul.register({
      id: 'b',
      service: 'users',
      address: '10.0.0.2',
      port: 1,
      tags: ['v2'],
      datacenter: 'dc2',
      namespace: 'team',
    });
    consul.register({
      id: 'c',
      service: 'users',
      address: '10.0.0.3',
      port: 1,
      tags: ['v2', 'grpc'],
      datacenter: 'dc1',
      namespace: 'team',
    });
    consul.register({
      id: 'd',
      service: 'users',
      address: '10.0.0.4',
      port: 1,
      tags: ['v2', 'grpc'],
      datacenter: 'dc2',
    });
    consul.register({
      id: 'e',
      service: 'users',
      address: '10.0.0.5',
      port: 1,
      tags: ['v2', 'grpc'],
      datacenter: 'dc2',
      namespace: 'team',
      meta: { zone: 'b' },
    });
    const filter = encodeURIComponent('Service.Meta.zone == "b"');
    const { rec } = watch(
      t,
      `consul://${consul.address}/users?tag=v2&tag=grpc&dc=dc2&ns=team&filter=${filter}`,
    );
    await rec.waitFor((r) => r.updates.length === 1);
    assert.deepEqual(rec.keys, ['10.0.0.5:1']);
    const req = consul.requests[0];
    assert.equal(req.namespace, 'team');
    assert.equal(req.query.dc, 'dc2');
    assert.equal(
      req.query.filter,
      '"v2" in Service.Tags and "grpc" in Service.Tags and (Service.Meta.zone == "b")',
    );
  });

  void it('takes the datacenter and namespace from options when the target has none', async (t) => {
    const consul = await startConsul(t, { datacenters: ['dc1', 'dc2'] });
    consul.register({
      id: 'a',
      service: 'users',
      address: '10.0.0.1',
      port: 1,
      datacenter: 'dc2',
      namespace: 'ops',
    });
    const { rec } = watch(t, `consul://${consul.address}/users`, {
      datacenter: 'dc2',
      namespace: 'ops',
    });
    await rec.waitFor((r) => r.updates.length === 1);
    assert.deepEqual(rec.keys, ['10.0.0.1:1']);
  });

  void it('reaches the agent named by CONSUL_HTTP_ADDR and sends CONSUL_HTTP_TOKEN', async (t) => {
    const consul = await startConsul(t, { token: 's3cr3t' });
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { rec } = watch(
      t,
      'consul:///users',
      {},
      { env: { CONSUL_HTTP_ADDR: `http://${consul.address}`, CONSUL_HTTP_TOKEN: 's3cr3t' } },
    );
    await rec.waitFor((r) => r.updates.length === 1);
    assert.equal(consul.requests[0].token, 's3cr3t');
  });

  void it('reports a refused ACL token, and works with the token from options', async (t) => {
    const consul = await startConsul(t, { token: 's3cr3t' });
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const denied = watch(t, `consul://${consul.address}/users`);
    await denied.rec.waitFor((r) => r.errors.length >= 1);
    assert.match(
      denied.rec.errors[0].message,
      /consul:\/\/127\.0\.0\.1:\d+\/users: .*refused the ACL token \(403/,
    );
    denied.resolver.close();
    const allowed = watch(t, `consul://${consul.address}/users`, { token: 's3cr3t' });
    await allowed.rec.waitFor((r) => r.updates.length === 1);
  });

  void it('reports an unknown service as not-found', async (t) => {
    const consul = await startConsul(t);
    const { resolver, rec } = watch(t, `consul://${consul.address}/nope`);
    await rec.waitFor((r) => r.notFounds.length === 1);
    assert.match(
      rec.notFounds[0].message,
      /^consul:\/\/127\.0\.0\.1:\d+\/nope: no passing instances of "nope"/,
    );
    assert.equal(resolver.current(), undefined);
    // Registering it later brings it in through the blocking query.
    consul.register({ id: 'a', service: 'nope', address: '10.0.0.1', port: 1 });
    await rec.waitFor((r) => r.updates.length === 1, 1_000);
  });

  void it('drops the set when every instance fails its checks, and restores it', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { resolver, rec } = watch(t, `consul://${consul.address}/users`);
    await rec.waitFor((r) => r.updates.length === 1);
    consul.setStatus('a', 'critical');
    await rec.waitFor((r) => r.notFounds.length === 1, 1_000);
    assert.equal(resolver.current(), undefined);
    consul.setStatus('a', 'passing');
    await rec.waitFor((r) => r.updates.length === 2, 1_000);
  });

  void it('reports answers that are not JSON with a clear error naming the target, then recovers', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    consul.injectFaults(
      { body: '<html>proxy login</html>', contentType: 'text/html' },
      { body: '[{"Node":', contentType: 'application/json' },
    );
    const { rec } = watch(t, `consul://${consul.address}/users`);
    await rec.waitFor((r) => r.updates.length === 1);
    assert.equal(rec.errors.length, 2);
    assert.equal(rec.errors[0].code, 'SWY_ERR_RESOLVE_BAD_ANSWER');
    assert.match(
      rec.errors[0].message,
      /^consul:\/\/127\.0\.0\.1:\d+\/users: answer from http:\/\/127\.0\.0\.1:\d+ is not a JSON list \(text\/html\)/,
    );
    assert.match(rec.errors[1].message, /is not JSON/);
  });

  void it('keeps the last good set through 500s and an unreachable agent, with exponential backoff', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { resolver, rec } = watch(t, `consul://${consul.address}/users`, {
      waitMs: 1_000,
      backoffInitialMs: 100,
      backoffMaxMs: 1_000,
    });
    await rec.waitFor((r) => r.updates.length === 1);
    const good = resolver.current();
    await sleep(100);
    assert.equal(consul.held, 1);
    consul.injectFaults(
      { status: 500, body: 'rpc error: No cluster leader', contentType: 'text/plain' },
      { status: 500 },
      { status: 500 },
    );
    // The held query returns with the change below; the next three fail.
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    await rec.waitFor((r) => r.errors.length === 3, 3_000);
    assert.match(rec.errors[0].message, /failed \(500: rpc error: No cluster leader\)/);
    assert.equal(resolver.current(), good);
    // requests[1] was held and answered by the change; [2], [3], [4] got the 500s.
    const starts = consul.requests.slice(2, 5).map((r) => r.at);
    const gaps = [starts[1] - starts[0], starts[2] - starts[1]];
    assert.ok(
      gaps[0] >= 90 && gaps[1] >= 150 && gaps[1] > gaps[0],
      `backoff grows: ${gaps.map(Math.round).join(', ')} ms`,
    );
    await consul.close();
    await rec.waitFor(
      (r) => r.errors.some((e) => /cannot reach Consul .*ECONNREFUSED/.test(e.message)),
      3_000,
    );
    assert.equal(resolver.current(), good);
    assert.equal(rec.notFounds.length, 0);
  });

  void it('times out a slow agent and reports it', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    consul.injectFaults({ delayMs: 1_500 });
    const { rec } = watch(t, `consul://${consul.address}/users`, { timeoutMs: 300 });
    await rec.waitFor((r) => r.updates.length === 1, 3_000);
    assert.match(rec.errors[0].message, /did not answer in time/);
  });

  void it('starts over when the index goes backwards', async (t) => {
    const consul = await startConsul(t, { startIndex: 100n });
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { rec } = watch(t, `consul://${consul.address}/users`);
    await rec.waitFor((r) => r.updates.length === 1);
    await sleep(100);
    assert.equal(consul.requests[1].index, 101n);
    consul.resetIndex(5n);
    await sleep(300);
    const after = consul.requests.slice(2);
    assert.equal(after[0].index, undefined, 'non-blocking query after the reset');
    assert.equal(after[1].index, 5n, 'then blocking on the new index');
  });

  void it('treats an index of 0 as 1', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    consul.injectFaults({ index: '0' });
    const { rec } = watch(t, `consul://${consul.address}/users`);
    await rec.waitFor((r) => r.notFounds.length === 1);
    await sleep(100);
    assert.equal(consul.requests[1].index, 1n);
  });

  void it('rate-limits the loop when answers come back at once', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    // Every answer carries a new index, so each query returns immediately.
    consul.injectFaults(
      ...Array.from({ length: 50 }, (_, i) => ({ index: String(1_000 + i), body: '[]' })),
    );
    const { rec } = watch(t, `consul://${consul.address}/users`, { minIntervalMs: 200 });
    await rec.waitFor((r) => r.notFounds.length === 1);
    await sleep(1_000);
    assert.ok(
      consul.requests.length <= 7,
      `at most one query per 200 ms (${consul.requests.length})`,
    );
    assert.ok(consul.requests.length >= 4);
  });

  void it('close() aborts the blocking query and stops the loop', async (t) => {
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { resolver, rec } = watch(t, `consul://${consul.address}/users`, { waitMs: 30_000 });
    await rec.waitFor((r) => r.updates.length === 1);
    await sleep(100);
    assert.equal(consul.held, 1);
    resolver.close();
    await sleep(200);
    assert.equal(consul.held, 0);
    assert.equal(consul.requests.at(-1)?.outcome, 'aborted');
    const count = consul.requests.length;
    consul.register({ id: 'b', service: 'users', address: '10.0.0.2', port: 1 });
    await sleep(200);
    assert.equal(consul.requests.length, count);
    assert.equal(rec.events.length, 1);
  });

  void it('uses an injected HTTP agent and never destroys it', async (t) => {
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    let sockets = 0;
    const original = agent.createConnection.bind(agent);
    agent.createConnection = (...args: Parameters<typeof original>) => {
      sockets++;
      return original(...args);
    };
    const consul = await startConsul(t);
    consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
    const { resolver, rec } = watch(
      t,
      `consul://${consul.address}/users`,
      {},
      { consulAgent: agent },
    );
    await rec.waitFor((r) => r.updates.length === 1);
    assert.ok(sockets >= 1);
    resolver.close();
    assert.equal((agent as unknown as { destroyed?: boolean }).destroyed ?? false, false);
  });
});
