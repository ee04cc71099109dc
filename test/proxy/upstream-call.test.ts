// The call attempt as a state machine, over a fake transport and a fake clock: where a call
// may go again (refused: yes, elsewhere; processed: never), its deadline and its replay buffer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from '../../balancer/create-balancer.js';
import { DEFAULT_CLUSTER } from '../../config/defaults.js';
import { parseTarget } from '../../common/target.js';
import type { ClusterConfig } from '../../config/types.js';
import { silentLogger } from '../../common/log.js';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import { StaticResolver } from '../../resolver/static-resolver.js';
import { Cluster } from '../../upstream/cluster.js';
import { Status } from '../../grpc/grpc-status.js';
import { fieldValue, type HeaderFields } from '../../transport/header-fields.js';
import {
  CallProgress,
  MAX_REPLAY_BYTES,
  UpstreamCall,
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

  constructor(context: UpstreamCallContext, timeoutMs?: number) {
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
    ];
    super({ ':path': '/pkg.Svc/Method' }, fields, '/pkg.Svc/Method', context, timeoutMs, 200);
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
async function setup() {
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
