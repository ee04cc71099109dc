// A cluster: a resolver feeding a balancer, one connection pool per endpoint, and the short
// queue of calls that arrive while endpoints are still connecting.
import type { Balancer } from '../balancer/balancer.js';
import type { Connectivity, Host } from '../balancer/host.js';
import type { PickRequest } from '../balancer/policy.js';
import type { ClusterConfig } from '../config/types.js';
import type { EndpointSet } from '../resolver/endpoint.js';
import type { ResolutionError } from '../resolver/errors.js';
import { LatestEvent, type ResolverEvent } from '../resolver/latest-event.js';
import type { Resolver } from '../resolver/resolver.js';
import type { Dialer } from './dialer.js';
import { EndpointPool, type PoolEvents, type PoolOptions } from './endpoint-pool.js';
import { CallLimits } from './call-limits.js';
import {
  NO_POLICIES,
  policiesFromServiceConfig,
  type CallPolicies,
  type ServiceConfigPolicies,
} from './service-config-policies.js';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { LogLimiter } from '../common/log.js';
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import type { UpstreamTransport } from '../transport/upstream.js';
import { TRACE, traceLogger } from '../common/trace.js';

/** A call waiting for an endpoint to become ready. */
export interface WaitingCall {
  /** Tries again to pick; called when the cluster's endpoints change. */
  retryPick(): void;
  /** The wait is over without an endpoint. */
  waitExpired(reason: string): void;
}

export interface ClusterDeps {
  readonly resolver: Resolver;
  readonly balancer: Balancer;
  readonly dialer: Dialer;
  readonly logger: Logger;
  readonly poolSettings: PoolOptions['settings'];
  /**
   * Open an endpoint pool (HTTP/2 connections) to each endpoint (default true). A cluster that
   * only follows its resolver (the control plane of a multi-worker proxy, when it runs no health
   * checks) dials none.
   */
  readonly dialEndpoints?: boolean;
  /** Time for the wait queue and the pools' timers; the system clock by default. */
  readonly clock?: Clock;
  /** Jitter for the pools' connect backoff; `Math.random` by default. */
  readonly random?: () => number;
  /** HTTP/2 to the endpoints; node:http2 by default. */
  readonly transport?: UpstreamTransport;
}

export class Cluster implements PoolEvents {
  readonly name: string;
  readonly balancer: Balancer;
  private readonly pools = new Map<string, EndpointPool>();
  private readonly resolver: Resolver;
  private readonly unsubscribe: () => void;
  private readonly logger: Logger;
  private readonly logLimiter = new LogLimiter();
  /**
   * Connect failures are logged once per endpoint and reason, then at most once a minute while
   * the same reason repeats (a backend that refuses every handshake retries for hours).
   */
  private readonly connectLogLimiter = new LogLimiter(60_000);
  private readonly poolOptions: PoolOptions;
  private readonly clock: Clock;
  /** Calls waiting for a ready endpoint, oldest first, with when they started waiting. */
  private waiting: { call: WaitingCall; since: number }[] = [];
  private waitTimer: TimerHandle | undefined;
  /** Why the resolver has no endpoints, when it has none. */
  private resolverError: string | undefined;
  private resolved = false;
  private closed = false;
  /**
   * The cluster of the same name that replaced this one in a reload, set before this one
   * closes: calls it still carries send their retries there (and calls waiting for an endpoint
   * wait there), so no call fails because its cluster was swapped under it.
   */
  successor: Cluster | undefined = undefined;
  private readonly dialEndpoints: boolean;
  /** The last set (or not-found) and a transient error since it, replayed to new watchers. */
  private readonly latestEvent = new LatestEvent();
  private readonly resolverWatchers = new Set<(event: ResolverEvent) => void>();
  /** Resolver events, for metrics and the admin view. */
  readonly stats = { updates: 0, errors: 0, lastError: '', lastUpdateAt: 0 };
  /** The retry policy, its throttle and budget, and the circuit breakers, with their counters. */
  readonly limits: CallLimits;
  /** The config's own A6 policies, for every path. */
  private readonly configPolicies: CallPolicies;
  /** The resolver's service config's policies while it publishes one, and its text. */
  private serviceConfigPolicies: ServiceConfigPolicies | undefined = undefined;
  private serviceConfigText: string | undefined = undefined;
  /** SWITCHYARD_TRACE loggers; undefined while their category is off. */
  private readonly callTrace: Logger | undefined;
  private readonly poolTrace: Logger | undefined;
  private readonly resolverTrace: Logger | undefined;

