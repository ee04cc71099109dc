// Filters on gateway calls, end to end: a route behind jwt, a headers filter and a rate limit,
// reached over REST/JSON (undici) and gRPC-Web (undici, binary frames) through the real proxy
// to a real grpc-js backend. A refusal is the mapped HTTP status with a google.rpc.Status body
// (401, 429 with retry-after, 504 for a filter still waiting at the deadline) over REST and a
// gRPC-Web status over gRPC-Web; headers the filters set reach the backend, and their
// response hooks run on the way back; a client certificate's identity reaches filters on
// REST calls over TLS, HTTP/1.1 and HTTP/2 alike.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import http2 from 'node:http2';
import { Agent, fetch } from 'undici';
import type { ListenerGatewayConfig } from '../../config/types.js';
import { DEFAULT_CORS } from '../../config/defaults.js';
import { loadConfig } from '../../config/load-config.js';
import { loadProtos } from '../../gateway/descriptor-pool.js';
import { configValidators } from '../../proxy/config-validators.js';
import { Switchyard } from '../../proxy/switchyard.js';
import { createTestCerts, mutualTls } from '../support/certs.js';
import { startTestProxy } from '../support/proxy-harness.js';
import {
  LIBRARY_DIR,
  LIBRARY_PROTO,
  startLibraryBackend,
  type LibraryBackend,
} from '../support/library-backend.js';

const ISSUER = 'https://issuer.test';

