// least_loaded: power of two random choices (P2C) over in-flight calls, optionally weighted by
// each endpoint's peak-EWMA latency (cost = latency × (in-flight + 1)), as Finagle and Linkerd do.
import type { Host } from './host.js';
import type { Policy, PolicyContext } from './policy.js';

export interface LeastLoadedSettings {
  /** `peak_ewma`: cost = decayed latency × (in-flight + 1); `in_flight`: cost = in-flight. */
  readonly scoring: 'peak_ewma' | 'in_flight';
  /** Time constant of the latency average, in ms. */
  readonly decayMs: number;
  /**
   * A host with no call in flight that answered none for this long gets the next call, and
   * that call's answer replaces its estimate (peak_ewma only); 0 turns probes off.
   */
  readonly probeAfterMs: number;
}

export const LEAST_LOADED_DEFAULTS: LeastLoadedSettings = {
  scoring: 'peak_ewma',
  decayMs: 10_000,
  // "Found again within a second or two": a recovered host answers its first probe a second
  // after its last call ended, and is compared on what it does now from then on.
  probeAfterMs: 1_000,
};

// Added to every latency so that an estimate decayed to almost nothing still lets the in-flight
// count separate hosts. 1 µs: far below real latencies.
const LATENCY_FLOOR_MS = 0.001;
// The cost per in-flight call of a host with no latency data yet: so high that such a host
// takes one call at a time until its first answer, instead of every call at a zero cost.
const UNKNOWN_LATENCY_PENALTY = 1e12;

/**
 * Each pick draws two different hosts at random and takes the cheaper one, so the most loaded
 * host is never chosen while it stays the most loaded, and a pick costs O(1) whatever the set
 * size. A slow host's cost falls as its latency estimate decays (τ = `decayMs`); once it drops
 * below a busy fast host's cost it gets one probe call, whose answer sets its estimate again —
 * so a slow host keeps getting about one call per τ·ln(slow / fast cost), and more as soon as
 * an answer shows that it recovered. A host with no latency data yet takes one call at a time
 * until its first answer (in the spirit of Finagle's penalty for hosts without data), so a slow
 * newcomer does not soak up a burst.
 *
 * Decay alone is slow to forgive a host that hung: calls that waited seconds (or failed at their
 * deadline) leave an estimate that takes minutes to decay below a healthy host's. So a host
 * with nothing in flight whose estimate is `probeAfterMs` old (no call ended on it since) gets
 * the next call as a probe, and a sample after that long replaces the estimate instead of
 * blending in: a host that recovered is found again within about `probeAfterMs`, at the cost
 * of about one call per `probeAfterMs` to a host that really is slow. One host per pick is
 * looked at, in turn, so a pick stays O(1) and allocation-free.
 */
export class LeastLoadedPolicy implements Policy {
  readonly name = 'least_loaded';
  readonly latencyDecayMs: number;
  readonly latencyStaleMs: number | undefined;
  private readonly ewma: boolean;
  private readonly probeAfterMs: number;
  /** The host the next pick looks at for a probe. */
  private probeCursor = 0;
  private hosts: readonly Host[] = [];
  private previous = new Set<Host>();
  /**
   * The time the costs are decayed to: the latest estimate update. Decaying two estimates to
   * any common time scales both by the same factor e^(−t/τ), so the comparison comes out as
   * at the true time (up to the 1 µs floor) — and pick() needs no clock read (~50 ns).
   */
  private reference = 0;

  constructor(
    settings: LeastLoadedSettings = LEAST_LOADED_DEFAULTS,
    private readonly context: PolicyContext = { now: () => performance.now(), random: Math.random },
  ) {
    this.ewma = settings.scoring === 'peak_ewma';
    this.latencyDecayMs = settings.decayMs;
    this.probeAfterMs = this.ewma ? settings.probeAfterMs : 0;
    this.latencyStaleMs = this.probeAfterMs > 0 ? this.probeAfterMs : undefined;
  }

  setHosts(hosts: readonly Host[]): void {
    if (this.ewma) {
      this.seedNewcomers(hosts);
      const now = this.context.now();
      if (now > this.reference) this.reference = now;
    }
    this.hosts = hosts;
  }

  /** Runs after the balancer fed the host's latency average. */
  callEnded(host: Host): void {
    const at = host.latency.updatedAt;
    if (at > this.reference) this.reference = at;
  }

  pick(): Host | null {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return null;
    if (n === 1) return hosts[0];
    if (this.probeAfterMs > 0) {
      const c = this.probeCursor < n ? this.probeCursor : 0;
      this.probeCursor = c + 1;
      const host = hosts[c];
      const latency = host.latency;
      // `reference` is the latest answer from any host: time as far as the estimates know it.
      if (
        host.inFlight === 0 &&
        latency.known &&
        this.reference - latency.updatedAt >= this.probeAfterMs
      ) {
        return host;
      }
    }
    const random = this.context.random;
    const i = Math.floor(random() * n);
    let j = Math.floor(random() * (n - 1));
    if (j >= i) j++;
    const a = hosts[i];
    const b = hosts[j];
    if (!this.ewma) return b.inFlight < a.inFlight ? b : a;
    const reference = this.reference;
    return this.cost(b, reference) < this.cost(a, reference) ? b : a;
  }

  /** What least_loaded compares: peak-EWMA latency decayed to `now` × (in-flight + 1). */
  cost(host: Host, now: number): number {
    const latency = host.latency;
    if (!latency.known) return host.inFlight * UNKNOWN_LATENCY_PENALTY;
    return (latency.current(now, this.latencyDecayMs) + LATENCY_FLOOR_MS) * (host.inFlight + 1);
  }

  /**
   * A host that joins the list (new, reconnected, back from ejection or unhealthy) may carry
   * an estimate that decayed to nearly nothing while it was away; at that cost it would draw
   * every call until its first answer. It starts at the average of the hosts that stayed.
   */
  private seedNewcomers(hosts: readonly Host[]): void {
    const previous = this.previous;
    const now = this.context.now();
    let sum = 0;
    let count = 0;
    for (const host of hosts) {
      if (previous.has(host) && host.latency.known) {
        sum += host.latency.current(now, this.latencyDecayMs);
        count++;
      }
    }
    const next = new Set<Host>(hosts);
    if (count > 0) {
      const average = sum / count;
      for (const host of hosts) {
        if (!previous.has(host) && host.latency.current(now, this.latencyDecayMs) < average) {
          host.latency.seed(average, now);
        }
      }
    }
    this.previous = next;
  }
}
