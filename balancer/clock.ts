// Time and timers for the balancer layer, injectable so tests can run health checks and
// ejections on a fake clock.

/** An opaque timer handle, returned by `Clock.setTimeout`. */
export type TimerHandle = object;

/**
 * A monotonic clock plus one-shot timers. Callbacks run asynchronously, never from inside
 * `setTimeout` itself. Timers created by the system clock never keep the process alive.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences mean anything). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for one that already ran or was cancelled. */
  clearTimeout(handle: TimerHandle): void;
}

/** `performance.now()` and unref'ed Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
