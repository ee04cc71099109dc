// The seam promises that no event reaches a caller from inside one of its own calls (a cancel
// that closes a stream, a close that ends the connection). h2/connection raises events
// synchronously, so an adapter enters the gate around each such call; events raised meanwhile
// wait for the next tick, in order. Outside the gate they run at once, allocating nothing.
export class EventGate {
  private depth = 0;
  private held: (() => void)[] | null = null;

  /** Inside one of the seam's own calls: events must wait. */
  get busy(): boolean {
    return this.depth > 0;
  }

  enter(): void {
    this.depth++;
  }

  leave(): void {
    this.depth--;
  }

  /** Runs `fn` now, or on the next tick when inside one of the seam's own calls. */
  run(fn: () => void): void {
    if (this.depth === 0) {
      fn();
      return;
    }
    if (this.held === null) {
      this.held = [];
      process.nextTick(this.release);
    }
    this.held.push(fn);
  }

  private readonly release = (): void => {
    const held = this.held!;
    this.held = null;
    for (let i = 0; i < held.length; i++) held[i]();
  };
}
