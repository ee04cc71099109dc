// round_robin: even rotation, random start, only ready hosts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobinPolicy } from '../../balancer/round-robin.js';
import { seededRandom } from '../support/fake-clock.js';
import {
  countPicks,
  endpointSet,
  NO_REQUEST,
  readyBalancer,
} from '../support/balancer-fixtures.js';

test('3,000 picks over 3 ready hosts land within ±1 of 1,000 each', () => {
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(7)), endpointSet(3));
  const counts = countPicks(() => balancer.pick(NO_REQUEST), 3_000);
  assert.equal(counts.size, 3);
  for (const [key, n] of counts) assert.ok(Math.abs(n - 1_000) <= 1, `${key}: ${n}`);
});

test('the rotation starts at a random offset', () => {
  const firsts = new Set<string>();
  const random = seededRandom(42);
  for (let i = 0; i < 60; i++) {
    const balancer = readyBalancer(new RoundRobinPolicy(random), endpointSet(3));
    firsts.add(balancer.pick(NO_REQUEST)!.key);
  }
  assert.equal(firsts.size, 3, 'every host should sometimes be first');

  // And the offset is the injected random number's: 0.5 of 3 hosts starts at the second.
  const set = endpointSet(3);
  const balancer = readyBalancer(new RoundRobinPolicy(() => 0.5), set);
  assert.equal(balancer.pick(NO_REQUEST)!.key, set.endpoints[1].key);
  assert.equal(balancer.pick(NO_REQUEST)!.key, set.endpoints[2].key);
  assert.equal(balancer.pick(NO_REQUEST)!.key, set.endpoints[0].key);
});

test('only ready hosts are picked, and none ready gives null', () => {
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(1)), endpointSet(3));
  const [a, b, c] = [...balancer.hosts()];
  balancer.setConnectivity(b, 'failing', 'connect ECONNREFUSED');
  const counts = countPicks(() => balancer.pick(NO_REQUEST), 100);
  assert.deepEqual([...counts.keys()].sort(), [a.key, c.key].sort());
  assert.equal(counts.get(a.key), 50);
  balancer.setConnectivity(a, 'connecting');
  balancer.setConnectivity(c, 'idle');
  assert.equal(balancer.pick(NO_REQUEST), null);
  assert.equal(balancer.anyConnecting(), true);
  balancer.setConnectivity(a, 'failing');
  balancer.setConnectivity(c, 'failing');
  assert.equal(balancer.anyConnecting(), false);
});
