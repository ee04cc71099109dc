// createResolver as a library user meets it: static lists, bad input, and the Resolver contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../common/backoff.js';
import { createResolver } from '../../resolver/create-resolver.js';
import { TargetError } from '../../resolver/errors.js';
import { settle } from '../support/fake-clock.js';
import { Recorder } from './recorder.js';

void describe('createResolver', () => {
  void it('serves a static list once, asynchronously', async () => {
    const resolver = createResolver('static:///10.0.0.1:50051,[::1]:50052,backend:1');
    const rec = new Recorder();
    resolver.subscribe(rec);
    assert.equal(rec.events.length, 0);
    await settle();
    assert.deepEqual(rec.keys, ['10.0.0.1:50051', '[::1]:50052', 'backend:1']);
    assert.equal(rec.updates[0].endpoints[2].hostname, 'backend');
    resolver.refresh();
    await settle();
    assert.equal(rec.events.length, 1);
    resolver.close();
  });

  void it('takes the quick start form: a bare comma-separated list', async () => {
    const resolver = createResolver('127.0.0.1:50051,127.0.0.1:50052,127.0.0.1:50051');
    const rec = new Recorder();
    resolver.subscribe(rec);
    await settle();
    assert.deepEqual(rec.keys, ['127.0.0.1:50051', '127.0.0.1:50052']);
    resolver.close();
  });

  void it('throws TargetError naming the target for unparsable targets, unknown schemes and bad ports', () => {
    for (const target of [
      '',
      'etcd:///svc',
      'dns:///svc:70000',
      'consul:///svc?bogus=1',
      'dns+srv:///',
    ]) {
      assert.throws(
        () => createResolver(target),
        (e: unknown) => e instanceof TargetError && e.message.includes(`"${target}"`),
        target,
      );
    }
  });

  void it('does nothing before the first subscriber', async () => {
    let clients = 0;
    const resolver = createResolver('dns:///svc.test:1', {
      createDnsClient: () => {
        clients++;
        throw new Error('not expected');
      },
    });
    await settle();
    assert.equal(clients, 0);
    resolver.close();
  });
});

void describe('backoffDelay', () => {
  const policy = { initialMs: 1_000, maxMs: 10_000, multiplier: 2, jitter: 0.2 };
  void it('grows exponentially up to the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0.5)),
      [1_000, 2_000, 4_000, 8_000, 10_000, 10_000],
    );
  });
  void it('spreads by the jitter share either way', () => {
    assert.equal(
      backoffDelay(policy, 1, () => 0),
      800,
    );
    assert.equal(
      backoffDelay(policy, 1, () => 0.999999),
      1_200,
    );
  });
});
