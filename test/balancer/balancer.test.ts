// The balancer around the policies: reconciling endpoint sets by key, priority levels,
// panic with pending health, change notifications, snapshots, and building from a cluster config.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from '../../balancer/balancer.js';
import type { Host } from '../../balancer/host.js';
import { createBalancer } from '../../balancer/create-balancer.js';
import type { HealthProbe } from '../../balancer/health-checker.js';
import { LeastLoadedPolicy } from '../../balancer/least-loaded.js';
import { RingHashPolicy } from '../../balancer/ring-hash.js';
import { RoundRobinPolicy } from '../../balancer/round-robin.js';
import { WeightedRoundRobinPolicy } from '../../balancer/weighted-round-robin.js';
import { quickStartConfig, DEFAULT_CLUSTER } from '../../config/defaults.js';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import { FakeClock, seededRandom } from '../support/fake-clock.js';
import {
  countPicks,
  endpointSet,
  NO_REQUEST,
  readyBalancer,
} from '../support/balancer-fixtures.js';

test('update() reconciles by key: staying hosts keep their state', () => {
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(1)), endpointSet(3));
  const [a, b, c] = [...balancer.hosts()];
  balancer.callStarted(a);
  const changes = balancer.update(
    createEndpointSet([
      createEndpoint({ address: '10.0.0.1', port: 50051, weight: 5 }),
      createEndpoint({ address: '10.0.0.3', port: 50051 }),
      createEndpoint({ address: '10.0.0.9', port: 50051 }),
    ]),
  );
  assert.deepEqual(
    changes.added.map((h) => h.key),
    ['10.0.0.9:50051'],
  );
  assert.deepEqual(changes.removed, [b]);
  assert.equal(b.removed, true);
  assert.equal(balancer.host(a.key), a);
  assert.equal(a.inFlight, 1);
  assert.equal(a.connectivity, 'ready');
  assert.equal(a.endpoint.weight, 5, 'the new endpoint value replaces the old');
  assert.equal(balancer.size, 3);
  assert.deepEqual(
    [...balancer.hosts()].map((h) => h.key),
    [a.key, c.key, '10.0.0.9:50051'],
  );
  // The new host is idle until its pool connects; calls go to the two ready ones.
  assert.equal(countPicks(() => balancer.pick(NO_REQUEST), 10).size, 2);
  // A call that ends on a removed host is still accounted on it.
  balancer.callStarted(b);
  balancer.callEnded(b, 3, false);
  assert.equal(b.calls, 1);
});

test('calls go to the lowest priority level that has fit hosts', () => {
  const set = endpointSet(4, (i) => ({ priority: i < 2 ? 0 : 1 }));
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(1)), set);
  const [p0a, p0b, p1a] = [...balancer.hosts()];
  const only = (keys: string[]) =>
    assert.deepEqual(
      [...countPicks(() => balancer.pick(NO_REQUEST), 40).keys()].sort(),
      keys.sort(),
    );
  only([p0a.key, p0b.key]);
  assert.equal(balancer.snapshot().priority, 0);
  balancer.setConnectivity(p0a, 'failing');
  only([p0b.key]);
  balancer.setConnectivity(p0b, 'connecting');
  only([p1a.key, [...balancer.hosts()][3].key]);
  assert.equal(balancer.snapshot().priority, 1);
  balancer.setConnectivity(p0a, 'ready');
  only([p0a.key]);
});

