// The contract of a balancing policy (round_robin, least_loaded, …).
import type { Host } from './host.js';

/** What a policy may look at to pick a host: the call's path and request headers. */
export interface PickRequest {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** Request headers as node:http2 delivers them (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * A balancing policy chooses among the hosts the balancer says may take calls now.
 * `setHosts` runs on every change of that list (rare: connects, health, ejections, new sets);
 * `pick` runs per call, must be synchronous and should not allocate.
 */
export interface Policy {
  readonly name: string;
  /** The hosts calls may go to now; empty when none. The array is not mutated later. */
  setHosts(hosts: readonly Host[]): void;
  /** A host for this call, or null when none is available. */
  pick(request: PickRequest): Host | null;
  /** Optional per-call accounting, for policies that weigh load or latency. */
  callStarted?(host: Host): void;
  callEnded?(host: Host, latencyMs: number, failed: boolean): void;
}
