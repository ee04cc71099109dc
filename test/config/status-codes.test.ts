// The status names the config accepts are gRPC's, code for code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STATUS_CODE_NAMES, statusCodeOf } from '../../config/status-codes.js';
import { Status } from '../../grpc/grpc-status.js';

void describe('status codes in the config', () => {
  void it('names every gRPC status at its code', () => {
    assert.deepEqual(
      STATUS_CODE_NAMES.map((name, code) => [name, code]),
      Object.entries(Status),
    );
  });

  void it('takes names in any case and codes in range, nothing else', () => {
    assert.equal(statusCodeOf('unavailable'), Status.UNAVAILABLE);
    assert.equal(statusCodeOf('Resource_Exhausted'), Status.RESOURCE_EXHAUSTED);
    assert.equal(statusCodeOf(14), 14);
    assert.equal(statusCodeOf(17), undefined);
    assert.equal(statusCodeOf(1.5), undefined);
    assert.equal(statusCodeOf('UNAVAILBLE'), undefined);
    assert.equal(statusCodeOf(null), undefined);
  });
});
