// Active health checks (grpc.health.v1.Health/Check) for one cluster: scheduling with jitter,
// timeouts, healthy/unhealthy thresholds. The check itself is an injected probe, so this
// module does no I/O; the proxy implements the probe over its upstream sessions.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { HealthStatus, Host } from './host.js';

/** The answer of one check. */
export type HealthProbeResult =
  | { readonly status: 'serving' }
  | { readonly status: 'not_serving' }
  | { readonly status: 'service_unknown' }
  /** The check itself failed (no session, reset, UNIMPLEMENTED, …); `reason` says how. */
  | { readonly status: 'failed'; readonly reason: string };

/**
 * Performs one `grpc.health.v1.Health/Check` call to a host.
 *
 * The checker calls `check` only for hosts whose connectivity is `ready`, at most once at a
 * time per host, and never after `close()` of the balancer. The promise must settle (a
 * rejection counts as `failed` with the error's message). When `signal` aborts (the timeout
 * passed, the host was removed, checks stopped) the probe should cancel its call; whatever it
 * resolves with afterwards is ignored.
 */
export interface HealthProbe {
  check(
    host: Host,
    service: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<HealthProbeResult>;
}

/** The cluster's `healthCheck` block (same shape as the config's `HealthCheckConfig`). */
export interface HealthCheckOptions {
  /** Service name sent in the request; "" asks about the server as a whole. */
  readonly service: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Successes in a row that make an unhealthy host healthy again. */
  readonly healthyThreshold: number;
  /** Failures in a row that make a healthy host unhealthy. */
  readonly unhealthyThreshold: number;
}

/** Where verdicts go (the balancer). */
export interface HealthTarget {
  setHealth(host: Host, status: HealthStatus, reason: string): void;
}

// Each interval is stretched or shrunk by up to this share at random, so checks started
// together (a restart, a new endpoint set) spread out instead of arriving in waves.
const JITTER = 0.1;

interface HostCheckState {
  timer: TimerHandle | undefined;
  abort: AbortController | undefined;
  timeout: TimerHandle | undefined;
  /** Increments per check, so a late answer to an abandoned check is recognised. */
  round: number;
  successes: number;
  failures: number;
}

/**
 * Checks every ready host: the first check as soon as the host is ready, then every interval
 * (± 10 %). A new host is `pending` until its first answer, which decides alone (one success
 * makes it healthy, one failure unhealthy), as at startup nobody should wait for thresholds.
 * After that a healthy host turns unhealthy after `unhealthyThreshold` failures in a row and
 * back after `healthyThreshold` successes. A host that is not ready is not checked; its status
 * stays until it is ready again, when it is checked at once.
 */
export class HealthChecker {
  private readonly states = new Map<Host, HostCheckState>();
  private closed = false;

  constructor(
    private readonly target: HealthTarget,
    private readonly probe: HealthProbe,
    readonly options: HealthCheckOptions,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {}

  hostAdded(host: Host): void {
    if (this.closed || this.states.has(host)) return;
    this.states.set(host, {
      timer: undefined,
      abort: undefined,
      timeout: undefined,
      round: 0,
      successes: 0,
      failures: 0,
    });
    this.target.setHealth(host, 'pending', 'waiting for the first health check');
    if (host.connectivity === 'ready') this.schedule(host, 0);
  }

  hostRemoved(host: Host): void {
    const state = this.states.get(host);
    if (!state) return;
    this.cancel(state);
    this.states.delete(host);
  }

  connectivityChanged(host: Host): void {
    const state = this.states.get(host);
    if (!state || this.closed) return;
    if (host.connectivity === 'ready') {
      // A reconnected endpoint may be a restarted process: learn its state now.
      if (state.abort === undefined) this.schedule(host, 0);
    } else {
      this.cancel(state);
    }
  }

  /** Stops every timer and aborts checks in flight; no verdict is delivered afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.states.values()) this.cancel(state);
    this.states.clear();
  }

  private cancel(state: HostCheckState): void {
    if (state.timer !== undefined) this.clock.clearTimeout(state.timer);
    if (state.timeout !== undefined) this.clock.clearTimeout(state.timeout);
    state.timer = undefined;
    state.timeout = undefined;
    state.round++;
    if (state.abort) {
      const abort = state.abort;
      state.abort = undefined;
      abort.abort();
    }
  }

  private schedule(host: Host, delayMs: number): void {
    const state = this.states.get(host);
    if (!state || this.closed) return;
    if (state.timer !== undefined) this.clock.clearTimeout(state.timer);
    state.timer = this.clock.setTimeout(() => {
      state.timer = undefined;
      this.run(host, state);
    }, delayMs);
  }

  private nextDelay(): number {
    return this.options.intervalMs * (1 + JITTER * (2 * this.random() - 1));
  }

  private run(host: Host, state: HostCheckState): void {
    if (this.closed || this.states.get(host) !== state) return;
    if (host.connectivity !== 'ready') return;
    const round = ++state.round;
    const abort = new AbortController();
    state.abort = abort;
    const { service, timeoutMs } = this.options;
    state.timeout = this.clock.setTimeout(() => {
      state.timeout = undefined;
      if (state.round !== round) return;
      state.abort = undefined;
      abort.abort();
      this.record(host, state, round, {
        status: 'failed',
        reason: `timed out after ${timeoutMs} ms`,
      });
    }, timeoutMs);
    let pending: Promise<HealthProbeResult>;
    try {
      pending = this.probe.check(host, service, timeoutMs, abort.signal);
    } catch (error) {
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    pending.then(
      (result) => this.record(host, state, round, result),
      (error: unknown) =>
        this.record(host, state, round, {
          status: 'failed',
          reason: error instanceof Error ? error.message : String(error),
        }),
    );
  }

  private record(host: Host, state: HostCheckState, round: number, result: HealthProbeResult) {
    if (this.closed || state.round !== round || this.states.get(host) !== state) return;
    state.round++;
    state.abort = undefined;
    if (state.timeout !== undefined) this.clock.clearTimeout(state.timeout);
    state.timeout = undefined;

    const { healthyThreshold, unhealthyThreshold, service } = this.options;
    if (result.status === 'serving') {
      state.successes++;
      state.failures = 0;
      if (
        host.health === 'pending' ||
        (host.health === 'unhealthy' && state.successes >= healthyThreshold)
      ) {
        this.target.setHealth(host, 'healthy', '');
      }
    } else {
      state.failures++;
      state.successes = 0;
      const reason = failureReason(result, service);
      if (host.health === 'pending' || host.health === 'unhealthy') {
        this.target.setHealth(host, 'unhealthy', reason);
      } else if (state.failures >= unhealthyThreshold) {
        this.target.setHealth(host, 'unhealthy', reason);
      }
    }
    if (host.connectivity === 'ready') this.schedule(host, this.nextDelay());
  }
}

function failureReason(result: HealthProbeResult, service: string): string {
  const name = service === '' ? 'the server' : `service "${service}"`;
  switch (result.status) {
    case 'not_serving':
      return `${name} is NOT_SERVING`;
    case 'service_unknown':
      return `${name} is unknown to the health service (SERVICE_UNKNOWN)`;
    case 'failed':
      return `health check failed: ${result.reason}`;
    case 'serving':
      return '';
  }
}
