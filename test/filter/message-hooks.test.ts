// Message hooks end to end: a counting filter loaded with `module:` sees every message of the
// four call kinds exactly (size and content), whole however the frames cut them; decoded
// messages with descriptors from .proto files; a request message refused mid-stream; and the
// same module as a grpc-js client and server interceptor. Real grpc-js clients and servers,
// the real proxy, loopback only.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../config/load-config.js';
import { configValidators } from '../../proxy/config-validators.js';
import { Switchyard } from '../../proxy/switchyard.js';
import type { FilterFactory } from '../../filter/filter.js';
import { FilterConfigError } from '../../filter/filter-errors.js';
import {
  filterClientInterceptor,
  filterServerInterceptor,
} from '../../filter/grpc-js-interceptors.js';
import {
  ECHO_PROTO,
  echoClient,
  loadEchoService,
  patternPayload,
  startEchoBackend,
  type EchoBackend,
  type EchoRequestInit,
  type EchoResponse,
} from '../support/echo-backend.js';
import { eventually } from '../support/proxy-harness.js';

// Records every message of every call (index, size, sha1, compressed flag, decoded form) and
// how the call ended. A request carrying `x-refuse-at: N` is refused at its message N.
const COUNTER_MODULE = `
import { createHash } from 'node:crypto';
export const calls = [];
const sha = (b) => createHash('sha1').update(b).digest('hex');
const seen = (m) => ({
  index: m.index,
  size: m.bytes.length,
  sha: sha(m.bytes),
  compressed: m.compressed,
  decoded: m.decoded,
});
export default function createFilter(options) {
  return {
    name: 'counter',
    messages: options.messages,
    onRequestHeaders(ctx, md) {
      const at = md.get('x-refuse-at');
      ctx.values.set('rec', {
        site: ctx.site,
        method: ctx.method,
        refuseAt: at === undefined ? -1 : Number(at),
        requests: [],
        responses: [],
      });
    },
    onRequestMessage(ctx, m) {
      const rec = ctx.values.get('rec');
      rec.requests.push(seen(m));
      if (m.index === rec.refuseAt) {
        return { code: 9, message: 'request message ' + m.index + ' refused', trailers: { 'x-refused-at': String(m.index) } };
      }
      return undefined;
    },
    onResponseMessage(ctx, m) {
      ctx.values.get('rec').responses.push(seen(m));
    },
    onCallEnd(ctx, end) {
      const rec = ctx.values.get('rec');
      if (rec !== undefined) calls.push({ ...rec, code: end.code });
    },
  };
}
`;

interface SeenMessage {
  index: number;
  size: number;
  sha: string;
  compressed: boolean;
  decoded: unknown;
}

interface CallRecord {
  site: string;
  method: string;
  requests: SeenMessage[];
  responses: SeenMessage[];
  code: number;
}

interface CounterModule {
  default: FilterFactory;
  calls: CallRecord[];
}

const Echo = loadEchoService();
type Kind = 'Unary' | 'ClientStream' | 'ServerStream' | 'Bidi';

function sha(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

function encode(request: EchoRequestInit): Buffer {
  return Echo.service.Unary.requestSerialize(request);
}

/** What the hooks should have seen of these messages. */
function expected(messages: readonly Buffer[], decoded: unknown[] = []): SeenMessage[] {
  return messages.map((m, index) => ({
    index,
    size: m.length,
    sha: sha(m),
    compressed: false,
    decoded: decoded[index],
  }));
}

async function counterModule(t: TestContext): Promise<{ dir: string; mod: CounterModule }> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-messages-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'counter.js');
  await writeFile(file, COUNTER_MODULE);
  const mod = (await import(pathToFileURL(file).href)) as CounterModule;
  return { dir, mod };
}

async function backend(t: TestContext, options: grpc.ServerOptions = {}): Promise<EchoBackend> {
  const b = await startEchoBackend({ name: 'b1', serverOptions: options });
  t.after(() => b.close());
  return b;
}

