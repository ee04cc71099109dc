// The grpc-js resolver adapters and registerWithGrpcJs: registration, the 1.14 resolver contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  ENDPOINT_SET_ATTRIBUTE,
  defaultAuthority,
  makeGrpcJsResolverClass,
  type GrpcJsModule,
} from '../../embed/grpc-js-resolver.js';
import { GRPC_JS_SCHEMES, registerWithGrpcJs } from '../../embed/register.js';
import type { EndpointSet } from '../../resolver/endpoint.js';
import { TargetError } from '../../resolver/errors.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeDns } from '../resolver/fake-dns.js';

type ListenerArgs = Parameters<grpc.experimental.ResolverListener>;

function recordingListener(accept = true) {
  const calls: ListenerArgs[] = [];
  const listener = ((...args: ListenerArgs) => {
    calls.push(args);
    return accept;
  }) as grpc.experimental.ResolverListener;
  return { calls, listener };
}

function uri(text: string): grpc.experimental.GrpcUri {
  const m = /^([^:]+):(?:\/\/([^/]*)\/)?(.*)$/.exec(text);
  assert.ok(m);
  return { scheme: m[1], authority: m[2], path: m[3] };
}

void describe('registerWithGrpcJs', () => {
  void it('registers our schemes once per module, never grpc-js own dns', () => {
    const registered: string[] = [];
    const fake = {
      experimental: {
        registerResolver: (scheme: string) => registered.push(scheme),
        statusOrFromValue: grpc.experimental.statusOrFromValue,
        statusOrFromError: grpc.experimental.statusOrFromError,
      },
      status: grpc.status,
    } as unknown as GrpcJsModule;
    assert.equal(registerWithGrpcJs(fake), fake);
    registerWithGrpcJs(fake);
    registerWithGrpcJs(fake, { resolverOptions: { dns: { minRefreshMs: 5 } } });
    assert.deepEqual(registered.sort(), ['consul', 'dns+srv', 'static', 'switchyard-dns']);
    assert.deepEqual(Object.keys(GRPC_JS_SCHEMES).sort(), registered);
  });

  void it('loads grpc-js itself when no module is passed', () => {
    const mod = registerWithGrpcJs();
    assert.equal(typeof mod.experimental.registerResolver, 'function');
  });

  void it('refuses a grpc-js older than 1.14', () => {
    const old = {
      experimental: { registerResolver: () => {} },
      status: grpc.status,
    } as unknown as GrpcJsModule;
    assert.throws(() => registerWithGrpcJs(old), /needs ~1\.14/);
  });
});

