// The request-header stage's deadline on a manual clock: a hook that waits is given exactly the
// time the deadline leaves, the upstream gets what is left after it, and a wait past the
// deadline ends the call DEADLINE_EXCEEDED at that instant, whatever the hook decides later.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Filter, FilterReject } from '../../filter/filter.js';
import type { CallContext } from '../../proxy/call.js';
import {
  FilterStage,
  type FilterRouting,
  type FilterStageOutcome,
} from '../../proxy/filter-stage.js';
import { Status } from '../../grpc/grpc-status.js';
import { FakeClock } from '../support/fake-clock.js';

/** A route: only what the stage reads of a call context (name, filters, the cluster's timeouts). */
function route(
  filters: readonly Filter[],
  timeouts: { defaultMs?: number; maxMs?: number } = {},
): { routing: FilterRouting; context: CallContext } {
  const context = {
    routeName: 'r',
    filters,
    cluster: { config: { timeouts: { defaultMs: timeouts.defaultMs, maxMs: timeouts.maxMs } } },
  } as unknown as CallContext;
  return {
    context,
    routing: {
      match: () => context,
      named: (name) => (name === 'r' ? context : undefined),
      unknownRoute: () => {},
    },
  };
}

/** A filter whose request hook answers `verdict` after `ms` of the clock's time. */
function waits(clock: FakeClock, ms: number, verdict?: FilterReject): Filter {
  return {
    name: 'waits',
    onRequestHeaders: () => new Promise((resolve) => clock.setTimeout(() => resolve(verdict), ms)),
  };
}

function stage(
  clock: FakeClock,
  filters: readonly Filter[],
  requestedMs: number | undefined,
  timeouts?: { defaultMs?: number; maxMs?: number },
): { stage: FilterStage; outcomes: FilterStageOutcome[] } {
  const { routing, context } = route(filters, timeouts);
  const outcomes: FilterStageOutcome[] = [];
  const s = new FilterStage(
    {
      listenerFilters: undefined,
      context,
      pinned: false,
      routing,
      fields: ['x-a', '1'],
      path: '/p.S/M',
      peer: { address: '127.0.0.1:1', secure: false, identity: undefined },
      listener: 'main',
      requestedMs,
      clock,
    },
    (o) => outcomes.push(o),
  );
  return { stage: s, outcomes };
}

void describe('FilterStage deadline', () => {
  void it('synchronous hooks: decided at once, no timer, the whole deadline left', () => {
    const clock = new FakeClock();
    const sync: Filter = { name: 'sync', onRequestHeaders: () => undefined };
    const { stage: s, outcomes } = stage(clock, [sync], 1_000);
    s.run();
    assert.equal(outcomes.length, 1);
    assert.equal(clock.pending, 0);
    const o = outcomes[0];
    assert.ok(o.go);
    assert.equal(o.timeoutMs, 1_000);
  });

  void it('a hook that waits 300 ms of a 1 s deadline leaves 700 ms for the upstream', async () => {
    const clock = new FakeClock();
    const { stage: s, outcomes } = stage(clock, [waits(clock, 300)], 1_000);
    s.run();
    assert.equal(outcomes.length, 0);
    // The hook's own timer (300 ms) and the deadline's (1,000 ms).
    assert.deepEqual(clock.pendingDelays(), [300, 1_000]);
    await clock.advance(300);
    assert.equal(outcomes.length, 1);
    const o = outcomes[0];
    assert.ok(o.go);
    assert.equal(o.timeoutMs, 700);
    assert.equal(clock.pending, 0, 'the deadline timer is cleared');
  });

  void it('a wait past the deadline ends the call at the deadline; the late verdict is ignored', async () => {
    const clock = new FakeClock();
    const { stage: s, outcomes } = stage(clock, [waits(clock, 5_000)], 1_000);
    s.run();
    await clock.advance(999);
    assert.equal(outcomes.length, 0);
    await clock.advance(1);
    assert.equal(outcomes.length, 1);
    const o = outcomes[0];
    assert.ok(!o.go);
    assert.equal(o.code, Status.DEADLINE_EXCEEDED);
    assert.match(o.message, /deadline of 1000 ms exceeded while filters ran/);
    await clock.advance(5_000);
    assert.equal(outcomes.length, 1);
  });

  void it("the cluster's max caps the deadline a waiting hook is held to", async () => {
    const clock = new FakeClock();
    const { stage: s, outcomes } = stage(clock, [waits(clock, 800)], 10_000, { maxMs: 500 });
    s.run();
    await clock.advance(500);
    assert.equal(outcomes.length, 1);
    const o = outcomes[0];
    assert.ok(!o.go);
    assert.equal(o.code, Status.DEADLINE_EXCEEDED);
  });

  void it('two waiting hooks share one deadline, counted from when the first began', async () => {
    const clock = new FakeClock();
    const { stage: s, outcomes } = stage(clock, [waits(clock, 400), waits(clock, 400)], 1_000);
    s.run();
    await clock.advance(400);
    assert.equal(outcomes.length, 0);
    await clock.advance(400);
    const o = outcomes[0];
    assert.ok(o.go);
    assert.equal(o.timeoutMs, 200);
  });

  void it('no deadline: a waiting hook arms no timer', async () => {
    const clock = new FakeClock();
    const { stage: s, outcomes } = stage(clock, [waits(clock, 60_000)], undefined);
    s.run();
    assert.deepEqual(clock.pendingDelays(), [60_000]);
    await clock.advance(60_000);
    const o = outcomes[0];
    assert.ok(o.go);
    assert.equal(o.timeoutMs, undefined);
  });

  void it('cancelled while a hook waits: no outcome, the deadline timer cleared', async () => {
    const clock = new FakeClock();
    const { stage: s, outcomes } = stage(clock, [waits(clock, 300)], 1_000);
    s.run();
    s.cancel();
    assert.deepEqual(clock.pendingDelays(), [300], "only the hook's own timer is left");
    await clock.advance(2_000);
    assert.equal(outcomes.length, 0);
  });

  void it('a refusal after a wait is the outcome, with the deadline timer cleared', async () => {
    const clock = new FakeClock();
    const { stage: s, outcomes } = stage(
      clock,
      [waits(clock, 100, { code: Status.PERMISSION_DENIED, message: 'no' })],
      1_000,
    );
    s.run();
    await clock.advance(100);
    assert.deepEqual(outcomes, [{ go: false, code: Status.PERMISSION_DENIED, message: 'no' }]);
    assert.equal(clock.pending, 0);
  });
});
