// The rapid-reset defence (CVE-2023-44487) is the listener's own, explicit and counted: a
// client that opens and resets streams faster than `resetLimit` allows, and resets at least
// three in four of the calls it starts, gets GOAWAY(ENHANCE_YOUR_CALM) and loses its connection, while
// other clients are served; one that only cancels a lot keeps it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startObservedProxy } from '../observability/observed-proxy.js';
import { echoClient, echoUnary, startEchoBackend } from '../support/echo-backend.js';
import {
  ErrorCode,
  Flag,
  FrameType,
  RawH2Connection,
  dataFrame,
  grpcMessage,
  grpcRequestFields,
  headersFrame,
  parseGoaway,
  rstStreamFrame,
} from '../support/h2-wire.js';
import { delay, eventually } from '../support/proxy-harness.js';

/**
 * Opens and resets streams, 20 at a time every 5 ms (thousands a second), until the proxy
 * answers with GOAWAY or 5,000 went. Larger bursts in one read can also trip Node's own limit on
 * refused streams first (as on Node 22), which ends the connection the same way.
 */
async function openAndReset(conn: RawH2Connection): Promise<number> {
  let sent = 0;
  for (let id = 1; sent < 5_000 && !conn.closed;) {
    if (conn.received(FrameType.GOAWAY).length > 0) break;
    const frames: Buffer[] = [];
    for (let i = 0; i < 20; i++, id += 2, sent++) {
      frames.push(headersFrame(id, grpcRequestFields('/test.Echo/Unary')));
      frames.push(rstStreamFrame(id, ErrorCode.CANCEL));
    }
    conn.write(Buffer.concat(frames));
    await delay(5);
  }
  return sent;
}

/** Streams the proxy ended with trailers (HEADERS with END_STREAM). */
function endedStreams(conn: RawH2Connection): number {
  return conn.received(FrameType.HEADERS).filter((f) => (f.flags & Flag.END_STREAM) !== 0).length;
}

describe('rapid reset', () => {
  it('closes a client that resets faster than the limit, and serves the others', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    // Listener defaults: 500 resets at once, then 33/s.
    const proxy = await startObservedProxy({
      upstream: backend.address,
      listener: { closeTimeoutMs: 300 },
    });
    const client = echoClient(proxy.target);
    const attacker = await RawH2Connection.open(proxy.port);
    t.after(async () => {
      attacker.destroy();
      client.close();
      await proxy.close();
      backend.kill();
    });
    await attacker.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0);

    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const calls = (async () => {
      while (!stop) {
        const r = await echoUnary(client, { payload: Buffer.from('x') }, { deadlineMs: 5_000 });
        if (r.status.code === grpc.status.OK) ok++;
        else failures.push(`${r.status.code} ${r.status.details}`);
      }
    })();

    const sent = await openAndReset(attacker);
    const goaway = await attacker.waitFor((f) => f.type === FrameType.GOAWAY, 2_000);
    assert.ok(goaway, `no GOAWAY after ${sent} streams opened and reset`);
    assert.equal(parseGoaway(goaway).code, ErrorCode.ENHANCE_YOUR_CALM);
    assert.ok(await attacker.waitClosed(2_000), 'the connection was left open');
    stop = true;
    await calls;
    t.diagnostic(
      `cut after ${sent} streams opened and reset; ${ok} calls of another client meanwhile`,
    );
    assert.ok(sent >= 500, `cut after ${sent} resets, within the burst of 500`);
    assert.deepEqual(failures, []);
    assert.ok(ok > 0, 'the other client made no call');
    assert.equal((await echoUnary(client, {})).status.code, grpc.status.OK);

    const metrics = await (await fetch(`${proxy.admin}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(
      value('switchyard_client_connections_closed_total\\{listener="main",reason="rapid_reset"\\}'),
      1,
    );
    assert.ok(value('switchyard_client_resets_total\\{listener="main"\\}') >= 500);
  });

  it('keeps a client past the rate that resets fewer than three in four of the calls it starts', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const proxy = await startObservedProxy({
      upstream: backend.address,
      listener: { resetLimit: { burst: 10, rate: 1 } },
    });
    const conn = await RawH2Connection.open(proxy.port);
    t.after(async () => {
      conn.destroy();
      await proxy.close();
      backend.kill();
    });
    await conn.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0);
    // 40 rounds of two whole calls and one reset: 40 resets, four times the burst, in about
    // a second, a third of the calls.
    let id = 1;
    for (let round = 0; round < 40; round++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 2; i++, id += 2) {
        frames.push(headersFrame(id, grpcRequestFields('/test.Echo/Unary')));
        frames.push(dataFrame(id, grpcMessage(Buffer.alloc(0)), true));
      }
      frames.push(headersFrame(id, grpcRequestFields('/test.Echo/Unary')));
      frames.push(rstStreamFrame(id, ErrorCode.CANCEL));
      id += 2;
      conn.write(Buffer.concat(frames));
      await delay(25);
    }
    // Every whole call is answered (its trailers end the stream) and no GOAWAY comes.
    await eventually(() => endedStreams(conn) >= 80, 5_000, 'the 80 whole calls answered');
    assert.equal(endedStreams(conn), 80);
    assert.equal(conn.received(FrameType.GOAWAY).length, 0, 'GOAWAY for a client that cancels');
    assert.equal(conn.closed, false);

    // The same client resetting every call from here on is cut once it passes three in four
    // (after 200 more: 240 of 320).
    const frames: Buffer[] = [];
    for (let i = 0; i < 400; i++, id += 2) {
      frames.push(headersFrame(id, grpcRequestFields('/test.Echo/Unary')));
      frames.push(rstStreamFrame(id, ErrorCode.CANCEL));
    }
    conn.write(Buffer.concat(frames));
    const goaway = await conn.waitFor((f) => f.type === FrameType.GOAWAY, 2_000);
    assert.ok(goaway, 'no GOAWAY once resets pass three in four of the calls');
    assert.equal(parseGoaway(goaway).code, ErrorCode.ENHANCE_YOUR_CALM);
  });

  it('takes a client that resets within the limit', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    const proxy = await startObservedProxy({
      upstream: backend.address,
      listener: { resetLimit: { burst: 50, rate: 100 } },
    });
    const conn = await RawH2Connection.open(proxy.port);
    t.after(async () => {
      conn.destroy();
      await proxy.close();
      backend.kill();
    });
    await conn.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0);
    // 40 at once, then 50/s for 2 s: under 50 at once and 100/s.
    let id = 1;
    const burst = (n: number) => {
      for (let i = 0; i < n; i++, id += 2) {
        conn.write(headersFrame(id, grpcRequestFields('/test.Echo/Unary')));
        conn.write(rstStreamFrame(id, ErrorCode.CANCEL));
      }
    };
    burst(40);
    for (let i = 0; i < 20; i++) {
      await delay(100);
      burst(5);
    }
    await delay(200);
    assert.equal(conn.received(FrameType.GOAWAY).length, 0, 'GOAWAY within the limit');
    assert.equal(conn.closed, false);
  });
});