test('an unhealthy level gives way to a healthy one; panic only when no level is fit', async (t) => {
  const clock = new FakeClock();
  const verdicts = new Map<string, 'serving' | 'not_serving'>();
  const probe: HealthProbe = {
    check: (host) => Promise.resolve({ status: verdicts.get(host.key) ?? 'serving' }),
  };
  const set = endpointSet(4, (i) => ({ priority: i < 2 ? 0 : 1 }));
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(1)), set, {
    clock,
    healthCheck: {
      service: '',
      intervalMs: 1_000,
      timeoutMs: 100,
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    },
  });
  t.after(() => balancer.close());
  const [p0a, p0b, p1a, p1b] = [...balancer.hosts()];
  verdicts.set(p0a.key, 'not_serving');
  verdicts.set(p0b.key, 'not_serving');
  verdicts.set(p1a.key, 'not_serving');
  balancer.startHealthChecks(probe);
  await clock.advance(0);
  // Level 0 has no fit host; level 1 has 1 of 2 (not below 0.5): level 1's fit host.
  assert.deepEqual([...countPicks(() => balancer.pick(NO_REQUEST), 20).keys()], [p1b.key]);
  verdicts.set(p1b.key, 'not_serving');
  await clock.advance(1_100);
  // Nothing fit anywhere: panic over every ready host of level 0.
  assert.equal(balancer.panic, true);
  assert.deepEqual(
    [...countPicks(() => balancer.pick(NO_REQUEST), 20).keys()].sort(),
    [p0a.key, p0b.key].sort(),
  );
  const snap = balancer.snapshot();
  assert.equal(snap.panic, true);
  assert.equal(snap.priority, 0);
  assert.equal(snap.healthChecks, true);
  assert.equal(snap.hosts[0].health, 'unhealthy');
  assert.match(snap.hosts[0].healthReason, /NOT_SERVING/);
});

test('hosts waiting for their first check do not tip a level into panic', async (t) => {
  const clock = new FakeClock();
  // The first host answers; the others' first checks never do (within this test).
  const probe: HealthProbe = {
    check: (host) =>
      host.key === '10.0.0.1:50051'
        ? Promise.resolve({ status: 'serving' })
        : new Promise(() => {}),
  };
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(1)), endpointSet(1), {
    clock,
    healthCheck: {
      service: '',
      intervalMs: 1_000,
      timeoutMs: 500,
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    },
  });
  t.after(() => balancer.close());
  balancer.startHealthChecks(probe);
  await clock.advance(0);
  balancer.update(endpointSet(4));
  for (const host of [...balancer.hosts()]) balancer.setConnectivity(host, 'ready');
  await clock.advance(0);
  // 1 healthy, 3 pending: pending hosts are left out of the count, so no panic, and the
  // healthy host takes every call.
  assert.equal(balancer.panic, false);
  assert.equal(countPicks(() => balancer.pick(NO_REQUEST), 10).size, 1);
  assert.equal(balancer.anyConnecting(), true);
});

test('onChange fires when a waiting call may proceed; close() stops it', () => {
  const balancer = new Balancer(new RoundRobinPolicy());
  let changes = 0;
  const off = balancer.onChange(() => changes++);
  balancer.update(endpointSet(2));
  const [a] = [...balancer.hosts()];
  const afterUpdate = changes;
  assert.ok(afterUpdate >= 1);
  balancer.setConnectivity(a, 'ready');
  assert.equal(changes, afterUpdate + 1);
  balancer.setConnectivity(a, 'ready'); // no change, no event
  assert.equal(changes, afterUpdate + 1);
  off();
  balancer.setConnectivity(a, 'failing');
  assert.equal(changes, afterUpdate + 1);
  balancer.onChange(() => changes++);
  balancer.close();
  balancer.setConnectivity(a, 'ready');
  assert.equal(changes, afterUpdate + 1);
});

test('an endpoint failure counts as at least twice the latency estimate', () => {
  const balancer = readyBalancer(new LeastLoadedPolicy(), endpointSet(1));
  const [a] = [...balancer.hosts()];
  balancer.callStarted(a);
  balancer.callEnded(a, 10, false);
  balancer.callStarted(a);
  balancer.callEnded(a, 0.5, true); // a fast connect error
  assert.ok(a.latency.lastEstimate >= 20);
  assert.equal(a.failures, 1);
  assert.equal(a.calls, 2);
});

