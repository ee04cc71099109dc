// The observer benchmark runs, and the observability observer it drives counts every call:
// the per-call cost itself is a figure of `npm run bench -- --only observers`, not asserted here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { observerBench } from '../../bench/observer-bench.js';

test('observerBench() measures each observer, and the metrics count every call it made', async () => {
  const calls = 20_000;
  const loggedCalls = 1_000;
  const rounds = 2;
  const result = await observerBench({ calls, loggedCalls, rounds });
  assert.equal(result.rows.length, 5);
  assert.ok(result.loopNs > 0);
  for (const row of result.rows) assert.ok(row.nsPerCall > 0, row.observer);
  // Through the Observability observer: two rows of `calls` per round, and the logged row.
  const total = 2 * rounds * calls + rounds * loggedCalls;
  assert.equal(result.counted.calls, total);
  // One call in ten ends NOT_FOUND (1,024 calls cycled: 103 of them).
  const share = result.counted.notFound / total;
  assert.ok(Math.abs(share - 0.1) < 0.001, `NOT_FOUND share ${share}`);
  assert.equal(result.counted.inFlight, 0);
});
