// A resolver listener that records every event, for assertions and for waiting in e2e tests.
import type { EndpointSet } from '../../resolver/endpoint.js';
import type { ResolutionError } from '../../resolver/errors.js';
import type { ResolverListener } from '../../resolver/resolver.js';

export type RecordedEvent =
  | { readonly kind: 'update'; readonly set: EndpointSet }
  | { readonly kind: 'error'; readonly error: ResolutionError }
  | { readonly kind: 'notFound'; readonly error: ResolutionError };

/** Sorted endpoint keys of a set: the easy thing to compare. */
export function keysOf(set: EndpointSet | undefined): string[] {
  return set ? set.endpoints.map((e) => e.key).sort() : [];
}

export class Recorder implements ResolverListener {
  readonly events: RecordedEvent[] = [];
  private waiters: (() => void)[] = [];

  onUpdate(set: EndpointSet): void {
    this.push({ kind: 'update', set });
  }
  onError(error: ResolutionError): void {
    this.push({ kind: 'error', error });
  }
  onNotFound(error: ResolutionError): void {
    this.push({ kind: 'notFound', error });
  }

  private push(event: RecordedEvent): void {
    this.events.push(event);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  get updates(): EndpointSet[] {
    return this.events.flatMap((e) => (e.kind === 'update' ? [e.set] : []));
  }
  get errors(): ResolutionError[] {
    return this.events.flatMap((e) => (e.kind === 'error' ? [e.error] : []));
  }
  get notFounds(): ResolutionError[] {
    return this.events.flatMap((e) => (e.kind === 'notFound' ? [e.error] : []));
  }
  /** Keys of the latest update. */
  get keys(): string[] {
    return keysOf(this.updates.at(-1));
  }

  /**
   * Resolves once `predicate` holds for the recorded events (checked now and after each new
   * event); rejects after `timeoutMs` with what was seen, so a hung test says why.
   */
  waitFor(
    predicate: (r: Recorder) => boolean,
    timeoutMs = 5_000,
    what = 'condition',
  ): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        const seen = this.events.map((e) =>
          e.kind === 'update'
            ? `update[${keysOf(e.set).join(' ')}]`
            : `${e.kind}(${e.error.message})`,
        );
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; events: ${seen.join(', ')}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (predicate(this)) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }
}
