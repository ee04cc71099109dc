// The resolver benchmark as a regression check: 1,000 SRV endpoints resolve quickly, memory stays flat.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { resolverBench } from '../../bench/resolver-bench.js';

void it('resolves 1,000 SRV endpoints in well under a second and keeps the heap flat over 10,000 re-resolutions', async () => {
  const result = await resolverBench({ endpoints: 1_000, runs: 3, polls: 10_000 });
  assert.equal(result.endpoints, 1_000);
  assert.ok(
    result.firstResolution.medianMs < 500,
    `first resolution ${result.firstResolution.medianMs} ms`,
  );
  assert.ok(result.diffEqual.medianMs < 20, `diff ${result.diffEqual.medianMs} ms`);
  // The answer changes every other poll, so every poll emits: 10,000 updates, no retained state.
  assert.equal(result.memory.updatesEmitted, 10_000);
  assert.ok(result.memory.growthKb < 2_048, `heap grew ${result.memory.growthKb} KiB`);
});
