// Graceful shutdown: on SIGTERM the binary stops accepting, lets calls in flight finish, and
// exits 0 (SIGINT does the same); calls still running when the grace is over end with
// UNAVAILABLE saying why.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoServerStream,
  echoUnary,
  startEchoBackend,
} from '../support/echo-backend.js';
import { startTestProxy } from '../support/proxy-harness.js';
import { spawnProxy } from '../support/spawn-proxy.js';

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('graceful shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`lets in-flight calls finish on ${signal}, then exits 0`, async (t) => {
      const backend = await startEchoBackend({ name: 'b' });
      const proxy = await spawnProxy(['--upstream', backend.address]);
      const client = echoClient(proxy.target);
      t.after(async () => {
        client.close();
        await proxy.stop('SIGKILL');
        backend.kill();
      });
      assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);
      const inFlight = echoUnary(client, { delayMs: 700, payload: Buffer.from('finish me') });
      await new Promise<void>((resolve) => backend.events.once('call', () => resolve()));
      proxy.child.kill(signal);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await canConnect(proxy.port), false, 'the listener is closed');
      const r = await inFlight;
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
      assert.equal(r.response?.payload.toString(), 'finish me');
      assert.equal(await proxy.exited, 0);
    });
  }

  it('ends calls still running after the grace with UNAVAILABLE saying the proxy is shutting down', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const proxy = await startTestProxy({ upstream: backend.address });
    const client = echoClient(proxy.target);
    t.after(() => {
      client.close();
      backend.kill();
    });
    // One unary call and one server stream whose answers take 5 s, both with headers sent.
    let started = 0;
    backend.events.on('call', () => started++);
    const unary = echoUnary(client, { delayMs: 5_000 });
    const stream = echoServerStream(client, { responseCount: 2, delayMs: 5_000 });
    while (started < 2) await new Promise((r) => setTimeout(r, 10));
    await proxy.close(300);
    for (const [what, status] of [
      ['unary', (await unary).status],
      ['server stream', (await stream).status],
    ] as const) {
      assert.equal(
        status.code,
        grpc.status.UNAVAILABLE,
        `${what}: ${status.code} ${status.details}`,
      );
      assert.match(status.details, /switchyard is shutting down/, what);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(backend.cancelled, 2, 'the backend saw both calls cancelled');
  });
});
