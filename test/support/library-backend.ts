// The library.v1.Library backend for the REST/JSON gateway tests: a real grpc-js server built
// from test/fixtures/gateway/library.proto, answering in ways the tests can check (echoing
// the fields it received, failing with a requested status, streaming a requested count).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { bindServer } from '../../examples/grpc-server.js';
import { BUNDLED_PROTOS } from '../../gateway/bundled-protos.js';
import { loadProtos } from '../../gateway/descriptor-pool.js';

const here = dirname(fileURLToPath(import.meta.url));
const inDist = basename(dirname(dirname(here))) === 'dist';
const repoRoot = inDist ? dirname(dirname(dirname(here))) : dirname(dirname(here));

/** test/fixtures/gateway: the import path of library.proto. */
export const LIBRARY_DIR = join(repoRoot, 'test', 'fixtures', 'gateway');
export const LIBRARY_PROTO = join(LIBRARY_DIR, 'library.proto');

/** The bundled google/api and google/rpc files on disk, for grpc-js's proto-loader. */
function bundledDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swy-gateway-protos-'));
  for (const [name, text] of BUNDLED_PROTOS) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

type Obj = Record<string, unknown>;
type Unary = (call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => void;

export interface LibraryBackend {
  readonly address: string;
  /** Books ListBooks calls have handed to grpc-js so far (it writes while the stream takes them). */
  readonly booksWritten: number;
  /** ListBooks calls that ended cancelled (by the client, or by the proxy on its behalf). */
  readonly listsCancelled: number;
  close(): void;
}

export interface LibraryBackendOptions {
  /** Serve grpc.reflection v1 and v1alpha with @grpc/reflection, over these files too. */
  readonly reflection?: { readonly extraProtos?: readonly string[] };
}

export async function startLibraryBackend(
  options: LibraryBackendOptions = {},
): Promise<LibraryBackend> {
  const includeDirs = [LIBRARY_DIR, bundledDir()];
  const definition = protoLoader.loadSync(LIBRARY_PROTO, {
    includeDirs,
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    library: { v1: { Library: { service: grpc.ServiceDefinition } } };
  };
  // For grpc-status-details-bin: a google.rpc.Status with an Author detail, encoded here.
  const pool = loadProtos({ files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] });
  const statusType = pool.registry.getMessage('google.rpc.Status')!;
  const authorType = pool.registry.getMessage('library.v1.Author')!;

  const unary: Record<string, Unary> = {
    GetBook: (call, cb) => {
      const r = call.request;
      cb(null, {
        name: r.name,
        title: `title of ${String(r.name)}`,
        pages: r.revision === '0' ? '100' : r.revision,
        kind: r.kind,
        tags: r.tags,
        author: r.author,
        published: { seconds: '1700000000', nanos: 0 },
        labels: { with_notes: String(r.with_notes) },
      });
    },
    CreateBook: (call, cb) => {
      const r = call.request;
      const book = r.book as Obj;
      cb(null, { ...book, name: `${String(r.parent)}/books/${String(r.request_id) || 'new'}` });
    },
    UpdateBook: (call, cb) => cb(null, call.request.book as Obj),
    DeleteBook: (call, cb) => {
      if (String(call.request.name).endsWith('/missing')) {
        cb({ code: grpc.status.NOT_FOUND, details: `${String(call.request.name)} not found` });
      } else cb(null, {});
    },
    ArchiveBook: (call, cb) =>
      cb(null, { name: call.request.name, reason: call.request.reason, archived: 'yes' }),
    GetFile: (call, cb) =>
      cb(null, { path: call.request.path, data: Buffer.from(String(call.request.path)) }),
    GetTitle: (call, cb) =>
      cb(null, { title: { text: `T:${String(call.request.name)}` }, ignored: 'x' }),
    Fail: (call, cb) => {
      const r = call.request;
      const metadata = new grpc.Metadata();
      metadata.set('x-fail-trailer', 'yes');
      if (r.with_details === true) {
        const status = create(statusType, {
          code: r.code as number,
          message: r.message as string,
          details: [anyPack(authorType, create(authorType, { name: 'Ada', born: 1815 }))],
        });
        metadata.set('grpc-status-details-bin', Buffer.from(toBinary(statusType, status)));
      }
      cb({ code: r.code as number, details: r.message as string, metadata });
    },
    Metadata: (call, cb) => {
      const received: string[] = [];
      for (const [k, v] of Object.entries(call.metadata.getMap())) {
        if (k.startsWith('x-') || k === 'authorization' || k === 'user-agent') {
          received.push(`${k}=${String(v)}`);
        }
      }
      const headers = new grpc.Metadata();
      headers.set('x-resp-header', 'h1');
      call.sendMetadata(headers);
      const trailers = new grpc.Metadata();
      trailers.set('x-resp-trailer', 't1');
      cb(null, { received: received.sort() }, trailers);
    },
    Ping: (_call, cb) => cb(null, {}),
  };
  let booksWritten = 0;
  let listsCancelled = 0;
  const server = new grpc.Server();
  server.addService(pkg.library.v1.Library.service, {
    ...unary,
    ImportBooks: (call: grpc.ServerReadableStream<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => {
      const titles: string[] = [];
      call.on('data', (book: Obj) => titles.push(`${String(book.name)}:${String(book.title)}`));
      call.on('end', () => cb(null, { count: titles.length, titles }));
    },
    ListBooks: (call: grpc.ServerWritableStream<Obj, Obj>) => {
      const r = call.request;
      const count = r.count as number;
      let i = 0;
      let cancelled = false;
      call.on('cancelled', () => {
        cancelled = true;
        listsCancelled++;
      });
      // As a well-behaved server streams: while the stream takes more (HTTP/2 flow control
      // reaches back to here), so a reader that falls behind holds this writer back.
      const finish = () => {
        const trailers = new grpc.Metadata();
        trailers.set('x-stream-trailer', 'done');
        if ((r.fail_code as number) !== 0) {
          call.emit('error', {
            code: r.fail_code as number,
            details: `failed after ${count}`,
            metadata: trailers,
          });
        } else {
          call.end(trailers);
        }
      };
      const more = () => {
        while (i < count && !cancelled) {
          const taken = call.write({ name: `${String(r.parent)}/books/${i}`, title: `book ${i}` });
          i++;
          booksWritten++;
          if (!taken) {
            call.once('drain', more);
            return;
          }
        }
        if (!cancelled) finish();
      };
      more();
    },
  });
  if (options.reflection !== undefined) {
    const served = protoLoader.loadSync(
      [LIBRARY_PROTO, ...(options.reflection.extraProtos ?? [])],
      { includeDirs, keepCase: true },
    );
    new ReflectionService(served).addToServer(server);
  }
  const port = await bindServer(server, '127.0.0.1', 0);
  return {
    address: `127.0.0.1:${port}`,
    get booksWritten() {
      return booksWritten;
    },
    get listsCancelled() {
      return listsCancelled;
    },
    close: () => server.forceShutdown(),
  };
}
