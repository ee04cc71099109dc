// Retry policies end to end: real grpc-js backends that fail on command behind the real proxy,
// and a real grpc-js client that sees only the answer the policy leaves it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ClusterConfig, RetryPolicyConfig } from '../../config/types.js';
import { echoUnary } from '../support/echo-backend.js';
import { startFlakyBackend, type FlakyBackend } from '../support/flaky-backend.js';
import { clientFor, eventually, startTestProxy } from '../support/proxy-harness.js';
import { adminRequest, startObservedProxy } from '../observability/observed-proxy.js';
import { parsePrometheusText, sampleValue } from '../observability/prometheus-text.js';

const POLICY: RetryPolicyConfig = {
  maxAttempts: 3,
  initialBackoffMs: 10,
  maxBackoffMs: 100,
  backoffMultiplier: 2,
  retryableStatusCodes: [grpc.status.UNAVAILABLE],
  perTryTimeoutMs: undefined,
  retryClientRetries: false,
};

async function backends(t: TestContext, ...names: string[]): Promise<FlakyBackend[]> {
  const started = await Promise.all(names.map((name) => startFlakyBackend(name)));
  t.after(() => started.forEach((b) => b.close()));
  return started;
}

async function proxyTo(t: TestContext, upstream: FlakyBackend[], cluster: Partial<ClusterConfig>) {
  const proxy = await startTestProxy({ upstream: upstream.map((b) => b.address), cluster });
  return { proxy, client: clientFor(t, proxy) };
}

const UNAVAILABLE = { kind: 'fail', code: grpc.status.UNAVAILABLE } as const;

