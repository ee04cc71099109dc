// A worker's resolver: endpoint sets and errors relayed from the primary, which runs the one
// real resolver per cluster, so DNS servers and Consul see one client however many workers run.
import {
  createEndpoint,
  createEndpointSet,
  sameEndpointSet,
  type EndpointSet,
} from '../resolver/endpoint.js';
import { ResolutionError } from '../resolver/errors.js';
import type { Resolver, ResolverListener } from '../resolver/resolver.js';

type RelayedEvent =
  | { readonly kind: 'update'; readonly set: EndpointSet }
  | { readonly kind: 'error' | 'not-found'; readonly error: ResolutionError };

/** Rebuilds the frozen values a structured clone turned into plain objects. */
export function reviveEndpointSet(set: EndpointSet): EndpointSet {
  return createEndpointSet(
    set.endpoints.map((e) =>
      createEndpoint({
        address: e.address,
        port: e.port,
        weight: e.weight,
        priority: e.priority,
        hostname: e.hostname,
        metadata: { ...e.metadata },
      }),
    ),
    set.serviceConfig,
  );
}

export class RelayedResolver implements Resolver {
  private readonly listeners = new Set<ResolverListener>();
  private last: EndpointSet | undefined;
  private pendingError: RelayedEvent | undefined;
  private closed = false;
  /** Counts relayed events, so a subscriber's first replay knows if it was overtaken. */
  private deliveries = 0;

  constructor(
    readonly target: string,
    /** Asks the primary to re-resolve (rate-limited there). */
    private readonly requestRefresh: () => void,
  ) {}

  /** From the primary: a new set. Delivered only when it differs from the last one. */
  update(set: EndpointSet): void {
    if (this.closed || sameEndpointSet(this.last, set)) return;
    this.last = set;
    this.pendingError = undefined;
    this.deliver({ kind: 'update', set });
  }

  /** From the primary: a failed resolution (`SWY_ERR_RESOLVE_NOT_FOUND` empties the set). */
  fail(error: ResolutionError): void {
    if (this.closed) return;
    const event: RelayedEvent = {
      kind: error.code === 'SWY_ERR_RESOLVE_NOT_FOUND' ? 'not-found' : 'error',
      error,
    };
    if (event.kind === 'not-found') this.last = undefined;
    this.pendingError = event;
    this.deliver(event);
  }

  subscribe(listener: ResolverListener): () => void {
    this.listeners.add(listener);
    const delivered = this.deliveries;
    queueMicrotask(() => {
      // Anything relayed since subscribing already reached the listener, and is newer.
      if (this.closed || !this.listeners.has(listener) || delivered !== this.deliveries) return;
      if (this.last !== undefined) listener.onUpdate(this.last);
      if (this.pendingError !== undefined) notify(listener, this.pendingError);
    });
    return () => this.listeners.delete(listener);
  }

  refresh(): void {
    if (!this.closed) this.requestRefresh();
  }

  current(): EndpointSet | undefined {
    return this.last;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private deliver(event: RelayedEvent): void {
    this.deliveries++;
    for (const listener of this.listeners) notify(listener, event);
  }
}

function notify(listener: ResolverListener, event: RelayedEvent): void {
  if (event.kind === 'update') listener.onUpdate(event.set);
  else if (event.kind === 'not-found') listener.onNotFound(event.error);
  else listener.onError(event.error);
}

/** Rebuilds a ResolutionError sent across processes. */
export function reviveResolutionError(
  code: ResolutionError['code'],
  target: string,
  message: string,
): ResolutionError {
  const prefix = `${target}: `;
  return new ResolutionError(
    code,
    target,
    message.startsWith(prefix) ? message.slice(prefix.length) : message,
  );
}
