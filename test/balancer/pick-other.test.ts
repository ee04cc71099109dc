// A retry asks the balancer for another host: round robin moves on and keeps its place,
// ring_hash walks its ring to the key's next host.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Host } from '../../balancer/host.js';
import { RingHashPolicy, RING_HASH_DEFAULTS } from '../../balancer/ring-hash.js';
import { RoundRobinPolicy } from '../../balancer/round-robin.js';
import { seededRandom } from '../support/fake-clock.js';
import { endpointSet, readyBalancer } from '../support/balancer-fixtures.js';

const request = (key: string) => ({ path: '/svc.S/M', headers: { 'x-user-id': key } });

test('round robin: another host, and the rotation goes on from there', () => {
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(3)), endpointSet(3));
  const first = balancer.pick(request('a'))!;
  const other = balancer.pickOther(request('a'), new Set([first]))!;
  assert.notEqual(other.key, first.key);
  const next = balancer.pick(request('a'))!;
  assert.notEqual(next.key, other.key, 'the cursor moved past the retry host');
});

test('round robin: the avoided host when it is the only one', () => {
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(3)), endpointSet(1));
  const only = balancer.pick(request('a'))!;
  assert.equal(balancer.pickOther(request('a'), new Set([only])), only);
});

test('ring_hash: a retry goes to the next host on the ring, the same one for every call of a key', () => {
  const settings = { ...RING_HASH_DEFAULTS, hashKey: 'x-user-id' };
  const balancer = readyBalancer(new RingHashPolicy(settings, seededRandom(1)), endpointSet(5));
  for (let i = 0; i < 200; i++) {
    const key = `user-${i}`;
    const home = balancer.pick(request(key))!;
    const avoid = new Set<Host>([home]);
    const second = balancer.pickOther(request(key), avoid)!;
    assert.notEqual(second.key, home.key);
    assert.equal(balancer.pickOther(request(key), avoid)!.key, second.key);
    avoid.add(second);
    const third = balancer.pickOther(request(key), avoid)!;
    assert.ok(!avoid.has(third));
  }
});
