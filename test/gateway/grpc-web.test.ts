// gRPC-Web and CORS end to end: raw gRPC-Web requests (binary and base64 text) over HTTP/1.1
// (undici's fetch) and HTTP/2 (node:http2) through the real proxy to a real grpc-js backend;
// messages encoded and decoded from library.proto by @bufbuild/protobuf, frames read by hand.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { create, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { fetch } from 'undici';
import type { ListenerGatewayConfig } from '../../config/types.js';
import { DEFAULT_CORS } from '../../config/defaults.js';
import { loadProtos } from '../../gateway/descriptor-pool.js';
import { decodeChunkedBase64 } from '../../gateway/grpc-web.js';
import { startLibraryGateway, type LibraryGateway } from '../support/library-gateway.js';
import { LIBRARY_DIR, LIBRARY_PROTO } from '../support/library-backend.js';

const GATEWAY: ListenerGatewayConfig = {
  grpcWeb: true,
  openapiPath: '/openapi.json',
  cors: {
    ...DEFAULT_CORS,
    allowOrigins: ['https://app.example.com', 'http://*.test.example'],
    allowCredentials: true,
  },
  rest: true,
  forwardHeaders: ['authorization', 'x-*'],
  maxBodyBytes: 4096,
  emitDefaults: false,
  useProtoNames: false,
};

const pool = loadProtos({ files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] });
function type(name: string): DescMessage {
  return pool.registry.getMessage(name)!;
}
const GetBookRequest = type('library.v1.GetBookRequest');
const Book = type('library.v1.Book');
const ListBooksRequest = type('library.v1.ListBooksRequest');
const FailRequest = type('library.v1.FailRequest');
const Empty = type('google.protobuf.Empty');
const MetadataResponse = type('library.v1.MetadataResponse');

