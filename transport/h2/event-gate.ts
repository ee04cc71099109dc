// The seam promises that no event reaches a caller from inside one of its own calls (a cancel
// that closes a stream, a close that ends the connection). h2/connection raises events
// synchronously, so an adapter enters the gate around each such call; events raised meanwhile
// wait for the next tick, in order. Outside the gate they run at once, allocating nothing.

/** An event held by the gate, as an object: the common ones need no closure per call. */
export interface GatedEvent {
  runGated(): void;
}

/** A closure as a held event, for the rare ones. */
class GatedClosure implements GatedEvent {
  constructor(readonly runGated: () => void) {}
}

export class EventGate {
  private depth = 0;
  /** Events held this turn, and the array the previous turn used (kept to be reused). */
  private held: GatedEvent[] = [];
  private spare: GatedEvent[] = [];
  private scheduled = false;

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
    if (this.depth === 0) fn();
    else this.hold(new GatedClosure(fn));
  }

  /** Runs `event` now, or on the next tick when inside one of the seam's own calls. */
  runEvent(event: GatedEvent): void {
    if (this.depth === 0) event.runGated();
    else this.hold(event);
  }

  private hold(event: GatedEvent): void {
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.release);
    }
    this.held.push(event);
  }

  private readonly release = (): void => {
    const held = this.held;
    this.held = this.spare;
    this.scheduled = false;
    // Events these raise (outside any call of the seam) run at once or go to the next batch.
    for (let i = 0; i < held.length; i++) held[i].runGated();
    held.length = 0;
    this.spare = held;
  };
}
