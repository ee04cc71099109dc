// The call attempt as a state machine, over a fake transport and a fake clock: where a call
// may go again (refused: yes, elsewhere; processed: never), its deadline and its replay buffer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from '../../balancer/create-balancer.js';
import { DEFAULT_CLUSTER } from '../../config/defaults.js';
import { parseTarget } from '../../common/target.js';
import type { ClusterConfig, RetryPolicyConfig } from '../../config/types.js';
import { silentLogger } from '../../common/log.js';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import { StaticResolver } from '../../resolver/static-resolver.js';
import { Cluster } from '../../upstream/cluster.js';
import { Status } from '../../grpc/grpc-status.js';
import { fieldValue, type HeaderFields } from '../../transport/header-fields.js';
import {
  CallProgress,
  MAX_REPLAY_BYTES,
  MAX_RETRY_REPLAY_BYTES,
  UpstreamCall,
  replayBytesHeld,
  type UpstreamCallContext,
} from '../../proxy/upstream-call.js';
import { FakeClock, flushMicrotasks, seededRandom } from '../support/fake-clock.js';
import { FakeDialer, FakeTransport, type FakeStream } from '../support/fake-transport.js';

const REFUSED_STREAM = 0x7;
const INTERNAL_ERROR = 0x2;

/** A call whose client side only records what it was asked to do. */
class RecordingCall extends UpstreamCall {
  requestStarted = false;
  requestPaused = false;
  responded: { fields: HeaderFields; endStream: boolean }[] = [];
  data: Buffer[] = [];
  responseEnded = false;
  madeStatus: { code: number; message: string } | undefined;
  endedCount = 0;

  constructor(
    context: UpstreamCallContext,
    timeoutMs?: number,
    extra: Record<string, string> = {},
  ) {
    const fields = [
      ':method',
      'POST',
      ':path',
      '/pkg.Svc/Method',
      ':authority',
      'svc',
      ':scheme',
      'http',
      'content-type',
      'application/grpc',
      'te',
      'trailers',
      ...Object.entries(extra).flat(),
    ];
    super(fields, '/pkg.Svc/Method', context, timeoutMs, 200);
  }
  start(): void {
    this.begin();
  }
  get trailerFields(): HeaderFields | null {
    return this.trailers;
  }
  protected startRequest(): void {
    this.requestStarted = true;
  }
  protected pauseRequest(): void {
    this.requestPaused = true;
  }
  protected resumeRequest(): void {
    this.requestPaused = false;
  }
  protected clientHeaderLimit(): number {
    return Infinity;
  }
  protected respond(fields: HeaderFields, endStream: boolean): void {
    this.responded.push({ fields, endStream });
  }
  protected writeResponse(chunk: Buffer): boolean {
    this.data.push(chunk);
    return true;
  }
  protected endResponse(): void {
    this.responseEnded = true;
  }
  protected respondStatus(code: number, message: string): void {
    this.madeStatus = { code, message };
  }
  protected ended(): void {
    this.endedCount++;
  }
}

/** A cluster of three endpoints over the fake transport, every connection ready. */
async function setup(overrides: Partial<ClusterConfig> = {}) {
  const clock = new FakeClock();
  const dialer = new FakeDialer();
  const transport = new FakeTransport();
  const endpoints = [1, 2, 3].map((i) => createEndpoint({ address: `10.0.0.${i}`, port: 50051 }));
  const config: ClusterConfig = {
    ...DEFAULT_CLUSTER,
    name: 'test',
    target: 'static:///10.0.0.1:50051',
    parsedTarget: parseTarget('static:///10.0.0.1:50051'),
    // No PINGs: this is about calls, not liveness.
    keepalive: { timeMs: 0, timeoutMs: 20_000, idleTimeMs: 0 },
    ...overrides,
  };
  const random = seededRandom(7);
  const cluster = new Cluster(config, {
    resolver: new StaticResolver('static:///test', createEndpointSet(endpoints)),
    balancer: createBalancer(config, { clock, random }),
    dialer,
    logger: silentLogger(),
    poolSettings: {},
    clock,
    random,
    transport,
  });
  await flushMicrotasks();
  while (dialer.dials.length > 0) dialer.next().succeed();
  await flushMicrotasks();
  for (const c of transport.connections) c.settings();
  const context: UpstreamCallContext = { cluster, authority: undefined, clock };
  /** The stream the call opened last, wherever it went. */
  const lastStream = (): FakeStream => {
    const all = transport.connections.flatMap((c) => c.streams);
    assert.ok(all.length > 0, 'a stream is open');
    return all[all.length - 1];
  };
  return { clock, cluster, dialer, transport, context, lastStream };
}