function frame(message: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flag;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

interface Parsed {
  messages: Buffer[];
  trailers: Record<string, string> | undefined;
}

/** Splits a gRPC-Web body into messages and the trailers frame (which must be last). */
function parseBody(body: Buffer): Parsed {
  const messages: Buffer[] = [];
  let trailers: Record<string, string> | undefined;
  let at = 0;
  while (at < body.length) {
    assert.equal(trailers, undefined, 'nothing may follow the trailers frame');
    const flag = body[at];
    const length = body.readUInt32BE(at + 1);
    const payload = body.subarray(at + 5, at + 5 + length);
    assert.equal(payload.length, length, 'a whole frame');
    if (flag === 0x80) {
      trailers = {};
      for (const line of payload.toString('latin1').split('\r\n')) {
        if (line === '') continue;
        const colon = line.indexOf(':');
        trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
    } else {
      assert.equal(flag, 0);
      messages.push(payload);
    }
    at += 5 + length;
  }
  return { messages, trailers };
}

describe('gRPC-Web', () => {
  let gw: LibraryGateway;
  let base: string;

  before(async () => {
    gw = await startLibraryGateway({ gateway: GATEWAY });
    base = gw.base;
  });

  after(() => gw.close());

  async function post(path: string, body: Buffer | string, headers: Record<string, string>) {
    const res = await fetch(base + path, { method: 'POST', body, headers });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  }

  /** An HTTP/2 request on a fresh h2c connection; the whole response. */
  async function h2(path: string, body: Buffer | string, headers: Record<string, string>) {
    const session = http2.connect(base);
    try {
      const stream = session.request({ ':method': 'POST', ':path': path, ...headers });
      stream.end(body);
      const [head, chunks] = await Promise.all([
        new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve)),
        (async () => {
          const out: Buffer[] = [];
          for await (const c of stream) out.push(c as Buffer);
          return Buffer.concat(out);
        })(),
      ]);
      return { head, body: chunks };
    } finally {
      session.close();
    }
  }

  it('answers a unary call in binary over HTTP/1.1, with the trailers frame last', async () => {
    const request = create(GetBookRequest, { name: 'shelves/1/books/2', revision: 7n });
    const { res, body } = await post(
      '/library.v1.Library/GetBook',
      frame(toBinary(GetBookRequest, request)),
      { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/grpc-web+proto');
    const { messages, trailers } = parseBody(body);
    assert.equal(messages.length, 1);
    const book = fromBinary(Book, messages[0]) as unknown as { name: string; pages: bigint };
    assert.equal(book.name, 'shelves/1/books/2');
    assert.equal(book.pages, 7n);
    assert.equal(trailers?.['grpc-status'], '0');
  });

  it('streams from the server in text mode over HTTP/2, each piece its own base64', async () => {
    const request = create(ListBooksRequest, { parent: 'shelves/9', count: 3 });
    const { head, body } = await h2(
      '/library.v1.Library/ListBooks',
      frame(toBinary(ListBooksRequest, request)).toString('base64'),
      { 'content-type': 'application/grpc-web-text', accept: 'application/grpc-web-text' },
    );
    assert.equal(head[':status'], 200);
    assert.equal(head['content-type'], 'application/grpc-web-text+proto');
    const decoded = decodeChunkedBase64(body.toString('latin1'));
    assert.ok(decoded !== null, 'the answer is base64');
    const { messages, trailers } = parseBody(decoded);
    assert.deepEqual(
      messages.map((m) => (fromBinary(Book, m) as unknown as { name: string }).name),
      ['shelves/9/books/0', 'shelves/9/books/1', 'shelves/9/books/2'],
    );
    assert.equal(trailers?.['grpc-status'], '0');
    assert.equal(trailers?.['x-stream-trailer'], 'done');
  });

  it('delivers a long stream whole to a client that stops reading for a while', async () => {
    // About 600 KB: ten times HTTP/2's default 64 KiB window, so the proxy must pause the upstream.
    const count = 20_000;
    const request = create(ListBooksRequest, { parent: 'p', count });
    const session = http2.connect(base);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/library.v1.Library/ListBooks',
        'content-type': 'application/grpc-web+proto',
      });
      stream.end(frame(toBinary(ListBooksRequest, request)));
      const chunks: Buffer[] = [];
      let paused = false;
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        if (!paused) {
          paused = true;
          stream.pause();
          setTimeout(() => stream.resume(), 300);
        }
      });
      await new Promise((resolve) => stream.on('end', resolve));
      const { messages, trailers } = parseBody(Buffer.concat(chunks));
      assert.equal(messages.length, count);
      assert.equal(
        (fromBinary(Book, messages[count - 1]) as unknown as { name: string }).name,
        `p/books/${count - 1}`,
      );
      assert.equal(trailers?.['grpc-status'], '0');
    } finally {
      session.close();
    }
  });

  it('puts an error that comes before any message in the headers (trailers-only)', async () => {
    const request = create(FailRequest, { code: 5, message: 'no such book: ünïcode' });
    const { res, body } = await post(
      '/library.v1.Library/Fail',
      frame(toBinary(FailRequest, request)),
      { 'content-type': 'application/grpc-web' },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('grpc-status'), '5');
    assert.equal(decodeURIComponent(res.headers.get('grpc-message')!), 'no such book: ünïcode');
    assert.equal(res.headers.get('x-fail-trailer'), 'yes');
    assert.equal(body.length, 0);
  });

  it('carries an error after messages in the trailers frame, over HTTP/2 binary', async () => {
    const request = create(ListBooksRequest, { parent: 's', count: 2, failCode: 14 });
    const { head, body } = await h2(
      '/library.v1.Library/ListBooks',
      frame(toBinary(ListBooksRequest, request)),
      { 'content-type': 'application/grpc-web+proto' },
    );
    assert.equal(head[':status'], 200);
    const { messages, trailers } = parseBody(body);
    assert.equal(messages.length, 2);
    assert.equal(trailers?.['grpc-status'], '14');
    assert.equal(decodeURIComponent(trailers?.['grpc-message'] ?? ''), 'failed after 2');
    assert.equal(trailers?.['x-stream-trailer'], 'done');
  });

  it('passes request headers on as metadata and response metadata back as headers', async () => {
    const { res, body } = await post(
      '/library.v1.Library/Metadata',
      frame(toBinary(Empty, create(Empty))),
      {
        'content-type': 'application/grpc-web+proto',
        authorization: 'Bearer abc',
        'x-tenant': 'blue',
        'x-grpc-web': '1',
      },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-resp-header'), 'h1');
    const { messages, trailers } = parseBody(body);
    const got = fromBinary(MetadataResponse, messages[0]) as unknown as { received: string[] };
    assert.ok(got.received.includes('authorization=Bearer abc'), got.received.join());
    assert.ok(got.received.includes('x-tenant=blue'), got.received.join());
    assert.ok(!got.received.some((r) => r.startsWith('x-grpc-web')), 'protocol header dropped');
    assert.equal(trailers?.['x-resp-trailer'], 't1');
  });

  it('decodes a text body sent as several padded base64 pieces', async () => {
    const message = frame(toBinary(GetBookRequest, create(GetBookRequest, { name: 'ab' })));
    // Split so that the first piece ends in padding: base64 decoders that stop at "=" fail.
    const text = message.subarray(0, 4).toString('base64') + message.subarray(4).toString('base64');
    assert.ok(text.indexOf('=') < text.length - 2, 'padding mid-body');
    const { res, body } = await post('/library.v1.Library/GetBook', text, {
      'content-type': 'application/grpc-web-text',
    });
    assert.equal(res.status, 200);
    const decoded = decodeChunkedBase64(body.toString('latin1'))!;
    const { messages, trailers } = parseBody(decoded);
    assert.equal((fromBinary(Book, messages[0]) as unknown as { name: string }).name, 'ab');
    assert.equal(trailers?.['grpc-status'], '0');
  });

  it('refuses bad base64, a cut frame, an unknown method, +json and a body over the limit', async () => {
    const bad = await post('/library.v1.Library/GetBook', 'AAA*', {
      'content-type': 'application/grpc-web-text',
    });
    assert.equal(bad.res.status, 400);
    assert.equal(bad.res.headers.get('grpc-status'), '3');
    const cut = await post('/library.v1.Library/GetBook', Buffer.from([0, 0, 0, 0, 9, 1]), {
      'content-type': 'application/grpc-web',
    });
    assert.equal(cut.res.status, 400);
    assert.equal(cut.res.headers.get('grpc-status'), '13');
    const unknown = await post('/library.v1.Library/Nope', frame(new Uint8Array()), {
      'content-type': 'application/grpc-web',
    });
    assert.equal(unknown.res.status, 200);
    assert.equal(unknown.res.headers.get('grpc-status'), '12');
    const json = await post('/library.v1.Library/GetBook', '{}', {
      'content-type': 'application/grpc-web+json',
    });
    assert.equal(json.res.status, 415);
    assert.equal(json.res.headers.get('grpc-status'), '12');
    const huge = await post('/library.v1.Library/GetBook', frame(new Uint8Array(5000)), {
      'content-type': 'application/grpc-web',
    });
    assert.equal(huge.res.status, 413);
    assert.equal(huge.res.headers.get('grpc-status'), '8');
  });

  it('answers a CORS preflight from an allowed origin and refuses another', async () => {
    const res = await fetch(`${base}/library.v1.Library/GetBook`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://shop.test.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers':
          'content-type, x-grpc-web, x-tenant, grpc-timeout, cookie',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://shop.test.example');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(res.headers.get('access-control-max-age'), '7200');
    assert.match(res.headers.get('access-control-allow-methods')!, /POST/);
    // cookie is not on the list: the browser will see it missing and refuse.
    assert.equal(
      res.headers.get('access-control-allow-headers'),
      'content-type, x-grpc-web, x-tenant, grpc-timeout',
    );
    const other = await fetch(`${base}/library.v1.Library/GetBook`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('exposes grpc-status, grpc-message and the metadata headers on answers and errors', async () => {
    const origin = { origin: 'https://app.example.com' };
    const failed = await post(
      '/library.v1.Library/Fail',
      frame(toBinary(FailRequest, create(FailRequest, { code: 7, message: 'no' }))),
      { 'content-type': 'application/grpc-web', ...origin },
    );
    assert.equal(failed.res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    const exposed = failed.res.headers.get('access-control-expose-headers')!.split(', ');
    for (const name of [
      'grpc-status',
      'grpc-message',
      'grpc-status-details-bin',
      'x-fail-trailer',
    ]) {
      assert.ok(exposed.includes(name), `${name} in ${exposed.join()}`);
    }
    // The gateway's own replies carry CORS too: 404, 405 and 413 on REST, 400 on gRPC-Web.
    const notFound = await fetch(`${base}/v1/nothing-here`, { headers: origin });
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers.get('access-control-allow-origin'), 'https://app.example.com');
    const wrongMethod = await fetch(`${base}/v1/shelves/s/books/b`, {
      method: 'PUT',
      headers: origin,
      body: '{}',
    });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.ok(wrongMethod.headers.get('access-control-expose-headers')!.includes('allow'));
    const tooLarge = await fetch(`${base}/v1/shelves/s/books`, {
      method: 'POST',
      headers: origin,
      body: JSON.stringify({ title: 'x'.repeat(5000) }),
    });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.headers.get('access-control-allow-origin'), 'https://app.example.com');
    const badText = await post('/library.v1.Library/GetBook', '!!!!', {
      'content-type': 'application/grpc-web-text',
      ...origin,
    });
    assert.equal(badText.res.status, 400);
    assert.equal(badText.res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    // No Origin, or one not allowed: no CORS headers at all.
    const plain = await fetch(`${base}/v1/nothing-here`, {
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
  });
});
