// The dns resolver with a scripted c-ares client and a manual clock: TTLs, bounds, errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResolver } from '../../resolver/create-resolver.js';
import type { ResolverOptions } from '../../resolver/options.js';
import type { Resolver } from '../../resolver/resolver.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeDns } from './fake-dns.js';
import { Recorder } from './recorder.js';

interface Rig {
  readonly dns: FakeDns;
  readonly clock: FakeClock;
  readonly resolver: Resolver;
  readonly rec: Recorder;
}

/** random() = 0.5 makes jitter zero, so backoff delays are exact. */
function rig(
  target: string,
  dnsOptions: ResolverOptions['dns'] = {},
  seed?: (dns: FakeDns) => void,
): Rig {
  const dns = new FakeDns();
  seed?.(dns);
  const clock = new FakeClock(0);
  const resolver = createResolver(target, {
    dns: dnsOptions,
    clock,
    random: () => 0.5,
    createDnsClient: dns.factory,
  });
  const rec = new Recorder();
  resolver.subscribe(rec);
  return { dns, clock, resolver, rec };
}

void describe('dns resolver', () => {
  void it('resolves A and AAAA into one set, never calling the listener from subscribe()', async () => {
    const dns = new FakeDns();
    dns.a.set('svc.test', [{ address: '10.0.0.1', ttl: 30 }]);
    dns.aaaa.set('svc.test', [{ address: 'fd00::1', ttl: 30 }]);
    const resolver = createResolver('dns:///svc.test:50051', {
      clock: new FakeClock(0),
      createDnsClient: dns.factory,
    });
    const rec = new Recorder();
    resolver.subscribe(rec);
    assert.equal(rec.events.length, 0, 'no synchronous call');
    await settle();
    assert.deepEqual(rec.keys, ['10.0.0.1:50051', '[fd00::1]:50051']);
    const e = rec.updates[0].endpoints[0];
    assert.equal(e.hostname, 'svc.test');
    assert.equal(e.weight, 1);
    assert.deepEqual(resolver.current(), rec.updates[0]);
    resolver.close();
  });

  void it('re-resolves when the shortest TTL runs out, not before', async () => {
    const { dns, clock, resolver } = rig('dns:///svc.test:1', {}, (d) => {
      d.a.set('svc.test', [
        { address: '10.0.0.1', ttl: 9 },
        { address: '10.0.0.2', ttl: 5 },
      ]);
    });
    await settle();
    assert.equal(dns.count('A '), 1);
    await clock.advance(4_999);
    assert.equal(dns.count('A '), 1);
    await clock.advance(1);
    assert.equal(dns.count('A '), 2);
    resolver.close();
  });

  void it('bounds the TTL by minRefreshMs and maxRefreshMs', async () => {
    const low = rig('dns:///svc.test:1', { minRefreshMs: 2_000 }, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 0 }]),
    );
    await settle();
    assert.deepEqual(low.clock.pendingDelays(), [2_000]);
    low.resolver.close();
    const high = rig('dns:///svc.test:1', { maxRefreshMs: 10_000 }, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 86_400 }]),
    );
    await settle();
    assert.deepEqual(high.clock.pendingDelays(), [10_000]);
    high.resolver.close();
  });

  void it('emits only on real change', async () => {
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
    );
    await settle();
    await clock.advance(1_000);
    await clock.advance(1_000);
    assert.equal(dns.count('A '), 3);
    assert.equal(rec.updates.length, 1);
    dns.a.set('svc.test', [
      { address: '10.0.0.1', ttl: 1 },
      { address: '10.0.0.2', ttl: 1 },
    ]);
    await clock.advance(1_000);
    assert.equal(rec.updates.length, 2);
    assert.deepEqual(rec.keys, ['10.0.0.1:1', '10.0.0.2:1']);
    // The same addresses in another order are no change.
    dns.a.set('svc.test', [
      { address: '10.0.0.2', ttl: 1 },
      { address: '10.0.0.1', ttl: 1 },
    ]);
    await clock.advance(1_000);
    assert.equal(rec.updates.length, 2);
    resolver.close();
  });

  void it('refresh() re-resolves at once but at most once per minRefreshMs, and never synchronously', async () => {
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', { minRefreshMs: 1_000 }, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 300 }]),
    );
    await settle();
    const before = rec.events.length;
    await clock.advance(200);
    resolver.refresh();
    resolver.refresh();
    assert.equal(rec.events.length, before, 'refresh() called no listener');
    await clock.advance(799);
    assert.equal(dns.count('A '), 1, 'rate-limited until 1 s after the last query');
    await clock.advance(1);
    assert.equal(dns.count('A '), 2);
    // Long after the last query, refresh() queries right away.
    await clock.advance(5_000);
    resolver.refresh();
    await clock.advance(0);
    assert.equal(dns.count('A '), 3);
    resolver.close();
  });

  void it('keeps the last good set on a transient failure, reports it, and backs off exponentially', async () => {
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
    );
    await settle();
    const good = resolver.current();
    dns.a.set('svc.test', 'ETIMEOUT');
    dns.aaaa.set('svc.test', 'ETIMEOUT');
    await clock.advance(1_000);
    assert.equal(rec.errors.length, 1);
    assert.equal(rec.errors[0].code, 'SWY_ERR_RESOLVE_TRANSIENT');
    assert.match(rec.errors[0].message, /dns:\/\/\/svc\.test:1.*ETIMEOUT/);
    assert.equal(resolver.current(), good, 'last good set kept');
    // 1 s, then 1.6 s, then 2.56 s (jitter is zero with random() = 0.5).
    assert.deepEqual(clock.pendingDelays(), [1_000]);
    await clock.advance(1_000);
    assert.deepEqual(clock.pendingDelays(), [1_600]);
    await clock.advance(1_600);
    assert.deepEqual(clock.pendingDelays(), [2_560]);
    assert.equal(rec.errors.length, 3);
    // refresh() does not cut a backoff short.
    resolver.refresh();
    assert.deepEqual(clock.pendingDelays(), [2_560]);
    dns.a.set('svc.test', [{ address: '10.0.0.9', ttl: 1 }]);
    dns.aaaa.delete('svc.test');
    await clock.advance(2_560);
    assert.deepEqual(rec.keys, ['10.0.0.9:1']);
    assert.deepEqual(clock.pendingDelays(), [1_000], 'back to TTL scheduling');
    resolver.close();
  });

  for (const code of ['ESERVFAIL', 'ECONNREFUSED', 'EREFUSED']) {
    void it(`treats ${code} as transient`, async () => {
      const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', {}, (d) =>
        d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
      );
      await settle();
      dns.a.set('svc.test', code);
      dns.aaaa.set('svc.test', code);
      await clock.advance(1_000);
      assert.equal(rec.errors.length, 1);
      assert.equal(rec.notFounds.length, 0);
      assert.ok(resolver.current());
      resolver.close();
    });
  }

  void it('reports NXDOMAIN as not-found, drops the set, and recovers when the name appears', async () => {
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
    );
    await settle();
    dns.a.delete('svc.test');
    await clock.advance(1_000);
    assert.equal(rec.notFounds.length, 1);
    assert.equal(rec.notFounds[0].code, 'SWY_ERR_RESOLVE_NOT_FOUND');
    assert.match(rec.notFounds[0].message, /svc\.test.*ENOTFOUND/);
    assert.equal(resolver.current(), undefined);
    // A continuing not-found is reported once.
    await clock.advance(1_000);
    await clock.advance(1_600);
    assert.equal(rec.notFounds.length, 1);
    dns.a.set('svc.test', [{ address: '10.0.0.2', ttl: 1 }]);
    await clock.advance(2_560);
    assert.deepEqual(rec.keys, ['10.0.0.2:1']);
    resolver.close();
  });

  void it('reports an empty answer (ENODATA for both families) as not-found', async () => {
    const { resolver, rec } = rig('dns:///svc.test:1', {}, (d) => d.txt.set('svc.test', [['x']]));
    await settle();
    assert.equal(rec.notFounds.length, 1);
    assert.match(rec.notFounds[0].message, /ENODATA/);
    resolver.close();
  });

  void it('accepts a name with one family only', async () => {
    const { resolver, rec } = rig('dns:///svc.test:1', {}, (d) =>
      d.aaaa.set('svc.test', [{ address: '::5', ttl: 5 }]),
    );
    await settle();
    assert.deepEqual(rec.keys, ['[::5]:1']);
    assert.equal(rec.errors.length, 0);
    resolver.close();
  });

  void it('keeps the last addresses of a family whose query fails while the other answers', async () => {
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', {}, (d) => {
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]);
      d.aaaa.set('svc.test', [{ address: '::1:1', ttl: 1 }]);
    });
    await settle();
    dns.aaaa.set('svc.test', 'ETIMEOUT');
    dns.a.set('svc.test', [{ address: '10.0.0.2', ttl: 1 }]);
    await clock.advance(1_000);
    assert.deepEqual(rec.keys, ['10.0.0.2:1', '[::1:1]:1']);
    assert.equal(rec.errors.length, 1);
    assert.match(rec.errors[0].message, /AAAA lookup of svc\.test failed \(ETIMEOUT\)/);
    resolver.close();
  });

  void it('answers IP literals without a query and never re-resolves them', async () => {
    for (const [target, key] of [
      ['dns:///10.1.2.3:80', '10.1.2.3:80'],
      ['dns:///[fd00::7]:80', '[fd00::7]:80'],
      ['10.1.2.3:80', '10.1.2.3:80'],
    ]) {
      const { dns, clock, resolver, rec } = rig(target);
      await settle();
      assert.deepEqual(rec.keys, [key]);
      assert.equal(rec.updates[0].endpoints[0].hostname, undefined);
      assert.equal(dns.clientsCreated, 0);
      assert.deepEqual(clock.pendingDelays(), []);
      resolver.refresh();
      await clock.advance(60_000);
      assert.equal(dns.queries.length, 0);
      resolver.close();
    }
  });

  void it('answers localhost with 127.0.0.1 and ::1 without a query', async () => {
    const { dns, resolver, rec } = rig('dns:///localhost:9000');
    await settle();
    assert.deepEqual(rec.keys, ['127.0.0.1:9000', '[::1]:9000']);
    assert.equal(rec.updates[0].endpoints[0].hostname, 'localhost');
    assert.equal(dns.queries.length, 0);
    resolver.close();
  });

  void it('defaults the port to 443, as gRPC does', async () => {
    const { resolver, rec } = rig('dns:///svc.test', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 5 }]),
    );
    await settle();
    assert.deepEqual(rec.keys, ['10.0.0.1:443']);
    resolver.close();
  });

  void it("uses the target's nameserver, else the configured servers, and c-ares timeout and tries", async () => {
    const a = rig('dns://127.0.0.1:5353/svc.test:1', {
      servers: ['10.9.9.9'],
      timeoutMs: 700,
      tries: 3,
    });
    await settle();
    assert.deepEqual(a.dns.servers, ['127.0.0.1:5353']);
    assert.deepEqual(a.dns.settings, { timeoutMs: 700, tries: 3 });
    a.resolver.close();
    const b = rig('dns:///svc.test:1', { servers: ['10.9.9.9', '[::1]:53'] });
    await settle();
    assert.deepEqual(b.dns.servers, ['10.9.9.9', '[::1]:53']);
    b.resolver.close();
    const c = rig('dns://[::1]/svc.test:1');
    await settle();
    assert.deepEqual(c.dns.servers, ['[::1]:53']);
    c.resolver.close();
  });

  void it('reads the TXT service config when asked, and keeps endpoints when it is malformed', async () => {
    const config = { loadBalancingConfig: [{ round_robin: {} }] };
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', { serviceConfig: true }, (d) => {
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]);
      d.txt.set('_grpc_config.svc.test', [
        [`grpc_config=[{"serviceConfig":${JSON.stringify(config)}}]`],
      ]);
    });
    await settle();
    assert.ok(dns.queries.includes('TXT _grpc_config.svc.test'));
    assert.deepEqual(rec.updates[0].serviceConfig, config);
    dns.txt.set('_grpc_config.svc.test', [['grpc_config=[{not json']]);
    dns.a.set('svc.test', [{ address: '10.0.0.2', ttl: 1 }]);
    await clock.advance(1_000);
    assert.deepEqual(rec.keys, ['10.0.0.2:1']);
    assert.deepEqual(rec.updates.at(-1)?.serviceConfig, config, 'previous config kept');
    assert.equal(rec.errors.length, 1);
    assert.equal(rec.errors[0].code, 'SWY_ERR_RESOLVE_BAD_ANSWER');
    assert.match(rec.errors[0].message, /not valid JSON/);
    // TXT record removed: no service config.
    dns.txt.delete('_grpc_config.svc.test');
    await clock.advance(1_000);
    assert.equal(rec.updates.at(-1)?.serviceConfig, undefined);
    resolver.close();
  });

  void it('does not look up TXT unless asked', async () => {
    const { dns, resolver } = rig('dns:///svc.test:1', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
    );
    await settle();
    assert.equal(dns.count('TXT'), 0);
    resolver.close();
  });

  void it('gives a late subscriber the current set on a later tick', async () => {
    const { resolver } = rig('dns:///svc.test:1', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
    );
    await settle();
    const late = new Recorder();
    resolver.subscribe(late);
    assert.equal(late.events.length, 0);
    await settle();
    assert.deepEqual(late.keys, ['10.0.0.1:1']);
    resolver.close();
  });

  void it('after close(): no listener call, no timer, queries cancelled', async () => {
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
    );
    await settle();
    dns.hold = true;
    await clock.advance(1_000);
    assert.equal(dns.count('A '), 2, 'a query is in flight');
    resolver.close();
    assert.equal(dns.cancelled, 1);
    dns.a.set('svc.test', [{ address: '10.0.0.2', ttl: 1 }]);
    dns.release();
    await clock.advance(60_000);
    assert.equal(rec.updates.length, 1);
    assert.deepEqual(clock.pendingDelays(), []);
    // Subscribing to a closed resolver does nothing.
    const late = new Recorder();
    resolver.subscribe(late);
    await settle();
    assert.equal(late.events.length, 0);
  });

  void it('stops delivering to a listener that unsubscribed', async () => {
    const { dns, clock, resolver, rec } = rig('dns:///svc.test:1', {}, (d) =>
      d.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]),
    );
    const other = new Recorder();
    const unsubscribe = resolver.subscribe(other);
    await settle();
    unsubscribe();
    dns.a.set('svc.test', [{ address: '10.0.0.3', ttl: 1 }]);
    await clock.advance(1_000);
    assert.equal(rec.updates.length, 2);
    assert.equal(other.updates.length, 1);
    resolver.close();
  });
});
