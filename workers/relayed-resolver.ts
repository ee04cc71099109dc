// A worker's resolver: endpoint sets and errors relayed from the primary, which runs the one
// real resolver per cluster, so DNS servers and Consul see one client however many workers run.
import {
  createEndpoint,
  createEndpointSet,
  sameEndpointSet,
  type EndpointSet,
} from '../resolver/endpoint.js';
import { ResolutionError } from '../resolver/errors.js';
import { LatestEvent, type ResolverEvent } from '../resolver/latest-event.js';
import type { Resolver, ResolverListener } from '../resolver/resolver.js';

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
  /** What the primary relayed last, for listeners that subscribe later. */
  private readonly latest = new LatestEvent();
  private closed = false;

  constructor(
    readonly target: string,
    /** Asks the primary to re-resolve (rate-limited there). */
    private readonly requestRefresh: () => void,
  ) {}

  /** From the primary: a new set. Delivered only when it differs from the last one. */
  update(set: EndpointSet): void {
    if (this.closed || sameEndpointSet(this.latest.set, set)) return;
    this.deliver({ kind: 'update', set });
  }

  /** From the primary: a failed resolution (`SWY_ERR_RESOLVE_NOT_FOUND` empties the set). */
  fail(error: ResolutionError): void {
    if (this.closed) return;
    this.deliver(
      error.code === 'SWY_ERR_RESOLVE_NOT_FOUND'
        ? { kind: 'not-found', error }
        : { kind: 'error', error },
    );
  }

  subscribe(listener: ResolverListener): () => void {
    this.listeners.add(listener);
    this.latest.replayLater(
      () => !this.closed && this.listeners.has(listener),
      (event) => notify(listener, event),
    );
    return () => this.listeners.delete(listener);
  }

  refresh(): void {
    if (!this.closed) this.requestRefresh();
  }

  current(): EndpointSet | undefined {
    return this.latest.set;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private deliver(event: ResolverEvent): void {
    this.latest.record(event);
    for (const listener of this.listeners) notify(listener, event);
  }
}

function notify(listener: ResolverListener, event: ResolverEvent): void {
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