const pool = loadProtos({ files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] });
const Empty = pool.registry.getMessage('google.protobuf.Empty')!;
const MetadataResponse = pool.registry.getMessage('library.v1.MetadataResponse')!;

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A gRPC-Web body: its messages, and the trailers frame's fields. */
function parseWeb(body: Buffer): { messages: Buffer[]; trailers: Record<string, string> } {
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  for (let at = 0; at < body.length;) {
    const length = body.readUInt32BE(at + 1);
    const payload = body.subarray(at + 5, at + 5 + length);
    if (body[at] === 0x80) {
      for (const line of payload.toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
    } else messages.push(payload);
    at += 5 + length;
  }
  return { messages, trailers };
}

/**
 * Starts the proxy from `yaml`, written to `dir`/switchyard.yaml so that the module and file
 * paths in it are read from `dir`; returns it and its base URL.
 */
async function startFromYaml(
  dir: string,
  yaml: string,
): Promise<{ proxy: Switchyard; base: string }> {
  const file = join(dir, 'switchyard.yaml');
  await writeFile(file, yaml);
  const config = await loadConfig(file, { validators: configValidators, env: {} });
  const proxy = await Switchyard.start(config);
  return { proxy, base: `http://127.0.0.1:${Object.values(proxy.addresses())[0].port}` };
}

describe('filters on REST/JSON and gRPC-Web calls', () => {
  let dir: string;
  let backend: LibraryBackend;
  let proxy: Switchyard;
  let base: string;
  let sign: (sub: string) => Promise<string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-gateway-filters-'));
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    sign = (sub) =>
      new SignJWT({ sub })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience('library')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
    // Waits as long as the x-wait header says, on a real timer (a key fetch, say).
    await writeFile(
      join(dir, 'wait.mjs'),
      `export default () => ({
  name: 'wait',
  onRequestHeaders(ctx, md) {
    const ms = Number(md.get('x-wait') ?? 0);
    if (ms > 0) return new Promise((resolve) => setTimeout(resolve, ms));
  },
});`,
    );
    backend = await startLibraryBackend();
    // Three calls per user, then a token every 1,000 s: the fourth is refused with a pushback
    // of about 1,000 s, whatever the machine's speed.
    ({ proxy, base } = await startFromYaml(
      dir,
      `listeners:
  - address: 127.0.0.1:0
    gateway: { rest: true, grpcWeb: true }
    filters:
      - headers: { request: { set: { x-via-listener: "\${peer.address}" } } }
      - module: ./wait.mjs
descriptors:
  protos: { files: ["${LIBRARY_PROTO}"], importPaths: ["${LIBRARY_DIR}"] }
routes:
  - match: { service: library.v1.Library }
    cluster: library
    filters:
      - jwt: { issuer: "${ISSUER}", audiences: [library], jwks: { file: ./jwks.json } }
      - headers:
          request: { set: { x-user: "\${claims.sub}" } }
          response: { set: { x-served-by: switchyard } }
      - rateLimit: { requestsPerSecond: 0.001, burst: 3, key: jwt.sub }
clusters:
  library: { target: "static:///${backend.address}" }
`,
    ));
  });

  after(async () => {
    await proxy.close(0);
    backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function rest(token: string | undefined) {
    const res = await fetch(`${base}/v1/metadata`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return { res, json: (await res.json()) as Record<string, unknown> };
  }

  async function web(token: string | undefined) {
    const res = await fetch(`${base}/library.v1.Library/Metadata`, {
      method: 'POST',
      body: frame(toBinary(Empty, create(Empty))),
      headers: {
        'content-type': 'application/grpc-web+proto',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
    });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  }

  it('REST: 401 without a token; with one, filter headers reach the backend; 429 past the limit', async () => {
    const none = await rest(undefined);
    assert.equal(none.res.status, 401);
    assert.equal(none.res.headers.get('www-authenticate'), 'Bearer');
    assert.equal(none.json.code, 16);
    assert.match(String(none.json.message), /token/i);
    const bad = await rest('not.a.token');
    assert.equal(bad.res.status, 401);

    const token = await sign('alice');
    for (let i = 0; i < 3; i++) {
      const ok = await rest(token);
      assert.equal(ok.res.status, 200, JSON.stringify(ok.json));
      const received = ok.json.received as string[];
      // The route's headers filter, from the claims jwt verified, and the listener's.
      assert.ok(received.includes('x-user=alice'), received.join(' '));
      assert.ok(
        received.some((r) => /^x-via-listener=127\.0\.0\.1:\d+$/.test(r)),
        received.join(' '),
      );
      // jwt does not forward the token.
      assert.ok(!received.some((r) => r.startsWith('authorization=')), received.join(' '));
      // The response hook ran on the way back.
      assert.equal(ok.res.headers.get('grpc-metadata-x-served-by'), 'switchyard');
    }
    const limited = await rest(token);
    assert.equal(limited.res.status, 429);
    assert.equal(limited.json.code, 8);
    const retryAfter = Number(limited.res.headers.get('retry-after'));
    assert.ok(retryAfter >= 900 && retryAfter <= 1000, `retry-after ${retryAfter}`);
  });

  it('REST: a filter still waiting at the deadline is 504 DEADLINE_EXCEEDED', async () => {
    const token = await sign('carol');
    const res = await fetch(`${base}/v1/metadata`, {
      headers: { authorization: `Bearer ${token}`, 'grpc-timeout': '100m', 'x-wait': '400' },
    });
    const json = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 504);
    assert.equal(json.code, 4);
    assert.match(String(json.message), /deadline of 100 ms exceeded while filters ran/);
    // Well within its deadline, the same wait lets the call through.
    const ok = await fetch(`${base}/v1/metadata`, {
      headers: { authorization: `Bearer ${token}`, 'grpc-timeout': '5S', 'x-wait': '50' },
    });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
  });

  it('gRPC-Web: UNAUTHENTICATED without a token; OK with one; RESOURCE_EXHAUSTED past the limit', async () => {
    const none = await web(undefined);
    assert.equal(none.res.status, 200);
    assert.equal(none.res.headers.get('grpc-status'), '16');
    assert.equal(none.body.length, 0);

    const token = await sign('bob');
    for (let i = 0; i < 3; i++) {
      const ok = await web(token);
      assert.equal(ok.res.status, 200);
      const { messages, trailers } = parseWeb(ok.body);
      assert.equal(trailers['grpc-status'], '0', trailers['grpc-message']);
      const m = fromBinary(MetadataResponse, messages[0]) as unknown as { received: string[] };
      assert.ok(m.received.includes('x-user=bob'), m.received.join(' '));
      assert.equal(ok.res.headers.get('x-served-by'), 'switchyard');
    }
    const limited = await web(token);
    assert.equal(limited.res.headers.get('grpc-status'), '8');
    const pushback = Number(limited.res.headers.get('grpc-retry-pushback-ms'));
    assert.ok(pushback > 900_000, `pushback ${pushback}`);
  });
});

describe('the client certificate in filters on gateway calls', () => {
  it('a headers filter writes the mutual-TLS peer into REST calls over HTTP/1.1 and HTTP/2', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const backend = await startLibraryBackend();
    t.after(() => backend.close());
    const gateway: ListenerGatewayConfig = {
      rest: true,
      grpcWeb: true,
      openapiPath: '',
      cors: DEFAULT_CORS,
      forwardHeaders: ['x-*'],
      maxBodyBytes: 4096,
      emitDefaults: false,
      useProtoNames: false,
    };
    const proxy = await startTestProxy({
      upstream: backend.address,
      listener: {
        tls: mutualTls(certs),
        gateway,
      },
      routes: [
        {
          name: 'library',
          match: { service: 'library.v1.Library', headers: [] },
          cluster: 'default',
          filters: [
            {
              kind: 'headers',
              source: 'test',
              request: {
                add: {},
                set: { 'x-client-cn': '${peer.cn}' },
                remove: [],
                rename: {},
              },
              response: { add: {}, set: {}, remove: [], rename: {} },
            },
          ],
        },
      ],
      config: {
        descriptors: {
          protos: { files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] },
          httpRules: [],
        },
      },
    });
    t.after(() => proxy.close());
    const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };

    const agent = new Agent({ connect: { ...tls, servername: 'localhost' } });
    t.after(() => agent.close());
    const res = await fetch(`https://127.0.0.1:${proxy.port}/v1/metadata`, { dispatcher: agent });
    const json = (await res.json()) as { received: string[] };
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.deepEqual(json.received, ['x-client-cn=switchyard-test-client']);

    const session = http2.connect(`https://127.0.0.1:${proxy.port}`, {
      ...tls,
      servername: 'localhost',
    });
    t.after(() => session.close());
    const stream = session.request({ ':method': 'GET', ':path': '/v1/metadata' });
    stream.end();
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const h2json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { received: string[] };
    assert.deepEqual(h2json.received, ['x-client-cn=switchyard-test-client']);
  });
});

