// The endpoint pool as a state machine, over a fake transport and a fake clock: every
// transition in exact time, no sockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../balancer/host.js';
import type { Connectivity } from '../../balancer/host.js';
import { createEndpoint } from '../../resolver/endpoint.js';
import { EndpointPool, type PoolEvents, type PoolOptions } from '../../upstream/endpoint-pool.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';
import { FakeDialer, FakeTransport } from '../support/fake-transport.js';
import type { UpstreamHandler } from '../../transport/upstream.js';

const ENHANCE_YOUR_CALM = 0xb;

function setup(overrides: Partial<PoolOptions> = {}) {
  const clock = new FakeClock();
  const dialer = new FakeDialer();
  const transport = new FakeTransport();
  const states: string[] = [];
  const failures: string[] = [];
  const events: PoolEvents = {
    connectivityChanged(_pool, state: Connectivity, reason) {
      states.push(reason === '' ? state : `${state}: ${reason}`);
    },
    connectFailed(_pool, error) {
      failures.push(`connect: ${error.message}`);
    },
    connectionFailed(_pool, error) {
      failures.push(`connection: ${error.message}`);
    },
  };
  const host = new Host(createEndpoint({ address: '10.0.0.1', port: 50051 }));
  const pool = new EndpointPool(
    host,
    {
      dialer,
      connectTimeoutMs: 5_000,
      keepalive: { timeMs: 10_000, timeoutMs: 2_000, idleTimeMs: 0 },
      idleTimeoutMs: 60_000,
      maxSessions: 4,
      settings: {},
      clock,
      random: () => 0.5, // no jitter: backoff delays are exactly 1 s, 1.6 s, 2.56 s, …
      transport,
      ...overrides,
    },
    events,
  );
  return { clock, dialer, transport, states, failures, pool };
}

/** A handler that records how its stream ended. */
function recorder(): UpstreamHandler & { outcomes: number[] } {
  const outcomes: number[] = [];
  return {
    outcomes,
    onHeaders() {},
    onData() {},
    onTrailers() {},
    onEnd() {},
    onDrain() {},
    onClose(_s, outcome) {
      outcomes.push(outcome);
    },
  };
}

/** Starts the pool and brings its first connection up. */
async function ready(t: ReturnType<typeof setup>) {
  t.pool.start();
  t.dialer.next().succeed();
  await flushMicrotasks();
  t.transport.last.settings();
  return t.transport.last;
}