  constructor(
    readonly config: ClusterConfig,
    deps: ClusterDeps,
  ) {
    this.name = config.name;
    this.balancer = deps.balancer;
    this.resolver = deps.resolver;
    this.logger = deps.logger.child({ cluster: config.name });
    this.callTrace = traceLogger(this.logger, 'call');
    this.poolTrace = traceLogger(this.logger, 'pool');
    this.resolverTrace = traceLogger(this.logger, 'resolver');
    this.poolOptions = {
      dialer: deps.dialer,
      connectTimeoutMs: config.timeouts.connectMs,
      keepalive: config.keepalive,
      idleTimeoutMs: config.idleTimeoutMs,
      maxSessions: 8,
      settings: deps.poolSettings,
      resetLimit: config.resetLimit,
      clock: deps.clock,
      random: deps.random,
      transport: deps.transport,
    };
    this.clock = deps.clock ?? systemClock;
    this.limits = new CallLimits(
      config.retryPolicy,
      config.hedgingPolicy,
      config.retryThrottling,
      config.retryBudget,
      config.circuitBreakers,
      deps.random ?? Math.random,
    );
    this.configPolicies =
      config.retryPolicy === undefined && config.hedgingPolicy === undefined
        ? NO_POLICIES
        : { retry: config.retryPolicy, hedging: config.hedgingPolicy };
    this.dialEndpoints = deps.dialEndpoints ?? true;
    this.balancer.onChange(() => this.drainWaiting());
    this.unsubscribe = this.resolver.subscribe({
      onUpdate: (set) => this.onEndpoints(set),
      onError: (err) => this.onResolverError(err),
      onNotFound: (err) => this.onResolverNotFound(err),
    });
  }

  /**
   * The A6 policies of a call to `path`: the resolver's service config's while it publishes one
   * (as gRPC clients let a resolver's config replace the default one; DNS looks for it only with
   * `resolver.serviceConfig: true`), else the cluster's own.
   */
  policiesFor(path: string): CallPolicies {
    const fromResolver = this.serviceConfigPolicies;
    return fromResolver === undefined ? this.configPolicies : fromResolver.forPath(path);
  }

  /** The pool of a host this cluster's balancer returned. */
  pool(host: Host): EndpointPool | undefined {
    return this.pools.get(host.key);
  }

  /** Every endpoint's pool, for calls that must reach each endpoint (server reflection). */
  endpointPools(): EndpointPool[] {
    return [...this.pools.values()];
  }

  pick(request: PickRequest): Host | null {
    const host = this.balancer.pick(request);
    if (TRACE.call) this.tracePick(request, host);
    return host;
  }

  /**
   * @internal SWITCHYARD_TRACE=call: attempt number `failed` of at most `max` did not reach the
   * upstream on `host` (no stream to send on, or refused unprocessed); the call tries another
   * host unless that was the last. Call only when the category is on.
   */
  traceRetry(request: PickRequest, host: Host, failed: number, max: number, why: string): void {
    this.callTrace?.debug(
      { path: request.path, from: host.key, attempt: failed, why },
      failed < max ? 'retry' : 'no attempt left',
    );
  }

  private tracePick(request: PickRequest, host: Host | null): void {
    if (host === null) {
      this.callTrace?.debug(
        { path: request.path, endpoints: this.balancer.size, why: this.unavailableReason() },
        'pick: no ready endpoint',
      );
      return;
    }
    this.callTrace?.debug(
      {
        path: request.path,
        host: host.key,
        policy: this.balancer.policy.name,
        inFlight: host.inFlight,
        eligible: this.balancer.eligible,
        ...(this.balancer.panic ? { panic: true } : {}),
      },
      'pick',
    );
  }

  /**
   * Whether a call that found no ready endpoint should wait: the resolver has not answered
   * yet, or some endpoint is still making its first connection. Otherwise it fails at once.
   */
  canWait(): boolean {
    if (this.closed) return false;
    if (!this.resolved && this.resolverError === undefined) return true;
    return this.balancer.anyConnecting();
  }

  /** Queues a call until an endpoint is ready, for at most the connect timeout. */
  enqueue(call: WaitingCall, since = this.clock.now()): void {
    if (TRACE.call) {
      this.callTrace?.debug(
        { waiting: this.waiting.length + 1 },
        'call waits for a ready endpoint',
      );
    }
    this.waiting.push({ call, since });
    this.armWaitTimer();
  }

  /** Calls waiting for a ready endpoint (checked against circuitBreakers.maxPendingCalls). */
  get waitingCalls(): number {
    return this.waiting.length;
  }

