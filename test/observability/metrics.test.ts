// /metrics through a real proxy: valid Prometheus text whose counters match the calls made, by
// cluster, route and status; and the per-call accumulators on their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallContext, ProxyCall } from '../../proxy/call.js';
import { CallMetrics } from '../../observability/metrics/call-metrics.js';
import { createMetricsRegistry } from '../../observability/metrics/metrics-registry.js';
import type { ObservedProxy } from '../../observability/metrics/proxy-state.js';
import { quickStartConfig } from '../../config/defaults.js';
import {
  echoClient,
  echoServerStream,
  echoUnary,
  startEchoBackend,
} from '../support/echo-backend.js';
import { eventually, testCluster } from '../support/proxy-harness.js';
import { rawRequest } from '../support/connect-client.js';
import { DEFAULT_CONNECT } from '../../config/defaults.js';
import { adminRequest, startObservedProxy } from './observed-proxy.js';
import { parsePrometheusText, sampleValue, samplesOf } from './prometheus-text.js';

async function scrape(admin: string) {
  const res = await adminRequest(admin, '/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(res.body);
}

describe('/metrics', () => {
  it('counts calls by cluster, route and status, with bytes, durations and endpoint state', async (t) => {
    const a = await startEchoBackend({ name: 'a' });
    const b = await startEchoBackend({ name: 'b' });
    const proxy = await startObservedProxy({
      upstream: a.address,
      clusters: [testCluster('streams', b.address)],
      routes: [
        {
          name: 'server-stream',
          match: { service: 'test.Echo', method: 'ServerStream', headers: [] },
          cluster: 'streams',
        },
      ],
    });
    const client = echoClient(proxy.target);
    t.after(async () => {
      client.close();
      await proxy.close();
      a.kill();
      b.kill();
    });

    for (let i = 0; i < 30; i++) {
      const r = await echoUnary(client, { payload: Buffer.from('hello') });
      assert.equal(r.status.code, 0);
    }
    for (let i = 0; i < 5; i++) {
      const r = await echoUnary(client, { statusCode: 5, statusMessage: 'no such thing' });
      assert.equal(r.status.code, 5);
    }
    for (let i = 0; i < 3; i++) {
      const r = await echoServerStream(client, { responseCount: 4, responseSize: 100 });
      assert.equal(r.status.code, 0);
    }

    // A call ends for the proxy a moment after its client has the status: wait for the last.
    let m = await scrape(proxy.admin);
    await eventually(
      async () => {
        m = await scrape(proxy.admin);
        return samplesOf(m, 'switchyard_calls_total').reduce((n, s) => n + s.value, 0) === 38;
      },
      5_000,
      '38 calls in switchyard_calls_total',
    );

    const calls = samplesOf(m, 'switchyard_calls_total').map(
      (s) => `${s.labels.cluster}/${s.labels.route}/${s.labels.grpc_code}=${s.value}`,
    );
    assert.deepEqual(calls.sort(), [
      'default/default/NOT_FOUND=5',
      'default/default/OK=30',
      'streams/server-stream/OK=3',
    ]);
    assert.equal(m.get('switchyard_calls_total')?.type, 'counter');

    const unary = { cluster: 'default', route: 'default' };
    const streams = { cluster: 'streams', route: 'server-stream' };
    assert.equal(m.get('switchyard_call_duration_seconds')?.type, 'histogram');
    assert.equal(sampleValue(m, 'switchyard_call_duration_seconds_count', unary), 35);
    assert.equal(sampleValue(m, 'switchyard_call_duration_seconds_count', streams), 3);
    assert.ok(sampleValue(m, 'switchyard_call_duration_seconds_sum', unary)! > 0);
    assert.equal(
      sampleValue(m, 'switchyard_call_duration_seconds_bucket', { ...unary, le: '+Inf' }),
      35,
    );

    assert.ok(sampleValue(m, 'switchyard_request_bytes_total', unary)! > 30 * 5);
    assert.ok(sampleValue(m, 'switchyard_response_bytes_total', unary)! > 30 * 5);
    assert.ok(sampleValue(m, 'switchyard_response_bytes_total', streams)! >= 3 * 4 * 100);
    await eventually(
      async () => {
        m = await scrape(proxy.admin);
        return samplesOf(m, 'switchyard_calls_in_flight').every((s) => s.value === 0);
      },
      5_000,
      'no call in flight',
    );
    assert.equal(samplesOf(m, 'switchyard_calls_in_flight').length, 2);

    // Endpoint and resolver state, read at scrape time.
    assert.equal(sampleValue(m, 'switchyard_endpoints', { cluster: 'default', state: 'ready' }), 1);
    assert.equal(
      sampleValue(m, 'switchyard_endpoints', { cluster: 'default', state: 'failing' }),
      0,
    );
    const endpoint = { cluster: 'default', endpoint: a.address };
    assert.equal(sampleValue(m, 'switchyard_endpoint_calls_total', endpoint), 35);
    assert.equal(sampleValue(m, 'switchyard_endpoint_failures_total', endpoint), 0);
    assert.equal(sampleValue(m, 'switchyard_endpoint_ejections_total', endpoint), 0);
    assert.equal(sampleValue(m, 'switchyard_endpoint_calls_in_flight', endpoint), 0);
    assert.equal(sampleValue(m, 'switchyard_endpoint_connections', endpoint), 1);
    assert.ok(sampleValue(m, 'switchyard_endpoint_latency_seconds', endpoint)! > 0);
    assert.equal(sampleValue(m, 'switchyard_cluster_panic', { cluster: 'default' }), 0);
    assert.equal(sampleValue(m, 'switchyard_resolver_updates_total', { cluster: 'default' }), 1);
    assert.equal(sampleValue(m, 'switchyard_resolver_errors_total', { cluster: 'streams' }), 0);
    assert.ok(
      sampleValue(m, 'switchyard_resolver_last_update_timestamp_seconds', {
        cluster: 'default',
      })! >
        Date.now() / 1000 - 60,
    );
    assert.equal(
      sampleValue(m, 'switchyard_client_connections_accepted_total', { listener: 'main' }),
      1,
    );
    assert.equal(sampleValue(m, 'switchyard_client_connections', { listener: 'main' }), 1);
    assert.equal(sampleValue(m, 'switchyard_build_info', { version: '9.9.9-test' }), 1);
    // The process's own metrics come along, from the private registry.
    assert.ok(m.has('process_cpu_user_seconds_total'));
    assert.ok(m.has('nodejs_eventloop_lag_seconds'));
  });

  it('counts CONNECT requests of a forward-proxy listener by outcome', async (t) => {
    const backend = await startEchoBackend({ name: 'a' });
    const proxy = await startObservedProxy({
      upstream: backend.address,
      listener: {
        connect: { ...DEFAULT_CONNECT, users: [{ user: 'ci', password: 'secret' }] },
      },
    });
    t.after(async () => {
      await proxy.close();
      backend.kill();
    });
    const auth = `Proxy-Authorization: Basic ${Buffer.from('ci:secret').toString('base64')}\r\n`;
    const answers = [
      await rawRequest(proxy.target, 'CONNECT default:50051 HTTP/1.1\r\n\r\n'),
      await rawRequest(proxy.target, `CONNECT elsewhere:443 HTTP/1.1\r\n${auth}\r\n`),
      await rawRequest(proxy.target, `CONNECT default:50051 HTTP/1.1\r\n${auth}\r\n`),
    ];
    assert.deepEqual(
      answers.map((a) => a.status),
      [407, 403, 200],
    );
    answers[2].socket.destroy();
    const m = await scrape(proxy.admin);
    for (const [outcome, n] of [
      ['407', 1],
      ['403', 1],
      ['cluster', 1],
    ] as const) {
      assert.equal(
        sampleValue(m, 'switchyard_connect_requests_total', { listener: 'main', outcome }),
        n,
        outcome,
      );
    }
  });

  it('serves HEAD without a body and refuses other methods', async (t) => {
    const proxy = await startObservedProxy({ upstream: 'static:///127.0.0.1:1' });
    t.after(() => proxy.close());
    const head = await adminRequest(proxy.admin, '/metrics', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const post = await adminRequest(proxy.admin, '/metrics', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });
});

/** Just the fields CallMetrics reads. */
function fakeCall(
  context: CallContext,
  status: number,
  durationMs: number,
  bytes = [0, 0],
): ProxyCall {
  return {
    context,
    status,
    startedAt: 1_000,
    endedAt: 1_000 + durationMs,
    bytesIn: bytes[0],
    bytesOut: bytes[1],
  } as unknown as ProxyCall;
}

function fakeContext(cluster: string, route: string): CallContext {
  return { cluster: { name: cluster }, routeName: route } as unknown as CallContext;
}

const noProxy: ObservedProxy = {
  config: quickStartConfig({ listen: '127.0.0.1:0', upstream: 'static:///127.0.0.1:1' }),
  inFlight: 0,
  clusterList: () => [][Symbol.iterator](),
  listenerList: () => [][Symbol.iterator](),
};

describe('CallMetrics', () => {
  it('buckets durations by upper bound, counts unknown codes as UNKNOWN, merges reload contexts', async () => {
    const calls = new CallMetrics();
    const before = fakeContext('users', 'all');
    const after = fakeContext('users', 'all'); // the same route after a reload
    const other = fakeContext('users', 'other');
    const ended = [
      fakeCall(before, 0, 0.5, [10, 20]), // exactly on the first bound: le="0.0005"
      fakeCall(after, 0, 0.6, [1, 2]),
      fakeCall(after, 99, 20_000), // not a gRPC code
      fakeCall(other, 14, 120_000), // past the last bound: +Inf only
    ];
    for (const c of ended) calls.callStarted(c);
    calls.callStarted(fakeCall(other, -1, 0)); // still running
    for (const c of ended) calls.callEnded(c);

    const m = parsePrometheusText(await createMetricsRegistry(noProxy, calls, 't').metrics());
    const all = { cluster: 'users', route: 'all' };
    assert.equal(sampleValue(m, 'switchyard_calls_total', { ...all, grpc_code: 'OK' }), 2);
    assert.equal(sampleValue(m, 'switchyard_calls_total', { ...all, grpc_code: 'UNKNOWN' }), 1);
    assert.equal(
      sampleValue(m, 'switchyard_calls_total', { route: 'other', grpc_code: 'UNAVAILABLE' }),
      1,
    );
    const bucket = (labels: Record<string, string>, le: string) =>
      sampleValue(m, 'switchyard_call_duration_seconds_bucket', { ...labels, le });
    assert.equal(bucket(all, '0.0005'), 1);
    assert.equal(bucket(all, '0.001'), 2);
    assert.equal(bucket(all, '10'), 2);
    assert.equal(bucket(all, '30'), 3);
    assert.equal(bucket(all, '+Inf'), 3);
    assert.equal(bucket({ route: 'other' }, '60'), 0);
    assert.equal(bucket({ route: 'other' }, '+Inf'), 1);
    const sum = sampleValue(m, 'switchyard_call_duration_seconds_sum', all)!;
    assert.ok(Math.abs(sum - 20.0011) < 1e-9, `sum ${sum}`);
    assert.equal(sampleValue(m, 'switchyard_request_bytes_total', all), 11);
    assert.equal(sampleValue(m, 'switchyard_response_bytes_total', all), 22);
    assert.equal(sampleValue(m, 'switchyard_calls_in_flight', all), 0);
    assert.equal(sampleValue(m, 'switchyard_calls_in_flight', { route: 'other' }), 1);
  });
});
