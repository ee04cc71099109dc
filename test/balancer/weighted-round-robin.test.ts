// weighted_round_robin: shares follow resolver weights, picks are spread smoothly, and the
// per-pick cost does not depend on the set size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WeightedRoundRobinPolicy } from '../../balancer/weighted-round-robin.js';
import { seededRandom } from '../support/fake-clock.js';
import {
  countPicks,
  endpointSet,
  NO_REQUEST,
  readyBalancer,
} from '../support/balancer-fixtures.js';

function longestRun(sequence: readonly string[]): Map<string, number> {
  const runs = new Map<string, number>();
  let run = 0;
  for (let i = 0; i < sequence.length; i++) {
    run = i > 0 && sequence[i] === sequence[i - 1] ? run + 1 : 1;
    runs.set(sequence[i], Math.max(runs.get(sequence[i]) ?? 0, run));
  }
  return runs;
}

test('weights 1:2:7 give shares of 10/20/70 %', () => {
  const weights = [1, 2, 7];
  const set = endpointSet(3, (i) => ({ weight: weights[i] }));
  const balancer = readyBalancer(new WeightedRoundRobinPolicy(seededRandom(3)), set);
  const counts = countPicks(() => balancer.pick(NO_REQUEST), 10_000);
  for (let i = 0; i < 3; i++) {
    const share = counts.get(set.endpoints[i].key)! / 10_000;
    assert.ok(Math.abs(share - weights[i] / 10) < 0.002, `weight ${weights[i]}: share ${share}`);
  }
});

test('picks are spread, not bunched', () => {
  const weights = [1, 2, 7];
  const set = endpointSet(3, (i) => ({ weight: weights[i] }));
  const balancer = readyBalancer(new WeightedRoundRobinPolicy(seededRandom(5)), set);
  const sequence: string[] = [];
  for (let i = 0; i < 1_000; i++) sequence.push(balancer.pick(NO_REQUEST)!.key);
  const runs = longestRun(sequence);
  // The heavy host is picked 7 times per 10 but never more than 4 times in a row, the
  // others never twice in a row.
  assert.ok(runs.get(set.endpoints[2].key)! <= 4, `heavy run ${runs.get(set.endpoints[2].key)}`);
  assert.equal(runs.get(set.endpoints[0].key), 1);
  assert.equal(runs.get(set.endpoints[1].key), 1);
  // In every window of 10 picks, each host's count is within 1 of its weight.
  for (let start = 0; start + 10 <= sequence.length; start++) {
    const window = sequence.slice(start, start + 10);
    for (let i = 0; i < 3; i++) {
      const n = window.filter((k) => k === set.endpoints[i].key).length;
      assert.ok(Math.abs(n - weights[i]) <= 1, `window at ${start}: host ${i} ${n} times`);
    }
  }

  // Equal-ish weights: nobody is picked twice in a row.
  const even = endpointSet(4, (i) => ({ weight: [5, 5, 6, 5][i] }));
  const evenBalancer = readyBalancer(new WeightedRoundRobinPolicy(seededRandom(9)), even);
  const evenSequence: string[] = [];
  for (let i = 0; i < 2_100; i++) evenSequence.push(evenBalancer.pick(NO_REQUEST)!.key);
  for (const [key, run] of longestRun(evenSequence)) assert.ok(run <= 2, `${key}: run ${run}`);
});

test('weight 0 gets a very small share; all zero means equal shares', () => {
  const set = endpointSet(3, (i) => ({ weight: [0, 10, 10][i] }));
  const balancer = readyBalancer(new WeightedRoundRobinPolicy(seededRandom(1)), set);
  const counts = countPicks(() => balancer.pick(NO_REQUEST), 20_100);
  const zero = counts.get(set.endpoints[0].key) ?? 0;
  assert.ok(zero > 0 && zero <= 102, `weight-0 host got ${zero}`);

  const zeros = endpointSet(2, () => ({ weight: 0 }));
  const even = readyBalancer(new WeightedRoundRobinPolicy(seededRandom(1)), zeros);
  const evenCounts = countPicks(() => even.pick(NO_REQUEST), 1_000);
  assert.deepEqual([...evenCounts.values()], [500, 500]);
});

test('weights follow endpoint updates, and only ready hosts share', () => {
  const policy = new WeightedRoundRobinPolicy(seededRandom(2));
  const balancer = readyBalancer(
    policy,
    endpointSet(2, () => ({ weight: 1 })),
  );
  balancer.update(endpointSet(2, (i) => ({ weight: i === 0 ? 3 : 1 })));
  const counts = countPicks(() => balancer.pick(NO_REQUEST), 4_000);
  assert.deepEqual(
    [...counts.values()].sort((a, b) => a - b),
    [1_000, 3_000],
  );
  const [first] = [...balancer.hosts()];
  balancer.setConnectivity(first, 'failing');
  const after = countPicks(() => balancer.pick(NO_REQUEST), 100);
  assert.equal(after.size, 1);
  assert.equal(after.get(first.key), undefined);
});

test('a large set keeps exact proportions (heap order is right)', () => {
  const random = seededRandom(11);
  const weights = Array.from({ length: 1_000 }, () => 1 + Math.floor(random() * 9));
  const total = weights.reduce((a, b) => a + b, 0);
  const set = endpointSet(1_000, (i) => ({ weight: weights[i] }));
  const balancer = readyBalancer(new WeightedRoundRobinPolicy(random), set);
  const counts = countPicks(() => balancer.pick(NO_REQUEST), total * 10);
  for (let i = 0; i < 1_000; i++) {
    const n = counts.get(set.endpoints[i].key) ?? 0;
    assert.ok(Math.abs(n - weights[i] * 10) <= 1, `host ${i} weight ${weights[i]}: ${n}`);
  }
});
