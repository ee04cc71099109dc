// Descriptors from .proto text with no protoc: what loads, and how a file that does not parse
// or resolve is reported (file and line).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import { loadProtos, ProtoLoadError } from '../../gateway/descriptor-pool.js';
import { LIBRARY_DIR, LIBRARY_PROTO } from '../support/library-backend.js';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swy-protos-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('descriptor pool', () => {
  it('loads a multi-file API with the bundled google/api files and well-known types', () => {
    const pool = loadProtos({ files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] });
    assert.ok(pool.methods.has('library.v1.Library.GetBook'));
    assert.ok(pool.registry.getMessage('google.rpc.Status'));
    const book = pool.registry.getMessage('library.v1.Book')!;
    // Maps, proto3 optional, nested messages from another file, Timestamp, int64 as a string.
    const msg = create(book, {
      name: 'n',
      pages: 7n,
      labels: { a: 'b' },
      subtitle: '',
      author: { name: 'Ada' },
    });
    const back = fromBinary(book, toBinary(book, msg));
    assert.deepEqual(toJson(book, back), {
      name: 'n',
      pages: '7',
      labels: { a: 'b' },
      subtitle: '',
      author: { name: 'Ada' },
    });
  });

  it('names file and line of a syntax error', () => {
    const dir = dirWith({
      'bad.proto': 'syntax = "proto3";\n\nmessage A {\n  strin g x = 1;\n}\n',
    });
    assert.throws(
      () => loadProtos({ files: [join(dir, 'bad.proto')], importPaths: [dir] }),
      (err: unknown) =>
        err instanceof ProtoLoadError &&
        err.code === 'SWY_ERR_PROTO_LOAD' &&
        err.line === 4 &&
        err.message.startsWith(`${join(dir, 'bad.proto')}:4: `),
    );
  });

  it('names the importing file when an import is missing', () => {
    const dir = dirWith({ 'a.proto': 'syntax = "proto3";\nimport "nowhere/b.proto";\n' });
    assert.throws(
      () => loadProtos({ files: [join(dir, 'a.proto')], importPaths: [dir] }),
      /a\.proto: import "nowhere\/b\.proto" not found in the import paths/,
    );
  });

  it('names an unknown field type', () => {
    const dir = dirWith({ 'c.proto': 'syntax = "proto3";\nmessage C { Missing m = 1; }\n' });
    assert.throws(
      () => loadProtos({ files: [join(dir, 'c.proto')], importPaths: [dir] }),
      /c\.proto: field "m" in C: unknown type "Missing"/,
    );
  });
});