describe('message hooks on REST/JSON calls', () => {
  let dir: string;
  let backend: LibraryBackend;
  let proxy: Switchyard;
  let base: string;
  type Seen = { way: string; index: number; bytes: number; decoded: unknown };
  const seen = (): Seen[] =>
    ((globalThis as Record<string, unknown>).__swyGatewayMessages as Seen[] | undefined) ?? [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-gateway-messages-'));
    // Records what it sees (the module runs in this process), and refuses a book named
    // "forbidden" by its decoded request.
    await writeFile(
      join(dir, 'messages.mjs'),
      `const seen = (globalThis.__swyGatewayMessages ??= []);
export default () => ({
  name: 'messages',
  messages: 'decoded',
  onRequestMessage(ctx, m) {
    seen.push({ way: 'request', index: m.index, bytes: m.bytes.length, decoded: m.decoded });
    if (String(m.decoded?.name ?? '').endsWith('/forbidden')) {
      return { code: 3, message: 'no such book may be read' };
    }
  },
  onResponseMessage(ctx, m) {
    seen.push({ way: 'response', index: m.index, bytes: m.bytes.length, decoded: m.decoded });
  },
});`,
    );
    backend = await startLibraryBackend();
    ({ proxy, base } = await startFromYaml(
      dir,
      `listeners:
  - address: 127.0.0.1:0
    gateway: { rest: true, grpcWeb: true }
descriptors:
  protos: { files: ["${LIBRARY_PROTO}"], importPaths: ["${LIBRARY_DIR}"] }
routes:
  - match: { service: library.v1.Library }
    cluster: library
    filters:
      - module: ./messages.mjs
clusters:
  library: { target: "static:///${backend.address}" }
`,
    ));
  });

  after(async () => {
    await proxy.close(0);
    backend.close();
    await rm(dir, { recursive: true, force: true });
    delete (globalThis as Record<string, unknown>).__swyGatewayMessages;
  });

  it('shows the transcoded request and the response to the hooks, decoded', async () => {
    const before = seen().length;
    const res = await fetch(`${base}/v1/shelves/1/books/7`);
    assert.equal(res.status, 200);
    const book = (await res.json()) as Record<string, unknown>;
    assert.equal(book.name, 'shelves/1/books/7');
    const got = seen().slice(before);
    assert.deepEqual(
      got.map((m) => [m.way, m.index]),
      [
        ['request', 0],
        ['response', 0],
      ],
    );
    assert.equal((got[0].decoded as Record<string, unknown>).name, 'shelves/1/books/7');
    assert.equal((got[1].decoded as Record<string, unknown>).title, 'title of shelves/1/books/7');
    assert.ok(got[0].bytes > 0 && got[1].bytes > got[0].bytes);
  });

  it('a request message a hook refuses never goes upstream: 400 with its message', async () => {
    const before = seen().length;
    const res = await fetch(`${base}/v1/shelves/1/books/forbidden`);
    assert.equal(res.status, 400);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.code, 3);
    assert.equal(body.message, 'no such book may be read');
    // The hook saw the request and nothing came back: the backend never answered it.
    assert.deepEqual(
      seen()
        .slice(before)
        .map((m) => m.way),
      ['request'],
    );
  });

  it('over gRPC-Web too: the framed request and the response frames, and a refusal', async () => {
    const GetBookRequest = pool.registry.getMessage('library.v1.GetBookRequest')!;
    const Book = pool.registry.getMessage('library.v1.Book')!;
    const call = (name: string) =>
      fetch(`${base}/library.v1.Library/GetBook`, {
        method: 'POST',
        body: frame(toBinary(GetBookRequest, create(GetBookRequest, { name }))),
        headers: { 'content-type': 'application/grpc-web+proto' },
      }).then(async (res) => ({
        status: res.headers.get('grpc-status'),
        ...parseWeb(Buffer.from(await res.arrayBuffer())),
      }));
    const before = seen().length;
    const ok = await call('shelves/2/books/9');
    assert.equal(ok.trailers['grpc-status'], '0');
    const book = fromBinary(Book, ok.messages[0]) as unknown as { name: string };
    assert.equal(book.name, 'shelves/2/books/9');
    // Refused before anything was sent: a trailers-only answer, the status in the headers.
    const refused = await call('shelves/2/books/forbidden');
    assert.equal(refused.status, '3');
    assert.equal(refused.messages.length, 0);
    assert.deepEqual(
      seen()
        .slice(before)
        .map((m) => [m.way, (m.decoded as { name?: string } | undefined)?.name]),
      [
        ['request', 'shelves/2/books/9'],
        ['response', 'shelves/2/books/9'],
        ['request', 'shelves/2/books/forbidden'],
      ],
    );
  });
});