describe('upstream call attempts', () => {
  it('sends the request with the scheme and deadline the upstream needs', async () => {
    const t = await setup();
    const call = new RecordingCall(t.context, 1_500);
    call.start();
    const stream = t.lastStream();
    assert.equal(fieldValue(stream.headers, ':scheme'), 'http');
    assert.equal(fieldValue(stream.headers, 'grpc-timeout'), '1500m');
    assert.equal(call.requestStarted, true);
    assert.equal(call.progress, CallProgress.NOT_STARTED);
    call.forwardRequest(Buffer.from('hello'));
    call.requestEnd();
    assert.deepEqual(stream.written.map(String), ['hello']);
    assert.equal(stream.ended, true);
    stream.respond();
    assert.equal(call.progress, CallProgress.PROCESSED);
    stream.data(Buffer.from('answer'));
    stream.trailers(0);
    assert.equal(call.status, Status.OK);
    assert.equal(call.responseEnded, true);
    assert.equal(call.endedCount, 1);
    t.cluster.destroy();
  });

  it('a refused attempt goes to another endpoint with the request sent again', async () => {
    const t = await setup();
    const call = new RecordingCall(t.context);
    call.start();
    const first = t.lastStream();
    call.forwardRequest(Buffer.from('part one'));
    first.reset(REFUSED_STREAM);
    assert.equal(call.progress, CallProgress.REFUSED);
    assert.equal(call.attempts, 1);
    const second = t.lastStream();
    assert.notEqual(second.connection, first.connection, 'another endpoint');
    assert.deepEqual(second.written.map(String), ['part one'], 'replayed');
    call.forwardRequest(Buffer.from('part two'));
    call.requestEnd();
    assert.deepEqual(second.written.map(String), ['part one', 'part two']);
    assert.equal(second.ended, true);
    second.respond();
    second.trailers(0);
    assert.equal(call.status, Status.OK);
    assert.equal(call.madeStatus, undefined);
    t.cluster.destroy();
  });

  it('a processed call is never sent again: a reset after the answer began fails it', async () => {
    const t = await setup();
    const call = new RecordingCall(t.context);
    call.start();
    const stream = t.lastStream();
    stream.respond();
    stream.reset(INTERNAL_ERROR);
    assert.equal(call.progress, CallProgress.PROCESSED);
    assert.equal(call.status, Status.INTERNAL);
    assert.match(call.message, /reset the stream \(INTERNAL_ERROR\)/);
    assert.equal(t.transport.connections.flatMap((c) => c.streams).length, 0, 'no new attempt');
    t.cluster.destroy();
  });

  it('a reset before any answer may have been processed: not retried either', async () => {
    const t = await setup();
    const call = new RecordingCall(t.context);
    call.start();
    t.lastStream().reset(INTERNAL_ERROR);
    assert.equal(call.progress, CallProgress.PROCESSED);
    assert.equal(call.madeStatus?.code, Status.INTERNAL);
    assert.equal(t.transport.connections.flatMap((c) => c.streams).length, 0);
    t.cluster.destroy();
  });

  it('a refused request larger than the replay buffer fails instead of going elsewhere', async () => {
    const t = await setup();
    const call = new RecordingCall(t.context);
    call.start();
    call.forwardRequest(Buffer.alloc(MAX_REPLAY_BYTES + 1));
    t.lastStream().reset(REFUSED_STREAM);
    assert.equal(call.madeStatus?.code, Status.UNAVAILABLE);
    assert.match(call.madeStatus.message, /reset the stream \(REFUSED_STREAM\)/);
    assert.equal(t.transport.connections.flatMap((c) => c.streams).length, 0, 'not sent again');
    t.cluster.destroy();
  });

  it('fails with DEADLINE_EXCEEDED at its deadline and cancels the upstream stream', async () => {
    const t = await setup();
    const call = new RecordingCall(t.context, 500);
    call.start();
    const stream = t.lastStream();
    await t.clock.advance(499);
    assert.equal(call.done, false);
    await t.clock.advance(1);
    assert.equal(call.madeStatus?.code, Status.DEADLINE_EXCEEDED);
    assert.equal(stream.cancelled, true);
    assert.equal(call.endedCount, 1);
    t.cluster.destroy();
  });

  it('waits for a connection when every picked one closed under it, instead of failing', async () => {
    const t = await setup();
    // Every connection is closing but has not said so yet: each pick finds no stream.
    for (const c of t.transport.connections) c.refuseNext = null;
    const call = new RecordingCall(t.context, 10_000);
    call.start();
    assert.equal(call.madeStatus, undefined, 'the call waits');
    // The pools reconnect; the waiting call goes out on a fresh connection.
    await flushMicrotasks();
    while (t.dialer.dials.length > 0) t.dialer.next().succeed();
    await flushMicrotasks();
    for (const c of t.transport.connections) if (!c.closing) c.settings();
    await flushMicrotasks();
    assert.equal(call.madeStatus, undefined, 'the call is still waiting or sent, not failed');
    t.lastStream().respond();
    t.lastStream().trailers(0);
    assert.equal(call.trailerFields && fieldValue(call.trailerFields, 'grpc-status'), '0');
    t.cluster.destroy();
  });

  it('after a reload swapped its cluster, a refused call goes to the cluster that replaced it', async () => {
    const before = await setup();
    const after = await setup();
    const call = new RecordingCall(before.context);
    call.start();
    const first = before.lastStream();
    before.cluster.successor = after.cluster;
    before.cluster.close();
    first.reset(REFUSED_STREAM);
    assert.equal(call.madeStatus, undefined, 'not failed');
    after.lastStream().respond();
    after.lastStream().trailers(0);
    assert.equal(call.trailerFields && fieldValue(call.trailerFields, 'grpc-status'), '0');
    after.cluster.destroy();
    before.cluster.destroy();
  });

  it('gives up after five refusals', async () => {
    const t = await setup();
    const call = new RecordingCall(t.context);
    call.start();
    for (let i = 0; i < 5; i++) t.lastStream().reset(REFUSED_STREAM);
    assert.equal(call.madeStatus?.code, Status.UNAVAILABLE);
    assert.match(call.madeStatus.message, /refused the call 5 times/);
    t.cluster.destroy();
  });
});

