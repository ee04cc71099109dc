// Server reflection end to end: the proxy fetches descriptors from real grpc-js backends that
// serve @grpc/reflection, and answers grpc.reflection itself to a grpc-js reflection client
// built here from the reflection proto with @grpc/proto-loader.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { fetch } from 'undici';
import { CallMetrics } from '../../observability/metrics/call-metrics.js';
import { createMetricsRegistry } from '../../observability/metrics/metrics-registry.js';
import { proxyView } from '../../observability/admin/cluster-view.js';
import type { Config, DescriptorsConfig, ListenerGatewayConfig } from '../../config/types.js';
import { eventually, startTestProxy, type TestProxy } from '../support/proxy-harness.js';
import {
  LIBRARY_DIR,
  LIBRARY_PROTO,
  startLibraryBackend,
  type LibraryBackend,
} from '../support/library-backend.js';

const GATEWAY: ListenerGatewayConfig = {
  rest: true,
  grpcWeb: false,
  openapiPath: '/openapi.json',
  forwardHeaders: [],
  maxBodyBytes: 1024,
  emitDefaults: false,
  useProtoNames: false,
};
const ECHO_PROTO = join(dirname(LIBRARY_DIR), 'echo.proto');
/** google.api.http's field number in MethodOptions. */
const HTTP_OPTION_FIELD = 72295728;
const REFLECTION = { clusters: undefined, refreshMs: 60_000, timeoutMs: 5_000 };

function descriptors(over: Partial<DescriptorsConfig>): DescriptorsConfig {
  return { protos: { files: [], importPaths: [] }, httpRules: [], ...over };
}

type Msg = Record<string, unknown>;

const reflectionProto = (version: 'v1' | 'v1alpha') =>
  join(
    dirname(createRequire(import.meta.url).resolve('@grpc/reflection')),
    '..',
    'proto',
    'grpc',
    'reflection',
    version,
    'reflection.proto',
  );

/** Sends `requests` on one ServerReflectionInfo stream and collects the responses. */
function reflect(
  target: string,
  requests: Msg[],
  version: 'v1' | 'v1alpha' = 'v1',
): Promise<Msg[]> {
  const def = protoLoader.loadSync(reflectionProto(version), { keepCase: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> };
  };
  const Client = pkg.grpc.reflection[version].ServerReflection;
  const client = new Client(target, grpc.credentials.createInsecure());
  const call = (
    client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<Msg, Msg> }
  ).ServerReflectionInfo();
  const out: Msg[] = [];
  return new Promise((resolve, reject) => {
    call.on('data', (d: Msg) => out.push(d));
    call.on('end', () => {
      client.close();
      resolve(out);
    });
    call.on('error', (err) => {
      client.close();
      reject(err);
    });
    for (const r of requests) call.write(r);
    call.end();
  });
}

