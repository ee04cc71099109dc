// What the observability call observer costs per call, with metrics on and the access log off,
// reported as a diagnostic in ns (not asserted: timings vary by machine). For comparison it
// also measures prom-client's own labelled counter and histogram, which the design avoids.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { quickStartConfig } from '../../config/defaults.js';
import type { Config } from '../../config/types.js';
import type { CallObserver, CallRecord, CallRoute } from '../../proxy/call-record.js';
import { silentLogger } from '../../common/log.js';
import { CallMetrics, DURATION_BOUNDS_MS } from '../../observability/metrics/call-metrics.js';
import { Observability } from '../../observability/observability.js';
import { parsePrometheusText, samplesOf } from './prometheus-text.js';

const CALLS = 1_000_000;

/** The fields an observer reads, in a class so every call has one shape, as real calls do. */
class FakeCall {
  readonly path = '/test.Echo/Unary';
  status: number;
  message = '';
  host = null;
  bytesIn: number;
  bytesOut: number;
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
  /** One client connection for every call. */
  peer(): string {
    return '127.0.0.1:40000';
  }
}

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

/** ns per call (callStarted + callEnded), best of a few rounds. */
function measure(observer: CallObserver, calls: CallRecord[], n = CALLS): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const call = calls[i & 1023];
      observer.callStarted(call);
      observer.callEnded(call);
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  return best;
}

const noop: CallObserver = { callStarted() {}, callEnded() {} };

describe('observer cost', () => {
  it('reports ns per call with metrics on and the access log off', async (t) => {
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
    const obs = await Observability.start(config, proxy, { logger: silentLogger(), version: 't' });
    t.after(() => obs.close());
    assert.equal(observers.length, 1);

    measure(noop, calls, 100_000); // warm up the loop itself
    const empty = measure(noop, calls);
    const metricsOnly = measure(new CallMetrics(), calls);
    const facade = measure(observers[0], calls);
    const oneRoute = measure(observers[0], fakeCalls(['users']));

    // prom-client's way, for comparison: a cached labelled child per (route, status) and a
    // histogram child per route, as the obvious implementation would have it.
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
    const promClient: CallObserver = {
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
    const promClientCost = measure(promClient, calls, CALLS / 4);

    // The access log on for every call, written to /dev/null: pino's serialisation is the cost.
    await obs.reconfigure({ ...config, accessLog: { sample: 1, destination: '/dev/null' } });
    const logged = measure(observers[0], calls, 20_000);
    await obs.reconfigure(config);

    t.diagnostic(`loop overhead: ${empty.toFixed(1)} ns per call`);
    t.diagnostic(`CallMetrics alone: ${(metricsOnly - empty).toFixed(1)} ns per call`);
    t.diagnostic(
      `Observability observer, metrics on, access log off: ${(facade - empty).toFixed(1)} ns per call`,
    );
    t.diagnostic(
      `the same with one route (the usual case): ${(oneRoute - empty).toFixed(1)} ns per call`,
    );
    t.diagnostic(
      `with the access log on for every call: ${(logged - empty).toFixed(0)} ns per call`,
    );
    t.diagnostic(
      `for comparison, prom-client labelled children: ${(promClientCost - empty).toFixed(1)} ns per call`,
    );

    // Every call through the facade was counted: 3 rounds of CALLS twice, of 20,000 once.
    const m = parsePrometheusText((await obs.metrics()).text);
    const total = samplesOf(m, 'switchyard_calls_total').reduce((n, s) => n + s.value, 0);
    assert.equal(total, 6 * CALLS + 3 * 20_000);
    const notFound = samplesOf(m, 'switchyard_calls_total')
      .filter((s) => s.labels.grpc_code === 'NOT_FOUND')
      .reduce((n, s) => n + s.value, 0);
    assert.ok(Math.abs(notFound / total - 0.1) < 0.001, `NOT_FOUND share ${notFound / total}`);
    assert.ok(samplesOf(m, 'switchyard_calls_in_flight').every((s) => s.value === 0));
  });
});