  /** Removes a call that no longer waits (cancelled, deadline). */
  dequeue(call: WaitingCall): void {
    const i = this.waiting.findIndex((w) => w.call === call);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Why no endpoint can take calls, for the UNAVAILABLE message. */
  unavailableReason(): string {
    if (this.closed) return `cluster "${this.name}" is shutting down`;
    if (this.resolverError !== undefined && this.balancer.size === 0) {
      return `no endpoints for cluster "${this.name}": ${this.resolverError}`;
    }
    if (this.balancer.size === 0)
      return `no endpoints for cluster "${this.name}" (${this.resolver.target})`;
    const reasons: string[] = [];
    for (const host of this.balancer.hosts()) {
      reasons.push(`${host.key} ${host.connectivityReason || host.connectivity}`);
      if (reasons.length === 3) break;
    }
    const more = this.balancer.size > 3 ? `, and ${this.balancer.size - 3} more` : '';
    return `no ready endpoint in cluster "${this.name}" (${reasons.join('; ')}${more})`;
  }

  /**
   * Follows what the resolver says: the last event at once (asynchronously), then each new
   * one. Returns the unsubscribe function.
   */
  watchResolver(watcher: (event: ResolverEvent) => void): () => void {
    this.resolverWatchers.add(watcher);
    this.latestEvent.replayLater(() => this.resolverWatchers.has(watcher), watcher);
    return () => this.resolverWatchers.delete(watcher);
  }

  private emitResolverEvent(event: ResolverEvent): void {
    this.latestEvent.record(event);
    for (const watcher of this.resolverWatchers) watcher(event);
  }

  /** An endpoint failed in a way that suggests the endpoint set is stale. */
  endpointFailed(why = 'a call failed on an endpoint', endpoint?: string): void {
    if (TRACE.resolver) {
      this.resolverTrace?.debug({ target: this.resolver.target, why, endpoint }, 're-resolve');
    }
    this.resolver.refresh();
  }

  /** This cluster while it serves; after a reload swapped it, the one that serves its name. */
  live(): Cluster {
    if (!this.closed || this.successor === undefined) return this;
    return this.successor.live();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.resolverWatchers.clear();
    this.resolver.close();
    if (this.waitTimer !== undefined) this.clock.clearTimeout(this.waitTimer);
    this.expireWaiting(Infinity);
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
    this.balancer.close();
  }

  /** Closes every upstream session now. */
  destroy(): void {
    const pools = [...this.pools.values()];
    this.close();
    for (const pool of pools) pool.destroy();
  }

  // PoolEvents

  connectivityChanged(pool: EndpointPool, state: Connectivity, reason: string): void {
    if (this.pools.get(pool.host.key) !== pool) return;
    if (TRACE.pool)
      this.poolTrace?.debug({ endpoint: pool.host.key, state, reason }, 'endpoint state');
    this.balancer.setConnectivity(pool.host, state, reason);
    // A failed connect changes no eligible host, so the balancer says nothing; but calls
    // waiting for this endpoint may now have nothing left to wait for.
    if (state === 'failing') this.drainWaiting();
  }

  connectFailed(pool: EndpointPool, error: Error): void {
    const reason = describeError(error);
    if (TRACE.pool) this.poolTrace?.debug({ endpoint: pool.host.key, reason }, 'connect failed');
    const suppressed = this.connectLogLimiter.take(`${pool.host.key} ${reason}`);
    if (suppressed >= 0) {
      this.logger.warn(
        { endpoint: pool.host.key, ...(suppressed > 0 ? { repeated: suppressed } : {}) },
        `connect failed: ${reason}`,
      );
    }
    this.endpointFailed('connect failed', pool.host.key);
  }

  connectionFailed(pool: EndpointPool, error: Error): void {
    if (TRACE.pool) {
      this.poolTrace?.debug(
        { endpoint: pool.host.key, reason: describeError(error) },
        'connection failed',
      );
    }
    const suppressed = this.logLimiter.take(pool.host.key);
    if (suppressed >= 0) {
      this.logger.warn(
        { endpoint: pool.host.key, ...(suppressed > 0 ? { suppressed } : {}) },
        `connection failed: ${describeError(error)}`,
      );
    }
    this.endpointFailed('connection failed', pool.host.key);
  }

  /** SWITCHYARD_TRACE=pool: a session event inside an endpoint's pool (draining, backoff). */
  sessionEvent(pool: EndpointPool, event: string, fields: Readonly<Record<string, unknown>>): void {
    this.poolTrace?.debug({ endpoint: pool.host.key, ...fields }, event);
  }

  get target(): string {
    return this.resolver.target;
  }

  /** Why the resolver has no endpoints right now, if it has none. */
  get resolverProblem(): string | undefined {
    return this.resolverError;
  }

  /** A new service config from the resolver: its A6 policies and throttle replace the config's. */
  private followServiceConfig(serviceConfig: unknown): void {
    const text = serviceConfig === undefined ? undefined : JSON.stringify(serviceConfig);
    if (text === this.serviceConfigText) return;
    this.serviceConfigText = text;
    if (serviceConfig === undefined) {
      this.serviceConfigPolicies = undefined;
      this.limits.setThrottling(this.config.retryThrottling);
      return;
    }
    const policies = policiesFromServiceConfig(serviceConfig);
    this.serviceConfigPolicies = policies;
    this.limits.setThrottling(policies.throttling ?? this.config.retryThrottling);
    for (const problem of policies.problems) {
      this.logger.warn(
        { target: this.resolver.target, problem },
        "a part of the resolver's service config is ignored",
      );
    }
  }

  private onEndpoints(set: EndpointSet): void {
    if (this.closed) return;
    this.stats.updates++;
    this.stats.lastUpdateAt = Date.now();
    this.resolved = true;
    this.resolverError = undefined;
    this.followServiceConfig(set.serviceConfig);
    const { added, removed } = this.balancer.update(set);
    if (TRACE.resolver) {
      this.resolverTrace?.debug(
        {
          target: this.resolver.target,
          endpoints: set.endpoints.length,
          added: added.length,
          removed: removed.length,
        },
        'resolved',
      );
    }
    for (const host of removed) {
      // In-flight calls finish on their sessions; the pool closes them as they drain.
      this.pools.get(host.key)?.close();
      this.pools.delete(host.key);
    }
    if (this.dialEndpoints) {
      for (const host of added) {
        const pool = new EndpointPool(host, this.poolOptions, this);
        this.pools.set(host.key, pool);
        pool.start();
      }
    }
    if (added.length > 0 || removed.length > 0) {
      this.logger.info(
        {
          endpoints: set.endpoints.length,
          added: added.map((h) => h.key),
          removed: removed.map((h) => h.key),
        },
        'endpoints updated',
      );
    }
    this.drainWaiting();
    this.emitResolverEvent({ kind: 'update', set });
  }

  private onResolverError(err: ResolutionError): void {
    this.stats.errors++;
    this.stats.lastError = err.message;
    if (this.balancer.size === 0) this.resolverError = err.message;
    if (TRACE.resolver) {
      this.resolverTrace?.debug(
        { target: this.resolver.target, code: err.code, kept: this.balancer.size },
        `resolve failed: ${err.message}`,
      );
    }
    this.logger.warn({ target: this.resolver.target }, `resolver error: ${err.message}`);
    this.drainWaiting();
    this.emitResolverEvent({ kind: 'error', error: err });
  }

  private onResolverNotFound(err: ResolutionError): void {
    this.stats.errors++;
    this.stats.lastError = err.message;
    this.resolverError = err.message;
    this.resolved = true;
    if (TRACE.resolver) {
      this.resolverTrace?.debug(
        { target: this.resolver.target, code: err.code },
        `not found: ${err.message}`,
      );
    }
    this.logger.warn({ target: this.resolver.target }, `resolver: ${err.message}`);
    const { removed } = this.balancer.update({ endpoints: [], serviceConfig: undefined });
    for (const host of removed) {
      this.pools.get(host.key)?.close();
      this.pools.delete(host.key);
    }
    this.drainWaiting();
    this.emitResolverEvent({ kind: 'not-found', error: err });
  }

  private drainWaiting(): void {
    if (this.waiting.length === 0) return;
    const entries = this.waiting;
    this.waiting = [];
    // A call that still finds nothing re-enqueues itself; keep its original start time.
    for (const { call, since } of entries) {
      call.retryPick();
      const last = this.waiting[this.waiting.length - 1];
      if (last !== undefined && last.call === call) last.since = since;
    }
    if (this.waiting.length === 0) {
      if (this.waitTimer !== undefined) this.clock.clearTimeout(this.waitTimer);
      this.waitTimer = undefined;
    }
  }

  private armWaitTimer(): void {
    if (this.waitTimer !== undefined || this.waiting.length === 0) return;
    const due = this.waiting[0].since + this.config.timeouts.connectMs - this.clock.now();
    this.waitTimer = this.clock.setTimeout(
      () => {
        this.waitTimer = undefined;
        this.expireWaiting(this.config.timeouts.connectMs);
      },
      Math.max(0, due),
    );
  }

  /** Fails the calls that waited at least `maxWaitMs`. */
  private expireWaiting(maxWaitMs: number): void {
    const now = this.clock.now();
    const expired = this.waiting.filter((w) => now - w.since >= maxWaitMs || this.closed);
    if (expired.length === 0) return this.armWaitTimer();
    this.waiting = this.waiting.filter((w) => !expired.includes(w));
    const reason = this.canWait()
      ? `${this.unavailableReason()}; no endpoint became ready within ${maxWaitMs} ms`
      : this.unavailableReason();
    for (const { call } of expired) call.waitExpired(reason);
    this.armWaitTimer();
  }
}
