// Header blocks checked for forwarding: -bin values read the way gRPC C-core reads them, sizes
// counted as SETTINGS_MAX_HEADER_LIST_SIZE counts them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  INVALID_FIELDS,
  headerFieldsSize,
  invalidFieldReason,
  isBase64,
} from '../../grpc/header-fields.js';

describe('header fields', () => {
  it('counts a block as HTTP/2 does, repeated names and all', () => {
    const fields = [':path', '/a.B/C', 'content-type', 'application/grpc', 'x-id', '7'];
    assert.equal(headerFieldsSize(fields), 5 + 6 + 12 + 16 + 4 + 1 + 3 * 32);
    assert.equal(
      headerFieldsSize([...fields, 'x-id', '8']),
      5 + 6 + 12 + 16 + 2 * (4 + 1) + 4 * 32,
    );
  });

  it('refuses a -bin value that is not base64, and says which', () => {
    const raw = ['x-ok-bin', 'AQ==', 'x-foo-bin', 'AQID, BAUG'];
    assert.equal(headerFieldsSize(raw), INVALID_FIELDS);
    assert.equal(invalidFieldReason(raw), 'metadata "x-foo-bin" is not base64');
  });

  it('reads base64 as gRPC C-core does: padded or not, standard alphabet only', () => {
    for (const ok of ['', 'AQ', 'AQI', 'AQID', 'AQ==', 'AQI=', 'AQ=', 'ab+/09Zz']) {
      assert.ok(isBase64(ok), ok);
    }
    for (const bad of ['A', 'AQIDB', 'A===', 'AQ==AQID', '-_-_', 'AQ ID', 'AQID,', 'é']) {
      assert.ok(!isBase64(bad), bad);
    }
  });
});
