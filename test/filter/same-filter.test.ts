// One custom filter, from one module file, run in the three places it can: the proxy's call
// path (`module:` in the config), a grpc-js client interceptor, and a grpc-js server
// interceptor; real grpc-js clients and servers on loopback each time.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../config/load-config.js';
import { configValidators } from '../../proxy/config-validators.js';
import { Switchyard } from '../../proxy/switchyard.js';
import type { Filter, FilterCallEnd, FilterFactory } from '../../filter/filter.js';
import {
  filterClientInterceptor,
  filterServerInterceptor,
} from '../../filter/grpc-js-interceptors.js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';

// A tenant filter as a user would write it: refuses calls without the tenant header, passes
// the tenant on upstream (as x-echo-tenant, which the echo backend reflects), tells the client
// which tenant it saw, and records how each call ended. One hook (the request) may wait.
const TENANT_MODULE = `
export const ended = [];
export default function createFilter(options) {
  const header = options.header;
  if (typeof header !== 'string') throw new Error('options.header must be a metadata name');
  return {
    name: 'tenant',
    onRequestHeaders(ctx, md) {
      const tenant = md.get(header);
      if (tenant === undefined) return { code: 7, message: 'no ' + header };
      ctx.values.set('tenant', tenant);
      md.set('x-echo-tenant', tenant.toUpperCase());
      // A tenant named slow-… is looked up somewhere first: the hook answers later.
      if (tenant.startsWith('slow-')) return new Promise((r) => setTimeout(r, 20));
      return undefined;
    },
    onResponseHeaders(ctx, md) {
      md.set('x-tenant-seen', String(ctx.values.get('tenant')));
    },
    onCallEnd(ctx, end) {
      ended.push({ site: ctx.site, method: ctx.method, code: end.code });
    },
  };
}
`;

interface TenantModule {
  default: FilterFactory;
  ended: { site: string; method: string; code: number }[];
}

async function tenantModule(
  t: TestContext,
): Promise<{ file: string; dir: string; mod: TenantModule }> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-tenant-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'tenant.js');
  await writeFile(file, TENANT_MODULE);
  const mod = (await import(pathToFileURL(file).href)) as TenantModule;
  return { file, dir, mod };
}

async function backend(t: TestContext, options: grpc.ServerOptions = {}): Promise<EchoBackend> {
  const b = await startEchoBackend({ name: 'b1', serverOptions: options });
  t.after(() => b.close());
  return b;
}

function client(
  t: TestContext,
  target: string,
  options: grpc.ChannelOptions = {},
): EchoServiceClient {
  const c = echoClient(target, { channelOptions: options });
  t.after(() => c.close());
  return c;
}

function tenant(value: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (value !== undefined) md.set('x-tenant', value);
  return md;
}

/** The same three calls, wherever the filter runs. */
async function checkTenantCalls(c: EchoServiceClient, b: EchoBackend): Promise<void> {
  const refused = await echoUnary(c, {}, { metadata: tenant(undefined) });
  assert.equal(refused.status.code, grpc.status.PERMISSION_DENIED);
  assert.equal(refused.status.details, 'no x-tenant');
  const callsBefore = b.calls;

  const ok = await echoUnary(c, {}, { metadata: tenant('acme') });
  assert.equal(ok.status.code, grpc.status.OK, ok.status.details);
  assert.deepEqual(b.lastMetadata?.get('x-echo-tenant'), ['ACME']);
  assert.deepEqual(ok.headers?.get('x-echo-h-tenant'), ['ACME']);
  assert.deepEqual(ok.headers?.get('x-tenant-seen'), ['acme']);

  const slow = await echoUnary(
    c,
    { payload: Buffer.from('hello') },
    { metadata: tenant('slow-co') },
  );
  assert.equal(slow.status.code, grpc.status.OK, slow.status.details);
  assert.equal(slow.response?.receivedBytes, 5);
  assert.deepEqual(slow.headers?.get('x-tenant-seen'), ['slow-co']);
  assert.equal(b.calls, callsBefore + 2);
}

function endsAt(mod: TenantModule, site: string): number[] {
  return mod.ended.filter((e) => e.site === site).map((e) => e.code);
}

describe('the same filter in the proxy, a grpc-js client and a grpc-js server', () => {
  it('in the proxy, loaded from `module:` with its options', async (t) => {
    const { dir, mod } = await tenantModule(t);
    const b = await backend(t);
    const file = join(dir, 'switchyard.yaml');
    await writeFile(
      file,
      `listeners:
  - address: 127.0.0.1:0
routes:
  - match: { service: test.Echo }
    cluster: echo
    filters:
      - module: ./tenant.js
        options: { header: x-tenant }
clusters:
  echo: { target: "static:///${b.address}" }
`,
    );
    const config = await loadConfig(file, { validators: configValidators, env: {} });
    const proxy = await Switchyard.start(config);
    t.after(() => proxy.close(0));
    const c = client(t, `127.0.0.1:${Object.values(proxy.addresses())[0].port}`);
    await checkTenantCalls(c, b);
    assert.deepEqual(endsAt(mod, 'proxy'), [7, 0, 0]);
    assert.ok(mod.ended.every((e) => e.method === '/test.Echo/Unary'));
  });

  it('as a grpc-js client interceptor', async (t) => {
    const { mod } = await tenantModule(t);
    const filter = await mod.default({ header: 'x-tenant' }, envFor());
    const b = await backend(t);
    const c = client(t, b.address, { interceptors: [filterClientInterceptor(grpc, filter)] });
    await checkTenantCalls(c, b);
    assert.deepEqual(endsAt(mod, 'client'), [7, 0, 0]);
  });

  it('as a grpc-js server interceptor', async (t) => {
    const { mod } = await tenantModule(t);
    const filter = await mod.default({ header: 'x-tenant' }, envFor());
    const b = await backend(t, { interceptors: [filterServerInterceptor(grpc, filter)] });
    const c = client(t, b.address);
    await checkTenantCalls(c, b);
    assert.deepEqual(endsAt(mod, 'server'), [7, 0, 0]);
  });

  it('ends a call INTERNAL when a hook throws, and tells onCallEnd of the filters it reached', async (t) => {
    const ends: FilterCallEnd[] = [];
    const first: Filter = { name: 'first', onCallEnd: (_ctx, end) => ends.push(end) };
    const thrower: Filter = {
      name: 'thrower',
      onRequestHeaders: () => {
        throw new Error('boom');
      },
    };
    const never: Filter = { name: 'never', onCallEnd: () => assert.fail('not reached') };
    const b = await backend(t);
    const c = client(t, b.address, {
      interceptors: [filterClientInterceptor(grpc, [first, thrower, never])],
    });
    const r = await echoUnary(c, {}, {});
    assert.equal(r.status.code, grpc.status.INTERNAL);
    assert.equal(r.status.details, 'filter "thrower" failed: boom');
    assert.equal(ends.length, 1);
    assert.equal(ends[0].code, grpc.status.INTERNAL);
    assert.equal(b.calls, 0);
  });
});

function envFor() {
  return { configDir: '.', source: 'test', now: () => performance.now(), share: 1 };
}