describe('endpoint pool states', () => {
  it('connecting → ready on the first SETTINGS, and serves from that connection', async () => {
    const t = setup();
    t.pool.start();
    assert.deepEqual(t.states, ['connecting']);
    assert.equal(t.pool.acquire(), null, 'nothing before the dial settles');
    t.dialer.next().succeed();
    await flushMicrotasks();
    assert.equal(t.pool.acquire(), null, 'nothing before the peer SETTINGS');
    t.transport.last.settings();
    assert.deepEqual(t.states, ['connecting', 'ready']);
    const session = t.pool.acquire();
    assert.ok(session);
    assert.equal(session.connection, t.transport.last);
    assert.equal(t.transport.last.options.authority, '10.0.0.1:50051');
  });

  it('GOAWAY → draining → a new connection; running streams finish on the old one', async () => {
    const t = setup();
    const old = await ready(t);
    const handler = recorder();
    const stream = t.pool.acquire()!.open([':path', '/a.B/C'], handler);
    assert.ok(stream && !(stream instanceof Error));
    old.goaway(0);
    assert.deepEqual(t.states, ['connecting', 'ready', 'connecting: upstream sent GOAWAY']);
    assert.equal(t.pool.acquire(), null, 'a draining connection takes no new streams');
    assert.equal(old.closing, false, 'closed only once its stream ends');
    t.dialer.next().succeed();
    await flushMicrotasks();
    t.transport.last.settings();
    assert.equal(t.pool.acquire()!.connection, t.transport.last);
    old.streams[0].trailers(0);
    assert.deepEqual(handler.outcomes, [0]);
    assert.equal(old.closing, true, 'the drained connection closes');
    await flushMicrotasks();
    assert.equal(t.pool.sessionCount, 1);
    assert.deepEqual(t.states.at(-1), 'ready');
  });

  it('backs off between failed connects: 1 s, then 1.6 s, and a success resets it', async () => {
    const t = setup();
    t.pool.start();
    t.dialer.next().fail(new Error('refused'));
    await flushMicrotasks();
    assert.deepEqual(t.failures, ['connect: refused']);
    assert.equal(t.states.at(-1), 'failing: refused');
    await t.clock.advance(999);
    assert.equal(t.dialer.dials.length, 0);
    await t.clock.advance(1);
    t.dialer.next().fail(new Error('refused'));
    await flushMicrotasks();
    await t.clock.advance(1_599);
    assert.equal(t.dialer.dials.length, 0);
    await t.clock.advance(1);
    t.dialer.next().succeed();
    await flushMicrotasks();
    t.transport.last.settings();
    assert.equal(t.states.at(-1), 'ready');
    // Serving again: a lost connection reconnects at once, without backoff.
    t.transport.last.drop();
    assert.equal(t.dialer.dials.length, 1);
  });

  it('a connection without SETTINGS within the connect timeout counts as a failed connect', async () => {
    const t = setup();
    t.pool.start();
    t.dialer.next().succeed();
    await flushMicrotasks();
    await t.clock.advance(5_000);
    assert.match(
      t.failures[0],
      /^connect: no HTTP\/2 SETTINGS from 10\.0\.0\.1:50051 within 5000 ms/,
    );
    assert.equal(t.transport.last.destroyed, true);
    assert.match(t.states.at(-1)!, /^failing/);
  });

  it('a protocol error from a serving peer fails its calls and reconnects after a backoff', async () => {
    const t = setup();
    const conn = await ready(t);
    const handler = recorder();
    t.pool.acquire()!.open([':path', '/a.B/C'], handler);
    conn.error(new Error('nghttp2 says no'), 'socket', true);
    assert.equal(conn.destroyed, true);
    assert.deepEqual(handler.outcomes, [3], 'the running stream is lost');
    assert.match(t.failures[0], /^connection: HTTP\/2 protocol error from 10\.0\.0\.1:50051/);
    assert.match(t.states.at(-1)!, /^failing: /);
    assert.equal(t.dialer.dials.length, 0, 'not at once');
    await t.clock.advance(1_000);
    assert.equal(t.dialer.dials.length, 1);
  });

  it('an unanswered keepalive PING fails the connection', async () => {
    const t = setup();
    const conn = await ready(t);
    t.pool.acquire()!.open([':path', '/a.B/C'], recorder());
    await t.clock.advance(1_000);
    assert.equal(conn.pings.length, 1, 'a connection with a call, quiet for 1 s, gets a PING');
    await t.clock.advance(1_999);
    assert.deepEqual(t.failures, []);
    await t.clock.advance(1);
    assert.match(t.failures[0], /keepalive PING to 10\.0\.0\.1:50051 unanswered after 2000 ms/);
    assert.equal(conn.destroyed, true);
  });

  it('GOAWAY(ENHANCE_YOUR_CALM, too_many_pings) doubles the PING interval of later connections', async () => {
    const t = setup();
    const first = await ready(t);
    first.goaway(ENHANCE_YOUR_CALM, 'too_many_pings');
    t.dialer.next().succeed();
    await flushMicrotasks();
    const second = t.transport.last;
    second.settings();
    t.pool.acquire()!.open([':path', '/a.B/C'], recorder());
    await t.clock.advance(1_000);
    assert.equal(second.pings.length, 1);
    second.pings[0]();
    // PINGs with calls come at most every timeMs (10 s), now doubled.
    await t.clock.advance(10_000);
    assert.equal(second.pings.length, 1, 'not after 10 s any more');
    await t.clock.advance(10_000);
    assert.equal(second.pings.length, 2, 'after 20 s');
  });

  it('a refused stream leaves the connection draining and the caller free to go elsewhere', async () => {
    const t = setup();
    const conn = await ready(t);
    conn.refuseNext = null;
    assert.equal(t.pool.acquire()!.open([':path', '/a.B/C'], recorder()), null);
    assert.equal(t.pool.acquire(), null);
    assert.equal(t.states.at(-1), 'connecting: the connection refused a new stream');
  });

  it('opens another connection at the peer stream limit, and meanwhile queues on the least busy', async () => {
    const t = setup();
    const conn = await ready(t);
    conn.settings(1);
    const session = t.pool.acquire()!;
    session.open([':path', '/a.B/C'], recorder());
    assert.equal(t.pool.acquire(), session, 'the only connection takes it (nghttp2 queues)');
    assert.equal(t.dialer.dials.length, 1, 'and a second connection is on its way');
    t.dialer.next().succeed();
    await flushMicrotasks();
    t.transport.last.settings(1);
    assert.equal(t.pool.acquire()!.connection, t.transport.last);
  });

  it('is not ready while its only serving connection is gone and the next one is on its way', async () => {
    const t = setup();
    const conn = await ready(t);
    conn.settings(1);
    t.pool.acquire()!.open([':path', '/a.B/C'], recorder());
    t.pool.acquire(); // at the stream limit: a second connection is being dialed
    assert.equal(t.dialer.dials.length, 1);
    conn.drop(); // the serving one goes before the second is up
    assert.equal(t.pool.acquire(), null);
    assert.match(t.states.at(-1)!, /^connecting/, 'not ready with nothing to acquire');
    t.dialer.next().succeed();
    await flushMicrotasks();
    t.transport.last.settings();
    assert.equal(t.states.at(-1), 'ready');
    assert.equal(t.pool.acquire()!.connection, t.transport.last);
  });

  it('closes idle extra connections after the idle timeout, keeping one', async () => {
    const t = setup({ idleTimeoutMs: 30_000 });
    const first = await ready(t);
    first.settings(1);
    t.pool.acquire()!.open([':path', '/a'], recorder());
    t.pool.acquire();
    t.dialer.next().succeed();
    await flushMicrotasks();
    const second = t.transport.last;
    second.settings(1);
    t.pool.acquire()!.open([':path', '/b'], recorder());
    first.streams[0].trailers(0);
    second.streams[0].trailers(0);
    await t.clock.advance(30_000);
    assert.equal(t.pool.sessionCount, 1);
  });

  it('spends the reset budget, then holds resets back and sends them as it grows', async () => {
    const t = setup({
      resetLimit: { burst: 10, rate: 1 },
      keepalive: { timeMs: 0, timeoutMs: 2_000, idleTimeMs: 0 },
    });
    const conn = await ready(t);
    const session = t.pool.acquire()!;
    const streams = [];
    for (let i = 0; i < 15; i++) {
      const s = session.open([':path', '/a'], recorder());
      assert.ok(s && !(s instanceof Error));
      streams.push(s);
    }
    for (const s of streams) session.cancel(s);
    const held = conn.streams.filter((s) => s.discarding);
    // A burst of 10 keeps its last token back (2 %, rounded up): 9 resets go out, 6 wait.
    assert.equal(held.length, 6);
    assert.ok(
      held.every((s) => s.open && !s.cancelled),
      'held streams stay open, their data dropped',
    );
    await t.clock.advance(8_000);
    assert.ok(
      held.every((s) => s.cancelled),
      'reset once the budget grew back',
    );
  });
});
