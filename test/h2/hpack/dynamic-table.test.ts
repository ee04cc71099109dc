// The dynamic table (RFC 7541 §4): sizes with 32 octets per entry, eviction of the oldest,
// entries too large for the table, size changes, and a ring that wraps and grows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamicTable } from '../../../h2/hpack/dynamic-table.js';

test('an entry costs its name and value plus 32 octets; the newest comes first', () => {
  const t = new DynamicTable(4096);
  assert.equal(t.add('custom-key', 'custom-header'), true);
  assert.equal(t.size, 55);
  t.add(':authority', 'www.example.com');
  assert.equal(t.size, 55 + 57);
  assert.equal(t.length, 2);
  assert.deepEqual(t.entries(), [
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-header'],
  ]);
});

test('adding past the maximum evicts the oldest entries until the new one fits', () => {
  const t = new DynamicTable(100);
  t.add('a', '1'.repeat(16)); // 49
  t.add('b', '2'.repeat(16)); // 49, total 98
  t.add('c', '3'); // 34: evicts a
  assert.deepEqual(
    t.entries().map((e) => e[0]),
    ['c', 'b'],
  );
  assert.equal(t.size, 83);
});

test('an entry larger than the table empties it and is not added (§4.4)', () => {
  const t = new DynamicTable(64);
  t.add('a', 'b');
  assert.equal(t.add('x', 'y'.repeat(40)), false);
  assert.equal(t.length, 0);
  assert.equal(t.size, 0);
  // Exactly the maximum fits.
  assert.equal(t.add('x', 'y'.repeat(31)), true);
  assert.equal(t.size, 64);
});

test('lowering the maximum evicts down to it; zero empties the table', () => {
  const t = new DynamicTable(4096);
  for (let i = 0; i < 10; i++) t.add(`n${i}`, 'v'); // 35 each
  t.setMaxSize(100);
  assert.deepEqual(
    t.entries().map((e) => e[0]),
    ['n9', 'n8'],
  );
  t.setMaxSize(0);
  assert.equal(t.length, 0);
  assert.equal(t.size, 0);
  t.setMaxSize(4096);
  assert.equal(t.add('a', 'b'), true);
});

test('the ring keeps order while it wraps many times and grows past its first capacity', () => {
  const t = new DynamicTable(40 * 34);
  for (let i = 0; i < 1_000; i++) {
    t.add('k', String(i % 10)); // 34 each: 40 entries fit
    const expected = Math.min(i + 1, 40);
    assert.equal(t.length, expected);
    assert.equal(t.entries()[0][1], String(i % 10));
  }
  const values = t.entries().map((e) => e[1]);
  assert.deepEqual(values.slice(0, 3), ['9', '8', '7']);
  assert.equal(t.size, 40 * 34);
  // Sequence numbers: the newest entry is dynamic index 1.
  assert.equal(t.next - t.first, 40);
  assert.equal(t.values[(t.next - 1) & t.mask], '9');
});