const UNAVAILABLE_ONLY: RetryPolicyConfig = {
  maxAttempts: 3,
  initialBackoffMs: 50,
  maxBackoffMs: 500,
  backoffMultiplier: 2,
  retryableStatusCodes: [Status.UNAVAILABLE],
  perTryTimeoutMs: undefined,
  retryClientRetries: false,
};

/** Every stream the calls opened, in order. */
function streams(t: Awaited<ReturnType<typeof setup>>): FakeStream[] {
  return t.transport.connections.flatMap((c) => c.streams);
}

describe('upstream call retries (retryPolicy)', () => {
  it('a retryable trailers-only status goes to another endpoint after the backoff, the request sent again', async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context, 10_000);
    call.start();
    call.forwardRequest(Buffer.from('ask'));
    call.requestEnd();
    const first = t.lastStream();
    first.trailersOnly(Status.UNAVAILABLE);
    assert.deepEqual(call.responded, [], 'nothing reached the client');
    assert.equal(call.madeStatus, undefined);
    assert.equal(streams(t).length, 0, 'no attempt during the backoff');
    // A6: the first retry waits a random time below initialBackoff.
    const delay = Math.min(...t.clock.pendingDelays());
    assert.ok(delay >= 0 && delay < 50, `backoff ${delay} ms`);
    await t.clock.advance(50);
    const second = t.lastStream();
    assert.notEqual(second.connection, first.connection, 'another endpoint');
    assert.equal(fieldValue(second.headers, 'grpc-previous-rpc-attempts'), '1');
    assert.deepEqual(second.written.map(String), ['ask']);
    assert.equal(second.ended, true);
    second.respond();
    second.data(Buffer.from('answer'));
    second.trailers(0);
    assert.equal(call.status, Status.OK);
    assert.equal(call.responded.length, 1);
    assert.equal(call.retries, 1);
    assert.equal(t.cluster.limits.stats.retries.status, 1);
    assert.equal(t.cluster.limits.stats.attempts, 2);
    assert.equal(call.hostsTried().split(',').length, 2);
    assert.equal(replayBytesHeld(), 0, 'the replay buffer is released');
    assert.equal(t.cluster.limits.activeCalls, 0);
    assert.equal(t.cluster.limits.activeRetries, 0);
    t.cluster.destroy();
  });

  it('a status the policy does not list reaches the client as it is', async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context);
    call.start();
    call.requestEnd();
    const timers = t.clock.pending;
    t.lastStream().trailersOnly(Status.INVALID_ARGUMENT);
    assert.equal(call.responded.length, 1);
    assert.equal(call.responded[0].endStream, true);
    assert.equal(call.status, Status.INVALID_ARGUMENT);
    assert.equal(t.clock.pending, timers, 'no retry scheduled');
    t.cluster.destroy();
  });

  it('response headers commit the call: a retryable status in the trailers is not retried', async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context);
    call.start();
    call.requestEnd();
    const stream = t.lastStream();
    const timers = t.clock.pending;
    stream.respond();
    stream.trailers(Status.UNAVAILABLE);
    assert.equal(call.status, Status.UNAVAILABLE);
    assert.equal(call.retries, 0);
    assert.equal(t.clock.pending, timers);
    t.cluster.destroy();
  });

  it('after maxAttempts the last status reaches the client, and backoffs grow', async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context);
    call.start();
    call.requestEnd();
    t.lastStream().trailersOnly(Status.UNAVAILABLE);
    await t.clock.advance(50);
    const before = t.clock.pendingDelays();
    t.lastStream().trailersOnly(Status.UNAVAILABLE);
    const second = t.clock.pendingDelays().find((d) => !before.includes(d))!;
    assert.ok(second < 100, `second backoff ${second} ms, below 50 × 2`);
    await t.clock.advance(100);
    t.lastStream().trailersOnly(Status.UNAVAILABLE, ['grpc-message', 'third']);
    assert.equal(call.status, Status.UNAVAILABLE);
    assert.equal(call.responded.length, 1);
    assert.equal(fieldValue(call.responded[0].fields, 'grpc-message'), 'third');
    assert.equal(call.retries, 2);
    assert.equal(t.cluster.limits.stats.denied.attempts, 1);
    t.cluster.destroy();
  });

  it('server pushback sets the delay; a negative one stops the retries', async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context);
    call.start();
    call.requestEnd();
    t.lastStream().trailersOnly(Status.UNAVAILABLE, ['grpc-retry-pushback-ms', '300']);
    assert.ok(t.clock.pendingDelays().includes(300));
    await t.clock.advance(299);
    assert.equal(streams(t).length, 0, 'not before the pushback');
    await t.clock.advance(1);
    t.lastStream().trailersOnly(Status.UNAVAILABLE, ['grpc-retry-pushback-ms', '-1']);
    assert.equal(call.status, Status.UNAVAILABLE, 'returned at once');
    assert.equal(call.retries, 1);
    assert.equal(t.cluster.limits.stats.denied.pushback, 1);
    t.cluster.destroy();
  });

  it("a client's own retry is not retried again unless the policy says so", async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context, undefined, { 'grpc-previous-rpc-attempts': '2' });
    call.start();
    call.requestEnd();
    t.lastStream().trailersOnly(Status.UNAVAILABLE);
    assert.equal(call.status, Status.UNAVAILABLE);
    assert.equal(t.cluster.limits.stats.denied.client_retries, 1);
    t.cluster.destroy();

    const u = await setup({ retryPolicy: { ...UNAVAILABLE_ONLY, retryClientRetries: true } });
    const again = new RecordingCall(u.context, undefined, { 'grpc-previous-rpc-attempts': '2' });
    again.start();
    again.requestEnd();
    u.lastStream().trailersOnly(Status.UNAVAILABLE);
    await u.clock.advance(50);
    assert.equal(fieldValue(u.lastStream().headers, 'grpc-previous-rpc-attempts'), '3');
    u.cluster.destroy();
  });

  it('a request larger than the replay buffer commits the call', async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context);
    call.start();
    call.forwardRequest(Buffer.alloc(MAX_RETRY_REPLAY_BYTES));
    assert.equal(replayBytesHeld(), MAX_RETRY_REPLAY_BYTES, 'a whole 1 MiB is kept');
    call.forwardRequest(Buffer.alloc(1));
    assert.equal(replayBytesHeld(), 0, 'one byte more and nothing is');
    call.requestEnd();
    t.lastStream().trailersOnly(Status.UNAVAILABLE);
    assert.equal(call.status, Status.UNAVAILABLE);
    assert.equal(t.cluster.limits.stats.bufferCommits, 1);
    assert.equal(t.cluster.limits.stats.denied.committed, 1);
    t.cluster.destroy();
  });

  it('a reset before any answer is retried when its status is listed', async () => {
    const t = await setup({
      retryPolicy: { ...UNAVAILABLE_ONLY, retryableStatusCodes: [Status.INTERNAL] },
    });
    const call = new RecordingCall(t.context);
    call.start();
    call.requestEnd();
    t.lastStream().reset(INTERNAL_ERROR);
    assert.equal(call.madeStatus, undefined);
    await t.clock.advance(50);
    t.lastStream().respond();
    t.lastStream().trailers(0);
    assert.equal(call.status, Status.OK);
    assert.equal(t.cluster.limits.stats.retries.reset, 1);
    t.cluster.destroy();
  });

  it('an attempt silent past perTryTimeout is cancelled and tried elsewhere', async () => {
    const t = await setup({ retryPolicy: { ...UNAVAILABLE_ONLY, perTryTimeoutMs: 100 } });
    const call = new RecordingCall(t.context, 10_000);
    call.start();
    call.requestEnd();
    const first = t.lastStream();
    await t.clock.advance(100);
    assert.equal(first.cancelled, true, 'the silent attempt is cancelled');
    await t.clock.advance(50);
    const second = t.lastStream();
    assert.notEqual(second.connection, first.connection);
    second.respond();
    await t.clock.advance(1_000);
    assert.equal(second.cancelled, false, 'headers stop the per-try timer');
    second.trailers(0);
    assert.equal(call.status, Status.OK);
    assert.equal(t.cluster.limits.stats.retries.per_try_timeout, 1);
    t.cluster.destroy();
  });

  it('the deadline during a backoff ends the call with DEADLINE_EXCEEDED and no timer left', async () => {
    const t = await setup({ retryPolicy: { ...UNAVAILABLE_ONLY, initialBackoffMs: 400 } });
    const timers = t.clock.pending;
    const call = new RecordingCall(t.context, 300);
    call.start();
    call.requestEnd();
    await t.clock.advance(10);
    t.lastStream().trailersOnly(Status.UNAVAILABLE, ['grpc-retry-pushback-ms', '200']);
    await t.clock.advance(290);
    assert.equal(call.madeStatus?.code, Status.DEADLINE_EXCEEDED);
    assert.equal(t.clock.pending, timers, 'no timer of the call is left');
    t.cluster.destroy();
  });

  it('a retry that could not start before the deadline is not made', async () => {
    const t = await setup({ retryPolicy: UNAVAILABLE_ONLY });
    const call = new RecordingCall(t.context, 300);
    call.start();
    call.requestEnd();
    t.lastStream().trailersOnly(Status.UNAVAILABLE, ['grpc-retry-pushback-ms', '1000']);
    assert.equal(call.status, Status.UNAVAILABLE);
    assert.equal(t.cluster.limits.stats.denied.deadline, 1);
    t.cluster.destroy();
  });
});

