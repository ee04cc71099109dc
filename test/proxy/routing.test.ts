// Routing by gRPC service, method, path prefix and header to named clusters; :authority kept
// or rewritten per cluster.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import { startTestProxy, testCluster, type TestProxy } from '../support/proxy-harness.js';
import { grpcFrame, grpcHeaders, rawRequest } from '../support/raw-h2.js';
import { startRawUpstream, type RawUpstream } from '../support/raw-upstream.js';

describe('routing', () => {
  let general: EchoBackend;
  let unaryOnly: EchoBackend;
  let canary: EchoBackend;
  let raw: RawUpstream;
  let proxy: TestProxy;
  let client: EchoServiceClient;

  before(async () => {
    general = await startEchoBackend({ name: 'general' });
    unaryOnly = await startEchoBackend({ name: 'unary' });
    canary = await startEchoBackend({ name: 'canary' });
    raw = await startRawUpstream((stream) =>
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' },
        { endStream: true },
      ),
    );
    proxy = await startTestProxy({
      clusters: [
        testCluster('general', general.address),
        testCluster('unary', unaryOnly.address),
        testCluster('canary', canary.address),
        testCluster('kept', raw.address),
        testCluster('rewritten', raw.address, { authority: 'internal.example:443' }),
      ],
      routes: [
        {
          name: 'canary',
          match: { service: 'test.Echo', headers: [{ name: 'x-canary', exact: 'yes' }] },
          cluster: 'canary',
        },
        {
          name: 'unary',
          match: { service: 'test.Echo', method: 'Unary', headers: [] },
          cluster: 'unary',
        },
        { name: 'echo', match: { prefix: '/test.', headers: [] }, cluster: 'general' },
        { name: 'kept', match: { service: 'raw.Kept', headers: [] }, cluster: 'kept' },
        {
          name: 'rewritten',
          match: { service: 'raw.Rewritten', headers: [] },
          cluster: 'rewritten',
        },
      ],
    });
    client = echoClient(proxy.target);
  });
  after(async () => {
    client.close();
    await proxy.close();
    general.kill();
    unaryOnly.kill();
    canary.kill();
    await raw.close();
  });

  it('matches an exact service and method', async () => {
    const r = await echoUnary(client, {});
    assert.equal(r.response?.backend, 'unary');
  });

  it('matches a path prefix for the other methods', async () => {
    const call = client.ServerStream({ responseCount: 1 });
    const backend = await new Promise<string>((resolve) =>
      call.on('data', (m: { backend: string }) => resolve(m.backend)),
    );
    assert.equal(backend, 'general');
  });

  it('matches a header before the method routes below it', async () => {
    const md = new grpc.Metadata();
    md.set('x-canary', 'yes');
    const r = await echoUnary(client, {}, { metadata: md });
    assert.equal(r.response?.backend, 'canary');
  });

  it('answers UNIMPLEMENTED when no route matches', async () => {
    const res = await rawRequest(
      proxy.target,
      grpcHeaders('/other.Service/Call'),
      grpcFrame(Buffer.alloc(0)),
    );
    assert.equal(res.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
    assert.match(String(res.headers['grpc-message']), /no route for \/other\.Service\/Call/);
  });

  it("keeps the client's :authority, or rewrites it per cluster", async () => {
    await rawRequest(
      proxy.target,
      grpcHeaders('/raw.Kept/Call', { ':authority': 'public.example:8080' }),
      grpcFrame(Buffer.alloc(0)),
    );
    await rawRequest(
      proxy.target,
      grpcHeaders('/raw.Rewritten/Call', { ':authority': 'public.example:8080' }),
      grpcFrame(Buffer.alloc(0)),
    );
    assert.equal(raw.requests[0][':authority'], 'public.example:8080');
    assert.equal(raw.requests[1][':authority'], 'internal.example:443');
  });
});
