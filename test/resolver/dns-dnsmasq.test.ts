// The dns and dns+srv resolvers against a real dnsmasq on 127.0.0.1, with records changing mid-test.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createResolver } from '../../resolver/create-resolver.js';
import type { DnsResolverOptions } from '../../resolver/options.js';
import type { Resolver } from '../../resolver/resolver.js';
import { Dnsmasq, type DnsmasqOptions } from '../support/dnsmasq.js';
import { Recorder } from './recorder.js';

/** Fast settings: the TTL (1 s) drives refresh; failures retry within a few hundred ms. */
const FAST: Partial<DnsResolverOptions> = {
  timeoutMs: 300,
  tries: 1,
  minRefreshMs: 100,
  maxRefreshMs: 1_000,
  backoffInitialMs: 100,
  backoffMaxMs: 400,
};

async function startDns(t: TestContext, options: DnsmasqOptions): Promise<Dnsmasq> {
  const dnsmasq = new Dnsmasq(options);
  t.after(() => dnsmasq.close());
  await dnsmasq.start();
  return dnsmasq;
}

function watch(
  t: TestContext,
  target: string,
  dns: Partial<DnsResolverOptions> = FAST,
): { resolver: Resolver; rec: Recorder } {
  const resolver = createResolver(target, { dns });
  t.after(() => resolver.close());
  const rec = new Recorder();
  resolver.subscribe(rec);
  return { resolver, rec };
}

const sameKeys = (keys: string[]) => (r: Recorder) =>
  JSON.stringify(r.keys) === JSON.stringify(keys);

void describe('dns resolver against dnsmasq', () => {
  void it('follows A and AAAA records being added and removed', async (t) => {
    const dns = await startDns(t, { hosts: ['127.0.0.2 svc.test', '::2 svc.test'] });
    const { rec } = watch(t, `dns://${dns.server}/svc.test:50051`);
    await rec.waitFor(sameKeys(['127.0.0.2:50051', '[::2]:50051']), 5_000, 'first answer');
    await dns.setHosts(['127.0.0.2 svc.test', '127.0.0.3 svc.test', '::2 svc.test']);
    await rec.waitFor(
      sameKeys(['127.0.0.2:50051', '127.0.0.3:50051', '[::2]:50051']),
      5_000,
      'A added',
    );
    await dns.setHosts(['127.0.0.3 svc.test']);
    await rec.waitFor(sameKeys(['127.0.0.3:50051']), 5_000, 'A and AAAA removed');
    assert.equal(rec.errors.length, 0, 'a missing family is no error');
    assert.ok(rec.updates.length <= 4, `only real changes are emitted (${rec.updates.length})`);
  });

  void it('re-asks when the TTL expires, not before', async (t) => {
    const dns = await startDns(t, { hosts: ['127.0.0.2 ttl.test'], localTtl: 2, logQueries: true });
    const { rec } = watch(t, `dns://${dns.server}/ttl.test:1`, { ...FAST, maxRefreshMs: 10_000 });
    await rec.waitFor((r) => r.updates.length === 1);
    const aQueries = () => dns.queries().filter((q) => q === 'A ttl.test').length;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.equal(aQueries(), 1, 'still within the 2 s TTL');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.ok(aQueries() >= 2, `re-resolved after the TTL (${aQueries()} queries)`);
    assert.ok(aQueries() <= 3, `not more often than the TTL (${aQueries()} queries)`);
  });

  void it('keeps the last good set and reports errors while the server is down, then recovers', async (t) => {
    const dns = await startDns(t, { hosts: ['127.0.0.2 down.test'] });
    const { resolver, rec } = watch(t, `dns://${dns.server}/down.test:1`);
    await rec.waitFor((r) => r.updates.length === 1);
    const good = resolver.current();
    await dns.stop();
    await rec.waitFor((r) => r.errors.length >= 2, 5_000, 'errors while down');
    assert.equal(rec.errors[0].code, 'SWY_ERR_RESOLVE_TRANSIENT');
    assert.match(rec.errors[0].message, /down\.test.*(ECONNREFUSED|ETIMEOUT)/);
    assert.equal(resolver.current(), good);
    assert.equal(rec.notFounds.length, 0);
    await dns.setHosts(['127.0.0.9 down.test']);
    await dns.start();
    await rec.waitFor(sameKeys(['127.0.0.9:1']), 5_000, 'recovery');
  });

  void it('reports NXDOMAIN as not-found, and a name that disappears too', async (t) => {
    const dns = await startDns(t, { hosts: ['127.0.0.2 here.test'] });
    const missing = watch(t, `dns://${dns.server}/missing.test:1`);
    await missing.rec.waitFor((r) => r.notFounds.length === 1, 5_000, 'not-found');
    assert.match(
      missing.rec.notFounds[0].message,
      /missing\.test has no A or AAAA records \(ENOTFOUND\)/,
    );
    assert.equal(missing.resolver.current(), undefined);
    const here = watch(t, `dns://${dns.server}/here.test:1`);
    await here.rec.waitFor((r) => r.updates.length === 1);
    await dns.setHosts([]);
    await here.rec.waitFor((r) => r.notFounds.length === 1, 5_000, 'gone');
    assert.equal(here.resolver.current(), undefined);
  });

  void it('reads the TXT service config', async (t) => {
    const config = { loadBalancingConfig: [{ round_robin: {} }], methodConfig: [] };
    const dns = await startDns(t, {
      hosts: ['127.0.0.2 cfg.test'],
      txt: [
        {
          name: '_grpc_config.cfg.test',
          text: `grpc_config=${JSON.stringify([{ serviceConfig: config }])}`,
        },
      ],
    });
    const { rec } = watch(t, `dns://${dns.server}/cfg.test:1`, { ...FAST, serviceConfig: true });
    await rec.waitFor((r) => r.updates.length === 1);
    assert.deepEqual(rec.updates[0].serviceConfig, config);
  });
});

