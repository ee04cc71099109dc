// Passive outlier detection: ejects endpoints whose calls fail (consecutive endpoint failures,
// or a failure rate over an interval) for a time that grows with each ejection.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Host } from './host.js';

/** The cluster's `outlierDetection` block (same shape as the config's). */
export interface OutlierDetectionOptions {
  /** Endpoint failures in a row that eject; 0 turns this rule off. */
  readonly consecutiveFailures: number;
  /** Eject when at least this share (0..1) of an interval's calls failed; undefined: off. */
  readonly failureRateThreshold: number | undefined;
  /** Fewest calls in an interval for the failure rate to count. */
  readonly minimumCalls: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  /** Never eject once this share (0..1) of the cluster's endpoints is ejected. */
  readonly maxEjectedShare: number;
}

/** What the detector acts on (the balancer). */
export interface OutlierTarget {
  /** Every host of the cluster (ejected or not). */
  hosts(): Iterable<Host>;
  readonly size: number;
  /**
   * `host.ejectedUntil` changed; the eligible list must be rebuilt. `why` is the rule that
   * ejected it, undefined when it returns.
   */
  ejectionChanged(host: Host, why?: EjectionReason): void;
}

/** The rule that ejected a host (for traces and logs). */
export type EjectionReason = 'consecutive-failures' | 'failure-rate';

/**
 * Counts each host's endpoint failures (the balancer calls `callEnded` for every call) and
 * ejects:
 * - at once, after `consecutiveFailures` failures in a row;
 * - at the end of an interval, when at least `minimumCalls` calls ended in it and at least
 *   `failureRateThreshold` of them failed (worst rates first).
 *
 * An ejection lasts `baseEjectionMs` × (the host's multiplier + 1), at most `maxEjectionMs`;
 * the multiplier grows by one per ejection and falls by one per interval the host spends in
 * service without failing the rate rule, so a host that misbehaves now and then is not
 * punished as one that fails every time. Hosts come back on their own when the time is up.
 *
 * A host is ejected only while fewer than `maxEjectedShare` of the cluster's hosts are: with
 * 10 hosts and 0.3 at most three; with 3 hosts and 0.1 one (the first is always allowed
 * unless the share is 0). Whatever is ejected, the balancer's panic threshold still applies.
 */
export class OutlierDetector {
  private readonly returnTimers = new Map<Host, TimerHandle>();
  /** Hosts back from an ejection during the current interval (not a clean interval yet). */
  private readonly returned = new Set<Host>();
  private intervalTimer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly target: OutlierTarget,
    readonly options: OutlierDetectionOptions,
    private readonly clock: Clock,
  ) {
    this.armInterval();
  }

  /** Number of hosts ejected now. */
  get ejectedCount(): number {
    return this.returnTimers.size;
  }

  /** Per call; allocation-free. Calls that end on an ejected host are not counted. */
  callEnded(host: Host, endpointFailure: boolean): void {
    if (host.ejectedUntil !== 0 || this.closed) return;
    host.intervalCalls++;
    if (!endpointFailure) {
      host.consecutiveFailures = 0;
      return;
    }
    host.intervalFailures++;
    const limit = this.options.consecutiveFailures;
    if (++host.consecutiveFailures >= limit && limit > 0) this.eject(host, 'consecutive-failures');
  }

  hostRemoved(host: Host): void {
    const timer = this.returnTimers.get(host);
    if (timer !== undefined) {
      this.clock.clearTimeout(timer);
      this.returnTimers.delete(host);
    }
    this.returned.delete(host);
  }

  close(): void {
    this.closed = true;
    if (this.intervalTimer !== undefined) this.clock.clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
    for (const timer of this.returnTimers.values()) this.clock.clearTimeout(timer);
    this.returnTimers.clear();
    this.returned.clear();
  }

  private mayEject(): boolean {
    const share = this.options.maxEjectedShare;
    const total = this.target.size;
    return total > 0 && this.returnTimers.size < share * total;
  }

  /** Ejects `host` if the share allows; true when it did. */
  private eject(host: Host, why: EjectionReason): boolean {
    if (host.ejectedUntil !== 0 || !this.mayEject()) return false;
    const { baseEjectionMs, maxEjectionMs } = this.options;
    host.ejectionMultiplier++;
    host.ejections++;
    const duration = Math.min(baseEjectionMs * host.ejectionMultiplier, maxEjectionMs);
    host.ejectedUntil = this.clock.now() + duration;
    host.consecutiveFailures = 0;
    host.intervalCalls = 0;
    host.intervalFailures = 0;
    this.returnTimers.set(
      host,
      this.clock.setTimeout(() => this.restore(host), duration),
    );
    this.target.ejectionChanged(host, why);
    return true;
  }

  private restore(host: Host): void {
    if (!this.returnTimers.delete(host) || this.closed) return;
    host.ejectedUntil = 0;
    host.consecutiveFailures = 0;
    host.intervalCalls = 0;
    host.intervalFailures = 0;
    this.returned.add(host);
    this.target.ejectionChanged(host);
  }

  private armInterval(): void {
    if (this.closed) return;
    this.intervalTimer = this.clock.setTimeout(() => {
      this.intervalTimer = undefined;
      this.endInterval();
      this.armInterval();
    }, this.options.intervalMs);
  }

  private endInterval(): void {
    const { failureRateThreshold, minimumCalls } = this.options;
    const offenders: { host: Host; rate: number }[] = [];
    for (const host of this.target.hosts()) {
      if (host.ejectedUntil !== 0) continue;
      const calls = host.intervalCalls;
      const rate = calls > 0 ? host.intervalFailures / calls : 0;
      host.intervalCalls = 0;
      host.intervalFailures = 0;
      if (
        failureRateThreshold !== undefined &&
        calls >= minimumCalls &&
        calls > 0 &&
        rate >= failureRateThreshold
      ) {
        offenders.push({ host, rate });
      } else if (host.ejectionMultiplier > 0 && !this.returned.has(host)) {
        host.ejectionMultiplier--;
      }
    }
    this.returned.clear();
    // When the share cap allows only some, the worst go first.
    offenders.sort((a, b) => b.rate - a.rate);
    for (const { host } of offenders) if (!this.eject(host, 'failure-rate')) break;
  }
}
