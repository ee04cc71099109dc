// The config's own YAML-to-data conversion gives what the yaml package's toJS() gives (merges,
// aliases, odd keys), in one pass; merging something that is not a mapping is an error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { resolveAliases } from '../../config/yaml-aliases.js';
import { MergeError, toPlainValue } from '../../config/yaml-value.js';

const DOCUMENTS = {
  'aliases and merges': `
base: &base { a: 1, b: [x, y], c: { d: 2 } }
other: &other { b: 3, e: 4 }
copy: *base
merged: { <<: *base, a: 10 }
before: { a: 20, <<: *base }
several: { <<: [*other, *base], f: 5 }
list: &list [1, *base]
again: *list
`,
  'block merges and nesting': `
defaults: &defaults
  timeouts: { connect: 1s }
  balancer: round_robin
clusters:
  users:
    <<: *defaults
    target: a:1
  orders:
    <<: *defaults
    balancer: least_loaded
`,
  'odd keys': `
__proto__: { polluted: true }
toString: 1
1: one
true: yes
~: null key
"<<": quoted, not a merge
seq: [a: 1, b]
`,
  'a redefined anchor names the latest': `
first: &a 1
second: &a 2
use: *a
`,
};

function convert(text: string): unknown {
  const doc = parseDocument(text, { merge: true, uniqueKeys: false });
  assert.deepEqual(doc.errors, []);
  const aliases = resolveAliases(doc);
  assert.equal(aliases.problem, undefined);
  return toPlainValue(doc.contents, aliases.targets);
}

void describe('toPlainValue', () => {
  for (const [name, text] of Object.entries(DOCUMENTS)) {
    void it(`gives what toJS() gives: ${name}`, () => {
      const expected: unknown = parseDocument(text, { merge: true, uniqueKeys: false }).toJS();
      assert.deepStrictEqual(convert(text), expected);
    });
  }

  void it('keeps an alias the same value, as toJS() does', () => {
    const value = convert('a: &a { x: 1 }\nb: *a\n') as Record<string, unknown>;
    assert.equal(value.a, value.b);
    assert.equal(Object.getPrototypeOf({}), Object.getPrototypeOf(value.a));
  });

  void it('refuses to merge a scalar', () => {
    const text = 'a: &a 1\nb: { <<: *a }\n';
    const doc = parseDocument(text, { merge: true, uniqueKeys: false });
    assert.throws(() => toPlainValue(doc.contents, resolveAliases(doc).targets), MergeError);
  });
});
