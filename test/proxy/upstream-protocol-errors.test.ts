// An upstream connection that breaks the protocol or goes quiet is closed, its calls fail at once
// with a status that says why, the endpoint is reported as failing, and it comes back when a
// healthy server is there again.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ProxyView, Readiness } from '../../observability/admin/cluster-view.js';
import { adminJson, startObservedProxy } from '../observability/observed-proxy.js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import {
  FrameType,
  SETTINGS_ACK,
  settingsFrame,
  startRawH2Server,
  type RawH2Server,
} from '../support/h2-wire.js';
import { eventually } from '../support/proxy-harness.js';
import { startSilentServer } from '../support/raw-upstream.js';
import { startTcpRelay } from '../support/tcp-relay.js';

/** Bytes that are no HTTP/2 frame: read as a header, they announce a 7 MB frame. */
const JUNK = Buffer.from('this is not an HTTP/2 frame at all', 'latin1');

/**
 * A backend that completes the HTTP/2 handshake (SETTINGS both ways) and answers the first
 * request on each connection with junk.
 */
function startJunkBackend(): Promise<RawH2Server> {
  return startRawH2Server((socket: net.Socket, frames) => {
    let settingsSent = false;
    let junkSent = false;
    frames((f) => {
      if (!settingsSent && f.type === FrameType.SETTINGS) {
        settingsSent = true;
        socket.write(Buffer.concat([settingsFrame(), SETTINGS_ACK]));
      }
      if (!junkSent && f.type === FrameType.HEADERS) {
        junkSent = true;
        socket.write(JUNK);
      }
    });
  });
}

function endpointOf(view: ProxyView, key: string) {
  const endpoint = view.clusters[0].endpoints.find((e) => e.key === key);
  assert.ok(endpoint, `endpoint ${key} in /clusters`);
  return endpoint;
}

describe('upstream protocol errors', () => {
  it('closes a connection that received junk, fails its calls with the reason, and reconnects', async (t) => {
    const junk = await startJunkBackend();
    const port = junk.port;
    const key = `127.0.0.1:${port}`;
    const proxy = await startObservedProxy({ upstream: key });
    const client = echoClient(proxy.target);
    const backends: EchoBackend[] = [];
    t.after(async () => {
      client.close();
      await proxy.close();
      await junk.close();
      for (const b of backends) b.kill();
    });
    await eventually(
      async () => (await adminJson(proxy.admin, '/ready')).status === 200,
      5_000,
      'the handshake with the junk backend',
    );

    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 3 }, () => echoUnary(client, {}, { deadlineMs: 20_000 })),
    );
    const elapsed = Date.now() - started;
    for (const r of results) {
      assert.equal(r.status.code, grpc.status.UNAVAILABLE, r.status.details);
      assert.match(r.status.details, /protocol error/i);
      assert.ok(r.status.details.includes(key), r.status.details);
    }
    assert.ok(elapsed < 5_000, `calls failed after ${elapsed} ms`);

    // Meanwhile the admin API tells the truth: the endpoint is not ready, and why.
    const [clusters, ready] = await Promise.all([
      adminJson<ProxyView>(proxy.admin, '/clusters'),
      adminJson<Readiness>(proxy.admin, '/ready'),
    ]);
    const endpoint = endpointOf(clusters.body, key);
    assert.notEqual(endpoint.state, 'ready');
    assert.match(endpoint.connectivityReason, /protocol error/i);
    assert.ok(endpoint.failures >= 3, `${endpoint.failures} failures counted`);
    assert.equal(ready.status, 503);
    assert.match(ready.body.reasons.join('\n'), /protocol error/i);
    assert.ok(proxy.logged('protocol error').length >= 1, 'the broken connection is logged');

    // A healthy server takes the port over: calls succeed again after the backoff.
    await junk.close();
    backends.push(await startEchoBackend({ name: 'healthy', port }));
    await eventually(
      async () =>
        (await echoUnary(client, {}, { deadlineMs: 2_000 })).status.code === grpc.status.OK,
      10_000,
      'a call to succeed on the healthy backend',
    );
    const after = await adminJson<Readiness>(proxy.admin, '/ready');
    assert.equal(after.status, 200);
  });

  it('closes an idle connection whose peer stops answering PINGs', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const relay = await startTcpRelay(backend.address);
    const proxy = await startObservedProxy({
      upstream: relay.address,
      cluster: { keepalive: { timeMs: 30_000, timeoutMs: 300, idleTimeMs: 300 } },
    });
    const client = echoClient(proxy.target);
    t.after(async () => {
      client.close();
      await proxy.close();
      await relay.close();
      backend.kill();
    });
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
    relay.freeze();
    await eventually(
      async () => {
        const view = await adminJson<ProxyView>(proxy.admin, '/clusters');
        return endpointOf(view.body, relay.address).state !== 'ready';
      },
      3_000,
      'the silent idle connection to be closed',
    );
    const view = await adminJson<ProxyView>(proxy.admin, '/clusters');
    assert.match(endpointOf(view.body, relay.address).connectivityReason, /PING/);
  });

  it('keeps the reason in /ready while the endpoint tries again', async (t) => {
    // Accepts TCP and never answers: each attempt fails after the connect timeout, and the
    // next one (after the backoff) is "connecting" for as long again.
    const silent = await startSilentServer();
    const proxy = await startObservedProxy({
      upstream: silent.address,
      cluster: { timeouts: { defaultMs: undefined, maxMs: undefined, connectMs: 500 } },
    });
    t.after(async () => {
      await proxy.close();
      await silent.close();
    });
    await eventually(
      async () => {
        const ready = await adminJson<Readiness>(proxy.admin, '/ready');
        return ready.body.reasons.some((r) =>
          new RegExp(`${silent.address} connecting: .*no HTTP/2 SETTINGS`).test(r),
        );
      },
      6_000,
      '/ready to show a retrying endpoint with the reason of its last failure',
    );
  });
});