void describe('dns+srv resolver against dnsmasq', () => {
  const hosts = ['127.0.0.2 a.test', '127.0.0.3 b.test', '::3 b.test'];

  void it('resolves SRV records and their targets, and follows weight changes', async (t) => {
    const dns = await startDns(t, {
      hosts,
      srv: [
        { name: '_grpc._tcp.svc.test', target: 'a.test', port: 5000, priority: 0, weight: 10 },
        { name: '_grpc._tcp.svc.test', target: 'b.test', port: 6000, priority: 1, weight: 0 },
      ],
    });
    const { rec } = watch(t, `dns+srv://${dns.server}/_grpc._tcp.svc.test`);
    await rec.waitFor((r) => r.updates.length === 1);
    assert.deepEqual(
      rec.updates[0].endpoints.map((e) => [e.key, e.priority, e.weight, e.hostname]),
      [
        ['127.0.0.2:5000', 0, 10, 'a.test'],
        ['127.0.0.3:6000', 1, 1, 'b.test'],
        ['[::3]:6000', 1, 1, 'b.test'],
      ],
    );
    await dns.restartWith({
      srv: [
        { name: '_grpc._tcp.svc.test', target: 'a.test', port: 5000, priority: 0, weight: 1 },
        { name: '_grpc._tcp.svc.test', target: 'b.test', port: 6000, priority: 0, weight: 9 },
      ],
    });
    await rec.waitFor(
      (r) => r.updates.at(-1)?.endpoints.find((e) => e.key === '127.0.0.3:6000')?.weight === 9,
      5_000,
      'new weights',
    );
    const last = rec.updates.at(-1);
    assert.equal(last?.endpoints.find((e) => e.key === '127.0.0.2:5000')?.weight, 1);
  });

  void it('reports an SRV name with no records as not-found', async (t) => {
    const dns = await startDns(t, { hosts });
    const { resolver, rec } = watch(t, `dns+srv://${dns.server}/_grpc._tcp.nothing.test`);
    await rec.waitFor((r) => r.notFounds.length === 1, 5_000, 'not-found');
    assert.match(
      rec.notFounds[0].message,
      /^dns\+srv:\/\/127\.0\.0\.1:\d+\/_grpc\._tcp\.nothing\.test: no SRV records/,
    );
    assert.equal(resolver.current(), undefined);
  });
});
