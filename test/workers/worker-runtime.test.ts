// WorkerRuntime: a cluster created after the primary relayed a set and then an error gets both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quickStartConfig } from '../../config/defaults.js';
import { silentLogger } from '../../common/log.js';
import type { Switchyard } from '../../proxy/switchyard.js';
import { createEndpoint, createEndpointSet } from '../../resolver/endpoint.js';
import type { FromWorker } from '../../workers/messages.js';
import { WorkerRuntime } from '../../workers/worker-runtime.js';
import { settle } from '../support/fake-clock.js';

test('a cluster started after a set and a transient error keeps the set', async (t) => {
  const sent: FromWorker[] = [];
  let exited: number | undefined;
  const runtime = new WorkerRuntime(
    (m) => sent.push(m),
    silentLogger(),
    'test',
    (code) => (exited = code),
  );
  // The primary's greeting order: the set, then the error reported since (refused port 1).
  const set = createEndpointSet([createEndpoint({ address: '127.0.0.1', port: 1 })]);
  await runtime.handle({ type: 'endpoints', feed: 7, set });
  await runtime.handle({
    type: 'resolver-error',
    feed: 7,
    code: 'SWY_ERR_RESOLVE_TRANSIENT',
    target: 'dns:///backend:1',
    message: 'dns:///backend:1: timeout',
  });
  const config = quickStartConfig({ listen: '127.0.0.1:0', upstream: 'dns:///backend:1' });
  await runtime.handle({ type: 'start', config, feeds: { default: 7 } });
  // Closes the listener and pools even when an assertion fails.
  t.after(() => runtime.handle({ type: 'shutdown', graceMs: 0 }));
  assert.deepEqual(sent, [{ type: 'started' }]);
  await settle();
  const proxy = (runtime as unknown as { proxy: Switchyard }).proxy;
  const cluster = proxy.cluster('default');
  assert.equal(cluster?.balancer.size, 1, 'the error alone left the cluster with no endpoint');
  assert.equal(cluster?.stats.lastError, 'dns:///backend:1: timeout');
  await runtime.handle({ type: 'shutdown', graceMs: 0 });
  assert.equal(exited, 0);
});
