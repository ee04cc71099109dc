// Memory readings for tests that assert a bound: live Buffer bytes after a full garbage
// collection, so garbage not yet collected does not count as held.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** Runs a full garbage collection (twice: weak callbacks free Buffers on the second pass). */
export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

/** Bytes of live Buffers and ArrayBuffers in this process, after a full collection. */
export function liveBufferBytes(): number {
  collectGarbage();
  return process.memoryUsage().arrayBuffers;
}
