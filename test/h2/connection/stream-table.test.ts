// The connection's stream table against a Map as the model: any sequence of adds, deletes and
// lookups (ids chosen to collide in a small table and to wrap around its end) gives the same
// answers, and what it lists is what the Map holds, ordered by id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { StreamTable } from '../../../h2/connection/stream-table.js';
import { FUZZ_TEST, fuzzParams } from '../../support/fuzz.js';

interface Entry {
  readonly id: number;
}

type Op = { kind: 'add' | 'delete' | 'get'; id: number };

void test('adds, deletes and lookups agree with a Map, whatever the collisions', FUZZ_TEST, () => {
  // Odd ids from a few ranges: 1..255 fill and wrap a 32-slot table; ids 64 apart share a slot.
  const id = fc.oneof(
    fc.integer({ min: 0, max: 127 }).map((n) => 2 * n + 1),
    fc.integer({ min: 0, max: 7 }).map((n) => 64 * n + 1),
    fc.integer({ min: 1_073_741_800, max: 1_073_741_823 }).map((n) => 2 * n + 1),
  );
  const op = fc.record({ kind: fc.constantFrom('add', 'delete', 'get'), id }) as fc.Arbitrary<Op>;
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const table = new StreamTable<Entry>();
      const model = new Map<number, Entry>();
      for (const { kind, id } of ops) {
        if (kind === 'add') {
          if (model.has(id)) continue;
          const entry = { id };
          table.add(entry);
          model.set(id, entry);
        } else if (kind === 'delete') {
          assert.equal(table.delete(id), model.delete(id));
        } else {
          assert.equal(table.get(id), model.get(id));
        }
        assert.equal(table.size, model.size);
      }
      for (const [id, entry] of model) assert.equal(table.get(id), entry);
      assert.deepEqual(
        table.list().map((e) => e.id),
        [...model.keys()].sort((a, b) => a - b),
      );
    }),
    fuzzParams(9_113, 500),
  );
});

void test('grows past its first size and keeps every stream', () => {
  const table = new StreamTable<Entry>();
  for (let id = 1; id < 2_000; id += 2) table.add({ id });
  assert.equal(table.size, 1_000);
  for (let id = 1; id < 2_000; id += 2) assert.equal(table.get(id)?.id, id);
  for (let id = 1; id < 2_000; id += 4) assert.ok(table.delete(id));
  assert.equal(table.size, 500);
  assert.equal(table.get(1), undefined);
  assert.equal(table.get(3)?.id, 3);
  let seen = 0;
  table.forEach(() => seen++);
  assert.equal(seen, 500);
});
