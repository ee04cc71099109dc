// The gateway's watch over responses whose client stopped reading, on a fake clock: when it
// looks, what counts as progress, and what it cuts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StallWatch, type StallHost, type WaitingResponse } from '../../gateway/stall-watch.js';
import { FakeClock } from '../support/fake-clock.js';

class Host implements StallHost {
  stalled = 0;
  constructor(public stalledStreamTimeoutMs: number) {}
  streamReset(reason: 'stalled'): void {
    assert.equal(reason, 'stalled');
    this.stalled++;
  }
}

/** A response whose unsent bytes the test sets, recording when it was cut. */
class Response implements WaitingResponse {
  cutAt: number | undefined;
  constructor(
    private readonly clock: FakeClock,
    public unsent: number,
  ) {}
  unsentBytes(): number {
    return this.unsent;
  }
  cut(): void {
    assert.equal(this.cutAt, undefined, 'cut once');
    this.cutAt = this.clock.now();
  }
}

function setup(stallMs = 1_000) {
  const clock = new FakeClock(0);
  const host = new Host(stallMs);
  return { clock, host, watch: new StallWatch(host, clock) };
}

void describe('StallWatch', () => {
  void it('cuts a response whose client takes nothing, at the timeout, and counts it', () => {
    const { clock, host, watch } = setup(1_000);
    const r = new Response(clock, 50_000);
    watch.behind(r);
    // It looks every quarter of the timeout: 250, 500, 750, then 1,000 ms, when it cuts.
    assert.deepEqual(clock.pendingDelays(), [250]);
    clock.advanceSync(999);
    assert.equal(r.cutAt, undefined);
    clock.advanceSync(1);
    assert.equal(r.cutAt, 1_000);
    assert.equal(host.stalled, 1);
    assert.equal(watch.size, 0);
    assert.equal(clock.pending, 0, 'no timer once nothing waits');
  });

  void it('counts bytes the client took as progress, and cuts a full timeout after the last', () => {
    const { clock, watch } = setup(1_000);
    const r = new Response(clock, 50_000);
    watch.behind(r);
    clock.advanceSync(700);
    r.unsent = 40_000; // the client read 10 KB between the looks at 500 and 750 ms
    clock.advanceSync(1_000);
    assert.equal(r.cutAt, undefined, 'progress seen at 750 ms');
    clock.advanceSync(49);
    assert.equal(r.cutAt, undefined);
    clock.advanceSync(1);
    assert.equal(r.cutAt, 1_750);
  });

  void it('more unsent bytes are not progress (the proxy wrote, the client did not read)', () => {
    const { clock, watch } = setup(1_000);
    const r = new Response(clock, 10_000);
    watch.behind(r);
    clock.advanceSync(400);
    r.unsent = 30_000;
    clock.advanceSync(600);
    assert.equal(r.cutAt, 1_000);
  });

  void it('stops watching a response whose client caught up, or that ended', () => {
    const { clock, host, watch } = setup(1_000);
    const a = new Response(clock, 1);
    const b = new Response(clock, 1);
    watch.behind(a);
    clock.advanceSync(300);
    watch.behind(b);
    watch.caughtUp(a);
    assert.equal(watch.size, 1);
    clock.advanceSync(1_200);
    assert.equal(a.cutAt, undefined);
    assert.equal(b.cutAt, 1_500, 'b fell behind at 300 ms; the look at 1,500 ms cuts it');
    assert.equal(host.stalled, 1);
    // Behind again later: watched afresh from then.
    watch.behind(a);
    watch.caughtUp(a);
    assert.equal(clock.pending, 0);
  });

  void it('falling behind twice keeps the first moment', () => {
    const { clock, watch } = setup(1_000);
    const r = new Response(clock, 5);
    watch.behind(r);
    clock.advanceSync(600);
    watch.behind(r);
    clock.advanceSync(400);
    assert.equal(r.cutAt, 1_000);
  });

  void it('never watches with a timeout of 0, and lets go of everything when a reload sets 0', () => {
    const { clock, host, watch } = setup(0);
    const r = new Response(clock, 5);
    watch.behind(r);
    assert.equal(watch.size, 0);
    assert.equal(clock.pending, 0);
    host.stalledStreamTimeoutMs = 1_000;
    watch.behind(r);
    host.stalledStreamTimeoutMs = 0;
    clock.advanceSync(10_000);
    assert.equal(r.cutAt, undefined);
    assert.equal(watch.size, 0);
    assert.equal(clock.pending, 0);
  });

  void it('looks at most every second for long timeouts and every 50 ms for short ones', () => {
    const long = setup(60_000);
    long.watch.behind(new Response(long.clock, 1));
    assert.deepEqual(long.clock.pendingDelays(), [1_000]);
    const short = setup(100);
    short.watch.behind(new Response(short.clock, 1));
    assert.deepEqual(short.clock.pendingDelays(), [50]);
  });
});
