// HTTP/2 attacks and bad peers against a listener, from a raw frame client: each is answered
// with the connection or stream error RFC 9113 names, counted in /metrics, and the proxy goes
// on serving a well-behaved grpc-js client. Flood limits are those of h2/connection's defaults
// (SETTINGS and PING: 100 at once, then 10/s; empty DATA likewise; field blocks 64 KiB).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import {
  ErrorCode,
  Flag,
  FrameType,
  RawH2Connection,
  dataFrame,
  frame,
  grpcMessage,
  grpcRequestFields,
  headerBlock,
  headersFrame,
  parseGoaway,
  pingFrame,
  settingsFrame,
  windowUpdateFrame,
} from '../support/h2-wire.js';
import {
  adminRequest,
  startObservedProxy,
  type ObservedTestProxy,
} from '../observability/observed-proxy.js';

/** An echo request that makes the backend wait before answering (keeps a stream open). */
const SLOW = grpcMessage(Buffer.from([0x20, 0xe8, 0x07])); // delayMs: 1000 (field 4, varint)

describe('HTTP/2 attacks on a listener', () => {
  let backend: EchoBackend;
  let proxy: ObservedTestProxy;
  let client: EchoServiceClient;

  before(async () => {
    backend = await startEchoBackend({ name: 'b' });
    proxy = await startObservedProxy({ upstream: backend.address });
    client = echoClient(proxy.target);
  });
  after(async () => {
    client.close();
    await proxy.close();
    backend.kill();
  });

  async function stillServing(): Promise<void> {
    const res = await echoUnaryOk(client, { payload: Buffer.from('ok') });
    assert.equal(res.payload.toString(), 'ok');
  }

  /** Sends `bytes` on a fresh connection; resolves with the GOAWAY code once it closes. */
  async function goawayFor(bytes: Buffer | Buffer[]): Promise<number> {
    const conn = await RawH2Connection.open(proxy.port);
    try {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) conn.write(b);
      const goaway = await conn.waitFor((f) => f.type === FrameType.GOAWAY);
      assert.ok(goaway, 'no GOAWAY');
      assert.ok(await conn.waitClosed(3_000), 'the connection was left open');
      return parseGoaway(goaway).code;
    } finally {
      conn.destroy();
    }
  }

  async function errorsCounted(reason: string): Promise<number> {
    const metrics = (await adminRequest(proxy.admin, '/metrics')).body;
    const line = new RegExp(
      `^switchyard_client_connection_errors_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)$`,
      'm',
    ).exec(metrics);
    return Number(line?.[1] ?? 0);
  }

  it('answers a CONTINUATION flood (CVE-2024-27316) with ENHANCE_YOUR_CALM', async () => {
    const open = frame(FrameType.HEADERS, 0, 1, headerBlock(grpcRequestFields('/test.Echo/Unary')));
    const junk = frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16_000, 0x41));
    const flood = Array.from({ length: 200 }, () => junk);
    assert.equal(await goawayFor([open, ...flood]), ErrorCode.ENHANCE_YOUR_CALM);
    // Cut off by whichever limit it reaches first: the block's octets or its frame count.
    const counted =
      (await errorsCounted('header-block-too-large')) +
      (await errorsCounted('too-many-continuations'));
    assert.ok(counted >= 1, 'not counted in switchyard_client_connection_errors_total');
    await stillServing();
  });

  it('refuses an HPACK bomb: a small block that decodes past the header list limit', async () => {
    // One 4,000-octet value into the dynamic table, then 200 one-octet references to it: 600
    // octets on the wire, 800 KB decoded, far beyond SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB).
    const value = Buffer.alloc(4_000, 0x61);
    const insert = Buffer.concat([
      Buffer.from([0x40, 0x03]),
      Buffer.from('x-a'),
      Buffer.from([0x7f, 0xa1, 0x1e]), // 4,000 as a 7-bit-prefix integer
      value,
    ]);
    const block = Buffer.concat([
      headerBlock(grpcRequestFields('/test.Echo/Unary')),
      insert,
      Buffer.alloc(200, 0xbe), // indexed field 62: the entry just inserted
    ]);
    const conn = await RawH2Connection.open(proxy.port);
    try {
      conn.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block));
      const answer = await conn.waitFor(
        (f) => (f.type === FrameType.RST_STREAM && f.streamId === 1) || f.type === FrameType.GOAWAY,
      );
      assert.ok(answer, 'the bomb got no answer');
      const code = answer.payload.readUInt32BE(answer.type === FrameType.GOAWAY ? 4 : 0);
      assert.ok(
        code === ErrorCode.ENHANCE_YOUR_CALM || code === ErrorCode.COMPRESSION_ERROR,
        `answered with code ${code}`,
      );
      assert.equal(conn.received(FrameType.HEADERS, 1).length, 0, 'the request was served');
    } finally {
      conn.destroy();
    }
    await stillServing();
  });

  for (const [what, flood, reason] of [
    ['SETTINGS', settingsFrame({}), 'settings-flood'],
    ['PING', pingFrame(), 'ping-flood'],
  ] as const) {
    it(`answers a ${what} flood with ENHANCE_YOUR_CALM`, async () => {
      const before = await errorsCounted(reason);
      const frames = Buffer.concat(Array.from({ length: 1_000 }, () => flood));
      assert.equal(await goawayFor(frames), ErrorCode.ENHANCE_YOUR_CALM);
      assert.equal(await errorsCounted(reason), before + 1);
      await stillServing();
    });
  }

  it('answers an empty DATA flood with ENHANCE_YOUR_CALM', async () => {
    const open = headersFrame(1, grpcRequestFields('/test.Echo/Unary'));
    const empty = dataFrame(1, Buffer.alloc(0));
    const frames = Buffer.concat([open, ...Array.from({ length: 1_000 }, () => empty)]);
    assert.equal(await goawayFor(frames), ErrorCode.ENHANCE_YOUR_CALM);
    await stillServing();
  });

  it('answers a frame larger than SETTINGS_MAX_FRAME_SIZE with FRAME_SIZE_ERROR', async () => {
    const open = headersFrame(1, grpcRequestFields('/test.Echo/Unary'));
    const big = dataFrame(1, Buffer.alloc(20_000));
    assert.equal(await goawayFor([open, big]), ErrorCode.FRAME_SIZE_ERROR);
    await stillServing();
  });

  it('answers a connection window pushed past 2^31-1 with FLOW_CONTROL_ERROR', async () => {
    assert.equal(await goawayFor(windowUpdateFrame(0, 0x7fffffff)), ErrorCode.FLOW_CONTROL_ERROR);
    await stillServing();
  });

  it('answers DATA on a stream it closed with STREAM_CLOSED', async () => {
    const conn = await RawH2Connection.open(proxy.port);
    try {
      conn.write(
        Buffer.concat([
          headersFrame(1, grpcRequestFields('/test.Echo/Unary')),
          dataFrame(1, grpcMessage(Buffer.alloc(0)), true),
        ]),
      );
      const trailers = await conn.waitFor(
        (f) =>
          f.type === FrameType.HEADERS && f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0,
      );
      assert.ok(trailers, 'the call was not answered');
      conn.write(dataFrame(1, Buffer.from('late')));
      const answer = await conn.waitFor(
        (f) => f.type === FrameType.GOAWAY || (f.type === FrameType.RST_STREAM && f.streamId === 1),
      );
      assert.ok(answer, 'DATA on a closed stream got no answer');
      const code = answer.payload.readUInt32BE(answer.type === FrameType.GOAWAY ? 4 : 0);
      assert.equal(code, ErrorCode.STREAM_CLOSED);
    } finally {
      conn.destroy();
    }
    await stillServing();
  });

  it('keeps serving a connection whose client resets within its limit', async () => {
    const conn = await RawH2Connection.open(proxy.port);
    try {
      for (let i = 0; i < 20; i++) {
        const id = 2 * i + 1;
        conn.write(
          Buffer.concat([
            headersFrame(id, grpcRequestFields('/test.Echo/Unary')),
            dataFrame(id, SLOW, true),
            frame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0, ErrorCode.CANCEL])),
          ]),
        );
      }
      conn.write(
        Buffer.concat([
          headersFrame(41, grpcRequestFields('/test.Echo/Unary')),
          dataFrame(41, grpcMessage(Buffer.alloc(0)), true),
        ]),
      );
      const answered = await conn.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 41);
      assert.ok(answered, 'the call after the resets was not answered');
      assert.equal(conn.received(FrameType.GOAWAY).length, 0);
    } finally {
      conn.destroy();
    }
  });

  it('survives random and mutated frame sequences, then serves a good call', async () => {
    // Seeded and bounded: 60 connections, each a preface then up to 12 random frames.
    const frameArb = fc.record({
      type: fc.integer({ min: 0, max: 12 }),
      flags: fc.integer({ min: 0, max: 255 }),
      stream: fc.constantFrom(0, 1, 2, 3, 5, 0x7fffffff),
      payload: fc.uint8Array({ maxLength: 64 }),
    });
    const good = headerBlock(grpcRequestFields('/test.Echo/Unary'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb, { maxLength: 12 }),
        fc.boolean(),
        async (frames, startWithRequest) => {
          const conn = await RawH2Connection.open(proxy.port);
          try {
            const parts: Buffer[] = [];
            if (startWithRequest) parts.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, good));
            for (const f of frames) {
              parts.push(frame(f.type, f.flags, f.stream, Buffer.from(f.payload)));
            }
            conn.write(Buffer.concat(parts));
            // Whatever the proxy makes of it, it answers or closes; it never falls over.
            await conn.waitClosed(150);
          } finally {
            conn.destroy();
          }
        },
      ),
      { numRuns: 60, seed: 20261202 },
    );
    await stillServing();
  });
});
