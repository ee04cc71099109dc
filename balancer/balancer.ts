// The balancer of one cluster: reconciles endpoint sets into hosts, decides which hosts may
// take calls (connectivity, priority, health, ejections, panic), and asks its policy to pick.
import type { EndpointSet } from '../resolver/endpoint.js';
import { BalancerError } from './errors.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { TRACE, traceLogger } from '../common/trace.js';
import { HealthChecker, type HealthCheckOptions, type HealthProbe } from './health-checker.js';
import { Host, type Connectivity, type HealthStatus } from './host.js';
import {
  OutlierDetector,
  type OutlierDetectionOptions,
  type EjectionReason,
  type OutlierTarget,
} from './outlier-detector.js';
import type { PickRequest, Policy } from './policy.js';
import { hostSnapshot, type BalancerSnapshot } from './snapshot.js';

export interface HostChanges {
  readonly added: readonly Host[];
  readonly removed: readonly Host[];
}

export interface BalancerOptions {
  /**
   * Share (0..1) of a priority level's ready hosts that must be healthy and not ejected for
   * the level to be used normally; below it, calls go to all of the level's ready hosts
   * (panic mode). 0 turns panic mode off. Default 0.5.
   */
  readonly panicThreshold?: number;
  /** Health check settings, used when `startHealthChecks(probe)` runs. */
  readonly healthCheck?: HealthCheckOptions;
  /** Turns passive outlier detection on. */
  readonly outlierDetection?: OutlierDetectionOptions;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Where SWITCHYARD_TRACE=balancer writes; the balancer logs nothing else. */
  readonly logger?: Logger;
}

/** Time constant of the hosts' latency averages when the policy does not set one. */
const DEFAULT_LATENCY_DECAY_MS = 10_000;

/**
 * Which hosts take calls:
 * 1. only `ready` hosts (the connection pool reports connectivity);
 * 2. of those, the lowest priority level that is healthy enough — at least `panicThreshold`
 *    of its ready hosts with a known health status are healthy (or unchecked) and not
 *    ejected — using just those hosts;
 * 3. when no level is healthy enough, every ready host of the lowest level that has ready
 *    hosts with a known status (panic: an endpoint that may be bad beats none);
 * 4. hosts waiting for their first health check count toward neither side, so adding
 *    endpoints never tips a level into panic; while only such hosts are ready, `pick()`
 *    returns null and `anyConnecting()` is true.
 *
 * All methods are synchronous, and `pick()` always sees every change made before it. After
 * `close()` no timer runs and no listener is called; the balancer can still be read.
 */
export class Balancer {
  private readonly byKey = new Map<string, Host>();
  private readonly changeListeners = new Set<() => void>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly panicThreshold: number;
  private readonly healthCheckOptions: HealthCheckOptions | undefined;
  private readonly latencyDecayMs: number;
  private readonly latencyStaleMs: number;
  private readonly outliers: OutlierDetector | undefined;
  private checker: HealthChecker | undefined;
  private panicMode = false;
  private activePriority: number | undefined;
  private eligibleCount = 0;
  private batchDepth = 0;
  private rebuildWanted = false;
  /** The eligible list is out of date; rebuilt on the next pick or read. */
  private dirty = false;
  private closed = false;
  /** Set only while SWITCHYARD_TRACE has `balancer`. */
  private readonly trace: Logger | undefined;

