// The handshake timeout covers the whole client handshake: the HTTP/2 preface and the first
// SETTINGS frame, on h2c and after TLS. Clients that send one byte, half the preface, the
// preface without SETTINGS, or a byte at a time are closed when it expires; clients that
// finish in time are not, and other clients are served throughout.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { createTestCerts, type TestCerts } from '../support/certs.js';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import {
  FrameType,
  PREFACE,
  RawH2Connection,
  headersFrame,
  grpcRequestFields,
  settingsFrame,
} from '../support/h2-wire.js';
import { startTestProxy, type TestProxy } from '../support/proxy-harness.js';

const HANDSHAKE_MS = 600;
/** Timers, scheduling and a loaded machine: generous, and far below the 1 h idle timeout. */
const MARGIN_MS = 1_500;

interface Dribble {
  /** How long after connecting the proxy closed the connection; undefined if it did not. */
  readonly closedAfterMs: number | undefined;
}

/**
 * Connects (h2c, or TLS with ALPN h2), writes `bytes` one piece every `everyMs` (all at once
 * when 0), and waits up to `waitMs` for the proxy to close the connection.
 */
async function dribble(
  port: number,
  bytes: Buffer,
  options: { tls?: boolean; pieces?: number; everyMs?: number; waitMs?: number } = {},
): Promise<Dribble> {
  const started = Date.now();
  const socket: net.Socket = options.tls
    ? tls.connect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false })
    : net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(Date.now() - started)),
  );
  await new Promise<void>((resolve) =>
    socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve()),
  );
  const pieces = options.pieces ?? 1;
  const size = Math.ceil(bytes.length / pieces);
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < pieces; i++) {
    const piece = bytes.subarray(i * size, (i + 1) * size);
    timers.push(
      setTimeout(
        () => {
          if (!socket.destroyed) socket.write(piece);
        },
        i * (options.everyMs ?? 0),
      ),
    );
  }
  const waitMs = options.waitMs ?? HANDSHAKE_MS + MARGIN_MS;
  const closedAfterMs = await Promise.race([
    closed,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), waitMs)),
  ]);
  for (const t of timers) clearTimeout(t);
  socket.destroy();
  return { closedAfterMs };
}

const HALF_PREFACE = PREFACE.subarray(0, 12);

describe('handshake timeout', () => {
  let certs: TestCerts;
  let backend: EchoBackend;
  let h2c: TestProxy;
  let secure: TestProxy;

  before(async () => {
    certs = await createTestCerts();
    backend = await startEchoBackend({ name: 'b' });
    h2c = await startTestProxy({
      upstream: backend.address,
      listener: { handshakeTimeoutMs: HANDSHAKE_MS },
    });
    secure = await startTestProxy({
      upstream: backend.address,
      listener: {
        handshakeTimeoutMs: HANDSHAKE_MS,
        tls: {
          certFile: certs.serverCertPath,
          keyFile: certs.serverKeyPath,
          caFile: undefined,
          requireClientCert: false,
          minVersion: 'TLSv1.2',
          ciphers: undefined,
          watch: false,
          expiryWarningDays: 14,
        },
      },
    });
  });
  after(async () => {
    await h2c.close();
    await secure.close();
    backend.kill();
    await certs.cleanup();
  });

  function assertClosedInTime(result: Dribble, what: string) {
    assert.ok(result.closedAfterMs !== undefined, `${what}: still open after the timeout`);
    assert.ok(
      result.closedAfterMs >= HANDSHAKE_MS - 50,
      `${what}: closed after ${result.closedAfterMs} ms, before the timeout`,
    );
  }

  const cases: [string, Buffer, { pieces?: number; everyMs?: number }][] = [
    ['one byte', PREFACE.subarray(0, 1), {}],
    ['half the preface', HALF_PREFACE, {}],
    ['the preface without SETTINGS', PREFACE, {}],
    // 33 bytes at one every 100 ms would take 3.3 s: five times the timeout.
    [
      'the handshake a byte at a time',
      Buffer.concat([PREFACE, settingsFrame()]),
      { pieces: 33, everyMs: 100 },
    ],
  ];
  for (const [what, bytes, pacing] of cases) {
    it(`closes an h2c client that sends ${what}`, async () => {
      assertClosedInTime(await dribble(h2c.port, bytes, pacing), what);
    });
    it(`closes a TLS client that sends ${what} after the TLS handshake`, async () => {
      assertClosedInTime(await dribble(secure.port, bytes, { ...pacing, tls: true }), what);
    });
  }

  it('closes 50 slow clients at once, while a grpc-js client is served', async (t) => {
    const client = echoClient(h2c.target);
    t.after(() => client.close());
    const slow = Array.from({ length: 50 }, (_, i) =>
      dribble(h2c.port, PREFACE, { pieces: 24, everyMs: 200 + i }),
    );
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await echoUnaryOk(client, { payload: Buffer.from('ok') })).payload.toString(),
        'ok',
      );
    }
    const results = await Promise.all(slow);
    const open = results.filter((r) => r.closedAfterMs === undefined).length;
    assert.equal(open, 0, `${open} of 50 slow clients still connected`);
  });

  it('keeps a client that finished its handshake in time, past the timeout', async (t) => {
    const conn = await RawH2Connection.open(h2c.port);
    t.after(() => conn.destroy());
    await conn.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === 0);
    await new Promise((r) => setTimeout(r, HANDSHAKE_MS + 400));
    assert.equal(conn.closed, false, 'closed although the handshake was complete');
    conn.write(headersFrame(1, grpcRequestFields('/test.Echo/Unary'), { endStream: true }));
    const answer = await conn.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 1);
    assert.ok(answer, 'no answer on a connection kept past the handshake timeout');
  });
});
