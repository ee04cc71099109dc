// Cancels from many clients all reach a backend on the proxy's shared upstream connections, as
// RST_STREAM frames. Backends with rapid-reset protection (nghttp2 >= 1.57, so Node and grpc-js:
// 1,000 resets in a burst, then 33 a second) close a connection that sends more, failing every
// call on it; the proxy must keep each connection within that budget.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoClient, echoUnary, type EchoServiceClient } from '../support/echo-backend.js';
import { spawnEchoBackend } from '../support/echo-backend-process.js';
import {
  dataFrame,
  grpcMessage,
  grpcRequestFields,
  headersFrame,
  RawH2Connection,
} from '../support/h2-wire.js';
import { adminRequest, startObservedProxy } from '../observability/observed-proxy.js';
import { delay, eventually } from '../support/proxy-harness.js';

/** test.EchoRequest { delay_ms: 10000 } (field 6, varint 10000): a call that waits 10 s. */
const SLOW_REQUEST = grpcMessage(Buffer.from([0x30, 0x90, 0x4e]));

/**
 * A well-behaved client until `done()`: 20 calls in flight that must all succeed, and about
 * `cancelsPerSecond` calls started and cancelled once the backend has them.
 */
async function wellBehaved(
  client: EchoServiceClient,
  done: () => boolean,
  cancelsPerSecond: number,
): Promise<{ ok: number; failures: string[]; cancelled: number }> {
  const failures: string[] = [];
  let ok = 0;
  let cancelled = 0;
  const steady = async () => {
    while (!done()) {
      const r = await echoUnary(client, { delayMs: 1_000 }, { deadlineMs: 20_000 });
      if (r.status.code === grpc.status.OK) ok++;
      else failures.push(`${grpc.status[r.status.code]}: ${r.status.details}`);
    }
  };
  const canceller = async () => {
    const gap = 1_000 / cancelsPerSecond;
    while (!done()) {
      const call = client.Unary({ delayMs: 1_000 }, new grpc.Metadata(), {}, () => {});
      call.on('metadata', () => {
        // The backend has the call (it sends headers first): cancel it now.
        call.cancel();
        cancelled++;
      });
      await delay(gap);
    }
  };
  await Promise.all([...Array.from({ length: 20 }, steady), canceller()]);
  return { ok, failures, cancelled };
}

describe('upstream stream resets', () => {
  it("keeps each upstream connection within the backend's reset limit", async (t) => {
    // In a process of its own, as a real backend would be.
    const backend = await spawnEchoBackend('b');
    const proxy = await startObservedProxy({
      upstream: backend.address,
      listener: { maxConcurrentStreams: 10_000 },
    });
    // Four clients, four connections (distinct channel options keep grpc-js from sharing one):
    // each stays within the reset limit a listener allows one connection (33/s after 500).
    const clients = Array.from({ length: 4 }, (_, i) =>
      echoClient(proxy.target, { channelOptions: { 'test.channel': i } }),
    );
    t.after(async () => {
      for (const c of clients) c.close();
      await proxy.close();
      await backend.kill();
    });
    for (const c of clients) assert.equal((await echoUnary(c, {})).status.code, grpc.status.OK);

    let stop = false;
    const started = Date.now();
    const running = clients.map((c) => wellBehaved(c, () => stop, 30));
    await delay(2_000);

    // Meanwhile one client opens 1,500 slow calls and drops its connection: the proxy must
    // cancel all of them upstream.
    const evil = await RawH2Connection.open(proxy.port);
    const count = 1_500;
    for (let i = 0; i < count; i++) {
      const id = 2 * i + 1;
      evil.write(
        Buffer.concat([
          headersFrame(id, grpcRequestFields('/test.Echo/ServerStream')),
          dataFrame(id, SLOW_REQUEST, true),
        ]),
      );
      if (i % 500 === 499) await delay(10);
    }
    await eventually(
      async () => ((await backend.stats()).byMethod.ServerStream ?? 0) >= count,
      10_000,
      `the backend to have the ${count} calls of the client that drops`,
    );
    const cancelledBefore = (await backend.stats()).cancelled;
    evil.destroy();
    await eventually(
      async () => (await backend.stats()).cancelled - cancelledBefore >= count,
      30_000,
      `the backend to see the ${count} calls cancelled`,
    );
    // The well-behaved clients go on for a while, to at least 12 s in all.
    await delay(Math.max(2_000, 12_000 - (Date.now() - started)));
    stop = true;
    const results = await Promise.all(running);
    const failures = results.flatMap((r) => r.failures);
    const ok = results.reduce((n, r) => n + r.ok, 0);
    const cancelled = results.reduce((n, r) => n + r.cancelled, 0);
    assert.ok(cancelled >= 200, `only ${cancelled} calls cancelled`);
    assert.ok(ok > 200, `only ${ok} calls succeeded`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} calls failed`);
    assert.deepEqual(proxy.logged('connection failed'), [], 'the backend closed no connection');

    // /metrics counts the resets sent, those the budget held back, and the rotations.
    const metrics = (await adminRequest(proxy.admin, '/metrics')).body;
    const total = (name: string) =>
      Number(
        new RegExp(`^switchyard_endpoint_${name}_total\\{[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1],
      );
    assert.ok(total('resets_sent') >= count, `${total('resets_sent')} resets sent`);
    assert.ok(total('resets_deferred') >= 0, 'the held-back resets are counted');
    assert.ok(total('connections_rotated') >= 1, `${total('connections_rotated')} rotations`);
  });
});