  constructor(
    readonly policy: Policy,
    options: BalancerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.trace = options.logger && traceLogger(options.logger, 'balancer');
    this.random = options.random ?? Math.random;
    this.panicThreshold = options.panicThreshold ?? 0.5;
    this.healthCheckOptions = options.healthCheck;
    this.latencyDecayMs = policy.latencyDecayMs ?? DEFAULT_LATENCY_DECAY_MS;
    this.latencyStaleMs = policy.latencyStaleMs ?? Infinity;
    if (options.outlierDetection) {
      const byKey = this.byKey;
      const target: OutlierTarget = {
        hosts: () => byKey.values(),
        get size() {
          return byKey.size;
        },
        ejectionChanged: (host, why) => {
          if (TRACE.balancer) this.traceEjection(host, why);
          this.requestRebuild();
        },
      };
      this.outliers = new OutlierDetector(target, options.outlierDetection, this.clock);
    }
  }

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
   * connectivity, health, ejection); the caller opens connections for `added` and drains
   * `removed`.
   */
  update(set: EndpointSet): HostChanges {
    const added: Host[] = [];
    const removed: Host[] = [];
    const seen = new Set<string>();
    this.batch(() => {
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
          host.removed = true;
          host.eligible = false;
          removed.push(host);
          this.checker?.hostRemoved(host);
          this.outliers?.hostRemoved(host);
        }
      }
      for (const host of added) this.checker?.hostAdded(host);
      this.policy.setAllHosts?.([...this.byKey.values()]);
      // Weights and priorities may have changed even when no key did.
      this.rebuildWanted = true;
    });
    return { added, removed };
  }

  setConnectivity(host: Host, state: Connectivity, reason = ''): void {
    if (host.connectivity === state && host.connectivityReason === reason) return;
    const wasReady = host.connectivity === 'ready';
    host.connectivity = state;
    host.connectivityReason = reason;
    if (host.removed) return;
    this.batch(() => {
      this.checker?.connectivityChanged(host);
      if (wasReady !== (state === 'ready')) this.rebuildWanted = true;
    });
  }

  /** A host for this call, or null when no host may take calls now. */
  pick(request: PickRequest): Host | null {
    if (this.dirty) this.rebuild();
    const host = this.policy.pick(request);
    if (TRACE.balancer) this.tracePick(host);
    return host;
  }

  /**
   * A host for a retry, other than those in `avoid` when the policy has another to offer (see
   * Policy.pickOther); one of them when it has not; null when no host may take calls now.
   */
  pickOther(request: PickRequest, avoid: ReadonlySet<Host>): Host | null {
    if (this.dirty) this.rebuild();
    const policy = this.policy;
    if (policy.pickOther !== undefined) return policy.pickOther(request, avoid);
    let host = policy.pick(request);
    for (let i = 1; host !== null && avoid.has(host) && i < this.byKey.size; i++) {
      host = policy.pick(request);
    }
    return host;
  }

  /**
   * True while some host may soon be able to take calls: idle, connecting or reconnecting,
   * or ready and waiting for its first health check.
   */
  anyConnecting(): boolean {
    for (const host of this.byKey.values()) {
      if (host.connectivity === 'connecting' || host.connectivity === 'idle') return true;
      if (host.connectivity === 'ready' && host.health === 'pending') return true;
    }
    return false;
  }

  callStarted(host: Host): void {
    host.inFlight++;
    this.policy.callStarted?.(host);
  }

  /**
   * A call on `host` ended after `latencyMs`. `endpointFailure` marks failures that point at
   * the endpoint (connect errors, resets, UNAVAILABLE, a deadline reached without any answer),
   * as opposed to application errors.
   */
  callEnded(host: Host, latencyMs: number, endpointFailure: boolean): void {
    host.inFlight--;
    host.calls++;
    let sample = latencyMs;
    if (endpointFailure) {
      host.failures++;
      // An endpoint that fails fast must not look fast to least_loaded: a failure counts as
      // at least twice the current estimate.
      const doubled = 2 * host.latency.lastEstimate;
      if (doubled > sample) sample = doubled;
    }
    host.latency.observe(sample, this.clock.now(), this.latencyDecayMs, this.latencyStaleMs);
    this.policy.callEnded?.(host, latencyMs, endpointFailure);
    if (this.outliers !== undefined && !host.removed)
      this.outliers.callEnded(host, endpointFailure);
  }

  /** Called after any change that may let a waiting call proceed. Returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * Starts active health checks through `probe` (stopping any running ones). Every host turns
   * `pending` until its first check answers. Throws `SWY_ERR_NO_HEALTH_CHECK_SETTINGS` when
   * neither `options` nor the constructor's `healthCheck` gives settings.
   */
  startHealthChecks(probe: HealthProbe, options = this.healthCheckOptions): void {
    if (!options) {
      throw new BalancerError(
        'SWY_ERR_NO_HEALTH_CHECK_SETTINGS',
        'health checks need settings (the cluster has no healthCheck block)',
      );
    }
    if (this.closed) return;
    this.batch(() => {
      this.stopChecker();
      const checker = new HealthChecker(
        { setHealth: (host, status, reason) => this.setHealth(host, status, reason) },
        probe,
        options,
        this.clock,
        this.random,
      );
      this.checker = checker;
      for (const host of this.byKey.values()) checker.hostAdded(host);
    });
  }

  /** Stops health checks; every host is `unchecked` (counted healthy) again. */
  stopHealthChecks(): void {
    this.batch(() => this.stopChecker());
  }

  /**
   * Sets a host's health from a verdict reached elsewhere (in a multi-worker proxy the primary
   * process checks every endpoint once and tells the workers), as a local check would.
   */
  applyHealth(host: Host, status: HealthStatus, reason: string): void {
    this.batch(() => this.setHealth(host, status, reason));
  }

  get healthChecking(): boolean {
    return this.checker !== undefined;
  }

  /** Hosts the policy may pick now (0: `pick()` returns null). */
  get eligible(): number {
    if (this.dirty) this.rebuild();
    return this.eligibleCount;
  }

  /** True while calls go to unhealthy or ejected hosts because too few are fit. */
  get panic(): boolean {
    if (this.dirty) this.rebuild();
    return this.panicMode;
  }

  /** The priority level calls go to now; undefined when none can take calls. */
  get activeLevel(): number | undefined {
    if (this.dirty) this.rebuild();
    return this.activePriority;
  }

  snapshot(): BalancerSnapshot {
    if (this.dirty) this.rebuild();
    const now = this.clock.now();
    const wallNow = Date.now();
    const hosts = [];
    for (const host of this.byKey.values()) hosts.push(hostSnapshot(host, now, wallNow));
    return {
      policy: this.policy.name,
      panic: this.panicMode,
      priority: this.activePriority,
      eligible: this.eligibleCount,
      healthChecks: this.checker !== undefined,
      outlierDetection: this.outliers !== undefined,
      hosts,
    };
  }

  /** Stops health checks and ejection timers and drops listeners. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.checker?.close();
    this.checker = undefined;
    this.outliers?.close();
    this.closed = true;
    this.changeListeners.clear();
  }

  private stopChecker(): void {
    if (!this.checker) return;
    this.checker.close();
    this.checker = undefined;
    for (const host of this.byKey.values()) this.setHealth(host, 'unchecked', '');
  }

  private setHealth(host: Host, status: HealthStatus, reason: string): void {
    if (host.health === status && host.healthReason === reason) return;
    const wasUsable = host.usable;
    const wasPending = host.health === 'pending';
    host.health = status;
    host.healthReason = reason;
    if (host.removed) return;
    if (TRACE.balancer) this.trace?.debug({ host: host.key, health: status, reason }, 'health');
    if (wasUsable !== host.usable || wasPending !== (status === 'pending')) this.requestRebuild();
  }

  private requestRebuild(): void {
    this.batch(() => {
      this.rebuildWanted = true;
    });
  }

  /** Runs `fn`, then rebuilds the eligible list once if anything inside asked for it. */
  private batch(fn: () => void): void {
    this.batchDepth++;
    try {
      fn();
    } finally {
      this.batchDepth--;
    }
    if (this.batchDepth === 0 && this.rebuildWanted) {
      this.rebuildWanted = false;
      this.dirty = true;
      this.notify();
    }
  }

  /**
   * Recomputes which hosts may take calls and hands them to the policy. Runs lazily, on the
   * first pick (or read) after a change, so a burst of changes — a thousand endpoints
   * connecting at startup — costs one rebuild, not one per change.
   */
  private rebuild(): void {
    this.dirty = false;
    const levels = new Map<number, { ready: Host[]; usable: Host[]; known: number }>();
    for (const host of this.byKey.values()) {
      host.eligible = false;
      if (host.connectivity !== 'ready') continue;
      const priority = host.endpoint.priority;
      let level = levels.get(priority);
      if (!level) {
        level = { ready: [], usable: [], known: 0 };
        levels.set(priority, level);
      }
      level.ready.push(host);
      if (host.health !== 'pending') level.known++;
      if (host.usable) level.usable.push(host);
    }
    const order = [...levels.keys()].sort((a, b) => a - b);
    let chosen: Host[] = [];
    let active: number | undefined;
    let panic = false;
    for (const priority of order) {
      const level = levels.get(priority)!;
      if (level.usable.length > 0 && level.usable.length >= this.panicThreshold * level.known) {
        chosen = level.usable;
        active = priority;
        break;
      }
    }
    if (active === undefined && this.panicThreshold > 0) {
      for (const priority of order) {
        const level = levels.get(priority)!;
        if (level.known > 0) {
          chosen = level.ready;
          active = priority;
          panic = true;
          break;
        }
      }
    }
    for (const host of chosen) host.eligible = true;
    if (TRACE.balancer) this.traceRebuild(chosen.length, active, panic);
    this.panicMode = panic;
    this.activePriority = active;
    this.eligibleCount = chosen.length;
    this.policy.setHosts(chosen);
  }

  private tracePick(host: Host | null): void {
    if (host === null) {
      this.trace?.debug({ policy: this.policy.name, eligible: this.eligibleCount }, 'pick: none');
      return;
    }
    // Why this host: the policy's name and the load it weighs (least_loaded and
    // peak_ewma compare in-flight calls and latency).
    this.trace?.debug(
      {
        policy: this.policy.name,
        host: host.key,
        inFlight: host.inFlight,
        latencyMs:
          Math.round(host.latency.current(this.clock.now(), this.latencyDecayMs) * 10) / 10,
        eligible: this.eligibleCount,
        panic: this.panicMode,
      },
      'pick',
    );
  }

  private traceEjection(host: Host, why: EjectionReason | undefined): void {
    if (why === undefined) {
      this.trace?.debug({ host: host.key }, 'returned from ejection');
      return;
    }
    this.trace?.debug(
      {
        host: host.key,
        why,
        forMs: host.ejectedUntil - this.clock.now(),
        ejections: host.ejections,
      },
      'ejected',
    );
  }

  private traceRebuild(eligible: number, priority: number | undefined, panic: boolean): void {
    if (
      eligible === this.eligibleCount &&
      priority === this.activePriority &&
      panic === this.panicMode
    ) {
      return;
    }
    this.trace?.debug({ eligible, priority, panic }, 'eligible hosts changed');
  }

  private notify(): void {
    if (this.closed) return;
    for (const listener of this.changeListeners) listener();
  }
}
