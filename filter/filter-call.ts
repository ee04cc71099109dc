// One call through a list of filters: runs each phase's hooks in order, synchronously unless a
// hook returns a Promise, and remembers how far the request got so `onCallEnd` reaches exactly
// the filters that saw the call. Shared by the proxy and the grpc-js adapters.
import type { Clock } from '../common/clock.js';
import type {
  Filter,
  FilterContext,
  FilterMessage,
  FilterMetadata,
  FilterPeer,
  FilterReject,
  FilterSite,
  RequestVerdict,
} from './filter.js';

/** gRPC status INTERNAL: a filter threw. */
const INTERNAL = 13;

function isPromise(v: unknown): v is Promise<RequestVerdict> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

function failed(filter: Filter, err: unknown): FilterReject {
  const why = err instanceof Error ? err.message : String(err);
  return { code: INTERNAL, message: `filter "${filter.name}" failed: ${why}` };
}

function checked(filter: Filter, verdict: RequestVerdict): FilterReject | undefined {
  if (verdict === undefined || verdict === null) return undefined;
  if (typeof verdict.code !== 'number' || verdict.code === 0) {
    return failed(filter, new Error(`returned a status without a non-zero code`));
  }
  return verdict;
}

export class FilterCall implements FilterContext {
  claims: Readonly<Record<string, unknown>> | undefined = undefined;
  private valueMap: Map<string, unknown> | undefined;
  /** Filters whose request hook ran (or was skipped for having none). */
  private reached = 0;
  /** The route a request hook picked with setRoute (the proxy takes it); undefined: none. */
  pickedRoute: string | undefined = undefined;
  /** The filter that picked it, for logs. */
  pickedBy = '';
  private ended = false;
  readonly startedAt: number;

  constructor(
    /** The listener's filters, then the route's (the proxy adds those once it has routed). */
    public filters: readonly Filter[],
    readonly site: FilterSite,
    readonly method: string,
    readonly peer: FilterPeer,
    public route: string,
    readonly listener: string,
    /** Durations (`onCallEnd`); one object for many calls, not one per call. */
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.startedAt = clock.now();
  }

  get values(): Map<string, unknown> {
    return (this.valueMap ??= new Map());
  }

  setRoute(name: string): void {
    if (this.site !== 'proxy') throw new Error(`setRoute("${name}"): grpc-js calls have no routes`);
    this.pickedRoute = name;
    this.pickedBy = this.filters[this.reached - 1]?.name ?? '';
  }

  /**
   * The proxy routed the call: `name` is its route now, and its `filters` run after those that
   * have (the next `requestHeaders` starts with them).
   */
  routeTo(name: string, filters: readonly Filter[] | undefined): void {
    this.route = name;
    this.pickedRoute = undefined;
    if (filters === undefined || filters.length === 0) return;
    this.filters = this.filters.length === 0 ? filters : [...this.filters, ...filters];
  }

  /**
   * Runs the request hooks not run yet (all, the first time): undefined to let the call go on,
   * a status to end it, or a Promise of either when a hook must wait.
   */
  requestHeaders(
    metadata: FilterMetadata,
  ): FilterReject | undefined | Promise<FilterReject | undefined> {
    return this.runFrom(this.reached, metadata);
  }

  private runFrom(
    start: number,
    metadata: FilterMetadata,
  ): FilterReject | undefined | Promise<FilterReject | undefined> {
    const filters = this.filters;
    for (let i = start; i < filters.length; i++) {
      const filter = filters[i];
      this.reached = i + 1;
      if (filter.onRequestHeaders === undefined) continue;
      let verdict: RequestVerdict | Promise<RequestVerdict>;
      try {
        verdict = filter.onRequestHeaders(this, metadata);
      } catch (err) {
        return failed(filter, err);
      }
      if (verdict === undefined) continue;
      if (isPromise(verdict)) {
        return verdict.then(
          (v) => {
            const reject = checked(filter, v);
            return reject ?? this.runFrom(i + 1, metadata);
          },
          (err: unknown) => failed(filter, err),
        );
      }
      const reject = checked(filter, verdict);
      if (reject !== undefined) return reject;
    }
    return undefined;
  }

  responseHeaders(metadata: FilterMetadata): void {
    const filters = this.filters;
    for (let i = 0; i < this.reached; i++) {
      const filter = filters[i];
      if (filter.onResponseHeaders === undefined) continue;
      try {
        filter.onResponseHeaders(this, metadata);
      } catch {
        // A response hook that throws changes nothing: the answer is already on its way.
      }
    }
  }

  trailers(code: number, metadata: FilterMetadata): void {
    const filters = this.filters;
    for (let i = 0; i < this.reached; i++) {
      const filter = filters[i];
      if (filter.onTrailers === undefined) continue;
      try {
        filter.onTrailers(this, code, metadata);
      } catch {
        // As for response headers.
      }
    }
  }

  /**
   * Runs the request-message hooks in order on one message from the client: undefined to pass
   * it on, or the status that ends the call. Only for a call every filter let through.
   */
  requestMessage(message: FilterMessage): FilterReject | undefined {
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const filter = filters[i];
      if (filter.onRequestMessage === undefined) continue;
      let verdict: RequestVerdict;
      try {
        verdict = filter.onRequestMessage(this, message);
      } catch (err) {
        return failed(filter, err);
      }
      if (verdict === undefined) continue;
      if (isPromise(verdict)) {
        // Swallow its outcome: the call ends here whatever the Promise does.
        verdict.then(undefined, () => undefined);
        return failed(filter, new Error('onRequestMessage returned a Promise; it must not wait'));
      }
      const reject = checked(filter, verdict);
      if (reject !== undefined) return reject;
    }
    return undefined;
  }

  /** Runs the response-message hooks in order on one message from the upstream. */
  responseMessage(message: FilterMessage): void {
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const filter = filters[i];
      if (filter.onResponseMessage === undefined) continue;
      try {
        filter.onResponseMessage(this, message);
      } catch {
        // As for response headers: the message goes on unchanged.
      }
    }
  }

  /** Tells the filters the call reached that it ended; once. */
  end(code: number, message: string): void {
    if (this.ended) return;
    this.ended = true;
    const filters = this.filters;
    let record: { code: number; message: string; durationMs: number } | undefined;
    for (let i = 0; i < this.reached; i++) {
      const filter = filters[i];
      if (filter.onCallEnd === undefined) continue;
      record ??= { code, message, durationMs: this.clock.now() - this.startedAt };
      try {
        filter.onCallEnd(this, record);
      } catch {
        // The call is over; nothing to change.
      }
    }
  }
}

/** Whether any filter of the list has a message hook (the call then reads its framing). */
export function hasMessageHooks(filters: readonly Filter[]): boolean {
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i];
    if (f.onRequestMessage !== undefined || f.onResponseMessage !== undefined) return true;
  }
  return false;
}

/** Whether a filter with a message hook asks for decoded messages. */
export function wantsDecoded(filters: readonly Filter[]): boolean {
  return filters.some(
    (f) =>
      f.messages === 'decoded' &&
      (f.onRequestMessage !== undefined || f.onResponseMessage !== undefined),
  );
}
