// The suite's manual clock: time moves only when the test advances it, and timers fire in
// time order as it passes them (resolvers, balancers, endpoint pools, calls).
import type { Clock, TimerHandle } from '../../common/clock.js';

interface FakeTimer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();

  constructor(start = 1_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = {
      at: this.time + Math.max(0, ms),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as FakeTimer;
    timer.cancelled = true;
    this.timers.delete(timer);
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  /** Timers still waiting, soonest first, as delays from now. */
  pendingDelays(): number[] {
    return [...this.timers].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /**
   * Moves time forward by `ms`, firing due timers in order (time, then creation). Between
   * timers it lets pending promise callbacks run, so async work started by one timer (a
   * probe answer) lands before the next.
   */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flushMicrotasks();
    while (true) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers.delete(next);
      this.time = Math.max(this.time, next.at);
      next.callback();
      await flushMicrotasks();
    }
    this.time = end;
    await flushMicrotasks();
  }

  /** Moves time forward without running async callbacks in between (sync-only tests). */
  advanceSync(ms: number): void {
    const end = this.time + ms;
    while (true) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers.delete(next);
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = end;
  }

  private nextDue(end: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.at > end) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/**
 * Lets every already-queued promise callback (and the ones they queue) run, and a few turns
 * of the event loop: fake DNS answers and awaits in resolvers settle within five.
 */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await settle();
}

/** Lets pending promise chains run to completion across `rounds` turns of the event loop. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A seeded pseudo-random generator (mulberry32): the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
