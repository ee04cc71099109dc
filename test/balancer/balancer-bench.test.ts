// The balancer benchmark runs, and pick() cost does not grow with the endpoint count
// (round_robin, least_loaded: O(1); weighted_round_robin, ring_hash: O(log n)).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancerBench } from '../../bench/balancer-bench.js';

test('pick() cost stays flat from 10 to 10,000 endpoints', async () => {
  const result = await balancerBench({ sizes: [10, 10_000], picks: 100_000, runs: 3 });
  assert.equal(result.rows.length, 8);
  for (const policy of ['round_robin', 'least_loaded', 'weighted_round_robin', 'ring_hash']) {
    const [small, large] = result.rows.filter((r) => r.policy === policy);
    assert.ok(small.nsPerPick > 0 && small.nsPerCall > 0 && large.rebuildMs >= 0);
    // A pick that scanned the endpoints would cost about 1,000× more at 10,000 than at 10;
    // cache misses and log n allow a few times more. The margin absorbs noisy machines.
    assert.ok(
      large.nsPerPick < 15 * small.nsPerPick + 200,
      `${policy}: ${small.nsPerPick} ns at 10, ${large.nsPerPick} ns at 10,000`,
    );
  }
});
