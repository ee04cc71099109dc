// Time as resolvers see it: injectable so tests can drive TTLs, backoff and rate limits.

/** What `setTimeout` gave back; only ever passed to the same clock's `clearTimeout`. */
export type TimerHandle = object | number;

/**
 * Wall-clock time plus timers. Timers created through a clock never keep the process alive
 * (the system clock `unref()`s them): a resolver must not pin a process that is done.
 */
export interface Clock {
  /** Milliseconds, monotonic enough for scheduling (the system clock uses `performance.now()`). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    // Node clamps delays above 2^31-1 ms to 1 ms; an "infinite" TTL must not turn into a spin.
    const timer = setTimeout(callback, Math.min(Math.max(0, ms), 0x7fffffff));
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
