// The problem report of big and broken config files: every problem is still found, in time that
// grows with the file (before, checks that compared every problem or key with every other took
// minutes), and the report is the first 100 problems by position plus a count of the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostileConfig } from '../support/hostile-config.js';
import { lines, rejection } from '../support/rejected-config.js';

/** Generous: each of these takes seconds on a busy machine; before, minutes. */
const BOUND = { timeout: 120_000 };

const HEAD = [
  'listeners:',
  '  - address: 127.0.0.1:0',
  'clusters:',
  '  main: { target: "127.0.0.1:1" }',
];

void describe('the problem report', () => {
  void it('lists the first 100 problems by position and counts the rest', () => {
    const err = rejection([...HEAD, ...lines(250, (i) => `extra${i}: x`), ''].join('\n'));
    assert.equal(err.code, 'SWY_ERR_CONFIG_INVALID');
    assert.equal(err.issues.length, 100);
    assert.equal(err.omitted, 150);
    const out = err.message.split('\n');
    assert.equal(out.length, 101);
    assert.equal(
      out[0],
      'big.yaml:5:1 extra0: unknown key "extra0" (expected listeners, routes, clusters, admin, workers, log, accessLog, descriptors or shutdownGrace)',
    );
    assert.match(out[99], /^big\.yaml:104:1 extra99: unknown key "extra99"/);
    assert.equal(out[100], 'big.yaml: and 150 more problems');
    // A misspelling still gets its suggestion.
    assert.equal(
      rejection([...HEAD, 'shutdownGrase: 1s', ''].join('\n')).message,
      'big.yaml:5:1 shutdownGrase: unknown key "shutdownGrase" (did you mean "shutdownGrace"?)',
    );
  });

  void it('counts 20,000 unknown keys and 100,000 routes to an unknown cluster', BOUND, () => {
    const err = rejection(hostileConfig({ unknownKeys: 20_000, unknownClusterRoutes: 100_000 }));
    assert.equal(err.issues.length, 100);
    assert.equal(err.omitted, 119_900);
    assert.equal(err.issues[0].message.startsWith('unknown key "unknown0"'), true);
    assert.equal(err.message.split('\n').at(-1), 'big.yaml: and 119900 more problems');
  });

  void it('names unknown clusters among 5,000 without listing them all', BOUND, () => {
    const text = [
      'listeners: [{ address: "127.0.0.1:0" }]',
      'clusters:',
      ...lines(5_000, (i) => `  c${i}: { target: "127.0.0.1:${1 + i}" }`),
      'routes:',
      // Each route names a different cluster that is not there.
      ...lines(5_000, (i) => `  - { match: { service: s${i}.S }, cluster: c${i}x }`),
      '',
    ].join('\n');
    const err = rejection(text);
    assert.equal(err.omitted, 4_900);
    assert.equal(
      err.message.split('\n')[0],
      'big.yaml:5004:42 routes[0].cluster: unknown cluster "c0x" (did you mean "c0"?); ' +
        'defined: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 4990 more',
    );
  });

  void it('counts 20,000 unset variables', BOUND, () => {
    const text = [
      ...HEAD,
      'routes:',
      ...lines(20_000, (i) => `  - { match: { service: "\${UNSET_${i}}" }, cluster: main }`),
      '',
    ].join('\n');
    const err = rejection(text);
    assert.equal(err.omitted, 19_900);
    assert.equal(
      err.message.split('\n')[0],
      'big.yaml:6:25 routes[0].match.service: environment variable UNSET_0 is not set (write ${UNSET_0:-default} for a fallback)',
    );
  });

  void it('quotes at most 100 characters of a long key or value', () => {
    // YAML allows implicit keys of up to 1,024 characters.
    const long = 'k'.repeat(1_000);
    const err = rejection(
      [...HEAD, `${long}: 1`, `workers: "${'w'.repeat(5_000)}"`, ''].join('\n'),
    );
    const [key, workers] = err.message.split('\n');
    assert.ok(key.length < 500, key);
    assert.ok(key.includes(`unknown key "${'k'.repeat(100)}…"`), key);
    assert.ok(workers.length < 500, workers);
  });
});
