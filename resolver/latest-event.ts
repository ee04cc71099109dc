// What a resolver said last, held so that a subscriber arriving late hears it: the one event
// type and the one replay used by every resolver, the cluster's watchers and the workers' relay.
import type { EndpointSet } from './endpoint.js';
import type { ResolutionError } from './errors.js';

/** An endpoint set, a failure that may pass (`error`), or a name that does not exist. */
export type ResolverEvent = UpdateEvent | ErrorEvent | NotFoundEvent;
export interface UpdateEvent {
  readonly kind: 'update';
  readonly set: EndpointSet;
}
export interface ErrorEvent {
  readonly kind: 'error';
  readonly error: ResolutionError;
}
export interface NotFoundEvent {
  readonly kind: 'not-found';
  readonly error: ResolutionError;
}

/**
 * The state in force (the last set, or not-found) and the transient error reported since it.
 * A late subscriber needs both: the state to act on, the error to know it may be stale. An
 * error does not replace the state (the last good set stays); a new state drops the error.
 */
export class LatestEvent {
  private state: UpdateEvent | NotFoundEvent | undefined;
  private error: ErrorEvent | undefined;
  /** Counts recorded events; each held one keeps the count at which it was recorded. */
  private seq = 0;
  private stateSeq = 0;
  private errorSeq = 0;

  /** Holds `event` as the newest; the caller delivers it to the subscribers it already has. */
  record(event: ResolverEvent): void {
    this.seq++;
    if (event.kind === 'error') {
      this.error = event;
      this.errorSeq = this.seq;
    } else {
      this.state = event;
      this.stateSeq = this.seq;
      this.error = undefined;
    }
  }

  /** The last good set; undefined before the first one and after not-found. */
  get set(): EndpointSet | undefined {
    return this.state?.kind === 'update' ? this.state.set : undefined;
  }

  /** The not-found in force, if the state is one. */
  get notFound(): ResolutionError | undefined {
    return this.state?.kind === 'not-found' ? this.state.error : undefined;
  }

  /** The transient error since the state (or since the start, with no state yet). */
  get pendingError(): ResolutionError | undefined {
    return this.error?.error;
  }

  /** The held events in the order a newcomer needs them: the state, then the error since it. */
  held(): ResolverEvent[] {
    const out: ResolverEvent[] = [];
    if (this.state !== undefined) out.push(this.state);
    if (this.error !== undefined) out.push(this.error);
    return out;
  }

  /**
   * For a subscriber added now: on a later microtask (never inside the caller), hands
   * `deliver` the held state and then the held error, but only those recorded before this
   * call. Newer events reached the subscriber the ordinary way, so none is heard twice and
   * none is lost: a set held now still arrives when an error overtakes it. Nothing is replayed
   * when `wanted()` is false by then (unsubscribed, closed).
   */
  replayLater(wanted: () => boolean, deliver: (event: ResolverEvent) => void): void {
    const mark = this.seq;
    queueMicrotask(() => {
      if (!wanted()) return;
      const { state, error } = this;
      const replayError = error !== undefined && this.errorSeq <= mark;
      if (state !== undefined && this.stateSeq <= mark) deliver(state);
      // `deliver` may have unsubscribed, or recorded a newer state that drops the error.
      if (replayError && this.error === error && wanted()) deliver(error);
    });
  }
}
