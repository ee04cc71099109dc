// The balancer of one cluster: reconciles endpoint sets into hosts, tracks which hosts may take
// calls, and asks its policy to pick among them.
import type { EndpointSet } from '../resolver/endpoint.js';
import { Host, type Connectivity } from './host.js';
import type { PickRequest, Policy } from './policy.js';

export interface HostChanges {
  readonly added: readonly Host[];
  readonly removed: readonly Host[];
}

export class Balancer {
  private readonly byKey = new Map<string, Host>();
  private readonly changeListeners = new Set<() => void>();

  constructor(readonly policy: Policy) {}

  /** Every host of the current set, in the set's order. */
  hosts(): IterableIterator<Host> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }

  host(key: string): Host | undefined {
    return this.byKey.get(key);
  }

  /**
   * Takes a new endpoint set. Hosts whose key stays keep their state (in-flight calls,
   * connectivity); the caller opens connections for `added` and drains `removed`.
   */
  update(set: EndpointSet): HostChanges {
    const added: Host[] = [];
    const removed: Host[] = [];
    const seen = new Set<string>();
    for (const endpoint of set.endpoints) {
      seen.add(endpoint.key);
      const host = this.byKey.get(endpoint.key);
      if (host) host.endpoint = endpoint;
      else {
        const h = new Host(endpoint);
        this.byKey.set(endpoint.key, h);
        added.push(h);
      }
    }
    for (const [key, host] of this.byKey) {
      if (!seen.has(key)) {
        this.byKey.delete(key);
        removed.push(host);
      }
    }
    this.rebuild();
    return { added, removed };
  }

  setConnectivity(host: Host, state: Connectivity, reason = ''): void {
    if (host.connectivity === state && host.connectivityReason === reason) return;
    const wasReady = host.connectivity === 'ready';
    host.connectivity = state;
    host.connectivityReason = reason;
    if (wasReady !== (state === 'ready') && this.byKey.get(host.key) === host) this.rebuild();
    else this.notify();
  }

  /** A host for this call, or null when no host may take calls now. */
  pick(request: PickRequest): Host | null {
    return this.policy.pick(request);
  }

  /** True while some host is still making its first connection or reconnecting. */
  anyConnecting(): boolean {
    for (const host of this.byKey.values()) {
      if (host.connectivity === 'connecting' || host.connectivity === 'idle') return true;
    }
    return false;
  }

  callStarted(host: Host): void {
    host.inFlight++;
    this.policy.callStarted?.(host);
  }

  /**
   * A call on `host` ended. `endpointFailure` marks failures that point at the endpoint
   * (connect errors, resets, UNAVAILABLE), as opposed to application errors.
   */
  callEnded(host: Host, latencyMs: number, endpointFailure: boolean): void {
    host.inFlight--;
    host.calls++;
    if (endpointFailure) host.failures++;
    this.policy.callEnded?.(host, latencyMs, endpointFailure);
  }

  /** Called after any change that may let a waiting call proceed. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private rebuild(): void {
    const eligible: Host[] = [];
    for (const host of this.byKey.values()) {
      if (host.connectivity === 'ready') eligible.push(host);
    }
    this.policy.setHosts(eligible);
    this.notify();
  }

  private notify(): void {
    for (const listener of this.changeListeners) listener();
  }
}
