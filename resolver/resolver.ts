// The contract every resolver (dns, dns+srv, consul, static) implements.
import type { EndpointSet } from './endpoint.js';
import type { ResolutionError } from './errors.js';

export interface ResolverListener {
  /** A new endpoint set, different from the last one delivered to this listener. */
  onUpdate(set: EndpointSet): void;
  /** Resolution failed for a reason that may pass; the last good set (if any) stays in force. */
  onError(error: ResolutionError): void;
  /** The name does not exist or has no endpoints (NXDOMAIN, empty answer, unknown service). */
  onNotFound(error: ResolutionError): void;
}

/**
 * Turns a target into a live endpoint set and keeps it current.
 *
 * Listeners are never called synchronously from `subscribe()` or `refresh()`: a subscriber that
 * arrives after the first answer gets the last good set on a later tick. After `close()` no
 * listener is called again and all timers and sockets are released.
 */
export interface Resolver {
  /** The target as the user wrote it, for messages. */
  readonly target: string;
  /** Starts resolution on the first subscriber. Returns the unsubscribe function. */
  subscribe(listener: ResolverListener): () => void;
  /**
   * Asks for a re-resolution soon (an endpoint failed). Rate-limited: calls close together
   * cause one query. Never calls a listener synchronously.
   */
  refresh(): void;
  /** The last good set, or undefined before the first answer (or after not-found). */
  current(): EndpointSet | undefined;
  close(): void;
}
