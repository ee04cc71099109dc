// The cluster as a state machine over a fake transport and a fake clock: calls that arrive
// before any endpoint is ready wait for one, for at most the connect timeout, and an endpoint
// that cannot be reached turns waiting into an immediate UNAVAILABLE.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from '../../balancer/create-balancer.js';
import { DEFAULT_CLUSTER } from '../../config/defaults.js';
import { parseTarget } from '../../common/target.js';
import type { ClusterConfig } from '../../config/types.js';
import { silentLogger } from '../../common/log.js';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import { StaticResolver } from '../../resolver/static-resolver.js';
import { Cluster, type WaitingCall } from '../../upstream/cluster.js';
import { FakeClock, flushMicrotasks, seededRandom } from '../support/fake-clock.js';
import { FakeDialer, FakeTransport } from '../support/fake-transport.js';

function setup(addresses = ['10.0.0.1']) {
  const clock = new FakeClock();
  const dialer = new FakeDialer();
  const transport = new FakeTransport();
  const config: ClusterConfig = {
    ...DEFAULT_CLUSTER,
    name: 'test',
    target: 'static:///10.0.0.1:50051',
    parsedTarget: parseTarget('static:///10.0.0.1:50051'),
    keepalive: { timeMs: 0, timeoutMs: 20_000, idleTimeMs: 0 },
  };
  const endpoints = addresses.map((address) => createEndpoint({ address, port: 50051 }));
  const random = seededRandom(11);
  const cluster = new Cluster(config, {
    resolver: new StaticResolver('static:///test', createEndpointSet(endpoints)),
    balancer: createBalancer(config, { clock, random }),
    dialer,
    logger: silentLogger(),
    poolSettings: {},
    clock,
    random: () => 0.5,
    transport,
  });
  return { clock, dialer, transport, cluster };
}

/** Waits as a call does: picks again on every change, and queues again while it may wait. */
class Waiter implements WaitingCall {
  readonly events: string[] = [];
  constructor(private readonly cluster: Cluster) {}
  retryPick(): void {
    const host = this.cluster.pick(request);
    if (host !== null) this.events.push(`picked ${host.key}`);
    else if (this.cluster.canWait()) this.cluster.enqueue(this);
    else this.events.push(`unavailable: ${this.cluster.unavailableReason()}`);
  }
  waitExpired(reason: string): void {
    this.events.push(`expired: ${reason}`);
  }
}

const request = { path: '/pkg.Svc/M', headers: {} };

describe('cluster', () => {
  it('a call that arrives before the resolver answers waits, and goes once an endpoint is ready', async () => {
    const t = setup();
    assert.equal(t.cluster.pick(request), null);
    assert.equal(t.cluster.canWait(), true);
    const waiter = new Waiter(t.cluster);
    t.cluster.enqueue(waiter);
    await flushMicrotasks();
    assert.equal(t.dialer.dials.length, 1, 'the endpoint is dialed as soon as it is known');
    t.dialer.next().succeed();
    await flushMicrotasks();
    assert.deepEqual(waiter.events, []);
    t.transport.last.settings();
    await flushMicrotasks();
    assert.deepEqual(waiter.events, ['picked 10.0.0.1:50051']);
    t.cluster.destroy();
  });

  it('a waiting call fails after the connect timeout when no endpoint becomes ready', async () => {
    const t = setup();
    await flushMicrotasks();
    assert.equal(t.dialer.dials.length, 1, 'a dial that takes its time');
    const waiter = new Waiter(t.cluster);
    t.cluster.enqueue(waiter);
    await t.clock.advance(4_999);
    assert.deepEqual(waiter.events, []);
    await t.clock.advance(1);
    assert.equal(waiter.events.length, 1);
    assert.match(waiter.events[0], /^expired: .*no endpoint became ready within 5000 ms/);
    t.cluster.destroy();
  });

  it('once every endpoint failed to connect, calls fail at once and say why', async () => {
    const t = setup(['10.0.0.1', '10.0.0.2']);
    await flushMicrotasks();
    const waiter = new Waiter(t.cluster);
    t.cluster.enqueue(waiter);
    t.dialer.next().fail(new Error('connection refused'));
    t.dialer.next().fail(new Error('connection refused'));
    await flushMicrotasks();
    assert.equal(t.cluster.canWait(), false);
    assert.equal(waiter.events.length, 1);
    assert.match(waiter.events[0], /^unavailable: .*connection refused/);
    assert.match(t.cluster.unavailableReason(), /connection refused/);
    // The endpoints retry after their backoff (1 s without jitter) and the cluster recovers.
    await t.clock.advance(1_000);
    assert.equal(t.dialer.dials.length, 2);
    t.dialer.next().succeed();
    await flushMicrotasks();
    t.transport.last.settings();
    assert.ok(t.cluster.pick(request));
    t.cluster.destroy();
  });
});
