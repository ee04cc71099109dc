// The reset limit as a sequence: a burst at once, then the rate, in milliseconds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResetLimiter } from '../../proxy/reset-limiter.js';

describe('ResetLimiter', () => {
  it('allows the burst at once, then the rate', () => {
    const limiter = new ResetLimiter({ burst: 3, rate: 2 }, 0);
    assert.deepEqual(
      [0, 0, 0, 0].map((t) => limiter.take(t)),
      [true, true, true, false],
    );
    assert.equal(limiter.take(499), false, 'not yet one token back');
    assert.equal(limiter.take(500), true, 'one token per 500 ms at 2/s');
    assert.equal(limiter.take(500), false);
  });

  it('refills no further than the burst', () => {
    const limiter = new ResetLimiter({ burst: 2, rate: 100 }, 0);
    const taken = [10_000, 10_000, 10_000].map((t) => limiter.take(t));
    assert.deepEqual(taken, [true, true, false]);
  });

  it('takes a steady rate at the limit forever', () => {
    const limiter = new ResetLimiter({ burst: 1, rate: 33 }, 0);
    for (let t = 0; t < 60_000; t += 1000 / 33 + 0.01) assert.ok(limiter.take(t), `at ${t} ms`);
  });
});