describe('retry throttling, budget and circuit breakers', () => {
  it('the A6 throttle stops retries at half its tokens, and successes refill it', async () => {
    const t = await setup({
      retryPolicy: UNAVAILABLE_ONLY,
      retryThrottling: { maxTokens: 4, tokenRatio: 1 },
    });
    const failOnce = async (): Promise<RecordingCall> => {
      const call = new RecordingCall(t.context);
      call.start();
      call.requestEnd();
      t.lastStream().trailersOnly(Status.UNAVAILABLE);
      await t.clock.advance(50);
      return call;
    };
    // 4 tokens: the first failure leaves 3 (> 2, retried), the retry's failure 2 (not).
    const first = await failOnce();
    t.lastStream().trailersOnly(Status.UNAVAILABLE);
    assert.equal(first.status, Status.UNAVAILABLE);
    assert.equal(first.retries, 1);
    assert.equal(t.cluster.limits.throttleTokens, 2);
    const second = await failOnce();
    assert.equal(second.retries, 0, 'throttled');
    assert.equal(t.cluster.limits.stats.denied.throttled, 2);
    // The second call's failure left 1 token; three successes bring it back to 4.
    for (let i = 0; i < 3; i++) {
      const ok = new RecordingCall(t.context);
      ok.start();
      ok.requestEnd();
      t.lastStream().trailersOnly(Status.OK);
    }
    assert.equal(t.cluster.limits.throttleTokens, 4);
    const third = await failOnce();
    assert.equal(third.retries, 1);
    t.lastStream().trailersOnly(Status.OK);
    t.cluster.destroy();
  });

  it('the budget allows minRetriesPerSecond over 10 s plus its share of the calls', async () => {
    const t = await setup({
      retryPolicy: UNAVAILABLE_ONLY,
      retryBudget: { percent: 50, minRetriesPerSecond: 0 },
    });
    const calls: RecordingCall[] = [];
    for (let i = 0; i < 4; i++) {
      const call = new RecordingCall(t.context);
      call.start();
      call.requestEnd();
      calls.push(call);
    }
    // Four calls in the window: 50 % of them is two retries.
    const all = streams(t);
    for (const stream of all) stream.trailersOnly(Status.UNAVAILABLE);
    assert.equal(calls.filter((c) => c.retries === 1).length, 2);
    assert.equal(t.cluster.limits.stats.denied.budget, 2);
    await t.clock.advance(50);
    for (const stream of streams(t)) stream.trailersOnly(Status.OK);
    t.cluster.destroy();
  });

  it('maxConcurrentCalls fails the call over it at once, naming the limit', async () => {
    const t = await setup({
      circuitBreakers: { maxConcurrentCalls: 1, maxPendingCalls: 10, maxConcurrentRetries: 10 },
    });
    const first = new RecordingCall(t.context);
    first.start();
    const second = new RecordingCall(t.context);
    second.start();
    assert.equal(second.madeStatus?.code, Status.UNAVAILABLE);
    assert.match(second.madeStatus.message, /circuitBreakers\.maxConcurrentCalls/);
    assert.equal(t.cluster.limits.stats.trips.maxConcurrentCalls, 1);
    t.lastStream().trailersOnly(Status.OK);
    const third = new RecordingCall(t.context);
    third.start();
    assert.equal(third.madeStatus, undefined, 'room again once the first ended');
    t.lastStream().trailersOnly(Status.OK);
    assert.equal(t.cluster.limits.activeCalls, 0);
    t.cluster.destroy();
  });

  it('maxPendingCalls fails a call that would wait beyond it, naming the limit', async () => {
    const t = await setup({
      circuitBreakers: { maxConcurrentCalls: 10, maxPendingCalls: 1, maxConcurrentRetries: 10 },
    });
    // Every connection is closing but has not said so yet: calls wait for a fresh one.
    for (const c of t.transport.connections) c.refuseNext = null;
    const waiting = new RecordingCall(t.context, 10_000);
    waiting.start();
    assert.equal(waiting.madeStatus, undefined, 'the first call waits');
    assert.equal(t.cluster.waitingCalls, 1);
    const over = new RecordingCall(t.context, 10_000);
    over.start();
    assert.equal(over.madeStatus?.code, Status.UNAVAILABLE);
    assert.match(over.madeStatus.message, /circuitBreakers\.maxPendingCalls/);
    assert.equal(t.cluster.limits.stats.trips.maxPendingCalls, 1);
    t.cluster.destroy();
  });

  it('maxConcurrentRetries returns the failure instead of retrying', async () => {
    const t = await setup({
      retryPolicy: UNAVAILABLE_ONLY,
      circuitBreakers: { maxConcurrentCalls: 10, maxPendingCalls: 10, maxConcurrentRetries: 1 },
    });
    const a = new RecordingCall(t.context);
    a.start();
    const b = new RecordingCall(t.context);
    b.start();
    const [sa, sb] = streams(t);
    sa.trailersOnly(Status.UNAVAILABLE);
    sb.trailersOnly(Status.UNAVAILABLE);
    assert.equal(a.retries, 1);
    assert.equal(b.status, Status.UNAVAILABLE, 'over the limit: not retried');
    assert.equal(t.cluster.limits.stats.trips.maxConcurrentRetries, 1);
    await t.clock.advance(50);
    t.lastStream().trailersOnly(Status.OK);
    assert.equal(t.cluster.limits.activeRetries, 0);
    t.cluster.destroy();
  });
});

