// The static table (RFC 7541 Appendix A) and the name lookups built from it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  STATIC_BY_NAME,
  STATIC_NAMES,
  STATIC_TABLE_LENGTH,
  STATIC_VALUES,
} from '../../../h2/hpack/static-table.js';

test('61 entries, from :authority to www-authenticate', () => {
  assert.equal(STATIC_TABLE_LENGTH, 61);
  assert.equal(STATIC_NAMES.length, 62);
  assert.deepEqual([STATIC_NAMES[1], STATIC_VALUES[1]], [':authority', '']);
  assert.deepEqual([STATIC_NAMES[2], STATIC_VALUES[2]], [':method', 'GET']);
  assert.deepEqual([STATIC_NAMES[16], STATIC_VALUES[16]], ['accept-encoding', 'gzip, deflate']);
  assert.deepEqual([STATIC_NAMES[31], STATIC_VALUES[31]], ['content-type', '']);
  assert.deepEqual([STATIC_NAMES[61], STATIC_VALUES[61]], ['www-authenticate', '']);
});

test('lookups by name give the first index and every value', () => {
  const status = STATIC_BY_NAME.get(':status')!;
  assert.equal(status.index, 8);
  assert.deepEqual(
    [...status.values],
    [
      ['200', 8],
      ['204', 9],
      ['206', 10],
      ['304', 11],
      ['400', 12],
      ['404', 13],
      ['500', 14],
    ],
  );
  assert.equal(STATIC_BY_NAME.get('te'), undefined);
  assert.equal(STATIC_BY_NAME.size, 52);
});
