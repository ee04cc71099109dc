// LatestEvent: what a late subscriber hears (the state, then an error since it), and never twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEndpoint, createEndpointSet, type EndpointSet } from '../../resolver/endpoint.js';
import { ResolutionError } from '../../resolver/errors.js';
import { LatestEvent, type ResolverEvent } from '../../resolver/latest-event.js';
import { settle } from '../support/fake-clock.js';

const set = (...ports: number[]): EndpointSet =>
  createEndpointSet(ports.map((port) => createEndpoint({ address: '10.0.0.1', port })));
const transient = (text: string) => new ResolutionError('SWY_ERR_RESOLVE_TRANSIENT', 'x:1', text);
const missing = () => new ResolutionError('SWY_ERR_RESOLVE_NOT_FOUND', 'x:1', 'no such name');

/** Replays to a fresh list, recording what arrived in a readable form. */
function replay(latest: LatestEvent, wanted = () => true): string[] {
  const heard: string[] = [];
  latest.replayLater(wanted, (e) => heard.push(show(e)));
  return heard;
}

function show(e: ResolverEvent): string {
  return e.kind === 'update'
    ? `update ${e.set.endpoints.map((p) => p.port).join(',')}`
    : `${e.kind} ${e.error.message}`;
}

void describe('LatestEvent', () => {
  void it('holds nothing at first, and replays nothing', async () => {
    const latest = new LatestEvent();
    const heard = replay(latest);
    await settle();
    assert.deepEqual(heard, []);
    assert.equal(latest.set, undefined);
    assert.equal(latest.notFound, undefined);
    assert.equal(latest.pendingError, undefined);
  });

  void it('replays on a later microtask, never inside the call', async () => {
    const latest = new LatestEvent();
    latest.record({ kind: 'update', set: set(1) });
    const heard = replay(latest);
    assert.deepEqual(heard, []);
    await settle();
    assert.deepEqual(heard, ['update 1']);
  });

  void it('an error keeps the last good set: both are replayed, the set first', async () => {
    const latest = new LatestEvent();
    latest.record({ kind: 'update', set: set(1, 2) });
    latest.record({ kind: 'error', error: transient('timeout') });
    latest.record({ kind: 'error', error: transient('refused') });
    assert.deepEqual(
      latest.set?.endpoints.map((e) => e.port),
      [1, 2],
    );
    const heard = replay(latest);
    await settle();
    assert.deepEqual(heard, ['update 1,2', 'error x:1: refused']);
  });

  void it('an error before any answer is replayed alone', async () => {
    const latest = new LatestEvent();
    latest.record({ kind: 'error', error: transient('timeout') });
    const heard = replay(latest);
    await settle();
    assert.deepEqual(heard, ['error x:1: timeout']);
  });

  void it('a new state drops the error; not-found drops the set', async () => {
    const latest = new LatestEvent();
    latest.record({ kind: 'update', set: set(1) });
    latest.record({ kind: 'error', error: transient('timeout') });
    latest.record({ kind: 'not-found', error: missing() });
    assert.equal(latest.set, undefined);
    assert.equal(latest.pendingError, undefined);
    assert.equal(latest.notFound?.code, 'SWY_ERR_RESOLVE_NOT_FOUND');
    const heard = replay(latest);
    await settle();
    assert.deepEqual(heard, ['not-found x:1: no such name']);

    latest.record({ kind: 'error', error: transient('refused') });
    const later = replay(latest);
    await settle();
    // A not-found followed by an error: the subscriber learns both, not just the error.
    assert.deepEqual(later, ['not-found x:1: no such name', 'error x:1: refused']);
  });

  void it('events recorded after subscribing are not replayed (they were delivered directly)', async () => {
    const latest = new LatestEvent();
    latest.record({ kind: 'update', set: set(1) });
    const heard = replay(latest);
    latest.record({ kind: 'update', set: set(2) });
    await settle();
    assert.deepEqual(heard, []);
  });

  void it('a held set still arrives when an error overtakes the replay', async () => {
    const latest = new LatestEvent();
    latest.record({ kind: 'update', set: set(1) });
    const heard = replay(latest);
    latest.record({ kind: 'error', error: transient('timeout') });
    await settle();
    assert.deepEqual(heard, ['update 1']);
  });

  void it('nothing is replayed to a subscriber that is gone', async () => {
    const latest = new LatestEvent();
    latest.record({ kind: 'update', set: set(1) });
    latest.record({ kind: 'error', error: transient('timeout') });
    let subscribed = true;
    const heard: string[] = [];
    latest.replayLater(
      () => subscribed,
      (e) => {
        heard.push(show(e));
        subscribed = false; // unsubscribes while hearing the set
      },
    );
    const gone = replay(latest, () => false);
    await settle();
    assert.deepEqual(heard, ['update 1']);
    assert.deepEqual(gone, []);
  });

  void it('held() gives the same events at once, for relays that deliver them in order', () => {
    const latest = new LatestEvent();
    assert.deepEqual(latest.held(), []);
    latest.record({ kind: 'update', set: set(1) });
    latest.record({ kind: 'error', error: transient('timeout') });
    assert.deepEqual(latest.held().map(show), ['update 1', 'error x:1: timeout']);
    latest.record({ kind: 'update', set: set(2) });
    assert.deepEqual(latest.held().map(show), ['update 2']);
  });
});
