// The reset budget against nghttp2's rapid-reset bucket, on a fake clock: what it hands out, and
// that its refills never come before the peer's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResetBudget } from '../../upstream/reset-budget.js';
import { FakeClock } from '../support/fake-clock.js';

const LIMIT = { burst: 1_000, rate: 33 };

/** Takes tokens until the budget refuses; returns how many it gave. */
function drain(budget: ResetBudget): number {
  let n = 0;
  while (budget.take()) n++;
  return n;
}

describe('reset budget', () => {
  it('hands out the burst less 2 % kept back, then nothing until a second has passed', () => {
    const clock = new FakeClock();
    const budget = new ResetBudget(LIMIT, clock);
    assert.equal(budget.available(), 1_000);
    assert.equal(drain(budget), 980);
    clock.advanceSync(999);
    assert.equal(budget.take(), false);
    clock.advanceSync(1);
    assert.equal(drain(budget), 33);
    clock.advanceSync(3_000);
    assert.equal(drain(budget), 99);
  });

  it('counts refills from the first reset, not from when the connection opened', () => {
    const clock = new FakeClock();
    const budget = new ResetBudget(LIMIT, clock);
    // Idle for 10.7 s, then a burst: a refill 0.3 s later would come before the peer's.
    clock.advanceSync(10_700);
    assert.equal(drain(budget), 980);
    clock.advanceSync(300);
    assert.equal(budget.take(), false);
    clock.advanceSync(700);
    assert.equal(drain(budget), 33);
  });

  it('grows back to the burst and no further', () => {
    const clock = new FakeClock();
    const budget = new ResetBudget(LIMIT, clock);
    for (let i = 0; i < 500; i++) budget.take();
    assert.equal(budget.floor, 500);
    clock.advanceSync(60_000);
    assert.equal(budget.available(), 1_000);
    assert.equal(drain(budget), 980);
  });

  it('stays within a peer whose second boundaries fall anywhere', () => {
    // The peer (nghttp2_ratelim): val += rate at each integer second of its own clock, which
    // is offset from ours by `phase`; a reset arriving with val < 1 closes the connection.
    for (const [start, phase] of [0, 1, 250, 500, 950, 999].flatMap((p) => [
      [1_234, p],
      [1_900, p],
    ])) {
      const clock = new FakeClock(0);
      const budget = new ResetBudget(LIMIT, clock);
      let val = LIMIT.burst;
      let tstamp = -1;
      const peerReset = (now: number): boolean => {
        const sec = Math.floor((now + phase) / 1_000);
        if (tstamp >= 0 && sec > tstamp)
          val = Math.min(LIMIT.burst, val + (sec - tstamp) * LIMIT.rate);
        tstamp = sec;
        if (val < 1) return false;
        val--;
        return true;
      };
      clock.advanceSync(start);
      // 150 resets a second wanted for 20 s: far over the rate.
      for (let ms = 0; ms < 20_000; ms += 10) {
        for (let k = 0; k < 1.5; k++) {
          if (budget.take())
            assert.ok(peerReset(clock.now()), `phase ${phase}, start ${start}: over at ${ms} ms`);
        }
        clock.advanceSync(10);
      }
    }
  });
});
