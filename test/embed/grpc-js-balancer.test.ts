// switchyard's policies inside a real @grpc/grpc-js client (registerBalancersWithGrpcJs):
// least_loaded avoids a slow server, ring_hash keeps a key on one server, weighted_round_robin
// follows weights from switchyard's endpoint sets; grpc-js's own policy names stay untouched.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { GRPC_JS_POLICY_NAMES, registerBalancersWithGrpcJs } from '../../embed/grpc-js-balancer.js';
import { ENDPOINT_SET_ATTRIBUTE } from '../../embed/grpc-js-resolver.js';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import { startGrpcServer, stopGrpcServer } from '../support/grpc-health.js';

const CALL_PATH = '/test.Echo/Call';
const identity = (b: Buffer) => b;
const ECHO_SERVICE: grpc.ServiceDefinition = {
  Call: {
    path: CALL_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

interface Backend {
  server: grpc.Server;
  port: number;
  calls: number;
  delayMs: number;
}

const backends: Backend[] = [];
const clients: grpc.Client[] = [];

async function startBackend(delayMs: number): Promise<Backend> {
  const backend = { calls: 0, delayMs } as Backend;
  const { server, port } = await startGrpcServer((s) =>
    s.addService(ECHO_SERVICE, {
      Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        backend.calls++;
        setTimeout(() => callback(null, call.request), backend.delayMs);
      },
    }),
  );
  backend.server = server;
  backend.port = port;
  backends.push(backend);
  return backend;
}

function client(target: string, lbConfig: object): grpc.Client {
  const c = new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [lbConfig] }),
  });
  clients.push(c);
  return c;
}

function call(c: grpc.Client, metadata = new grpc.Metadata()): Promise<void> {
  return new Promise((resolve, reject) => {
    c.makeUnaryRequest(
      CALL_PATH,
      identity,
      identity,
      Buffer.from('hi'),
      metadata,
      { deadline: Date.now() + 10_000 },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

function resetCounts(): void {
  for (const b of backends) b.calls = 0;
}

before(() => {
  registerBalancersWithGrpcJs(grpc);
  registerBalancersWithGrpcJs(grpc); // idempotent
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(backends.map((b) => stopGrpcServer(b.server)));
});

test('registration adds switchyard_ names and leaves grpc-js policies alone', () => {
  for (const name of Object.values(GRPC_JS_POLICY_NAMES)) {
    assert.equal(grpc.experimental.isLoadBalancerNameRegistered(name), true, name);
  }
  const theirs = grpc.experimental.parseLoadBalancingConfig({ weighted_round_robin: {} });
  assert.equal(theirs.constructor.name, 'WeightedRoundRobinLoadBalancingConfig');
  const ours = grpc.experimental.parseLoadBalancingConfig({
    switchyard_ring_hash: { hashKey: 'X-Key' },
  });
  assert.deepEqual(ours.toJsonObject(), {
    switchyard_ring_hash: { hashKey: 'x-key', minRingSize: 1024, maxRingSize: 1_048_576 },
  });
  assert.throws(
    () => grpc.experimental.parseLoadBalancingConfig({ switchyard_least_loaded: { decayMS: 1 } }),
    /switchyard_least_loaded: decayMS: unknown setting "decayMS" \(did you mean "decayMs"\?\)/,
  );
});

test('switchyard_least_loaded sends a slow server (50 ms vs 1 ms) well under a third of the calls', async () => {
  const fast1 = await startBackend(1);
  const fast2 = await startBackend(1);
  const slow = await startBackend(50);
  const c = client(`ipv4:127.0.0.1:${fast1.port},127.0.0.1:${slow.port},127.0.0.1:${fast2.port}`, {
    switchyard_least_loaded: {},
  });
  await call(c); // connect
  resetCounts();
  // Eight callers, 400 calls. A slow server answers after 50 ms, so its latency estimate is
  // 50× the others'; P2C with peak-EWMA gives it a call only when its decayed estimate falls
  // below a fast server's cost (τ = 10 s here), i.e. a handful in this run.
  let remaining = 400;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (remaining-- > 0) await call(c);
    }),
  );
  const total = fast1.calls + fast2.calls + slow.calls;
  assert.equal(total, 400);
  const share = slow.calls / total;
  // Round robin would give it a third; on a loaded machine the fast servers slow down too, so
  // the bound leaves room (on a quiet machine it gets a handful, as said above).
  assert.ok(share < 0.2, `slow server got ${slow.calls} of ${total} calls`);
  assert.ok(fast1.calls > 100 && fast2.calls > 100, `fast split ${fast1.calls}/${fast2.calls}`);
});

test('switchyard_ring_hash keeps each x-user-id on one server', async () => {
  const [a, b, d] = await Promise.all([startBackend(0), startBackend(0), startBackend(0)]);
  const group = [a, b, d];
  const c = client(`ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port},127.0.0.1:${d.port}`, {
    switchyard_ring_hash: { hashKey: 'x-user-id', minRingSize: 3_000 },
  });
  await call(c);
  // Wait until all three subchannels are ready, so the ring holds every server.
  for (let i = 0; i < 50 && group.some((g) => g.calls === 0); i++) {
    const md = new grpc.Metadata();
    md.set('x-user-id', `warm-${i}`);
    await call(c, md);
  }
  const owners = new Set<number>();
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
    resetCounts();
    const md = new grpc.Metadata();
    md.set('x-user-id', user);
    for (let i = 0; i < 10; i++) await call(c, md);
    const hit = group.filter((g) => g.calls > 0);
    assert.equal(hit.length, 1, `${user} went to ${hit.length} servers`);
    assert.equal(hit[0].calls, 10);
    owners.add(hit[0].port);
  }
  assert.ok(owners.size >= 2, 'different users land on different servers');
});

test('switchyard_weighted_round_robin follows weights from switchyard endpoint sets', async () => {
  const group = await Promise.all([startBackend(0), startBackend(0), startBackend(0)]);
  const weights = [1, 2, 7];
  const set = createEndpointSet(
    group.map((g, i) => createEndpoint({ address: '127.0.0.1', port: g.port, weight: weights[i] })),
  );
  // A minimal resolver handing grpc-js the set, as switchyard's registered resolvers do.
  class SetResolver implements grpc.experimental.Resolver {
    constructor(
      _target: grpc.experimental.GrpcUri,
      private readonly listener: grpc.experimental.ResolverListener,
    ) {}
    updateResolution(): void {
      queueMicrotask(() =>
        this.listener(
          grpc.experimental.statusOrFromValue(
            set.endpoints.map((e) => ({ addresses: [{ host: e.address, port: e.port }] })),
          ),
          { [ENDPOINT_SET_ATTRIBUTE]: set },
          null,
          '',
        ),
      );
    }
    destroy(): void {}
    static getDefaultAuthority(): string {
      return 'weighted.test';
    }
  }
  grpc.experimental.registerResolver('switchyard-test-weighted', SetResolver);
  const c = client('switchyard-test-weighted:///weighted.test', {
    switchyard_weighted_round_robin: {},
  });
  // Until every subchannel is ready the weights apply among the ready ones; wait for all.
  for (let i = 0; i < 100 && group.some((g) => g.calls === 0); i++) await call(c);
  await sleep(50);
  resetCounts();
  for (let i = 0; i < 500; i++) await call(c);
  // Exact shares (EDF) up to the phase of the rotation when counting started.
  for (const [i, g] of group.entries()) {
    assert.ok(Math.abs(g.calls - weights[i] * 50) <= 2, `weight ${weights[i]}: ${g.calls} calls`);
  }
});