test('snapshot: every field, JSON-safe', () => {
  const clock = new FakeClock();
  const balancer = readyBalancer(
    new RoundRobinPolicy(),
    createEndpointSet([
      createEndpoint({
        address: '::1',
        port: 8080,
        weight: 3,
        priority: 1,
        hostname: 'a.test',
        metadata: { zone: 'z1' },
      }),
    ]),
    { clock },
  );
  const [h] = [...balancer.hosts()];
  balancer.setConnectivity(h, 'failing', 'connect ECONNREFUSED');
  balancer.setConnectivity(h, 'ready');
  balancer.callStarted(h);
  balancer.callStarted(h);
  balancer.callEnded(h, 12, false);
  const snap = balancer.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), {
    policy: 'round_robin',
    panic: false,
    priority: 1,
    eligible: 1,
    healthChecks: false,
    outlierDetection: false,
    hosts: [
      {
        key: '[::1]:8080',
        address: '::1',
        port: 8080,
        hostname: 'a.test',
        weight: 3,
        priority: 1,
        metadata: { zone: 'z1' },
        connectivity: 'ready',
        connectivityReason: '',
        health: 'unchecked',
        healthReason: '',
        ejected: false,
        ejectionRemainingMs: 0,
        ejections: 0,
        eligible: true,
        inFlight: 1,
        calls: 1,
        failures: 0,
        latencyMs: 12,
      },
    ],
  });
});

test('createBalancer builds every policy from a cluster config', async (t) => {
  const cluster = quickStartConfig({
    listen: '127.0.0.1:0',
    upstream: '127.0.0.1:1',
    balancer: 'least_loaded',
  }).clusters[0];
  const b1 = createBalancer(cluster);
  t.after(() => b1.close());
  assert.ok(b1.policy instanceof LeastLoadedPolicy);
  assert.equal(b1.policy.latencyDecayMs, 10_000);

  const clock = new FakeClock();
  const checks: string[] = [];
  const probe: HealthProbe = {
    check: (host, service) => {
      checks.push(`${host.key} ${service}`);
      return Promise.resolve({ status: 'serving' });
    },
  };
  const full = {
    ...DEFAULT_CLUSTER,
    name: 'users',
    target: 'static:///10.0.0.1:50051',
    balancer: {
      policy: 'ring_hash' as const,
      settings: { hashKey: 'X-User-Id', minRingSize: 64 },
    },
    healthCheck: {
      service: 'users.Users',
      intervalMs: 5_000,
      timeoutMs: 1_000,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    },
    outlierDetection: {
      consecutiveFailures: 5,
      failureRateThreshold: undefined,
      minimumCalls: 10,
      intervalMs: 10_000,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectedShare: 0.1,
    },
  };
  const b2 = createBalancer(full, { healthProbe: probe, clock, random: seededRandom(1) });
  t.after(() => b2.close());
  assert.ok(b2.policy instanceof RingHashPolicy);
  b2.update(endpointSet(2));
  for (const host of [...b2.hosts()]) b2.setConnectivity(host, 'ready');
  await clock.advance(0);
  assert.deepEqual(checks.sort(), ['10.0.0.1:50051 users.Users', '10.0.0.2:50051 users.Users']);
  const host = b2.pick({ path: '/users.Users/Get', headers: { 'x-user-id': 'alice' } });
  assert.equal(b2.pick({ path: '/users.Users/Get', headers: { 'x-user-id': 'alice' } }), host);
  assert.equal(b2.snapshot().outlierDetection, true);

  const b3 = createBalancer({
    ...full,
    balancer: { policy: 'weighted_round_robin', settings: {} },
  });
  t.after(() => b3.close());
  assert.ok(b3.policy instanceof WeightedRoundRobinPolicy);
  assert.equal(b3.healthChecking, false, 'no probe given: checks wait for startHealthChecks');
  b2.close();
  assert.equal(clock.pending, 0);
});

test('a burst of changes costs one rebuild, and pick() sees every change', () => {
  const inner = new RoundRobinPolicy(seededRandom(1));
  let rebuilds = 0;
  const policy = {
    name: 'counting',
    setHosts: (hosts: readonly Host[]) => {
      rebuilds++;
      inner.setHosts(hosts);
    },
    pick: () => inner.pick(),
  };
  const balancer = new Balancer(policy);
  balancer.update(endpointSet(10_000));
  for (const host of [...balancer.hosts()]) balancer.setConnectivity(host, 'ready');
  assert.equal(rebuilds, 0, 'nothing picked yet');
  assert.ok(balancer.pick(NO_REQUEST));
  assert.equal(rebuilds, 1);
  const [first] = [...balancer.hosts()];
  for (const host of [...balancer.hosts()])
    if (host !== first) balancer.setConnectivity(host, 'failing');
  assert.equal(balancer.pick(NO_REQUEST), first);
  assert.equal(rebuilds, 2);
});