async function proxyWith(
  t: TestContext,
  dir: string,
  upstream: string,
  options: { messages?: string; descriptors?: boolean; listener?: string } = {},
): Promise<string> {
  const file = join(dir, 'switchyard.yaml');
  const descriptors = options.descriptors
    ? `descriptors:\n  protos: { files: [${JSON.stringify(ECHO_PROTO)}] }\n`
    : '';
  const messages = options.messages === undefined ? '' : `, messages: ${options.messages}`;
  await writeFile(
    file,
    `listeners:
  - address: 127.0.0.1:0
${options.listener ?? ''}routes:
  - match: { service: test.Echo }
    cluster: echo
    filters:
      - module: ./counter.js
        options: { x: 1${messages} }
clusters:
  echo: { target: "static:///${upstream}" }
${descriptors}`,
  );
  const config = await loadConfig(file, { validators: configValidators, env: {} });
  const proxy = await Switchyard.start(config);
  t.after(() => proxy.close(0));
  return `127.0.0.1:${Object.values(proxy.addresses())[0].port}`;
}

/** A grpc-js client that sends and receives messages as the bytes they are on the wire. */
function rawClient(t: TestContext, target: string, options: grpc.ChannelOptions = {}): grpc.Client {
  const c = new grpc.Client(target, grpc.credentials.createInsecure(), options);
  t.after(() => c.close());
  return c;
}

const asIs = (b: Buffer): Buffer => b;

interface RawResult {
  status: grpc.StatusObject;
  responses: Buffer[];
}

/** One call of `kind` with these request messages; resolves when it has ended, never rejects. */
function rawCall(
  c: grpc.Client,
  kind: Kind,
  requests: readonly Buffer[],
  metadata = new grpc.Metadata(),
): Promise<RawResult> {
  const path = `/test.Echo/${kind}`;
  return new Promise((resolve) => {
    const responses: Buffer[] = [];
    let status: grpc.StatusObject | undefined;
    let readDone = kind === 'Unary' || kind === 'ClientStream';
    const settle = () => {
      if (status !== undefined && readDone) resolve({ status, responses });
    };
    const single = (_err: unknown, value?: Buffer) => {
      if (value !== undefined) responses.push(value);
    };
    let call:
      grpc.ClientUnaryCall | grpc.ClientWritableStream<Buffer> | grpc.ClientReadableStream<Buffer>;
    switch (kind) {
      case 'Unary':
        call = c.makeUnaryRequest(path, asIs, asIs, requests[0], metadata, {}, single);
        break;
      case 'ClientStream': {
        const w = c.makeClientStreamRequest(path, asIs, asIs, metadata, {}, single);
        for (const r of requests) w.write(r);
        w.end();
        call = w;
        break;
      }
      case 'ServerStream':
        call = c.makeServerStreamRequest(path, asIs, asIs, requests[0], metadata, {});
        break;
      case 'Bidi': {
        const d = c.makeBidiStreamRequest(path, asIs, asIs, metadata, {});
        for (const r of requests) d.write(r);
        d.end();
        call = d;
        break;
      }
    }
    if (kind === 'ServerStream' || kind === 'Bidi') {
      const r = call as grpc.ClientReadableStream<Buffer>;
      r.on('data', (b: Buffer) => responses.push(b));
      r.on('end', () => {
        readDone = true;
        settle();
      });
      r.on('error', () => {
        readDone = true;
        settle();
      });
    }
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
  });
}

/**
 * A test.Echo server that writes down which calls it saw cancelled before they ended: ClientStream
 * answers at the end of the request, Bidi echoes each message, Unary answers at once.
 */
