// Time as the HTTP/2 connection sees it: injected, so tests drive handshake and ACK deadlines
// and flood buckets with a manual clock. h2/ imports nothing of the project, so it has its own.

/** What `setTimeout` gave back; only ever passed to the same clock's `clearTimeout`. */
export type H2TimerHandle = object | number;

/**
 * Milliseconds and timers. Shaped like the project's common Clock, so one object can serve
 * both. Timers must not keep the process alive (the system clock `unref()`s them).
 */
export interface H2Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): H2TimerHandle;
  clearTimeout(handle: H2TimerHandle): void;
}

export const h2SystemClock: H2Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, Math.min(Math.max(0, ms), 0x7fffffff));
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
