// The resolver benchmark as a functional check: 1,000 SRV endpoints resolve, every changed answer
// is published, and memory stays flat over 10,000 re-resolutions. Its timings are figures of
// `npm run bench -- --only resolver`, not asserted here.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { resolverBench } from '../../bench/resolver-bench.js';

void it('resolves 1,000 SRV endpoints and keeps the heap flat over 10,000 re-resolutions', async () => {
  const result = await resolverBench({ endpoints: 1_000, runs: 3, polls: 10_000 });
  assert.equal(result.endpoints, 1_000);
  assert.ok(result.firstResolution.medianMs >= 0 && result.diffEqual.medianMs >= 0);
  // The answer changes every other poll, so every poll emits: 10,000 updates, no retained state.
  assert.equal(result.memory.updatesEmitted, 10_000);
  // Retaining even one 1,000-endpoint set per update would grow the heap by hundreds of MiB.
  assert.ok(result.memory.growthKb < 2_048, `heap grew ${result.memory.growthKb} KiB`);
});
