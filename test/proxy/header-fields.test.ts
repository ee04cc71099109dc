// Header blocks readied for forwarding: repeated names split in order, -bin values checked
// the way gRPC C-core reads them, sizes counted as SETTINGS_MAX_HEADER_LIST_SIZE counts them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  INVALID_FIELDS,
  invalidFieldReason,
  isBase64,
  prepareHeaderFields,
} from '../../grpc/header-fields.js';

/** Node's parsed object for `raw`: repeated values joined with ", ", as node:http2 does. */
function parsed(raw: string[]): Record<string, unknown> {
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    out[raw[i]] = out[raw[i]] === undefined ? raw[i + 1] : `${out[raw[i]]}, ${raw[i + 1]}`;
  }
  return out;
}

describe('header fields', () => {
  it('leaves a block without repeats as it is and counts it as HTTP/2 does', () => {
    const raw = [':path', '/a.B/C', 'content-type', 'application/grpc', 'x-id', '7'];
    const fields = parsed(raw);
    const before = { ...fields };
    assert.equal(prepareHeaderFields(fields, raw), 5 + 6 + 12 + 16 + 4 + 1 + 3 * 32);
    assert.deepEqual(fields, before);
  });

  it('turns a repeated name into its values in order, text and -bin alike', () => {
    const raw = ['x-foo-bin', 'AQID', 'x-a', 'one', 'x-foo-bin', 'BAUG', 'x-a', 'two, three'];
    const fields = parsed(raw);
    prepareHeaderFields(fields, raw);
    assert.deepEqual(fields['x-foo-bin'], ['AQID', 'BAUG']);
    assert.deepEqual(fields['x-a'], ['one', 'two, three']);
  });

  it('keeps the first value of a name node:http2 sends only once', () => {
    const raw = ['te', 'trailers', 'user-agent', 'a', 'te', 'trailers', 'user-agent', 'b'];
    const fields = parsed(raw);
    prepareHeaderFields(fields, raw);
    assert.equal(fields.te, 'trailers');
    assert.equal(fields['user-agent'], 'a');
  });

  it('refuses a -bin value that is not base64, and says which', () => {
    const raw = ['x-ok-bin', 'AQ==', 'x-foo-bin', 'AQID, BAUG'];
    assert.equal(prepareHeaderFields(parsed(raw), raw), INVALID_FIELDS);
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
