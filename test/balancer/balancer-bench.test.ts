// The balancer benchmark runs and measures every policy at every size. How pick() cost grows
// with the endpoint count is a figure of `npm run bench -- --only balancer` (its "best vs fewest"
// column), not asserted here: timings on a shared machine are too noisy for a test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancerBench } from '../../bench/balancer-bench.js';

test('balancerBench() measures pick, call and rebuild per policy and size', async () => {
  const policies = ['round_robin', 'least_loaded', 'weighted_round_robin', 'ring_hash'];
  const result = await balancerBench({ sizes: [10, 1_000], picks: 10_000, runs: 2 });
  assert.equal(result.picksPerRun, 10_000);
  assert.deepEqual(
    result.rows.map((r) => `${r.policy} ${r.endpoints}`),
    policies.flatMap((p) => [`${p} 10`, `${p} 1000`]),
  );
  for (const row of result.rows) {
    assert.ok(row.nsPerPick > 0 && row.nsPerPickBest > 0 && row.nsPerCall > 0, row.policy);
    assert.ok(row.nsPerPickBest <= row.nsPerPick && row.rebuildMs >= 0, row.policy);
    assert.ok(row.bestVsFewest > 0, row.policy);
  }
  for (const row of result.rows.filter((r) => r.endpoints === 10)) {
    assert.equal(row.bestVsFewest, 1, row.policy);
  }
});
