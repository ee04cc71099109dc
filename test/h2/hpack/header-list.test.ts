// HeaderList: one decoded block at a time in an array that keeps its capacity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HpackDecoder } from '../../../h2/hpack/decoder.js';
import { HeaderList } from '../../../h2/hpack/header-list.js';
import { hex } from './hex.js';

test('each decode replaces the list; entries past length are left over, not fields', () => {
  const decoder = new HpackDecoder();
  const list = new HeaderList();
  const big = hex('8286 84 10 0178 0179'); // GET, http, /, never-indexed x: y
  assert.equal(decoder.decode(big, 0, big.length, list), null);
  assert.equal(list.count, 4);
  assert.deepEqual(list.toArray(), [':method', 'GET', ':scheme', 'http', ':path', '/', 'x', 'y']);
  assert.deepEqual(list.neverIndexed, [6]);
  assert.equal(list.size, 42 + 43 + 38 + 34);
  const small = hex('88');
  assert.equal(decoder.decode(small, 0, small.length, list), null);
  assert.equal(list.length, 2);
  assert.deepEqual(list.toArray(), [':status', '200']);
  assert.deepEqual(list.neverIndexed, []);
  assert.equal(list.fields.length, 8); // capacity kept
});

test('a connection error leaves the list empty', () => {
  const list = new HeaderList();
  const block = hex('8286 80');
  assert.equal(
    new HpackDecoder().decode(block, 0, block.length, list)?.code,
    'SWY_ERR_H2_HPACK_BAD_INDEX',
  );
  assert.equal(list.length, 0);
  assert.deepEqual(list.toArray(), []);
});
