// The flood limits' token bucket: a burst at once, then the rate, on an injected clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from '../../../h2/connection/index.js';
import { FakeClock } from '../../support/fake-clock.js';

test('a burst, then one token per 1/rate seconds', () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ burst: 3, ratePerSecond: 10 }, clock);
  assert.deepEqual(
    [bucket.take(), bucket.take(), bucket.take(), bucket.take()],
    [true, true, true, false],
  );
  clock.advanceSync(99);
  assert.equal(bucket.take(), false);
  clock.advanceSync(1);
  assert.equal(bucket.take(), true);
  assert.equal(bucket.take(), false);
  clock.advanceSync(10_000);
  assert.deepEqual(
    [bucket.take(), bucket.take(), bucket.take(), bucket.take()],
    [true, true, true, false],
  );
});

test('a limit without a burst is a programming error', () => {
  assert.throws(() => new TokenBucket({ burst: 0, ratePerSecond: 1 }, new FakeClock()), RangeError);
});
