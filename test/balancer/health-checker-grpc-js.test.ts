// Health checks against real @grpc/grpc-js servers serving grpc.health.v1.Health: a service
// flipping NOT_SERVING → SERVING, an unknown service, and a server without the health service.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { Balancer } from '../../balancer/balancer.js';
import { RoundRobinPolicy } from '../../balancer/round-robin.js';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  GrpcJsHealthProbe,
  HealthStatusTable,
  startGrpcServer,
  stopGrpcServer,
} from '../support/grpc-health.js';

const probe = new GrpcJsHealthProbe();
const servers: grpc.Server[] = [];
after(async () => {
  probe.close();
  await Promise.all(servers.map(stopGrpcServer));
});

/** Resolves once `predicate()` holds, re-checking on every balancer change; fails after 5 s. */
function until(balancer: Balancer, predicate: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, 5_000);
    const off = balancer.onChange(() => {
      if (!predicate()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

test('the health messages round-trip', () => {
  assert.equal(decodeRequest(encodeRequest('echo.Echo')), 'echo.Echo');
  assert.equal(decodeRequest(encodeRequest('')), '');
  for (const s of ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const) {
    assert.equal(decodeResponse(encodeResponse(s)), s);
  }
});

test('a real server whose service flips NOT_SERVING → SERVING goes unhealthy → healthy', async (t) => {
  const table = new HealthStatusTable();
  table.set('echo.Echo', 'NOT_SERVING');
  const { server, port } = await startGrpcServer((s) => table.addTo(s));
  servers.push(server);
  const { server: bare, port: barePort } = await startGrpcServer(() => {});
  servers.push(bare);

  const balancer = new Balancer(new RoundRobinPolicy(), { panicThreshold: 0 });
  t.after(() => balancer.close());
  balancer.update(
    createEndpointSet([
      createEndpoint({ address: '127.0.0.1', port }),
      createEndpoint({ address: '127.0.0.1', port: barePort }),
    ]),
  );
  const [host, bareHost] = [...balancer.hosts()];
  for (const h of [host, bareHost]) balancer.setConnectivity(h, 'ready');
  balancer.startHealthChecks(probe, {
    service: 'echo.Echo',
    intervalMs: 50,
    timeoutMs: 2_000,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
  });

  await until(
    balancer,
    () => host.health === 'unhealthy' && bareHost.health === 'unhealthy',
    'first verdicts',
  );
  assert.match(host.healthReason, /service "echo.Echo" is NOT_SERVING/);
  assert.match(bareHost.healthReason, /no health service \(UNIMPLEMENTED\)/);
  assert.equal(balancer.pick({ path: '', headers: {} }), null, 'no fit host, panic off');

  table.set('echo.Echo', 'SERVING');
  const checksBefore = table.checks;
  await until(balancer, () => host.health === 'healthy', 'recovery');
  assert.ok(table.checks - checksBefore >= 2, 'healthyThreshold successes were needed');
  assert.equal(balancer.pick({ path: '', headers: {} }), host);

  // And back down after unhealthyThreshold failures.
  table.set('echo.Echo', 'NOT_SERVING');
  await until(balancer, () => host.health === 'unhealthy', 'unhealthy again');

  // A service the server does not know answers NOT_FOUND, which the probe reports as unknown.
  balancer.startHealthChecks(probe, {
    service: 'no.Such',
    intervalMs: 50,
    timeoutMs: 2_000,
    healthyThreshold: 1,
    unhealthyThreshold: 1,
  });
  await until(balancer, () => host.health === 'unhealthy', 'unknown service verdict');
  assert.match(host.healthReason, /SERVICE_UNKNOWN/);
});
