// Observer benchmark: what the observability call observer costs per call (callStarted +
// callEnded) with metrics on and the access log off, beside CallMetrics alone, one route, the
// access log on for every call, and prom-client's own labelled counter and histogram, which the
// design avoids. In process, on synthetic calls of one shape, as real calls have.
import { pathToFileURL } from 'node:url';
import { Counter, Histogram, Registry } from 'prom-client';
import { silentLogger } from '../common/log.js';
import { quickStartConfig } from '../config/defaults.js';
import type { Config } from '../config/types.js';
import { CallMetrics, DURATION_BOUNDS_MS } from '../observability/metrics/call-metrics.js';
import { Observability } from '../observability/observability.js';
import type { CallObserver, CallRecord, CallRoute } from '../proxy/call-record.js';

export interface ObserverBenchOptions {
  /** Calls per timed round for the cheap observers. Default 1,000,000. */
  readonly calls?: number;
  /** Calls per timed round with the access log on (pino serialises each). Default 20,000. */
  readonly loggedCalls?: number;
  /** Timed rounds; the fastest counts. Default 3. */
  readonly rounds?: number;
}

export interface ObserverBenchRow {
  readonly observer: string;
  /** Fastest round's ns per call, the loop's own cost included. */
  readonly nsPerCall: number;
}

export interface ObserverBenchResult {
  readonly calls: number;
  readonly loggedCalls: number;
  readonly rounds: number;
  /** ns per call of the loop with an observer that does nothing: subtract it from the rows. */
  readonly loopNs: number;
  readonly rows: readonly ObserverBenchRow[];
  /** What the Observability observer's metrics counted afterwards, for a check. */
  readonly counted: {
    readonly calls: number;
    readonly notFound: number;
    readonly inFlight: number;
  };
}

/** The fields an observer reads, in a class so every call has one shape, as real calls do. */
class FakeCall {
  readonly path = '/test.Echo/Unary';
  status: number;
  message = '';
  host = null;
  bytesIn: number;
  bytesOut: number;
  readonly attempts = 0;
  readonly retries = 0;
  readonly startedAt = 1_000;
  endedAt: number;
  constructor(
    readonly context: CallRoute,
    status: number,
    ms: number,
  ) {
    this.status = status;
    this.endedAt = 1_000 + ms;
    this.bytesIn = 20 + (ms | 0);
    this.bytesOut = 40;
  }
  hostsTried(): string {
    return '';
  }
  /** One client connection for every call. */
  peer(): string {
    return '127.0.0.1:40000';
  }
}

/** 1,024 calls over the routes, interleaved; one in ten ends NOT_FOUND. */
function fakeCalls(routes: string[]): CallRecord[] {
  const contexts = routes.map((name) => ({ cluster: { name }, routeName: name }));
  const calls: CallRecord[] = [];
  for (let i = 0; i < 1024; i++) {
    const status = i % 10 === 0 ? 5 : 0;
    const context = contexts[i % contexts.length];
    calls.push(new FakeCall(context, status, (i % 97) / 3));
  }
  return calls;
}

/** ns per call (callStarted + callEnded), fastest of `rounds`. */
function measure(observer: CallObserver, calls: CallRecord[], n: number, rounds: number): number {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const call = calls[i & 1023];
      observer.callStarted(call);
      observer.callEnded(call);
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  return Math.round(best * 10) / 10;
}

/** prom-client's way: a cached labelled child per (route, status) and a histogram child per route. */
function promClientObserver(): CallObserver {
  const registry = new Registry();
  const counter = new Counter({
    name: 'c',
    help: 'c',
    labelNames: ['cluster', 'route', 'grpc_code'],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'h',
    help: 'h',
    labelNames: ['cluster', 'route'],
    buckets: DURATION_BOUNDS_MS.map((ms) => ms / 1000),
    registers: [registry],
  });
  const children = new Map<
    CallRoute,
    { inc: Map<number, () => void>; observe: (v: number) => void }
  >();
  return {
    callStarted() {},
    callEnded(call) {
      let c = children.get(call.context);
      if (c === undefined) {
        const labels = { cluster: call.context.cluster.name, route: call.context.routeName };
        const child = histogram.labels(labels);
        c = { inc: new Map(), observe: (v) => child.observe(v) };
        children.set(call.context, c);
      }
      let inc = c.inc.get(call.status);
      if (inc === undefined) {
        const child = counter.labels(
          call.context.cluster.name,
          call.context.routeName,
          String(call.status),
        );
        inc = () => child.inc();
        c.inc.set(call.status, inc);
      }
      inc();
      c.observe((call.endedAt - call.startedAt) / 1000);
    },
  };
}

/** Sum of a metric's samples in Prometheus text, optionally only lines containing `having`. */
function sumOf(text: string, name: string, having = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(having)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function observerBench(
  options: ObserverBenchOptions = {},
): Promise<ObserverBenchResult> {
  const n = options.calls ?? 1_000_000;
  const logged = options.loggedCalls ?? 20_000;
  const rounds = options.rounds ?? 3;
  // Two routes, calls interleaved: the last-context cache misses on every call.
  const calls = fakeCalls(['users', 'orders']);
  const base = quickStartConfig({ listen: '127.0.0.1:0', upstream: 'static:///127.0.0.1:1' });
  const config: Config = { ...base, accessLog: { sample: 0, destination: 'stdout' } };
  const observers: CallObserver[] = [];
  const proxy = {
    config,
    inFlight: 0,
    clusterList: () => [][Symbol.iterator](),
    listenerList: () => [][Symbol.iterator](),
    addObserver: (o: CallObserver) => observers.push(o),
  };
  const obs = await Observability.start(config, proxy, { logger: silentLogger(), version: 'b' });
  try {
    if (observers.length !== 1) throw new Error(`${observers.length} observers, expected 1`);
    const noop: CallObserver = { callStarted() {}, callEnded() {} };
    measure(noop, calls, Math.min(n, 100_000), 1); // warm up the loop itself
    const loopNs = measure(noop, calls, n, rounds);
    const rows: ObserverBenchRow[] = [
      { observer: 'CallMetrics alone', nsPerCall: measure(new CallMetrics(), calls, n, rounds) },
      {
        observer: 'Observability, metrics on, access log off (two routes interleaved)',
        nsPerCall: measure(observers[0], calls, n, rounds),
      },
      {
        observer: 'the same with one route (the usual case)',
        nsPerCall: measure(observers[0], fakeCalls(['users']), n, rounds),
      },
      {
        observer: 'for comparison: prom-client labelled children',
        nsPerCall: measure(promClientObserver(), calls, Math.max(1, n >> 2), rounds),
      },
    ];
    // The access log on for every call, written to /dev/null: pino's serialisation is the cost.
    await obs.reconfigure({ ...config, accessLog: { sample: 1, destination: '/dev/null' } });
    rows.push({
      observer: 'Observability with the access log on for every call',
      nsPerCall: measure(observers[0], calls, logged, rounds),
    });
    await obs.reconfigure(config);
    const text = (await obs.metrics()).text;
    return {
      calls: n,
      loggedCalls: logged,
      rounds,
      loopNs,
      rows,
      counted: {
        calls: sumOf(text, 'switchyard_calls_total'),
        notFound: sumOf(text, 'switchyard_calls_total', 'grpc_code="NOT_FOUND"'),
        inFlight: sumOf(text, 'switchyard_calls_in_flight'),
      },
    };
  } finally {
    await obs.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await observerBench();
  console.table(result.rows.map((r) => ({ ...r, lessLoop: r.nsPerCall - result.loopNs })));
}
