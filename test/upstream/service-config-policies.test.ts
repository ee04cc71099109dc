// A6 policies read from a resolver's service config: which method config a path falls under,
// A6's JSON spelling (durations as "0.1s", status names), and what is left out and why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policiesFromServiceConfig } from '../../upstream/service-config-policies.js';

const retry = (maxAttempts: number, extra: Record<string, unknown> = {}) => ({
  maxAttempts,
  initialBackoff: '0.05s',
  maxBackoff: '1.5s',
  backoffMultiplier: 2,
  retryableStatusCodes: ['UNAVAILABLE', 8],
  ...extra,
});

void describe('policies from a service config', () => {
  void it('picks the method, then the service, then the default entry', () => {
    const p = policiesFromServiceConfig({
      methodConfig: [
        { name: [{}], retryPolicy: retry(2) },
        { name: [{ service: 'a.A' }], retryPolicy: retry(3) },
        { name: [{ service: 'a.A', method: 'Get' }], retryPolicy: retry(9) },
        { name: [{ service: 'b.B' }], hedgingPolicy: { maxAttempts: 3, hedgingDelay: '0.02s' } },
        { name: [{ service: 'c.C' }] },
      ],
      retryThrottling: { maxTokens: 10, tokenRatio: 0.12345 },
    });
    assert.deepEqual(p.forPath('/a.A/Get').retry, {
      maxAttempts: 5, // A6: more than 5 counts as 5
      initialBackoffMs: 50,
      maxBackoffMs: 1_500,
      backoffMultiplier: 2,
      retryableStatusCodes: [14, 8],
      perTryTimeoutMs: undefined,
      retryClientRetries: false,
    });
    assert.equal(p.forPath('/a.A/Put').retry?.maxAttempts, 3);
    assert.equal(p.forPath('/z.Z/Put').retry?.maxAttempts, 2);
    assert.deepEqual(p.forPath('/b.B/Get'), {
      retry: undefined,
      hedging: { maxAttempts: 3, hedgingDelayMs: 20, nonFatalStatusCodes: [] },
    });
    // A method config without a policy: its calls run without one.
    assert.deepEqual(p.forPath('/c.C/Get'), { retry: undefined, hedging: undefined });
    assert.deepEqual(p.throttling, { maxTokens: 10, tokenRatio: 0.123 });
    assert.deepEqual(p.problems, []);
  });

  void it('leaves out malformed policies, naming each', () => {
    const p = policiesFromServiceConfig({
      methodConfig: [
        { name: [{}], retryPolicy: retry(2) },
        { name: [{ service: 'a.A' }], retryPolicy: retry(1) },
        { name: [{ service: 'b.B' }], retryPolicy: retry(3, { initialBackoff: '50ms' }) },
        { name: [{ service: 'c.C' }], retryPolicy: retry(3, { retryableStatusCodes: ['NOPE'] }) },
        { name: [{ service: 'd.D' }], retryPolicy: retry(3), hedgingPolicy: { maxAttempts: 2 } },
      ],
      retryThrottling: { maxTokens: 0, tokenRatio: 1 },
    });
    assert.deepEqual(p.problems, [
      'methodConfig[1].retryPolicy: maxAttempts is not an integer of at least 2',
      'methodConfig[2].retryPolicy: initialBackoff is not a duration above 0',
      'methodConfig[3].retryPolicy: retryableStatusCodes is not a list of status names or codes',
      'methodConfig[4] has retryPolicy and hedgingPolicy (A6 allows one)',
      'retryThrottling: maxTokens is not a number above 0 and at most 1000',
    ]);
    // Each falls back to the default entry.
    for (const path of ['/a.A/X', '/b.B/X', '/c.C/X', '/d.D/X']) {
      assert.equal(p.forPath(path).retry?.maxAttempts, 2, path);
    }
    assert.equal(p.throttling, undefined);
  });

  void it('finds nothing in a config without method configs', () => {
    const p = policiesFromServiceConfig({ loadBalancingConfig: [{ round_robin: {} }] });
    assert.deepEqual(p.forPath('/a.A/Get'), { retry: undefined, hedging: undefined });
  });
});
