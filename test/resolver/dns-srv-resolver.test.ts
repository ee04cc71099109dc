// The dns+srv resolver with a scripted c-ares client: records to endpoints, failures, refresh.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResolver } from '../../resolver/create-resolver.js';
import { serviceHost } from '../../resolver/dns-srv-resolver.js';
import type { ResolverOptions } from '../../resolver/options.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeDns } from './fake-dns.js';
import { Recorder } from './recorder.js';

const NAME = '_grpc._tcp.svc.test';

function rig(seed: (dns: FakeDns) => void, dnsOptions: ResolverOptions['dns'] = {}) {
  const dns = new FakeDns();
  seed(dns);
  const clock = new FakeClock(0);
  const resolver = createResolver(`dns+srv:///${NAME}`, {
    dns: dnsOptions,
    clock,
    random: () => 0.5,
    createDnsClient: dns.factory,
  });
  const rec = new Recorder();
  resolver.subscribe(rec);
  return { dns, clock, resolver, rec };
}

void describe('dns+srv resolver', () => {
  void it('emits every record with its priority and weight, lowest priority first', async () => {
    const { resolver, rec } = rig((d) => {
      d.srv.set(NAME, [
        { name: 'b.test', port: 6000, priority: 20, weight: 5 },
        { name: 'a.test', port: 5000, priority: 10, weight: 30 },
        { name: 'c.test', port: 5000, priority: 10, weight: 0 },
      ]);
      d.a.set('a.test', [{ address: '10.0.0.1', ttl: 60 }]);
      d.aaaa.set('a.test', [{ address: 'fd00::1', ttl: 60 }]);
      d.a.set('b.test', [{ address: '10.0.0.2', ttl: 60 }]);
      d.a.set('c.test', [{ address: '10.0.0.3', ttl: 60 }]);
    });
    await settle();
    const set = rec.updates[0];
    assert.deepEqual(
      set.endpoints.map((e) => [e.key, e.priority, e.weight, e.hostname, e.metadata.srvWeight]),
      [
        ['10.0.0.1:5000', 10, 30, 'a.test', '30'],
        ['[fd00::1]:5000', 10, 30, 'a.test', '30'],
        ['10.0.0.3:5000', 10, 1, 'c.test', '0'],
        ['10.0.0.2:6000', 20, 5, 'b.test', '5'],
      ],
    );
    resolver.close();
  });

  void it('keeps one endpoint per address and port', async () => {
    const { resolver, rec } = rig((d) => {
      d.srv.set(NAME, [
        { name: 'a.test', port: 5000, priority: 0, weight: 10 },
        { name: 'alias.test', port: 5000, priority: 1, weight: 10 },
      ]);
      d.a.set('a.test', [{ address: '10.0.0.1', ttl: 60 }]);
      d.a.set('alias.test', [{ address: '10.0.0.1', ttl: 60 }]);
    });
    await settle();
    assert.deepEqual(rec.keys, ['10.0.0.1:5000']);
    assert.equal(rec.updates[0].endpoints[0].priority, 0);
    resolver.close();
  });

  void it('reports an SRV name with no records as not-found, naming the target', async () => {
    const { resolver, rec } = rig(() => {});
    await settle();
    assert.equal(rec.notFounds.length, 1);
    assert.match(
      rec.notFounds[0].message,
      /dns\+srv:\/\/\/_grpc\._tcp\.svc\.test.*no SRV records.*ENOTFOUND/,
    );
    assert.equal(resolver.current(), undefined);
    resolver.close();
  });

  void it('treats a lone "." target as not available', async () => {
    const { resolver, rec } = rig((d) =>
      d.srv.set(NAME, [{ name: '.', port: 0, priority: 0, weight: 0 }]),
    );
    await settle();
    assert.equal(rec.notFounds.length, 1);
    resolver.close();
  });

  void it('skips a target without addresses and says so', async () => {
    const { resolver, rec } = rig((d) => {
      d.srv.set(NAME, [
        { name: 'a.test', port: 5000, priority: 0, weight: 1 },
        { name: 'gone.test', port: 5000, priority: 0, weight: 1 },
      ]);
      d.a.set('a.test', [{ address: '10.0.0.1', ttl: 60 }]);
    });
    await settle();
    assert.deepEqual(rec.keys, ['10.0.0.1:5000']);
    assert.equal(rec.errors.length, 1);
    assert.match(rec.errors[0].message, /gone\.test has no A or AAAA/);
    resolver.close();
  });

  void it('is not-found when no target has an address', async () => {
    const { resolver, rec } = rig((d) =>
      d.srv.set(NAME, [{ name: 'gone.test', port: 5000, priority: 0, weight: 1 }]),
    );
    await settle();
    assert.equal(rec.notFounds.length, 1);
    assert.match(rec.notFounds[0].message, /no SRV target/);
    resolver.close();
  });

  void it('keeps the addresses of a target whose lookup fails transiently', async () => {
    const { dns, clock, resolver, rec } = rig((d) => {
      d.srv.set(NAME, [
        { name: 'a.test', port: 5000, priority: 0, weight: 1 },
        { name: 'b.test', port: 5000, priority: 0, weight: 1 },
      ]);
      d.a.set('a.test', [{ address: '10.0.0.1', ttl: 1 }]);
      d.a.set('b.test', [{ address: '10.0.0.2', ttl: 1 }]);
    });
    await settle();
    dns.a.set('b.test', 'ETIMEOUT');
    dns.aaaa.set('b.test', 'ETIMEOUT');
    await clock.advance(1_000);
    assert.deepEqual(rec.keys, ['10.0.0.1:5000', '10.0.0.2:5000']);
    assert.equal(rec.updates.length, 1, 'nothing changed');
    assert.match(rec.errors[0].message, /b\.test failed \(ETIMEOUT\); kept its earlier addresses/);
    resolver.close();
  });

  void it('keeps the last set when the SRV query itself fails', async () => {
    const { dns, clock, resolver, rec } = rig((d) => {
      d.srv.set(NAME, [{ name: 'a.test', port: 5000, priority: 0, weight: 1 }]);
      d.a.set('a.test', [{ address: '10.0.0.1', ttl: 1 }]);
    });
    await settle();
    dns.srv.set(NAME, 'ESERVFAIL');
    await clock.advance(1_000);
    assert.equal(rec.errors.length, 1);
    assert.equal(rec.errors[0].code, 'SWY_ERR_RESOLVE_TRANSIENT');
    assert.deepEqual(
      resolver.current()?.endpoints.map((e) => e.key),
      ['10.0.0.1:5000'],
    );
    resolver.close();
  });

  void it('re-queries SRV at the shortest target TTL, and at maxRefreshMs at the latest', async () => {
    const short = rig(
      (d) => {
        d.srv.set(NAME, [{ name: 'a.test', port: 5000, priority: 0, weight: 1 }]);
        d.a.set('a.test', [{ address: '10.0.0.1', ttl: 4 }]);
      },
      { maxRefreshMs: 10_000 },
    );
    await settle();
    assert.deepEqual(short.clock.pendingDelays(), [4_000]);
    short.resolver.close();
    const literal = rig(
      (d) => d.srv.set(NAME, [{ name: '10.0.0.9', port: 5000, priority: 0, weight: 1 }]),
      { maxRefreshMs: 10_000 },
    );
    await settle();
    assert.deepEqual(literal.rec.keys, ['10.0.0.9:5000']);
    assert.deepEqual(literal.clock.pendingDelays(), [10_000], 'IP targets still re-query SRV');
    literal.resolver.close();
  });

  void it('follows weight and membership changes', async () => {
    const { dns, clock, resolver, rec } = rig((d) => {
      d.srv.set(NAME, [{ name: 'a.test', port: 5000, priority: 0, weight: 1 }]);
      d.a.set('a.test', [{ address: '10.0.0.1', ttl: 1 }]);
      d.a.set('b.test', [{ address: '10.0.0.2', ttl: 1 }]);
    });
    await settle();
    dns.srv.set(NAME, [
      { name: 'a.test', port: 5000, priority: 0, weight: 7 },
      { name: 'b.test', port: 5000, priority: 0, weight: 3 },
    ]);
    await clock.advance(1_000);
    assert.deepEqual(
      rec.updates.at(-1)?.endpoints.map((e) => [e.key, e.weight]),
      [
        ['10.0.0.1:5000', 7],
        ['10.0.0.2:5000', 3],
      ],
    );
    dns.srv.set(NAME, [{ name: 'b.test', port: 5000, priority: 0, weight: 3 }]);
    await clock.advance(1_000);
    assert.deepEqual(rec.keys, ['10.0.0.2:5000']);
    assert.equal(rec.updates.length, 3);
    resolver.close();
  });

  void it('reads the service config under the service name', async () => {
    const { dns, resolver, rec } = rig(
      (d) => {
        d.srv.set(NAME, [{ name: 'a.test', port: 5000, priority: 0, weight: 1 }]);
        d.a.set('a.test', [{ address: '10.0.0.1', ttl: 60 }]);
        d.txt.set('_grpc_config.svc.test', [
          ['grpc_config=[{"serviceConfig":{"methodConfig":[]}}]'],
        ]);
      },
      { serviceConfig: true },
    );
    await settle();
    assert.ok(dns.queries.includes('TXT _grpc_config.svc.test'));
    assert.deepEqual(rec.updates[0].serviceConfig, { methodConfig: [] });
    resolver.close();
  });

  void it('maps SRV names to the host the TXT config hangs off', () => {
    assert.equal(serviceHost('_grpc._tcp.svc.example'), 'svc.example');
    assert.equal(serviceHost('svc.example'), 'svc.example');
  });
});
