// The REST/JSON gateway end to end: undici's fetch (HTTP/1.1) and a node:http2 client against
// the real proxy, which transcodes to a real grpc-js backend built from library.proto.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { fetch, request } from 'undici';
import type { ListenerGatewayConfig } from '../../config/types.js';
import { startLibraryGateway, type LibraryGateway } from '../support/library-gateway.js';
import type { LibraryBackend } from '../support/library-backend.js';

const GATEWAY: ListenerGatewayConfig = {
  grpcWeb: true,
  openapiPath: '/openapi.json',
  rest: true,
  forwardHeaders: ['authorization', 'x-*'],
  maxBodyBytes: 1024,
  emitDefaults: false,
  useProtoNames: false,
};

type Json = Record<string, unknown>;

describe('REST/JSON gateway', () => {
  let gw: LibraryGateway;
  let backend: LibraryBackend;
  let base: string;

  before(async () => {
    gw = await startLibraryGateway({ gateway: GATEWAY, pingRule: true });
    ({ backend, base } = gw);
  });

  after(() => gw.close());

  async function get(path: string, init?: Parameters<typeof fetch>[1]) {
    const res = await fetch(base + path, init);
    const text = await res.text();
    let json: Json = {};
    if (res.headers.get('content-type') === 'application/json') json = JSON.parse(text) as Json;
    return { res, text, json };
  }

  it('serves a GET with path variables and query parameters (nested, repeated, enums)', async () => {
    const { res, json } = await get(
      '/v1/shelves/s1/books/b%201?kind=POETRY&author.name=Ada&author.born=1815&tags=a&tags=b&revision=42&withNotes=true',
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(json, {
      name: 'shelves/s1/books/b 1',
      title: 'title of shelves/s1/books/b 1',
      pages: '42',
      kind: 'POETRY',
      tags: ['a', 'b'],
      published: '2023-11-14T22:13:20Z',
      author: { name: 'Ada', born: 1815 },
      labels: { with_notes: 'true' },
    });
  });

  it('takes enums by number and serves additional_bindings', async () => {
    const { res, json } = await get('/v1/books/x?kind=1');
    assert.equal(res.status, 200);
    assert.equal(json.name, 'x');
    assert.equal(json.kind, 'NOVEL');
  });

  it('POSTs a body field, with the path variable bound beside it', async () => {
    const { res, json } = await get('/v1/shelves/s1/books?requestId=r9', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Dune', pages: '412', kind: 'NOVEL', tags: ['sf'] }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(json, {
      name: 'shelves/s1/books/r9',
      title: 'Dune',
      pages: '412',
      kind: 'NOVEL',
      tags: ['sf'],
    });
  });

  it('PATCHes with a nested path variable ({book.name}) merged into the body field', async () => {
    const { res, json } = await get('/v1/shelves/s1/books/b2', {
      method: 'PATCH',
      body: JSON.stringify({ title: 'New' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(json, { name: 'shelves/s1/books/b2', title: 'New' });
  });

  it('POSTs body "*" to a custom verb route', async () => {
    const { res, json } = await get('/v1/shelves/s1/books/b3:archive', {
      method: 'POST',
      body: JSON.stringify({ reason: 'old' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(json, { name: 'shelves/s1/books/b3', reason: 'old', archived: 'yes' });
  });

  it('binds ** to several segments, keeping %2F encoded, and writes bytes as base64', async () => {
    const { res, json } = await get('/v1/files/a/b%2Fc/d.txt');
    assert.equal(res.status, 200);
    assert.equal(json.path, 'a/b%2Fc/d.txt');
    assert.equal(json.data, Buffer.from('a/b%2Fc/d.txt').toString('base64'));
  });

  it('answers with the response_body field alone', async () => {
    const { res, json } = await get('/v1/shelves/s1/books/b4/title');
    assert.equal(res.status, 200);
    assert.deepEqual(json, { text: 'T:shelves/s1/books/b4' });
  });

  it('serves a rule given in YAML for a method without an annotation', async () => {
    const { res, json } = await get('/v1/ping');
    assert.equal(res.status, 200);
    assert.deepEqual(json, {});
  });

  it('maps a gRPC status to its HTTP status with a google.rpc.Status body', async () => {
    const { res, json } = await get('/v1/shelves/s1/books/missing', { method: 'DELETE' });
    assert.equal(res.status, 404);
    assert.deepEqual(json, { code: 5, message: 'shelves/s1/books/missing not found', details: [] });
    for (const [code, http] of [
      [3, 400],
      [7, 403],
      [8, 429],
      [14, 503],
      [16, 401],
      [12, 501],
    ] as const) {
      const r = await get('/v1/fail', {
        method: 'POST',
        body: JSON.stringify({ code, message: 'm' }),
      });
      assert.equal(r.res.status, http, `code ${code}`);
      assert.equal(r.json.code, code);
      assert.equal(r.res.headers.get('grpc-metadata-x-fail-trailer'), 'yes');
    }
  });

  it('decodes grpc-status-details-bin into typed details', async () => {
    const { res, json } = await get('/v1/fail', {
      method: 'POST',
      body: JSON.stringify({ code: 9, message: 'precondition', withDetails: true }),
    });
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.deepEqual(json, {
      code: 9,
      message: 'precondition',
      details: [{ '@type': 'type.googleapis.com/library.v1.Author', name: 'Ada', born: 1815 }],
    });
  });

  it('refuses an unknown body field with 400 naming it', async () => {
    const { res, json } = await get('/v1/shelves/s1/books', {
      method: 'POST',
      body: JSON.stringify({ title: 'x', colour: 'red' }),
    });
    assert.equal(res.status, 400);
    assert.equal(json.code, 3);
    assert.match(String(json.message), /colour/);
  });

  it('refuses an unknown query parameter with 400 naming it', async () => {
    const { res, json } = await get('/v1/shelves/s1/books/b1?colour=red');
    assert.equal(res.status, 400);
    assert.match(String(json.message), /unknown query parameter "colour"/);
  });

  it('refuses malformed JSON with 400 and the parse position', async () => {
    const { res, json } = await get('/v1/shelves/s1/books', {
      method: 'POST',
      body: '{"title": "x",}',
    });
    assert.equal(res.status, 400);
    assert.match(String(json.message), /not valid JSON.*position 14/);
  });

  it('refuses a wrong type with 400', async () => {
    const { res, json } = await get('/v1/shelves/s1/books', {
      method: 'POST',
      body: JSON.stringify({ pages: 'many' }),
    });
    assert.equal(res.status, 400);
    assert.match(String(json.message), /pages/);
  });

  it('refuses a body over the limit with 413', async () => {
    const { res } = await get('/v1/shelves/s1/books', {
      method: 'POST',
      body: JSON.stringify({ title: 'x'.repeat(2000) }),
    });
    assert.equal(res.status, 413);
  });

  it('answers 404 for no route and 405 with Allow for a known path', async () => {
    const missing = await get('/v2/nothing');
    assert.equal(missing.res.status, 404);
    assert.equal(missing.json.code, 5);
    const wrong = await get('/v1/shelves/s1/books/b1', { method: 'PUT', body: '{}' });
    assert.equal(wrong.res.status, 405);
    assert.equal(wrong.res.headers.get('allow'), 'DELETE, GET, PATCH');
  });

  it('forwards allow-listed headers as metadata and returns headers and trailers', async () => {
    const { res, json } = await get('/v1/metadata', {
      headers: { authorization: 'Bearer t', 'x-tenant': 'acme', cookie: 'no' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(json.received, ['authorization=Bearer t', 'x-tenant=acme']);
    assert.equal(res.headers.get('grpc-metadata-x-resp-header'), 'h1');
    assert.equal(res.headers.get('grpc-metadata-x-resp-trailer'), 't1');
  });

  it('streams a server stream as NDJSON with the status as the last record', async () => {
    const { res, text } = await get('/v1/shelves/s1/books:stream?count=3');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const records = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.equal(records.length, 4);
    assert.deepEqual(records[0], { result: { name: 'shelves/s1/books/0', title: 'book 0' } });
    assert.deepEqual(records[3], {
      status: { code: 0, message: 'OK', details: [], metadata: { 'x-stream-trailer': 'done' } },
    });
  });

  it('ends a stream that fails mid-way with the error status in-band', async () => {
    const { res, text } = await get('/v1/shelves/s1/books:stream?count=2&failCode=10');
    assert.equal(res.status, 200);
    const records = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.equal(records.length, 3);
    assert.deepEqual((records[2].status as Json).code, 10);
    assert.equal((records[2].status as Json).message, 'failed after 2');
  });

  it('answers a stream that fails before its first message with the mapped HTTP status', async () => {
    const { res, json } = await get('/v1/shelves/s1/books:stream?count=0&failCode=5');
    assert.equal(res.status, 404);
    assert.equal(json.code, 5);
  });

  it('streams as Server-Sent Events when the client accepts them', async () => {
    const { res, text } = await get('/v1/shelves/s1/books:stream?count=1', {
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.match(text, /^event: result\ndata: \{"name":"shelves\/s1\/books\/0"/);
    assert.match(text, /event: status\ndata: \{"code":0/);
  });

  it('streams one JSON array when the client accepts application/json alone', async () => {
    const { res, text } = await get('/v1/shelves/s1/books:stream?count=2&failCode=10', {
      headers: { accept: 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const records = JSON.parse(text) as Json[];
    assert.equal(records.length, 3);
    assert.deepEqual(records[1], { result: { name: 'shelves/s1/books/1', title: 'book 1' } });
    assert.equal((records[2].status as Json).code, 10);
    // A wildcard beside it keeps the default, newline-delimited records.
    const mixed = await get('/v1/shelves/s1/books:stream?count=1', {
      headers: { accept: 'application/json, */*' },
    });
    assert.equal(mixed.res.headers.get('content-type'), 'application/x-ndjson');
  });

  it("holds a stream's upstream back while its client does not read, then delivers it whole", async () => {
    // Books of about 1 KB (each echoes the shelf's name): 20 MB in all, against the upstream
    // stream's 1 MiB window and the socket buffers between the proxy and this client.
    const shelf = 'x'.repeat(1_000);
    const count = 20_000;
    const before = backend.booksWritten;
    const { statusCode, body } = await request(
      `${base}/v1/shelves/${shelf}/books:stream?count=${count}`,
    );
    assert.equal(statusCode, 200);
    try {
      // undici reads no more of the socket than the unread body holds: the client is stalled.
      // Wait until the backend's writer stalls too (the same count twice, 200 ms apart).
      let written = -1;
      for (let i = 0; i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const now = backend.booksWritten - before;
        if (now === written) break;
        written = now;
      }
      assert.ok(
        written > 0 && written < count / 4,
        `the backend wrote ${written} of ${count} books to a client that read none`,
      );
    } catch (err) {
      // A failed check must not leave the call open (the proxy's close would wait for it).
      body.destroy();
      throw err;
    }
    const records = (await body.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.equal(records.length, count + 1);
    assert.equal((records[count - 1].result as Json).name, `shelves/${shelf}/books/${count - 1}`);
    assert.equal((records[count].status as Json).code, 0);
  });

  it('serves HTTP/2 requests that are not gRPC on the same port, and gRPC still passes', async () => {
    const session = http2.connect(base);
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/v1/books/h2', ':method': 'GET' });
        let body = '';
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.setEncoding('utf8');
        req.on('data', (c: string) => (body += c));
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
        req.end();
      });
      assert.equal(answer.status, 200);
      assert.equal((JSON.parse(answer.body) as Json).name, 'h2');
      // A gRPC call on the same connection takes the data path (an empty Ping request).
      const grpcStatus = await new Promise<string | undefined>((resolve, reject) => {
        const req = session.request({
          ':path': '/library.v1.Library/Ping',
          ':method': 'POST',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        let status: string | undefined;
        req.on('trailers', (t: http2.IncomingHttpHeaders) => (status = String(t['grpc-status'])));
        req.on('response', (h) => {
          if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        });
        req.resume();
        req.on('end', () => resolve(status));
        req.on('error', reject);
        req.end(Buffer.from([0, 0, 0, 0, 0]));
      });
      assert.equal(grpcStatus, '0');
    } finally {
      session.close();
    }
  });

  it('takes a client stream from a newline-delimited JSON body', async () => {
    const res = await fetch(`${base}/v1/shelves/s1/books:import`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"title":"A"}\n\n{"title":"B"}\n{"title":"C"}',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      count: 3,
      titles: ['shelves/s1:A', 'shelves/s1:B', 'shelves/s1:C'],
    });
    const bad = await fetch(`${base}/v1/shelves/s1/books:import`, {
      method: 'POST',
      body: '{"title":"A"}\n{"title":"B",}\n',
    });
    assert.equal(bad.status, 400);
    const error = (await bad.json()) as Json;
    assert.match(String(error.message), /^line 2: /);
  });
});
