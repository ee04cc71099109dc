// The OpenAPI 3.1 document the gateway serves, fetched from the real proxy and checked by a
// real OpenAPI validator (@seriousme/openapi-schema-validator), then read for what it says
// about library.proto's routes: path templates, parameters, bodies, proto3 JSON schemas,
// errors and streams.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any --
   the document is read as the untyped JSON it is; the validator checks its shape. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { fetch } from 'undici';
import { DEFAULT_GATEWAY } from '../../config/defaults.js';
import { startLibraryGateway, type LibraryGateway } from '../support/library-gateway.js';

type Obj = Record<string, any>;

describe('OpenAPI document', () => {
  let gw: LibraryGateway;
  let doc: Obj;

  before(async () => {
    gw = await startLibraryGateway({
      gateway: { ...DEFAULT_GATEWAY, openapiPath: '/api/openapi.json' },
      pingRule: true,
    });
    const res = await fetch(`${gw.base}/api/openapi.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    doc = (await res.json()) as Obj;
  });

  after(() => gw.close());

  it('is valid OpenAPI 3.1 by a real validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
    assert.equal(validator.version, '3.1');
  });

  it('has an operation per route, with path variables as patterned parameters', () => {
    assert.deepEqual(Object.keys(doc.paths as Obj).sort(), [
      '/v1/books/{name}',
      '/v1/fail',
      '/v1/files/{path}',
      '/v1/metadata',
      '/v1/ping',
      '/v1/{book.name}',
      '/v1/{name}',
      '/v1/{name}/books:import',
      '/v1/{name}/title',
      '/v1/{name}:archive',
      '/v1/{parent}/books',
      '/v1/{parent}/books:stream',
    ]);
    const get = doc.paths['/v1/{name}'].get as Obj;
    assert.equal(get.operationId, 'library.v1.Library.GetBook');
    assert.equal(doc.paths['/v1/books/{name}'].get.operationId, 'library.v1.Library.GetBook_1');
    const name = (get.parameters as Obj[]).find((p) => p.in === 'path')!;
    assert.deepEqual(name, {
      name: 'name',
      in: 'path',
      required: true,
      schema: { type: 'string', pattern: '^shelves/[^/]+/books/[^/]+$' },
    });
    const files = (doc.paths['/v1/files/{path}'].get.parameters as Obj[])[0];
    assert.equal(files.schema.pattern, '^.+$');
  });

  it('lists the query parameters: nested by dots, repeated exploded, enums by name', () => {
    const params = doc.paths['/v1/{name}'].get.parameters as Obj[];
    const query = Object.fromEntries(
      params.filter((p) => p.in === 'query').map((p) => [p.name, p]),
    );
    assert.deepEqual(query['author.name'].schema, { type: 'string' });
    assert.deepEqual(query.tags.schema, { type: 'array', items: { type: 'string' } });
    assert.equal(query.tags.explode, true);
    assert.deepEqual(query.kind.schema.type, 'string');
    assert.ok((query.kind.schema.enum as string[]).includes('POETRY'));
    assert.equal(query.revision.schema.type, 'string', 'int64 as a string');
    assert.equal(query.name, undefined, 'bound by the path');
  });

  it('describes bodies and messages in the proto3 JSON mapping', () => {
    const create = doc.paths['/v1/{parent}/books'].post as Obj;
    assert.deepEqual(create.requestBody.content['application/json'].schema, {
      $ref: '#/components/schemas/library.v1.Book',
    });
    const query = (create.parameters as Obj[]).map((p) => p.name as string);
    assert.ok(!query.some((q) => q === 'book' || q.startsWith('book.')), query.join());
    const book = doc.components.schemas['library.v1.Book'] as Obj;
    assert.equal(book.properties.pages.type, 'string');
    assert.equal(book.properties.pages.format, 'int64');
    assert.deepEqual(book.properties.published, { type: 'string', format: 'date-time' });
    assert.deepEqual(book.properties.labels, {
      type: 'object',
      additionalProperties: { type: 'string' },
    });
    const archive = doc.paths['/v1/{name}:archive'].post as Obj;
    assert.deepEqual(
      (archive.parameters as Obj[]).map((p) => p.in),
      ['path'],
      'body "*": no query parameters',
    );
    const title = doc.paths['/v1/{name}/title'].get.responses['200'].content['application/json'];
    assert.deepEqual(title.schema, { $ref: '#/components/schemas/library.v1.Title' });
    const file = doc.components.schemas['library.v1.GetFileResponse'] as Obj;
    assert.equal(file.properties.data.contentEncoding, 'base64');
  });

  it('takes a client stream as newline-delimited JSON', () => {
    const body = doc.paths['/v1/{name}/books:import'].post.requestBody.content;
    assert.deepEqual(body, {
      'application/x-ndjson': { schema: { $ref: '#/components/schemas/library.v1.Book' } },
    });
  });

  it('gives errors as google.rpc.Status and streams as NDJSON or SSE', () => {
    const get = doc.paths['/v1/{name}'].get as Obj;
    assert.deepEqual(get.responses.default.content['application/json'].schema, {
      $ref: '#/components/schemas/google.rpc.Status',
    });
    assert.deepEqual(Object.keys(doc.components.schemas['google.rpc.Status'].properties as Obj), [
      'code',
      'message',
      'details',
    ]);
    const stream = doc.paths['/v1/{parent}/books:stream'].get.responses['200'].content as Obj;
    assert.deepEqual(Object.keys(stream), [
      'application/x-ndjson',
      'text/event-stream',
      'application/json',
    ]);
    assert.deepEqual(stream['application/x-ndjson'].schema.properties.result, {
      $ref: '#/components/schemas/library.v1.Book',
    });
    // Accept: application/json alone: one array of the same records.
    assert.equal(stream['application/json'].schema.type, 'array');
    assert.deepEqual(
      stream['application/json'].schema.items,
      stream['application/x-ndjson'].schema,
    );
  });
});
