// The /ready answer of a multi-worker proxy: each worker's reasons, tagged with the worker, and
// warnings (a certificate near expiry, read by every worker from the same files) once each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeReadiness } from '../../workers/merge-views.js';

void describe('mergeReadiness', () => {
  void it('keeps every reason per worker and each warning once', () => {
    const warning = 'listener "main": its certificate (/tls/server.pem) expires in 3 days, on …';
    const merged = mergeReadiness(
      [
        { ready: true, reasons: [], warnings: [warning] },
        { ready: false, reasons: ['cluster "a" has no endpoint'], warnings: [warning] },
      ],
      3,
    );
    assert.deepEqual(merged, {
      ready: false,
      reasons: ['1 of 3 workers are not serving', 'worker 2: cluster "a" has no endpoint'],
      warnings: [warning],
    });
    assert.deepEqual(mergeReadiness([{ ready: true, reasons: [] }], 1), {
      ready: true,
      reasons: [],
    });
  });
});
