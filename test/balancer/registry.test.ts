// The policy registry: names, creation, settings validation with paths and suggestions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BalancerError } from '../../balancer/errors.js';
import { LeastLoadedPolicy } from '../../balancer/least-loaded.js';
import { RingHashPolicy } from '../../balancer/ring-hash.js';
import { editDistance } from '../../balancer/did-you-mean.js';
import {
  createPolicy,
  describePolicies,
  parsePolicyConfig,
  policyFromConfig,
  policyNames,
  resolvePolicySettings,
  suggestPolicyName,
  validatePolicyName,
  validatePolicySettings,
} from '../../balancer/registry.js';

test('the four policies, each created by name with default settings', () => {
  assert.deepEqual(policyNames(), [
    'round_robin',
    'least_loaded',
    'weighted_round_robin',
    'ring_hash',
  ]);
  for (const name of policyNames()) assert.equal(createPolicy(name).name, name);
  assert.deepEqual(
    describePolicies().map((p) => [p.name, Object.keys(p.settings)]),
    [
      ['round_robin', []],
      ['least_loaded', ['scoring', 'decayMs', 'probeAfterMs']],
      ['weighted_round_robin', []],
      ['ring_hash', ['hashKey', 'minRingSize', 'maxRingSize']],
    ],
  );
  assert.deepEqual(resolvePolicySettings('least_loaded', {}), {
    scoring: 'peak_ewma',
    decayMs: 10_000,
    probeAfterMs: 1_000,
  });
  assert.deepEqual(resolvePolicySettings('ring_hash', { hashKey: 'X-User' }), {
    hashKey: 'x-user',
    minRingSize: 1024,
    maxRingSize: 1_048_576,
  });
});

test('a misspelt policy name gets a suggestion', () => {
  assert.equal(suggestPolicyName('least_laoded'), 'least_loaded');
  assert.equal(suggestPolicyName('roundrobin'), 'round_robin');
  assert.equal(suggestPolicyName('ring-hash'), 'ring_hash');
  assert.equal(suggestPolicyName('maglev'), undefined);
  assert.equal(validatePolicyName('ring_hash'), undefined);
  assert.equal(
    validatePolicyName('least_laoded'),
    'unknown balancing policy "least_laoded" (did you mean "least_loaded"?); known: round_robin, least_loaded, weighted_round_robin, ring_hash',
  );
  assert.deepEqual(validatePolicySettings('least_laoded', {}), [
    { path: [], message: validatePolicyName('least_laoded') },
  ]);
  assert.throws(
    () => createPolicy('least_laoded'),
    (e: unknown) =>
      e instanceof BalancerError &&
      e.code === 'SWY_ERR_UNKNOWN_POLICY' &&
      /did you mean/.test(e.message),
  );
  assert.equal(editDistance('laoded', 'loaded'), 1, 'a swap of neighbours is one edit');
});

test('settings are validated with paths, types, ranges and suggestions', () => {
  assert.deepEqual(validatePolicySettings('round_robin', undefined), []);
  assert.deepEqual(validatePolicySettings('round_robin', null), []);
  assert.deepEqual(validatePolicySettings('round_robin', { foo: 1 }), [
    { path: ['foo'], message: 'unknown setting "foo"; this policy has no settings' },
  ]);
  assert.deepEqual(validatePolicySettings('least_loaded', 'fast'), [
    { path: [], message: 'settings must be a mapping, got string "fast"' },
  ]);
  assert.deepEqual(validatePolicySettings('least_loaded', { decayMS: 5, scoring: 'peak-ewma' }), [
    {
      path: ['decayMS'],
      message:
        'unknown setting "decayMS" (did you mean "decayMs"?); known: scoring, decayMs, probeAfterMs',
    },
    {
      path: ['scoring'],
      message:
        'scoring must be one of "peak_ewma", "in_flight", got string "peak-ewma" (did you mean "peak_ewma"?)',
    },
  ]);
  assert.deepEqual(validatePolicySettings('least_loaded', { decayMs: '10s' }), [
    { path: ['decayMs'], message: 'decayMs must be a number of milliseconds, got string "10s"' },
  ]);
  assert.deepEqual(validatePolicySettings('least_loaded', { decayMs: 0 }), [
    { path: ['decayMs'], message: 'decayMs must be between 1 and 3600000 ms, got 0' },
  ]);
  assert.deepEqual(validatePolicySettings('ring_hash', { minRingSize: 10.5, hashKey: 'x user' }), [
    { path: ['minRingSize'], message: 'minRingSize must be a whole number, got 10.5' },
    {
      path: ['hashKey'],
      message: 'hashKey must be a header (metadata) name such as "x-user-id", got "x user"',
    },
  ]);
  assert.deepEqual(
    validatePolicySettings('ring_hash', { minRingSize: 5_000, maxRingSize: 4_000 }),
    [{ path: ['minRingSize'], message: 'minRingSize (5000) must not exceed maxRingSize (4000)' }],
  );
  assert.deepEqual(
    validatePolicySettings('ring_hash', { hashKey: ':authority', minRingSize: 8 }),
    [],
  );
  assert.throws(
    () => createPolicy('ring_hash', { minRingSize: -1 }),
    (e: unknown) =>
      e instanceof BalancerError &&
      e.code === 'SWY_ERR_BAD_POLICY_SETTINGS' &&
      e.issues.length === 1 &&
      e.message ===
        'invalid ring_hash settings: minRingSize: minRingSize must be between 1 and 8388608, got -1',
  );
});

test('parsePolicyConfig keeps the settings as given (checked, normalized, no defaults)', () => {
  assert.deepEqual(parsePolicyConfig('ring_hash', { hashKey: 'X-User', minRingSize: 64 }), {
    config: { policy: 'ring_hash', settings: { hashKey: 'x-user', minRingSize: 64 } },
  });
  assert.deepEqual(parsePolicyConfig('round_robin', undefined), {
    config: { policy: 'round_robin', settings: {} },
  });
  assert.deepEqual(parsePolicyConfig('least_loaded', { decayMs: 0 }), {
    issues: [{ path: ['decayMs'], message: 'decayMs must be between 1 and 3600000 ms, got 0' }],
  });
  assert.equal('issues' in parsePolicyConfig('least_laoded', {}), true);
});

test('policyFromConfig fills the defaults and checks nothing again', () => {
  const ring = policyFromConfig({ policy: 'ring_hash', settings: { hashKey: 'x-user' } });
  assert.ok(ring instanceof RingHashPolicy);
  const loaded = policyFromConfig({ policy: 'least_loaded', settings: { decayMs: 250 } });
  assert.ok(loaded instanceof LeastLoadedPolicy);
  assert.equal(loaded.latencyDecayMs, 250);
});
