// The balancer benchmark runs, and pick() cost does not grow with the endpoint count
// (round_robin, least_loaded: O(1); weighted_round_robin, ring_hash: O(log n)).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancerBench } from '../../bench/balancer-bench.js';

test('pick() cost stays flat from 10 to 10,000 endpoints', async () => {
  // A pick that scanned the endpoints would cost about 1,000× more at 10,000 than at 10;
  // cache misses and log n allow a few times more. Timing on a busy machine is noisy, so the
  // fastest of several runs counts, and a failing measurement is repeated before failing.
  const policies = ['round_robin', 'least_loaded', 'weighted_round_robin', 'ring_hash'];
  let problems: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await balancerBench({ sizes: [10, 10_000], picks: 100_000, runs: 5 });
    assert.equal(result.rows.length, 8);
    problems = [];
    for (const policy of policies) {
      const [small, large] = result.rows.filter((r) => r.policy === policy);
      assert.ok(small.nsPerPick > 0 && small.nsPerCall > 0 && large.rebuildMs >= 0);
      if (large.nsPerPickBest >= 15 * small.nsPerPickBest + 200) {
        problems.push(
          `${policy}: ${small.nsPerPickBest} ns at 10, ${large.nsPerPickBest} ns at 10,000`,
        );
      }
    }
    if (problems.length === 0) return;
  }
  assert.fail(problems.join('; '));
});
