// ring_hash: stable affinity by a header, minimal remapping when hosts come and go, weights,
// and a hash that never changes between versions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Host } from '../../balancer/host.js';
import { RingHashPolicy, RING_HASH_DEFAULTS } from '../../balancer/ring-hash.js';
import { hashString } from '../../balancer/string-hash.js';
import { createEndpointSet } from '../../resolver/endpoint.js';
import { seededRandom } from '../support/fake-clock.js';
import { endpointSet, readyBalancer } from '../support/balancer-fixtures.js';

const settings = { ...RING_HASH_DEFAULTS, hashKey: 'x-user-id' };
const keys = Array.from({ length: 5_000 }, (_, i) => `user-${i}`);
const request = (key: string) => ({ path: '/svc.S/M', headers: { 'x-user-id': key } });

function mapping(pick: (key: string) => Host | null): Map<string, string> {
  return new Map(keys.map((k) => [k, pick(k)!.key]));
}

test('the hash function is stable (golden values)', () => {
  assert.equal(hashString(''), 2872998923);
  assert.equal(hashString('user-1'), 987844803);
  assert.equal(hashString('user-2'), 3070987946);
  assert.equal(hashString('ünïcode✓'), 1428386025);
});

test('a key always lands on the same host, in any proxy whatever the endpoint order', () => {
  const set = endpointSet(10);
  const balancer = readyBalancer(new RingHashPolicy(settings, seededRandom(1)), set);
  const first = mapping((k) => balancer.pick(request(k)));
  for (let round = 0; round < 3; round++) {
    for (const k of keys) assert.equal(balancer.pick(request(k))!.key, first.get(k));
  }
  // Another "proxy" that got the endpoints in reverse order maps every key the same way.
  const reversed = createEndpointSet([...set.endpoints].reverse());
  const other = readyBalancer(new RingHashPolicy(settings, seededRandom(99)), reversed);
  assert.deepEqual(
    mapping((k) => other.pick(request(k))),
    first,
  );
});

test('removing a host moves only its keys; adding it back moves only those keys back', () => {
  const set = endpointSet(10);
  const balancer = readyBalancer(new RingHashPolicy(settings, seededRandom(1)), set);
  const before = mapping((k) => balancer.pick(request(k)));
  const gone = set.endpoints[3].key;
  balancer.update(createEndpointSet(set.endpoints.filter((e) => e.key !== gone)));
  const after = mapping((k) => balancer.pick(request(k)));
  let moved = 0;
  const receivers = new Set<string>();
  for (const k of keys) {
    if (before.get(k) === gone) {
      moved++;
      assert.notEqual(after.get(k), gone);
      receivers.add(after.get(k)!);
    } else {
      assert.equal(after.get(k), before.get(k), `${k} moved though its host stayed`);
    }
  }
  assert.ok(moved > 200, `the removed host had ${moved} keys`);
  assert.ok(receivers.size >= 5, 'its keys spread over the others, not onto one neighbour');

  // The host becoming not ready (instead of leaving the set) behaves the same.
  balancer.update(set);
  const hostGone = balancer.host(gone)!;
  balancer.setConnectivity(hostGone, 'ready');
  assert.deepEqual(
    mapping((k) => balancer.pick(request(k))),
    before,
  );
  balancer.setConnectivity(hostGone, 'failing');
  assert.deepEqual(
    mapping((k) => balancer.pick(request(k))),
    after,
  );
});

test('keys spread evenly, and by weight', () => {
  const policy = new RingHashPolicy({ ...settings, minRingSize: 10_000 }, seededRandom(1));
  const balancer = readyBalancer(policy, endpointSet(10));
  assert.ok(balancer.eligible === 10 && policy.ringSize >= 10_000);
  const counts = new Map<string, number>();
  for (const k of keys) {
    const key = balancer.pick(request(k))!.key;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of counts) assert.ok(Math.abs(n / keys.length - 0.1) < 0.03, `${key}: ${n}`);

  const weighted = readyBalancer(
    new RingHashPolicy({ ...settings, minRingSize: 10_000 }, seededRandom(1)),
    endpointSet(2, (i) => ({ weight: i === 0 ? 1 : 3 })),
  );
  let heavy = 0;
  const [, second] = [...weighted.hosts()];
  for (const k of keys) if (weighted.pick(request(k)) === second) heavy++;
  assert.ok(Math.abs(heavy / keys.length - 0.75) < 0.04, `weight 3 of 4 got ${heavy}`);
});

test('calls without the key (or with no hashKey) spread at random; a repeated header uses its first value', () => {
  const random = seededRandom(8);
  const balancer = readyBalancer(new RingHashPolicy(settings, random), endpointSet(4));
  const counts = new Map<string, number>();
  for (let i = 0; i < 4_000; i++) {
    const key = balancer.pick({ path: '/a.B/C', headers: {} })!.key;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 4);
  for (const n of counts.values()) assert.ok(n > 700 && n < 1_300, `random fallback ${n}`);

  const single = balancer.pick(request('user-7'));
  const repeated = balancer.pick({ path: '', headers: { 'x-user-id': ['user-7', 'other'] } });
  assert.equal(repeated, single);

  const noKey = readyBalancer(new RingHashPolicy(RING_HASH_DEFAULTS, random), endpointSet(4));
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(noKey.pick(request('same'))!.key);
  assert.equal(seen.size, 4, 'without hashKey the header is ignored');
});

test('ring size: at least minRingSize, density kept while the set shrinks a little', () => {
  const policy = new RingHashPolicy({ ...settings, minRingSize: 1_000 }, seededRandom(1));
  const balancer = readyBalancer(policy, endpointSet(10));
  // Reading `eligible` applies pending changes, as a pick would.
  const ringAfter = (b: typeof balancer, p: RingHashPolicy) => (b.eligible, p.ringSize);
  assert.equal(ringAfter(balancer, policy), 1_000);
  balancer.update(endpointSet(6));
  assert.equal(ringAfter(balancer, policy), 600, 'the same 100 points per host');
  balancer.update(endpointSet(4));
  assert.equal(
    ringAfter(balancer, policy),
    1_000,
    'below half the minimum the density is chosen again',
  );
  balancer.update(createEndpointSet([]));
  assert.equal(ringAfter(balancer, policy), 0);
  assert.equal(balancer.pick(request('x')), null);
  assert.equal(policy.hostFor('x'), null);

  // Growing past four times the minimum chooses the density again (4 points a host here).
  const capped = new RingHashPolicy({ hashKey: 'k', minRingSize: 100, maxRingSize: 1_000 });
  const big = readyBalancer(capped, endpointSet(2));
  assert.equal(ringAfter(big, capped), 100);
  big.update(endpointSet(8));
  for (const host of big.hosts()) big.setConnectivity(host, 'ready');
  assert.equal(ringAfter(big, capped), 400, '50 points a host while within the band');
  big.update(endpointSet(30));
  for (const host of big.hosts()) big.setConnectivity(host, 'ready');
  assert.equal(ringAfter(big, capped), 120);
});