function filesOf(response: Msg) {
  const files = (response.file_descriptor_response as { file_descriptor_proto: Buffer[] })
    .file_descriptor_proto;
  return files.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

describe('server reflection', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function proxyWith(backends: LibraryBackend[], d: DescriptorsConfig): Promise<TestProxy> {
    const proxy = await startTestProxy({
      upstream: backends.map((b) => b.address),
      listener: { gateway: GATEWAY },
      config: { descriptors: d },
    });
    cleanup.push(() => proxy.close());
    return proxy;
  }

  async function backend(options: Parameters<typeof startLibraryBackend>[0] = {}) {
    const b = await startLibraryBackend(options);
    cleanup.push(() => b.close());
    return b;
  }

  it('fetches a @grpc/reflection backend, says its HTTP rules are missing, and takes them from httpRules on reload', async () => {
    const b = await backend({ reflection: {} });
    const proxy = await proxyWith([b], descriptors({ reflection: REFLECTION }));
    await eventually(
      () => proxy.proxy.descriptorsView()?.reflection[0]?.hash !== undefined,
      5_000,
      'descriptors from reflection',
    );
    const view = proxy.proxy.descriptorsView()!;
    assert.deepEqual(view.reflection[0].services, ['library.v1.Library']);
    assert.equal(view.reflection[0].skew, false);
    // @grpc/reflection serves protobufjs's descriptors, which keep no google.api.http.
    assert.deepEqual(view.withoutRules, ['library.v1.Library']);
    assert.equal(proxy.logged('service library.v1.Library has no google.api.http rules').length, 1);
    const before = await fetch(`http://${proxy.target}/v1/shelves/s1/books/b1`);
    assert.equal(before.status, 404);
    await before.text();

    const next: Config = {
      ...proxy.proxy.config,
      descriptors: descriptors({
        reflection: REFLECTION,
        httpRules: [
          {
            rule: { selector: 'library.v1.Library.GetBook', get: '/v1/{name=shelves/*/books/*}' },
            source: 'test:1:1',
          },
        ],
      }),
    };
    await proxy.proxy.reload(next);
    const res = await fetch(`http://${proxy.target}/v1/shelves/s1/books/b1`);
    assert.equal(res.status, 200);
    const json = (await res.json()) as Msg;
    assert.equal(json.title, 'title of shelves/s1/books/b1');
    assert.deepEqual(proxy.proxy.descriptorsView()!.withoutRules, []);
  });

  it('takes the rules reflection lacks from .proto files, method by method', async () => {
    const b = await backend({ reflection: {} });
    const proxy = await proxyWith(
      [b],
      descriptors({
        protos: { files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] },
        reflection: REFLECTION,
      }),
    );
    await eventually(
      () => proxy.proxy.descriptorsView()?.reflection[0]?.hash !== undefined,
      5_000,
      'descriptors from reflection',
    );
    const res = await fetch(`http://${proxy.target}/v1/shelves/s2/books/b2`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Msg).name, 'shelves/s2/books/b2');
  });

  it('names a backend without reflection and its UNIMPLEMENTED', async () => {
    const b = await backend();
    const proxy = await proxyWith([b], descriptors({ reflection: REFLECTION }));
    await eventually(
      () => proxy.proxy.descriptorsView()?.reflection[0]?.endpoints.length === 1,
      5_000,
      'a reflection attempt',
    );
    const endpoint = proxy.proxy.descriptorsView()!.reflection[0].endpoints[0];
    assert.equal(endpoint.endpoint, b.address);
    assert.match(endpoint.error ?? '', new RegExp(`reflection from ${b.address}: .*UNIMPLEMENTED`));
    assert.equal(proxy.proxy.descriptorsView()!.reflection[0].fetchErrors, 1);
    const metrics = await createMetricsRegistry(proxy.proxy, new CallMetrics(), 't').metrics();
    assert.match(metrics, /^switchyard_reflection_errors_total\{cluster="default"\} 1$/m);
  });

  it('reports endpoints that serve different descriptors and keeps serving with one set', async () => {
    const old = await backend({ reflection: {} });
    const fresh = await backend({ reflection: { extraProtos: [ECHO_PROTO] } });
    const proxy = await proxyWith([old, fresh], descriptors({ reflection: REFLECTION }));
    await eventually(
      () => proxy.proxy.descriptorsView()?.reflection[0]?.endpoints.length === 2,
      5_000,
      'both endpoints asked',
    );
    const c = proxy.proxy.descriptorsView()!.reflection[0];
    assert.equal(c.versions, 2);
    assert.equal(c.skew, true);
    assert.notEqual(c.endpoints[0].hash, c.endpoints[1].hash);
    assert.ok(c.hash === c.endpoints[0].hash || c.hash === c.endpoints[1].hash);
    assert.equal(
      proxy.logged('endpoints of one cluster serve different descriptors').length >= 1,
      true,
    );
    const metrics = await createMetricsRegistry(proxy.proxy, new CallMetrics(), 't').metrics();
    assert.match(metrics, /^switchyard_descriptor_versions\{cluster="default"\} 2$/m);
    assert.equal(proxyView(proxy.proxy, 't').descriptors?.reflection[0].skew, true);
  });

  it('answers grpc.reflection v1 and v1alpha itself, with the annotations of the .proto files', async () => {
    const b = await backend();
    const proxy = await proxyWith(
      [b],
      descriptors({ protos: { files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] } }),
    );
    for (const version of ['v1', 'v1alpha'] as const) {
      const [list, byService, byMethod, byFile, missing] = await reflect(
        proxy.target,
        [
          { list_services: '*' },
          { file_containing_symbol: 'library.v1.Library' },
          { file_containing_symbol: 'library.v1.Library.GetBook' },
          { file_by_filename: 'library/v1/author.proto' },
          { file_containing_symbol: 'nope.Nothing' },
        ],
        version,
      );
      const services = (list.list_services_response as { service: { name: string }[] }).service;
      assert.deepEqual(
        services.map((s) => s.name),
        [
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
          'library.v1.Library',
        ],
      );
      for (const r of [byService, byMethod]) {
        const files = filesOf(r);
        const lib = files.find((f) => f.service.some((s) => s.name === 'Library'))!;
        assert.ok(lib, 'the file declaring the service');
        // Its dependencies come along.
        assert.ok(files.some((f) => f.name === 'google/api/annotations.proto'));
        const getBook = lib.service[0].method.find((m) => m.name === 'GetBook')!;
        assert.ok(
          getBook.options?.$unknown?.some((u) => u.no === HTTP_OPTION_FIELD),
          'google.api.http kept in the method options',
        );
      }
      assert.equal(filesOf(byFile)[0].name, 'library/v1/author.proto');
      assert.equal((missing.error_response as { error_code: number }).error_code, 5);
    }
  });

  it('refuses a reload whose .proto does not parse, naming file and line, and keeps serving', async () => {
    const b = await backend();
    const proxy = await proxyWith(
      [b],
      descriptors({ protos: { files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] } }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'swy-bad-proto-'));
    const bad = join(dir, 'bad.proto');
    writeFileSync(bad, 'syntax = "proto3";\npackage bad;\n\nmessage M {\n  string a = ;\n}\n');
    await assert.rejects(
      proxy.proxy.reload({
        ...proxy.proxy.config,
        descriptors: descriptors({ protos: { files: [bad], importPaths: [] } }),
      }),
      (err: Error) => err.name === 'ProtoLoadError' && err.message.startsWith(`${bad}:5: `),
    );
    const res = await fetch(`http://${proxy.target}/v1/shelves/s3/books/b3`);
    assert.equal(res.status, 200);
    await res.text();
    const [list] = await reflect(proxy.target, [{ list_services: '*' }]);
    const services = (list.list_services_response as { service: { name: string }[] }).service;
    assert.ok(services.some((s) => s.name === 'library.v1.Library'));
  });

  it('serves what the backends reflect to a reflection client', async () => {
    const b = await backend({ reflection: {} });
    const proxy = await proxyWith([b], descriptors({ reflection: REFLECTION }));
    await eventually(
      () => proxy.proxy.descriptorsView()?.reflection[0]?.hash !== undefined,
      5_000,
      'descriptors from reflection',
    );
    const [list] = await reflect(proxy.target, [{ list_services: '*' }]);
    const services = (list.list_services_response as { service: { name: string }[] }).service;
    assert.ok(services.some((s) => s.name === 'library.v1.Library'));
  });
});
