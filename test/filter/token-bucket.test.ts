// Token buckets and the rateLimit filter on an injected clock: exact admissions, the pushback
// each refusal names, keys kept apart, and a worker's share of the limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from '../../filter/token-bucket.js';
import { rateLimitFilter } from '../../filter/rate-limit-filter.js';
import { FilterCall } from '../../filter/filter-call.js';
import { FieldMetadata } from '../../filter/field-metadata.js';
import type { FilterReject } from '../../filter/filter.js';

describe('token bucket', () => {
  it('admits the burst at once, then the rate, and says how long to wait', () => {
    const b = new TokenBucket(10 / 1000, 5, 0);
    let admitted = 0;
    for (let i = 0; i < 20; i++) if (b.take(0) === 0) admitted++;
    assert.equal(admitted, 5);
    assert.equal(b.take(0), 100); // one token every 100 ms
    assert.equal(b.take(50), 50);
    assert.equal(b.take(100), 0);
    // A long quiet spell refills to the burst, never beyond.
    let later = 0;
    for (let i = 0; i < 20; i++) if (b.take(60_000) === 0) later++;
    assert.equal(later, 5);
  });

  it('admits rate × time + burst over a long run of steady demand', () => {
    const rate = 250;
    const burst = 40;
    const b = new TokenBucket(rate / 1000, burst, 0);
    let admitted = 0;
    // 10 s, a call every 0.7 ms (about 1,430 per second, well over the rate).
    for (let t = 0; t <= 10_000; t += 0.7) if (b.take(t) === 0) admitted++;
    const expected = rate * 10 + burst;
    assert.ok(Math.abs(admitted - expected) <= expected * 0.02, `${admitted} vs ${expected}`);
  });
});

describe('rateLimit filter', () => {
  function ctx(peer: string, md: FieldMetadata, claims?: Record<string, unknown>): FilterCall {
    const c = new FilterCall(
      [],
      'proxy',
      '/a.B/C',
      { address: peer, secure: false, identity: undefined },
      'r',
      'l',
      { now: () => 0 },
    );
    c.claims = claims;
    void md;
    return c;
  }

  it('keeps one bucket per key and answers RESOURCE_EXHAUSTED with a pushback', () => {
    let now = 0;
    const allowed = { value: 0 };
    const denied = { value: 0 };
    const f = rateLimitFilter(
      { requestsPerSecond: 2, burst: 2, key: 'peer', maxKeys: 100 },
      { now: () => now, share: 1, allowed, denied },
    );
    const md = new FieldMetadata([]);
    const call = (peer: string) =>
      f.onRequestHeaders!(ctx(peer, md), md) as FilterReject | undefined;
    assert.equal(call('10.0.0.1:1000'), undefined);
    assert.equal(call('10.0.0.1:1001'), undefined); // another port, the same client
    const refused = call('10.0.0.1:1002');
    assert.equal(refused?.code, 8);
    assert.equal(refused?.trailers?.['grpc-retry-pushback-ms'], '500');
    assert.equal(call('[::1]:5'), undefined); // another client has its own bucket
    now = 500;
    assert.equal(call('10.0.0.1:1000'), undefined);
    assert.deepEqual([allowed.value, denied.value], [4, 1]);
  });

  it('keys by a verified claim or a metadata value; a call without one shares the empty key', () => {
    const f = rateLimitFilter(
      { requestsPerSecond: 1, burst: 1, key: 'jwt.sub', maxKeys: 100 },
      { now: () => 0, share: 1 },
    );
    const md = new FieldMetadata([]);
    const run = (claims?: Record<string, unknown>) =>
      (f.onRequestHeaders!(ctx('', md, claims), md) as FilterReject | undefined)?.code ?? 0;
    assert.deepEqual(
      [run({ sub: 'alice' }), run({ sub: 'bob' }), run({ sub: 'alice' }), run(), run()],
      [0, 0, 8, 0, 8],
    );
    const g = rateLimitFilter(
      { requestsPerSecond: 1, burst: 1, key: 'metadata.x-tenant', maxKeys: 1 },
      { now: () => 0, share: 1 },
    );
    const a = new FieldMetadata(['x-tenant', 'a']);
    const b = new FieldMetadata(['x-tenant', 'b']);
    const by = (m: FieldMetadata) =>
      (g.onRequestHeaders!(ctx('', m), m) as FilterReject | undefined)?.code ?? 0;
    // maxKeys 1: b's bucket pushes a's out, so a starts afresh.
    assert.deepEqual([by(a), by(a), by(b), by(a)], [0, 8, 0, 0]);
  });

  it('gives each of N workers 1/N of the rate and the burst', () => {
    let now = 0;
    const f = rateLimitFilter(
      { requestsPerSecond: 100, burst: 40, key: 'route', maxKeys: 1 },
      { now: () => now, share: 1 / 4 },
    );
    const md = new FieldMetadata([]);
    let admitted = 0;
    for (; now <= 1000; now += 1) {
      for (let i = 0; i < 3; i++)
        if (f.onRequestHeaders!(ctx('', md), md) === undefined) admitted++;
    }
    assert.equal(admitted, 25 + 10); // 100/4 per second, burst 40/4
  });
});
