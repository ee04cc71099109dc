// Per-call metrics kept in plain numbers on the call path: calls by gRPC status, a duration
// histogram, bytes and calls in flight, per (cluster, route). The registry reads them at
// scrape time, so a call costs a few increments and no allocation.
import type { CallObserver, CallRecord, CallRoute } from '../../proxy/call-record.js';
import { Status } from '../../grpc/grpc-status.js';

/**
 * Upper bounds of the call-duration buckets, in milliseconds: from a fast loopback call
 * (0.5 ms) to a minute; longer streams land in +Inf.
 */
export const DURATION_BOUNDS_MS: readonly number[] = [
  0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
];
const BOUNDS = Float64Array.from(DURATION_BOUNDS_MS);
const BOUND_COUNT = BOUNDS.length;

/** gRPC defines codes 0..16; a client reads any other code as UNKNOWN, so it is counted so. */
export const STATUS_SLOTS = 17;

/** Label values of a series; created once per (cluster, route) and reused at every scrape. */
// A type, not an interface, so it passes as a plain label record.
export type RouteLabels = { readonly cluster: string; readonly route: string };

/** The numbers of one (cluster, route). Fields are written only by `CallMetrics`. */
export class RouteSeries {
  /** Ended calls by gRPC status code. */
  readonly calls = new Float64Array(STATUS_SLOTS);
  /** Ended calls by duration bucket, not cumulative; the last slot is +Inf. */
  readonly buckets = new Float64Array(BOUND_COUNT + 1);
  durationSumMs = 0;
  /** Request bytes from clients and response bytes to them (gRPC frames, prefixes included). */
  bytesIn = 0;
  bytesOut = 0;
  /** Calls started and not yet ended. */
  inFlight = 0;

  constructor(readonly labels: RouteLabels) {}

  /** Ended calls. */
  get count(): number {
    let n = 0;
    for (let i = 0; i < STATUS_SLOTS; i++) n += this.calls[i];
    return n;
  }
}

export class CallMetrics implements CallObserver {
  /** By `cluster \0 route`: a reload makes new contexts, but their calls add to the same series. */
  private readonly byName = new Map<string, RouteSeries>();
  private readonly byContext = new WeakMap<CallRoute, RouteSeries>();
  // The last context seen: most proxies have one or two routes, and calls of a route come in
  // runs, so this skips the WeakMap lookup on most calls.
  private lastContext: CallRoute | undefined = undefined;
  private lastSeries: RouteSeries | undefined = undefined;

  callStarted(call: CallRecord): void {
    this.seriesOf(call.context).inFlight++;
  }

  callEnded(call: CallRecord): void {
    const s = this.seriesOf(call.context);
    s.inFlight--;
    const code = call.status;
    s.calls[code >= 0 && code < STATUS_SLOTS ? code : Status.UNKNOWN]++;
    const ms = call.endedAt - call.startedAt;
    let i = 0;
    while (i < BOUND_COUNT && ms > BOUNDS[i]) i++;
    s.buckets[i]++;
    s.durationSumMs += ms;
    s.bytesIn += call.bytesIn;
    s.bytesOut += call.bytesOut;
  }

  /** Every series so far, including those of routes a reload removed (counters never vanish). */
  series(): IterableIterator<RouteSeries> {
    return this.byName.values();
  }

  private seriesOf(context: CallRoute): RouteSeries {
    if (context === this.lastContext) return this.lastSeries!;
    let s = this.byContext.get(context);
    if (s === undefined) {
      const cluster = context.cluster.name;
      const route = context.routeName;
      const key = `${cluster}\0${route}`;
      s = this.byName.get(key);
      if (s === undefined) {
        s = new RouteSeries({ cluster, route });
        this.byName.set(key, s);
      }
      this.byContext.set(context, s);
    }
    this.lastContext = context;
    this.lastSeries = s;
    return s;
  }
}
