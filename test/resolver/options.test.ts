// Resolver option validation as the YAML config uses it, and the same checks in createResolver.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createResolver,
  resolverForTarget,
  resolverOptionsFromBlock,
} from '../../resolver/create-resolver.js';
import { parseTarget } from '../../resolver/target.js';
import { ResolverOptionsError } from '../../resolver/errors.js';
import {
  DEFAULT_DNS_OPTIONS,
  RESOLVER_OPTION_SCHEMA,
  blockOptions,
  parseResolverBlock,
  validateResolverOptions,
} from '../../resolver/options.js';

void describe('validateResolverOptions', () => {
  void it('accepts a full dns block for dns and dns+srv', () => {
    const raw = {
      servers: ['127.0.0.1:5353', '10.0.0.53', '[::1]:53'],
      timeoutMs: 500,
      tries: 3,
      minRefreshMs: 500,
      maxRefreshMs: 5_000,
      backoffInitialMs: 100,
      backoffMaxMs: 2_000,
      backoffMultiplier: 2,
      backoffJitter: 0.1,
      serviceConfig: true,
    };
    for (const scheme of ['dns', 'dns+srv']) {
      assert.deepEqual(validateResolverOptions(scheme, raw), { options: { dns: raw } });
    }
  });

  void it('accepts a consul block', () => {
    const raw = {
      address: 'https://consul.local:8501',
      token: 't',
      datacenter: 'dc2',
      waitMs: 10_000,
    };
    assert.deepEqual(validateResolverOptions('consul', raw), { options: { consul: raw } });
  });

  void it('accepts nothing, and an empty block', () => {
    assert.deepEqual(validateResolverOptions('dns', undefined), { options: {} });
    assert.deepEqual(validateResolverOptions('static', {}), { options: {} });
  });

  void it('reports every problem with its key path', () => {
    const result = validateResolverOptions('dns', {
      servers: ['127.0.0.1:5353', 'ns.example', 7],
      tries: 0,
      timeoutMs: 1.5,
      minRefreshMs: 60_000,
      serviceConfig: 'yes',
      waitMs: 5,
    });
    assert.ok('errors' in result);
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e.message]));
    assert.match(byPath['servers[1]'], /not ip, ip:port/);
    assert.match(byPath['servers[2]'], /non-empty string/);
    assert.match(byPath.tries, />= 1/);
    assert.match(byPath.timeoutMs, /integer/);
    assert.match(byPath.minRefreshMs, /must not exceed maxRefreshMs \(30000\)/);
    assert.match(byPath.serviceConfig, /true or false/);
    assert.match(byPath.waitMs, /unknown option for dns \(expected one of servers, timeoutMs/);
  });

  void it('rejects options on static targets, unknown schemes and non-mappings', () => {
    const s = validateResolverOptions('static', { servers: [] });
    assert.ok('errors' in s && /static \(takes no options\)/.test(s.errors[0].message));
    const u = validateResolverOptions('etcd', {});
    assert.ok('errors' in u && /unknown scheme "etcd"/.test(u.errors[0].message));
    const l = validateResolverOptions('dns', [1]);
    assert.ok('errors' in l && /mapping/.test(l.errors[0].message));
  });

  void it('checks consul addresses and backoff bounds', () => {
    const r = validateResolverOptions('consul', {
      address: 'ftp://x y',
      backoffInitialMs: 5_000,
      backoffMaxMs: 1_000,
    });
    assert.ok('errors' in r);
    assert.deepEqual(
      r.errors.map((e) => e.path),
      ['address', 'backoffInitialMs'],
    );
  });

  void it('describes every option of DnsResolverOptions in the schema', () => {
    assert.deepEqual(
      Object.keys(RESOLVER_OPTION_SCHEMA.dns).sort(),
      Object.keys(DEFAULT_DNS_OPTIONS).sort(),
    );
  });

  void it('makes createResolver throw ResolverOptionsError for bad programmatic options', () => {
    assert.throws(
      () => createResolver('dns:///svc:1', { dns: { minRefreshMs: -1 } }),
      (e: unknown) =>
        e instanceof ResolverOptionsError && /dns\.minRefreshMs: must be >= 0/.test(e.message),
    );
    assert.throws(
      () => createResolver('consul:///svc', { consul: { waitMs: 10 } }),
      (e: unknown) => e instanceof ResolverOptionsError && /consul:\/\/\/svc/.test(e.message),
    );
  });

  void it('takes a flat resolver: block, as the cluster config holds it', () => {
    assert.deepEqual(
      resolverOptionsFromBlock('dns+srv:///_grpc._tcp.svc', { maxRefreshMs: 5_000 }),
      {
        dns: { maxRefreshMs: 5_000 },
      },
    );
    assert.throws(
      () => resolverOptionsFromBlock('consul:///svc', { servers: [] }),
      (e: unknown) =>
        e instanceof ResolverOptionsError && /servers: unknown option for consul/.test(e.message),
    );
    // createResolver accepts the block directly, with the same checks.
    const resolver = createResolver('static:///127.0.0.1:1', {});
    resolver.close();
    createResolver('dns:///svc:1', { minRefreshMs: 10, maxRefreshMs: 20 }).close();
    assert.throws(
      () => createResolver('dns:///svc:1', { minRefreshMs: 'soon' }),
      (e: unknown) =>
        e instanceof ResolverOptionsError && /minRefreshMs: must be an integer/.test(e.message),
    );
    assert.throws(
      () => createResolver('dns:///svc:1', { dns: {}, minRefreshMs: 10 }),
      (e: unknown) =>
        e instanceof ResolverOptionsError && /minRefreshMs: unknown option/.test(e.message),
    );
  });
});

void describe('parseResolverBlock and blockOptions', () => {
  void it('keeps a valid block flat and typed; blockOptions files it under the scheme', () => {
    const parsed = parseResolverBlock('dns+srv', { minRefreshMs: 500, servers: ['10.0.0.53'] });
    assert.deepEqual(parsed, { block: { minRefreshMs: 500, servers: ['10.0.0.53'] } });
    assert.ok('block' in parsed);
    assert.deepEqual(blockOptions('dns+srv', parsed.block), {
      dns: { minRefreshMs: 500, servers: ['10.0.0.53'] },
    });
    assert.deepEqual(blockOptions('consul', { token: 't' }), { consul: { token: 't' } });
    assert.deepEqual(parseResolverBlock('static', {}), { block: {} });
    assert.deepEqual(blockOptions('static', {}), {});
  });

  void it('reports every problem with its path', () => {
    assert.deepEqual(parseResolverBlock('consul', { servers: [], waitMs: 5 }), {
      errors: [
        {
          path: 'servers',
          message:
            'unknown option for consul (expected one of address, token, datacenter, namespace, waitMs, timeoutMs, minIntervalMs, backoffInitialMs, backoffMaxMs, backoffMultiplier, backoffJitter)',
        },
        { path: 'waitMs', message: 'must be >= 1000' },
      ],
    });
  });

  void it('resolverForTarget builds from the parsed target, named as written', async () => {
    const resolver = resolverForTarget('a:1,b:2', parseTarget('a:1,b:2'));
    assert.equal(resolver.target, 'a:1,b:2');
    const keys = await new Promise<string[]>((resolve) =>
      resolver.subscribe({
        onUpdate: (set) => resolve(set.endpoints.map((e) => e.key)),
        onError: () => undefined,
        onNotFound: () => undefined,
      }),
    );
    assert.deepEqual(keys, ['a:1', 'b:2']);
    resolver.close();
  });
});