void describe('grpc-js resolver adapter', () => {
  const Static = makeGrpcJsResolverClass({ grpc, scheme: 'static', defaults: () => ({}) });

  void it('never calls the listener from the constructor or updateResolution()', async () => {
    const { calls, listener } = recordingListener();
    const resolver = new Static(uri('static:///127.0.0.1:1,[::1]:2'), listener, {});
    resolver.updateResolution();
    assert.equal(calls.length, 0);
    await settle();
    assert.equal(calls.length, 1);
    const [endpoints, attributes, serviceConfig, note] = calls[0];
    assert.ok(endpoints.ok);
    assert.deepEqual(endpoints.value, [
      { addresses: [{ host: '127.0.0.1', port: 1 }] },
      { addresses: [{ host: '::1', port: 2 }] },
    ]);
    const set = attributes[ENDPOINT_SET_ATTRIBUTE] as EndpointSet;
    assert.equal(set.endpoints[1].key, '[::1]:2');
    assert.equal(serviceConfig, null);
    assert.equal(note, '');
    resolver.destroy();
  });

  void it('is silent after destroy(), and starts afresh on a later updateResolution()', async () => {
    const { calls, listener } = recordingListener();
    const resolver = new Static(uri('static:///127.0.0.1:1'), listener, {});
    resolver.updateResolution();
    resolver.destroy();
    await settle();
    assert.equal(calls.length, 0);
    resolver.updateResolution();
    assert.equal(calls.length, 0);
    await settle();
    assert.equal(calls.length, 1);
    resolver.destroy();
  });

  void it('reports a bad target asynchronously as UNAVAILABLE, naming the target', async () => {
    const { calls, listener } = recordingListener();
    const resolver = new Static(uri('static:///127.0.0.1:70000'), listener, {});
    resolver.updateResolution();
    assert.equal(calls.length, 0);
    await settle();
    const [endpoints] = calls[0];
    assert.ok(!endpoints.ok);
    assert.equal(endpoints.error.code, grpc.status.UNAVAILABLE);
    assert.match(
      endpoints.error.details,
      /"static:\/\/\/127\.0\.0\.1:70000": port 70000 is out of range/,
    );
  });

  void it('reports bad per-channel resolver options', async () => {
    const { calls, listener } = recordingListener();
    const resolver = new Static(uri('static:///127.0.0.1:1'), listener, {
      'switchyard.resolver_options': '{not json',
    });
    resolver.updateResolution();
    await settle();
    assert.ok(!calls[0][0].ok);
    assert.match(calls[0][0].error.details, /switchyard\.resolver_options: is not valid JSON/);
  });

  void it('passes a DNS service config on, unless the channel disables it', async () => {
    const config = { loadBalancingConfig: [{ round_robin: {} }] };
    const dns = new FakeDns();
    dns.a.set('svc.test', [{ address: '10.0.0.1', ttl: 60 }]);
    dns.txt.set('_grpc_config.svc.test', [
      [`grpc_config=[{"serviceConfig":${JSON.stringify(config)}}]`],
    ]);
    const Dns = makeGrpcJsResolverClass({
      grpc,
      scheme: 'dns',
      defaults: () => ({ createDnsClient: dns.factory, dns: { serviceConfig: true } }),
    });
    for (const disable of [false, true]) {
      const { calls, listener } = recordingListener();
      const resolver = new Dns(uri('switchyard-dns:///svc.test:1'), listener, {
        'grpc.service_config_disable_resolution': disable ? 1 : 0,
      });
      resolver.updateResolution();
      await settle();
      const serviceConfig = calls[0][2];
      if (disable) assert.equal(serviceConfig, null);
      else {
        assert.ok(serviceConfig?.ok);
        assert.deepEqual(serviceConfig.value, { ...config, methodConfig: [] });
      }
      resolver.destroy();
    }
  });

  void it('keeps quiet about errors while a set is in force, and asks again when the balancer rejects', async () => {
    const dns = new FakeDns();
    dns.a.set('svc.test', [{ address: '10.0.0.1', ttl: 1 }]);
    const clock = new FakeClock(0);
    const Dns = makeGrpcJsResolverClass({
      grpc,
      scheme: 'dns',
      defaults: () => ({ createDnsClient: dns.factory, clock, dns: { minRefreshMs: 100 } }),
    });
    const { calls, listener } = recordingListener(false);
    const resolver = new Dns(uri('switchyard-dns:///svc.test:1'), listener, {});
    resolver.updateResolution();
    await settle();
    assert.equal(calls.length, 1);
    assert.deepEqual(
      clock.pendingDelays(),
      [100],
      'a rejected update pulls the next query forward',
    );
    dns.a.set('svc.test', 'ETIMEOUT');
    dns.aaaa.set('svc.test', 'ETIMEOUT');
    await clock.advance(100);
    assert.equal(calls.length, 1, 'no error passed on while the last set stands');
    resolver.destroy();
  });

  void it('supplies default authorities, and throws for targets it cannot parse', () => {
    assert.equal(
      defaultAuthority('dns', uri('switchyard-dns:///svc.example:50051')),
      'svc.example:50051',
    );
    assert.equal(
      defaultAuthority('dns+srv', uri('dns+srv:///_grpc._tcp.svc.example')),
      'svc.example',
    );
    assert.equal(defaultAuthority('consul', uri('consul:///route_guide?tag=v2')), 'route_guide');
    assert.equal(defaultAuthority('static', uri('static:///[::1]:1,10.0.0.1:2')), '[::1]:1');
    assert.throws(() => defaultAuthority('consul', uri('consul:///bad/name')), TargetError);
  });

  void it('makes a grpc-js channel with a bad target throw at construction, naming the target', () => {
    registerWithGrpcJs(grpc);
    for (const target of [
      'static:///127.0.0.1:70000',
      'consul:///no/such?thing=1',
      'dns+srv:///_grpc._tcp.svc:1',
    ]) {
      assert.throws(
        () => new grpc.Client(target, grpc.credentials.createInsecure()),
        (e: unknown) => e instanceof TargetError && e.message.includes(target),
        target,
      );
    }
  });
});