async function watchingBackend(
  t: TestContext,
  options: grpc.ServerOptions = {},
): Promise<{ address: string; cancelled: string[] }> {
  const cancelled: string[] = [];
  // grpc-js ends a cancelled request stream ('end') and fires 'cancelled' after a normal end
  // too: a call counts as cancelled when that comes before the handler answered, which it
  // does a turn after the request ended.
  const watch = (
    name: string,
    call: grpc.ServerDuplexStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>,
    answer: () => void,
  ) => {
    let answered = false;
    call.on('error', () => undefined);
    call.on('cancelled', () => {
      if (!answered) cancelled.push(name);
      answered = true;
    });
    call.on('end', () =>
      setImmediate(() => {
        if (answered) return;
        answered = true;
        answer();
      }),
    );
  };
  const server = new grpc.Server(options);
  server.addService(Echo.service, {
    Unary: (_call: unknown, callback: grpc.sendUnaryData<EchoResponse>) =>
      callback(null, { backend: 'w' } as EchoResponse),
    ClientStream: (
      call: grpc.ServerReadableStream<EchoRequestInit, EchoResponse>,
      callback: grpc.sendUnaryData<EchoResponse>,
    ) => {
      let messages = 0;
      call.on('data', () => messages++);
      watch('ClientStream', call, () =>
        callback(null, { backend: 'w', receivedMessages: messages } as EchoResponse),
      );
    },
    Bidi: (call: grpc.ServerDuplexStream<EchoRequestInit, EchoResponse>) => {
      let index = 0;
      call.on('data', (r: EchoRequestInit) =>
        call.write({ payload: r.payload ?? Buffer.alloc(0), index: index++ } as EchoResponse),
      );
      watch('Bidi', call, () => call.end());
    },
    ServerStream: (call: grpc.ServerWritableStream<EchoRequestInit, EchoResponse>) => call.end(),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  t.after(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, cancelled };
}

/** The record of the call that ended `n`-th (0-based), once the proxy has ended it. */
async function record(mod: CounterModule, n: number): Promise<CallRecord> {
  await eventually(() => mod.calls.length > n, 5_000, `call ${n} to end in the filter`);
  return mod.calls[n];
}

describe('message hooks', () => {
  it('see every message of the four call kinds, exactly, in the proxy (raw bytes)', async (t) => {
    const { dir, mod } = await counterModule(t);
    const b = await backend(t);
    const c = rawClient(t, await proxyWith(t, dir, b.address));
    const cases: [Kind, Buffer[]][] = [
      ['Unary', [encode({ payload: patternPayload(100) })]],
      // An empty request encodes as a message of 0 bytes.
      [
        'ClientStream',
        [encode({}), ...[1, 300, 20_000, 7].map((n) => encode({ payload: patternPayload(n) }))],
      ],
      ['ServerStream', [encode({ responseCount: 4, responseSize: 1000 })]],
      ['Bidi', [10, 5000, 70_000].map((n) => encode({ payload: patternPayload(n) }))],
    ];
    for (const [i, [kind, requests]] of cases.entries()) {
      const r = await rawCall(c, kind, requests);
      assert.equal(r.status.code, grpc.status.OK, `${kind}: ${r.status.details}`);
      const rec = await record(mod, i);
      assert.equal(rec.method, `/test.Echo/${kind}`);
      assert.equal(rec.site, 'proxy');
      assert.equal(rec.code, 0);
      assert.deepEqual(rec.requests, expected(requests), `${kind} requests`);
      assert.deepEqual(rec.responses, expected(r.responses), `${kind} responses`);
    }
    assert.equal(mod.calls[1].requests[0].size, 0);
    assert.equal(mod.calls[2].responses.length, 4);
    assert.equal(mod.calls[3].responses.length, 3);
  });

  it('see 100 KiB messages whole across DATA frames, and many small messages in one frame', async (t) => {
    const { dir, mod } = await counterModule(t);
    const b = await backend(t);
    const target = await proxyWith(t, dir, b.address);
    const c = rawClient(t, target);

    const big = [1, 2, 3].map((k) => encode({ payload: patternPayload(100 * 1024 + k) }));
    const up = await rawCall(c, 'ClientStream', big);
    assert.equal(up.status.code, grpc.status.OK, up.status.details);
    const upRec = await record(mod, 0);
    assert.deepEqual(upRec.requests, expected(big));
    assert.ok(
      upRec.requests.every((m) => m.size > 16_384),
      'each larger than one DATA frame',
    );

    const down = await rawCall(c, 'ServerStream', [
      encode({ responseCount: 3, responseSize: 100 * 1024 }),
    ]);
    assert.equal(down.status.code, grpc.status.OK, down.status.details);
    assert.equal(down.responses.length, 3);
    assert.deepEqual((await record(mod, 1)).responses, expected(down.responses));

    // 50 small messages written as one DATA frame, then one more whose 5-byte prefix is cut
    // after 2 bytes, the rest sent in a later frame.
    const small = Array.from({ length: 51 }, (_, i) => encode({ payload: Buffer.from(`m${i}`) }));
    const framed = small.map((m) => {
      const f = Buffer.alloc(5 + m.length);
      f.writeUInt32BE(m.length, 1);
      m.copy(f, 5);
      return f;
    });
    const session = http2.connect(`http://${target}`);
    t.after(() => session.close());
    const stream = session.request({
      ':method': 'POST',
      ':path': '/test.Echo/Bidi',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const body: Buffer[] = [];
    stream.on('data', (d: Buffer) => body.push(d));
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) =>
      stream.on('trailers', resolve),
    );
    const last = framed[50];
    await new Promise<void>((r) => stream.write(Buffer.concat(framed.slice(0, 50)), () => r()));
    await new Promise<void>((r) => stream.write(last.subarray(0, 2), () => r()));
    await new Promise<void>((r) => setTimeout(r, 20));
    stream.end(last.subarray(2));
    assert.equal((await trailers)['grpc-status'], '0');
    const rec = await record(mod, 2);
    assert.deepEqual(rec.requests, expected(small));
    assert.equal(rec.responses.length, 51);
    // The responses the hooks saw are, framed, exactly the bytes the client got.
    const seenBytes = rec.responses.reduce((n, m) => n + 5 + m.size, 0);
    assert.equal(seenBytes, Buffer.concat(body).length);
  });

  it('end a call whose request message is over 4 MiB with RESOURCE_EXHAUSTED', async (t) => {
    const { dir, mod } = await counterModule(t);
    const b = await backend(t);
    const c = rawClient(t, await proxyWith(t, dir, b.address));
    const small = encode({ payload: Buffer.from('ok') });
    const huge = encode({ payload: Buffer.alloc(4 * 1024 * 1024) });
    const r = await rawCall(c, 'ClientStream', [small, huge]);
    assert.equal(r.status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(
      r.status.details,
      `request message 1 of ${huge.length} bytes is over the 4194304 that filters read`,
    );
    const rec = await record(mod, 0);
    assert.equal(rec.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(rec.requests, expected([small]));
    const after = await rawCall(c, 'Unary', [small]);
    assert.equal(after.status.code, grpc.status.OK);
  });

  it("read up to the listener's maxFilteredMessageSize, and end a call over it", async (t) => {
    const { dir, mod } = await counterModule(t);
    const b = await backend(t);
    const target = await proxyWith(t, dir, b.address, {
      listener: '    maxFilteredMessageSize: 65536\n',
    });
    const c = rawClient(t, target);
    const fits = encode({ payload: Buffer.alloc(60_000, 1) });
    const ok = await rawCall(c, 'Unary', [fits]);
    assert.equal(ok.status.code, grpc.status.OK);
    assert.deepEqual((await record(mod, 0)).requests, expected([fits]));
    const over = encode({ payload: Buffer.alloc(70_000, 2) });
    const r = await rawCall(c, 'Unary', [over]);
    assert.equal(r.status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(
      r.status.details,
      `request message 0 of ${over.length} bytes is over the 65536 that filters read`,
    );
  });

  it('refuse at startup a module filter whose `messages` is neither raw nor decoded', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-messages-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(
      join(dir, 'counter.js'),
      "export default { name: 'x', messages: 'all', onRequestMessage() {} };\n",
    );
    await assert.rejects(proxyWith(t, dir, '127.0.0.1:1'), (err: unknown) => {
      assert.ok(err instanceof FilterConfigError, String(err));
      assert.equal(err.code, 'SWY_ERR_FILTER_CONFIG');
      assert.match(
        err.message,
        /switchyard\.yaml:7:9: module .*counter\.js gave a filter whose messages is "all", not 'raw' or 'decoded'/,
      );
      return true;
    });
  });

  it('see decoded messages (proto3 JSON) with descriptors from .proto files', async (t) => {
    const { dir, mod } = await counterModule(t);
    const b = await backend(t);
    const target = await proxyWith(t, dir, b.address, { messages: 'decoded', descriptors: true });
    const c = rawClient(t, target);
    const request = encode({ payload: Buffer.from('hi'), responseCount: 2, responseSize: 3 });
    const r = await rawCall(c, 'ServerStream', [request]);
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    const rec = await record(mod, 0);
    const payload = patternPayload(3).toString('base64');
    assert.deepEqual(
      rec.requests,
      expected([request], [{ payload: 'aGk=', responseCount: 2, responseSize: 3 }]),
    );
    assert.deepEqual(
      rec.responses,
      expected(r.responses, [
        { payload, backend: 'b1' },
        { payload, backend: 'b1', index: 1 },
      ]),
    );

    // A gzip-compressed message is passed as is: flagged, never decoded.
    const gz = rawClient(t, target, { 'grpc.default_compression_algorithm': 2 });
    const big = encode({ payload: Buffer.alloc(10_000) });
    const zipped = await rawCall(gz, 'Unary', [big]);
    assert.equal(zipped.status.code, grpc.status.OK, zipped.status.details);
    const zrec = await record(mod, 1);
    assert.equal(zrec.requests.length, 1);
    assert.equal(zrec.requests[0].compressed, true);
    assert.equal(zrec.requests[0].decoded, undefined);
    assert.ok(zrec.requests[0].size < big.length / 10, `${zrec.requests[0].size} bytes, gzipped`);
  });

  it('end a call refused at a request message mid-stream; other calls on the connection go on', async (t) => {
    const { dir, mod } = await counterModule(t);
    const b = await watchingBackend(t);
    const c = rawClient(t, await proxyWith(t, dir, b.address));

    // A bidi call open across the refusals, on the same channel (the same connection).
    const open = c.makeBidiStreamRequest('/test.Echo/Bidi', asIs, asIs, new grpc.Metadata(), {});
    const openReplies: Buffer[] = [];
    open.on('data', (d: Buffer) => openReplies.push(d));
    const openStatus = new Promise<grpc.StatusObject>((r) => open.on('status', r));
    open.write(encode({ payload: Buffer.from('before') }));
    await eventually(() => openReplies.length === 1, 5_000, 'the open call to answer');

    const refuseAt = (n: number) => {
      const md = new grpc.Metadata();
      md.set('x-refuse-at', String(n));
      return md;
    };
    const requests = [0, 1, 2, 3, 4].map((n) => encode({ payload: patternPayload(n * 10 + 1) }));
    // Refused before any answer: trailers-only.
    const up = await rawCall(c, 'ClientStream', requests, refuseAt(2));
    assert.equal(up.status.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(up.status.details, 'request message 2 refused');
    assert.deepEqual(up.status.metadata.get('x-refused-at'), ['2']);
    await eventually(() => b.cancelled.length === 1, 5_000, 'the backend to see the cancel');

    // Refused after the backend answered the first message: trailers after the data.
    const bidi = c.makeBidiStreamRequest('/test.Echo/Bidi', asIs, asIs, refuseAt(1), {});
    const replies: Buffer[] = [];
    bidi.on('data', (d: Buffer) => replies.push(d));
    bidi.on('error', () => undefined);
    const bidiStatus = new Promise<grpc.StatusObject>((r) => bidi.on('status', r));
    bidi.write(requests[0]);
    await eventually(() => replies.length === 1, 5_000, 'the first answer');
    bidi.write(requests[1]);
    const refusedStatus = await bidiStatus;
    assert.equal(refusedStatus.code, grpc.status.FAILED_PRECONDITION);
    assert.deepEqual(refusedStatus.metadata.get('x-refused-at'), ['1']);
    await eventually(() => b.cancelled.length === 2, 5_000, 'the backend to see both cancelled');
    assert.deepEqual(b.cancelled, ['ClientStream', 'Bidi']);

    const refused = mod.calls.filter((r) => r.code === 9);
    assert.equal(refused.length, 2);
    assert.deepEqual(refused.map((r) => r.requests.length).sort(), [2, 3]);
    const upRec = refused.find((r) => r.method === '/test.Echo/ClientStream')!;
    assert.deepEqual(upRec.requests, expected(requests.slice(0, 3)));

    open.write(encode({ payload: Buffer.from('after') }));
    await eventually(() => openReplies.length === 2, 5_000, 'the open call to answer again');
    open.end();
    assert.equal((await openStatus).code, grpc.status.OK);
    const unary = await rawCall(c, 'Unary', [encode({ payload: Buffer.from('x') })]);
    assert.equal(unary.status.code, grpc.status.OK);
  });

  it('run the same module as a grpc-js client and server interceptor', async (t) => {
    const { mod } = await counterModule(t);
    const env = { configDir: '.', source: 'test', now: () => performance.now(), share: 1 };
    const filter = await mod.default({ messages: 'decoded' }, env);
    const services = [Echo.service];
    const requests: EchoRequestInit[] = [1, 2, 3].map((n) => ({ payload: patternPayload(n) }));
    const serialized = requests.map((r) => Echo.service.ClientStream.requestSerialize(r));

    const clientStream = (
      client: grpc.Client,
      metadata = new grpc.Metadata(),
    ): Promise<{ status: grpc.StatusObject; response?: EchoResponse }> =>
      new Promise((resolve) => {
        let response: EchoResponse | undefined;
        const w = (client as ReturnType<typeof echoClient>).ClientStream(
          metadata,
          {},
          (_err, value) => (response = value ?? undefined),
        );
        for (const r of requests) w.write(r);
        w.end();
        w.on('status', (status) => resolve({ status, response }));
      });

    // In a client.
    const b = await backend(t);
    const watched = await watchingBackend(t);
    const c = echoClient(b.address, {
      channelOptions: { interceptors: [filterClientInterceptor(grpc, filter, { services })] },
    });
    t.after(() => c.close());
    const ok = await clientStream(c);
    assert.equal(ok.status.code, grpc.status.OK, ok.status.details);
    let rec = await record(mod, 0);
    assert.equal(rec.site, 'client');
    assert.deepEqual(
      rec.requests.map(({ decoded: _d, ...m }) => m),
      expected(serialized).map(({ decoded: _d, ...m }) => m),
    );
    assert.deepEqual(
      rec.requests.map((m) => m.decoded),
      requests,
    );
    assert.equal(rec.responses.length, 1);
    assert.equal((rec.responses[0].decoded as EchoResponse).receivedMessages, 3);
    assert.equal(
      rec.responses[0].size,
      Echo.service.ClientStream.responseSerialize(ok.response).length,
    );
    const md = new grpc.Metadata();
    md.set('x-refuse-at', '1');
    const wc = echoClient(watched.address, {
      channelOptions: { interceptors: [filterClientInterceptor(grpc, filter, { services })] },
    });
    t.after(() => wc.close());
    // Connected first, so the refused call's stream is open before its message 1 is refused
    // (this warm-up is the filter's call 1).
    await new Promise((resolve) => wc.Unary({}, new grpc.Metadata(), {}, resolve));
    const refused = await clientStream(wc, md);
    assert.equal(refused.status.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(refused.status.details, 'request message 1 refused');
    assert.deepEqual(refused.status.metadata.get('x-refused-at'), ['1']);
    rec = await record(mod, 2);
    assert.equal(rec.code, 9);
    assert.equal(rec.requests.length, 2);
    await eventually(() => watched.cancelled.length === 1, 5_000, 'the backend to see the cancel');

    // In a server.
    const sb = await backend(t, {
      interceptors: [filterServerInterceptor(grpc, filter, { services })],
    });
    const sc = echoClient(sb.address);
    t.after(() => sc.close());
    const served = await clientStream(sc);
    assert.equal(served.status.code, grpc.status.OK, served.status.details);
    rec = await record(mod, 3);
    assert.equal(rec.site, 'server');
    // The handler's objects, serialized again: proto-loader filled in the defaults, so these
    // are longer than the bytes on the wire.
    assert.deepEqual(
      rec.requests.map(({ decoded: _d, ...m }) => m),
      expected(rec.requests.map((m) => Echo.service.ClientStream.requestSerialize(m.decoded))).map(
        ({ decoded: _d, ...m }) => m,
      ),
    );
    assert.deepEqual(
      rec.requests.map((m) => (m.decoded as EchoResponse).payload),
      requests.map((r) => r.payload),
    );
    assert.equal((rec.responses[0].decoded as EchoResponse).receivedBytes, 6);
    const ws = await watchingBackend(t, {
      interceptors: [filterServerInterceptor(grpc, filter, { services })],
    });
    const wsc = echoClient(ws.address);
    t.after(() => wsc.close());
    const serverRefused = await clientStream(wsc, md);
    assert.equal(serverRefused.status.code, grpc.status.FAILED_PRECONDITION);
    assert.deepEqual(serverRefused.status.metadata.get('x-refused-at'), ['1']);
    rec = await record(mod, 4);
    assert.equal(rec.code, 9);
    assert.equal(rec.requests.length, 2);
    await eventually(() => ws.cancelled.length === 1, 5_000, 'the handler to see the cancel');
  });
});
