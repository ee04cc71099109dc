// Listener bookkeeping shared by every resolver: async delivery, change-only updates, close().
import { sameEndpointSet, type EndpointSet } from './endpoint.js';
import type { ResolutionError } from './errors.js';
import { LatestEvent, type ResolverEvent } from './latest-event.js';
import type { Resolver, ResolverListener } from './resolver.js';

interface Subscription {
  readonly listener: ResolverListener;
  /** The set this listener last got, to skip updates that change nothing for it. */
  delivered: EndpointSet | undefined;
  /** True once this listener has heard about the current not-found. */
  heardNotFound: boolean;
}

/**
 * Holds the resolver's state (last good set, or not-found) and delivers it. Subclasses call
 * `publish`, `reportNotFound` and `reportError` from anywhere (even synchronously inside
 * `start()`); delivery always happens on a later microtask, so no listener ever runs inside
 * `subscribe()`, `refresh()` or the subclass's own code.
 */
export abstract class BaseResolver implements Resolver {
  private readonly subs = new Map<ResolverListener, Subscription>();
  /** The last good set (or not-found) and a transient error since it, for late subscribers. */
  private readonly latest = new LatestEvent();
  private flushQueued = false;
  private started = false;
  private closedFlag = false;

  constructor(readonly target: string) {}

  /** Begins resolving; called once, on the first subscriber. */
  protected abstract start(): void;
  /** Releases every timer, socket and pending query. Called once, from `close()`. */
  protected abstract stop(): void;
  /** A re-resolution was asked for (after start, before close). Default: nothing to do. */
  protected onRefresh(): void {}

  protected get closed(): boolean {
    return this.closedFlag;
  }

  subscribe(listener: ResolverListener): () => void {
    const unsubscribe = () => {
      this.subs.delete(listener);
    };
    if (this.closedFlag || this.subs.has(listener)) return unsubscribe;
    const sub: Subscription = { listener, delivered: undefined, heardNotFound: false };
    this.subs.set(listener, sub);
    this.latest.replayLater(
      () => !this.closedFlag && this.subs.get(listener) === sub,
      (event) => this.deliver(sub, event),
    );
    if (!this.started) {
      this.started = true;
      this.start();
    }
    return unsubscribe;
  }

  refresh(): void {
    if (this.started && !this.closedFlag) this.onRefresh();
  }

  current(): EndpointSet | undefined {
    return this.latest.set;
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.subs.clear();
    this.stop();
  }

  /** A successful answer. Listeners hear of it only if it differs from what they last got. */
  protected publish(set: EndpointSet): void {
    if (this.closedFlag) return;
    // Keep the old object when nothing changed, so `current()` identity is stable too.
    const last = this.latest.set;
    const kept = last !== undefined && sameEndpointSet(last, set) ? last : set;
    this.latest.record({ kind: 'update', set: kept });
    this.queueFlush();
  }

  /** The name or service does not exist (or has no endpoints): the set is dropped. */
  protected reportNotFound(error: ResolutionError): void {
    if (this.closedFlag) return;
    const wasNotFound = this.latest.notFound !== undefined;
    this.latest.record({ kind: 'not-found', error });
    // Report a continuing not-found only once per listener; a new one after a set, again.
    if (!wasNotFound) for (const sub of this.subs.values()) sub.heardNotFound = false;
    this.queueFlush();
  }

  /** A failure that may pass; the last good set (or not-found) stays in force. */
  protected reportError(error: ResolutionError): void {
    if (this.closedFlag) return;
    this.latest.record({ kind: 'error', error });
    const targets = [...this.subs.values()];
    queueMicrotask(() => {
      for (const sub of targets) {
        if (this.closedFlag) return;
        if (this.subs.get(sub.listener) === sub) call(() => sub.listener.onError(error));
      }
    });
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    for (const sub of [...this.subs.values()]) {
      if (this.closedFlag) return;
      if (this.subs.get(sub.listener) !== sub) continue;
      const set = this.latest.set;
      const notFound = this.latest.notFound;
      if (set) this.deliver(sub, { kind: 'update', set });
      else if (notFound) this.deliver(sub, { kind: 'not-found', error: notFound });
    }
  }

  /** One event to one listener, skipping a set it already has and a not-found it heard. */
  private deliver(sub: Subscription, event: ResolverEvent): void {
    switch (event.kind) {
      case 'update': {
        const set = event.set;
        if (sub.delivered !== undefined && sameEndpointSet(sub.delivered, set)) return;
        sub.delivered = set;
        sub.heardNotFound = false;
        call(() => sub.listener.onUpdate(set));
        return;
      }
      case 'not-found':
        if (sub.heardNotFound) return;
        sub.heardNotFound = true;
        sub.delivered = undefined;
        call(() => sub.listener.onNotFound(event.error));
        return;
      case 'error':
        call(() => sub.listener.onError(event.error));
    }
  }
}

/** A throwing listener must not starve the others; its error surfaces like an emitter's would. */
function call(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