describe('hedged calls (hedgingPolicy)', () => {
  const HEDGING = {
    maxAttempts: 3,
    hedgingDelayMs: 100,
    nonFatalStatusCodes: [Status.UNAVAILABLE],
  };

  it('sends a copy elsewhere after hedgingDelay; the first response headers win, the rest are cancelled', async () => {
    const t = await setup({ hedgingPolicy: HEDGING });
    const call = new RecordingCall(t.context, 10_000);
    call.start();
    call.forwardRequest(Buffer.from('read'));
    call.requestEnd();
    const first = t.lastStream();
    await t.clock.advance(99);
    assert.equal(streams(t).length, 1, 'no copy before the delay');
    await t.clock.advance(1);
    const second = t.lastStream();
    assert.notEqual(second.connection, first.connection);
    assert.equal(fieldValue(second.headers, 'grpc-previous-rpc-attempts'), '1');
    assert.deepEqual(second.written.map(String), ['read']);
    assert.equal(second.ended, true);
    second.respond();
    assert.equal(first.cancelled, true, 'the slower copy is cancelled');
    second.data(Buffer.from('answer'));
    second.trailers(0);
    assert.equal(call.status, Status.OK);
    assert.deepEqual(call.data.map(String), ['answer']);
    assert.equal(t.cluster.limits.stats.hedges, 1);
    assert.equal(t.cluster.limits.stats.hedgeWins, 1);
    await t.clock.advance(1_000);
    assert.equal(streams(t).length, 0, 'no copy after the answer');
    t.cluster.destroy();
  });

  it('a non-fatal status sends the next copy at once; a fatal one ends the call and cancels the rest', async () => {
    const t = await setup({ hedgingPolicy: HEDGING });
    const call = new RecordingCall(t.context);
    call.start();
    call.requestEnd();
    const first = t.lastStream();
    first.trailersOnly(Status.UNAVAILABLE);
    assert.equal(call.responded.length, 0, 'the client sees nothing of it');
    const second = t.lastStream();
    assert.notEqual(second, first, 'the next copy went at once');
    await t.clock.advance(100);
    const third = t.lastStream();
    assert.notEqual(third, second);
    third.trailersOnly(Status.PERMISSION_DENIED);
    assert.equal(call.status, Status.PERMISSION_DENIED);
    assert.equal(second.cancelled, true);
    assert.equal(t.cluster.limits.stats.hedges, 2);
    t.cluster.destroy();
  });

  it('when every copy fails non-fatally, the last status reaches the client', async () => {
    const t = await setup({ hedgingPolicy: { ...HEDGING, maxAttempts: 2 } });
    const call = new RecordingCall(t.context);
    call.start();
    call.requestEnd();
    t.lastStream().trailersOnly(Status.UNAVAILABLE);
    t.lastStream().trailersOnly(Status.UNAVAILABLE, ['grpc-message', 'last']);
    assert.equal(call.status, Status.UNAVAILABLE);
    assert.equal(fieldValue(call.responded[0].fields, 'grpc-message'), 'last');
    assert.equal(t.cluster.limits.activeRetries, 0);
    t.cluster.destroy();
  });

  it('a copy waits for the end of a request that is still arriving', async () => {
    const t = await setup({ hedgingPolicy: HEDGING });
    const call = new RecordingCall(t.context);
    call.start();
    call.forwardRequest(Buffer.from('one'));
    await t.clock.advance(200);
    assert.equal(streams(t).length, 1, 'no copy of half a request');
    call.forwardRequest(Buffer.from('two'));
    call.requestEnd();
    const copy = t.lastStream();
    assert.deepEqual(copy.written.map(String), ['one', 'two']);
    copy.respond();
    copy.trailers(0);
    assert.equal(call.status, Status.OK);
    t.cluster.destroy();
  });
});
