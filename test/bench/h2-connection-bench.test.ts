// The connection benchmark runs in process and reports CPU per call and socket writes per call
// for each concurrency (no timing asserted; one write per direction per call at 1 in flight).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { h2ConnectionBench } from '../../bench/h2-connection-bench.js';

test('h2ConnectionBench() measures unary calls between two endpoints of h2/connection', async () => {
  const result = await h2ConnectionBench({ calls: 300, runs: 2, concurrency: [1, 8] });
  assert.equal(result.callsPerRun, 300);
  assert.deepEqual(
    result.rows.map((r) => r.inFlight),
    [1, 8],
  );
  for (const row of result.rows) {
    assert.ok(row.cpuUsPerCall > 0 && row.wallUsPerCall > 0);
    assert.ok(row.cpuUsPerCallBest <= row.cpuUsPerCall);
  }
  // One call in flight: the request and the answer are one socket write each.
  assert.equal(result.rows[0].writesPerCall, 2);
  assert.ok(result.rows[1].writesPerCall < 2);
});