void describe('retry policy through the proxy', () => {
  void it('retries a call that failed UNAVAILABLE on another endpoint, telling it the attempt', async (t) => {
    const [bad, good] = await backends(t, 'bad', 'good');
    bad.always(UNAVAILABLE);
    const { proxy, client } = await proxyTo(t, [bad, good], { retryPolicy: POLICY });
    for (let i = 0; i < 10; i++) {
      const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
      assert.equal(result.status.code, grpc.status.OK, result.status.details);
      assert.equal(result.response?.backend, 'good');
    }
    assert.ok(bad.calls >= 1, 'round robin sent some first attempts to the failing endpoint');
    assert.equal(
      good.previousAttempts.filter((p) => p === '1').length,
      bad.calls,
      'each retry said it was one',
    );
    assert.equal(good.previousAttempts.filter((p) => p === '').length, 10 - bad.calls);
    const cluster = [...proxy.proxy.clusterList()][0];
    assert.equal(cluster.limits.stats.retries.status, bad.calls);
  });

  void it('does not retry a status the policy does not list', async (t) => {
    const [only] = await backends(t, 'only');
    only.always({ kind: 'fail', code: grpc.status.INVALID_ARGUMENT });
    const { client } = await proxyTo(t, [only], { retryPolicy: POLICY });
    const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(result.status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(only.calls, 1);
  });

  void it('waits as the server pushback says, and stops when it says not to retry', async (t) => {
    const [only] = await backends(t, 'only');
    const { client } = await proxyTo(t, [only], { retryPolicy: POLICY });
    only.script({ ...UNAVAILABLE, pushbackMs: '50' });
    const retried = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(retried.status.code, grpc.status.OK);
    assert.equal(only.calls, 2);
    only.script({ ...UNAVAILABLE, pushbackMs: '-1' });
    const stopped = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(stopped.status.code, grpc.status.UNAVAILABLE);
    assert.equal(only.calls, 3, 'a negative pushback: no retry');
  });

  void it('never retries a call whose response headers reached the client', async (t) => {
    const [a, b] = await backends(t, 'a', 'b');
    a.always({ ...UNAVAILABLE, headersFirst: true });
    b.always({ ...UNAVAILABLE, headersFirst: true });
    const { client } = await proxyTo(t, [a, b], { retryPolicy: POLICY });
    const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    assert.ok(result.headers !== undefined, 'the headers came through');
    assert.equal(a.calls + b.calls, 1);
  });

  void it('gives a silent endpoint perTryTimeout, then cancels it (the backend sees it) and goes elsewhere', async (t) => {
    const [silent, good] = await backends(t, 'silent', 'good');
    silent.always({ kind: 'hang' });
    const { client } = await proxyTo(t, [silent, good], {
      retryPolicy: { ...POLICY, perTryTimeoutMs: 200 },
    });
    for (let i = 0; i < 4; i++) {
      const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
      assert.equal(result.status.code, grpc.status.OK, result.status.details);
    }
    assert.ok(silent.calls >= 1);
    await eventually(() => silent.cancelled === silent.calls, 5_000, 'the backend saw cancels');
  });

  void it('throttling stops the retries while every attempt fails', async (t) => {
    const [down] = await backends(t, 'down');
    down.always(UNAVAILABLE);
    const { client } = await proxyTo(t, [down], {
      retryPolicy: POLICY,
      retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
    });
    for (let i = 0; i < 20; i++) {
      const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
      assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    }
    // 10 tokens, one per failed attempt, retries only above 5: the first call makes 3 attempts
    // (10 → 7), the second 2 (→ 5), and the other 18 one each.
    assert.equal(down.calls, 3 + 2 + 18);
  });

  void it('a client that retries itself is not retried again by the proxy', async (t) => {
    const [a, b] = await backends(t, 'a', 'b');
    a.always(UNAVAILABLE);
    b.always(UNAVAILABLE);
    const { client } = await proxyTo(t, [a, b], { retryPolicy: POLICY });
    const metadata = new grpc.Metadata();
    metadata.set('grpc-previous-rpc-attempts', '1');
    const result = await echoUnary(client, {}, { deadlineMs: 10_000, metadata });
    assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    assert.equal(a.calls + b.calls, 1);
  });
});

void describe('hedging policy through the proxy', () => {
  void it('sends a copy to another endpoint after hedgingDelay; the first answer wins and the slow backend sees the cancel', async (t) => {
    const [slow, fast] = await backends(t, 'slow', 'fast');
    slow.always({ kind: 'hang' });
    const { proxy, client } = await proxyTo(t, [slow, fast], {
      hedgingPolicy: {
        maxAttempts: 2,
        hedgingDelayMs: 50,
        nonFatalStatusCodes: [grpc.status.UNAVAILABLE],
      },
    });
    for (let i = 0; i < 6; i++) {
      const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
      assert.equal(result.status.code, grpc.status.OK, result.status.details);
      assert.equal(result.response?.backend, 'fast');
    }
    assert.ok(slow.calls >= 1, 'some first attempts went to the slow endpoint');
    await eventually(() => slow.cancelled === slow.calls, 5_000, 'the slow backend saw cancels');
    assert.equal(
      fast.previousAttempts.filter((p) => p === '1').length,
      slow.calls,
      'each copy said it was the second attempt',
    );
    const cluster = [...proxy.proxy.clusterList()][0];
    assert.equal(cluster.limits.stats.hedges, slow.calls);
  });

  void it('a non-fatal status sends the next copy at once', async (t) => {
    const [a, b] = await backends(t, 'a', 'b');
    a.always(UNAVAILABLE);
    b.always(UNAVAILABLE);
    const { client } = await proxyTo(t, [a, b], {
      hedgingPolicy: {
        maxAttempts: 2,
        hedgingDelayMs: 60_000,
        nonFatalStatusCodes: [grpc.status.UNAVAILABLE],
      },
    });
    const result = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(result.status.code, grpc.status.UNAVAILABLE);
    assert.equal(a.calls, 1);
    assert.equal(b.calls, 1, 'the second copy went without waiting a minute');
  });
});

void describe('circuit breakers through the proxy', () => {
  void it('fails a call over maxConcurrentCalls at once with UNAVAILABLE naming the limit', async (t) => {
    const [slow] = await backends(t, 'slow');
    slow.always({ kind: 'hang' });
    const { client } = await proxyTo(t, [slow], {
      circuitBreakers: { maxConcurrentCalls: 2, maxPendingCalls: 10, maxConcurrentRetries: 10 },
    });
    const hanging = [0, 1].map(() => echoUnary(client, {}, { deadlineMs: 1_000 }));
    await eventually(() => slow.calls === 2, 5_000, 'two calls in flight');
    const over = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(over.status.code, grpc.status.UNAVAILABLE);
    assert.match(over.status.details, /circuitBreakers\.maxConcurrentCalls/);
    for (const result of await Promise.all(hanging)) {
      assert.equal(result.status.code, grpc.status.DEADLINE_EXCEEDED);
    }
    assert.equal(slow.calls, 2, 'the call over the limit never reached the backend');
  });
});

void describe('retries in metrics and the access log', () => {
  void it('counts attempts, retries by reason, denials and trips, and logs the hosts tried', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-retries-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'access.log');
    const [bad, good] = await backends(t, 'bad', 'good');
    bad.always(UNAVAILABLE);
    const proxy = await startObservedProxy({
      upstream: [bad.address, good.address],
      cluster: {
        retryPolicy: POLICY,
        circuitBreakers: { maxConcurrentCalls: 1, maxPendingCalls: 10, maxConcurrentRetries: 10 },
      },
      config: { accessLog: { sample: 1, destination: file } },
    });
    const client = clientFor(t, proxy);
    for (let i = 0; i < 4; i++) {
      assert.equal((await echoUnary(client, {}, { deadlineMs: 10_000 })).status.code, 0);
    }
    good.always({ kind: 'hang' });
    const before = good.calls;
    const hanging = echoUnary(client, {}, { deadlineMs: 1_000 });
    await eventually(() => good.calls > before, 5_000, 'a call in flight');
    const over = await echoUnary(client, {}, { deadlineMs: 10_000 });
    assert.equal(over.status.code, grpc.status.UNAVAILABLE);
    await hanging;

    const m = parsePrometheusText((await adminRequest(proxy.admin, '/metrics')).body);
    const cluster = { cluster: 'default' };
    assert.equal(
      sampleValue(m, 'switchyard_retries_total', { ...cluster, reason: 'status' }),
      bad.calls,
    );
    assert.ok(sampleValue(m, 'switchyard_call_attempts_total', cluster)! >= 4 + bad.calls);
    assert.equal(
      sampleValue(m, 'switchyard_circuit_breaker_trips_total', {
        ...cluster,
        limit: 'maxConcurrentCalls',
      }),
      1,
    );
    assert.equal(
      sampleValue(m, 'switchyard_retries_denied_total', { ...cluster, reason: 'budget' }),
      0,
    );

    await proxy.close();
    const lines = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
    const retried = lines.filter((l) => l.attempts === 2);
    assert.equal(retried.length, bad.calls);
    for (const line of retried) {
      assert.equal(line.hostsTried, `${bad.address},${good.address}`);
      assert.equal(line.endpoint, good.address);
    }
    const once = lines.filter((l) => l.status === grpc.status.UNAVAILABLE);
    assert.equal(once.length, 1, 'the call the breaker failed');
    assert.equal(once[0].attempts, undefined, 'one try: no attempt fields');
  });
});
