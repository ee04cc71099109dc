// RelayedResolver: a worker's view of the primary's resolver, replayed to late subscribers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import { ResolutionError } from '../../resolver/errors.js';
import { RelayedResolver } from '../../workers/relayed-resolver.js';
import { settle } from '../support/fake-clock.js';
import { Recorder } from '../resolver/recorder.js';

const set = (port: number) => createEndpointSet([createEndpoint({ address: '10.0.0.1', port })]);

void describe('RelayedResolver', () => {
  void it('relays changed sets only, and replays the set and a later error to a late subscriber', async () => {
    const resolver = new RelayedResolver('x:1', () => undefined);
    const early = new Recorder();
    resolver.subscribe(early);
    resolver.update(set(1));
    resolver.update(set(1));
    resolver.fail(new ResolutionError('SWY_ERR_RESOLVE_TRANSIENT', 'x:1', 'timeout'));
    assert.deepEqual(
      early.events.map((e) => e.kind),
      ['update', 'error'],
    );
    const late = new Recorder();
    resolver.subscribe(late);
    assert.equal(late.events.length, 0);
    await settle();
    assert.deepEqual(
      late.events.map((e) => e.kind),
      ['update', 'error'],
    );
    assert.equal(resolver.current()?.endpoints[0].port, 1);
    resolver.close();
  });

  void it('not-found empties the set and is replayed as not-found, even after an error', async () => {
    const resolver = new RelayedResolver('x:1', () => undefined);
    resolver.update(set(1));
    resolver.fail(new ResolutionError('SWY_ERR_RESOLVE_NOT_FOUND', 'x:1', 'gone'));
    resolver.fail(new ResolutionError('SWY_ERR_RESOLVE_TRANSIENT', 'x:1', 'timeout'));
    assert.equal(resolver.current(), undefined);
    const late = new Recorder();
    resolver.subscribe(late);
    await settle();
    assert.deepEqual(
      late.events.map((e) => e.kind),
      ['notFound', 'error'],
    );
  });

  void it('a subscriber gets nothing after close, and refresh reaches the primary until then', async () => {
    let refreshes = 0;
    const resolver = new RelayedResolver('x:1', () => refreshes++);
    resolver.update(set(1));
    const rec = new Recorder();
    resolver.subscribe(rec);
    resolver.refresh();
    resolver.close();
    resolver.refresh();
    await settle();
    assert.equal(rec.events.length, 0);
    assert.equal(refreshes, 1);
  });
});
