// The static resolver: a fixed list of endpoints, delivered once.
import type { EndpointSet } from './endpoint.js';
import type { Resolver, ResolverListener } from './resolver.js';

export class StaticResolver implements Resolver {
  private readonly listeners = new Set<ResolverListener>();
  private closed = false;

  constructor(
    readonly target: string,
    private readonly set: EndpointSet,
  ) {}

  subscribe(listener: ResolverListener): () => void {
    this.listeners.add(listener);
    // Never synchronously: subscribers must be able to finish wiring before the first update.
    queueMicrotask(() => {
      if (!this.closed && this.listeners.has(listener)) listener.onUpdate(this.set);
    });
    return () => this.listeners.delete(listener);
  }

  refresh(): void {
    // Nothing to re-resolve: the list never changes.
  }

  current(): EndpointSet {
    return this.set;
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }
}
