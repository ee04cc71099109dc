// switchyard's own answer to grpc.reflection.v1 and v1alpha: every service of the descriptor
// set (the backends' reflection merged, and .proto files), each file as the bytes it came in,
// so a client sees the google.api.http options the backend compiled in. One client stream of
// requests, one response per request, served without reaching any backend.
import type { DownstreamHandler, DownstreamStream } from '../transport/downstream.js';
import { Status } from '../grpc/grpc-status.js';
import type { DescriptorPool } from './descriptor-pool.js';
import { frameMessage, MessageDeframer } from './grpc-frames.js';
import {
  decodeRequest,
  encodeResponse,
  REFLECTION_SERVICES,
  WireError,
  type ReflectionRequest,
  type ReflectionResponse,
} from './reflection-wire.js';

/** gRPC's NOT_FOUND, as the reference servers put it in error_response. */
const NOT_FOUND = Status.NOT_FOUND;

export class ReflectionServer {
  private pool: DescriptorPool | undefined;
  private services: string[] = [];

  /** The descriptors to answer with from now on; streams already open see them too. */
  swap(pool: DescriptorPool | undefined): void {
    this.pool = pool;
    const names = new Set<string>(REFLECTION_SERVICES);
    for (const file of pool?.registry.files ?? []) {
      for (const s of file.services) names.add(s.typeName);
    }
    this.services = [...names].sort();
  }

  /** A reflection call the proxy recognised by its path: answered here. */
  serve(stream: DownstreamStream): void {
    new ReflectionStream(this, stream).start();
  }

  answer(request: ReflectionRequest): ReflectionResponse {
    const pool = this.pool;
    switch (request.kind) {
      case 'listServices':
        return { kind: 'services', services: this.services };
      case 'fileByFilename':
        if (pool?.files.has(request.name) === true) {
          return { kind: 'files', files: withDeps(pool, request.name) };
        }
        return notFound(`file "${request.name}" not found`);
      case 'fileContainingSymbol': {
        const file = pool === undefined ? undefined : fileOfSymbol(pool, request.symbol);
        if (pool !== undefined && file !== undefined) {
          return { kind: 'files', files: withDeps(pool, file) };
        }
        return notFound(`symbol "${request.symbol}" not found`);
      }
      case 'fileContainingExtension': {
        const type = pool?.registry.getMessage(request.type);
        const ext =
          type === undefined ? undefined : pool?.registry.getExtensionFor(type, request.number);
        if (pool !== undefined && ext !== undefined) {
          return { kind: 'files', files: withDeps(pool, ext.file.proto.name) };
        }
        return notFound(`extension ${request.number} of "${request.type}" not found`);
      }
      case 'allExtensionNumbersOfType': {
        const numbers: number[] = [];
        if (pool?.registry.getMessage(request.type) === undefined) {
          return notFound(`type "${request.type}" not found`);
        }
        for (const file of pool.registry.files) {
          for (const e of file.extensions) {
            if (e.extendee.typeName === request.type) numbers.push(e.number);
          }
        }
        return {
          kind: 'extensionNumbers',
          type: request.type,
          numbers: numbers.sort((a, b) => a - b),
        };
      }
      case 'other':
        return { kind: 'error', code: Status.UNIMPLEMENTED, message: 'request kind not supported' };
    }
  }
}

function notFound(message: string): ReflectionResponse {
  return { kind: 'error', code: NOT_FOUND, message };
}

/** The file declaring `symbol` (a type, service, method, enum value or extension). */
function fileOfSymbol(pool: DescriptorPool, symbol: string): string | undefined {
  const desc = pool.registry.get(symbol);
  if (desc !== undefined) return desc.file.proto.name;
  // `pkg.Service.Method` and `pkg.Message.field` name a member of something registered.
  const dot = symbol.lastIndexOf('.');
  if (dot < 0) return undefined;
  const parent = pool.registry.get(symbol.slice(0, dot));
  if (parent === undefined) return undefined;
  const member = symbol.slice(dot + 1);
  if (parent.kind === 'service' && parent.methods.some((m) => m.name === member)) {
    return parent.file.proto.name;
  }
  if (parent.kind === 'message' && parent.fields.some((f) => f.name === member)) {
    return parent.file.proto.name;
  }
  return undefined;
}

/** The file and everything it imports, transitively, the file first (as grpc-go sends them). */
function withDeps(pool: DescriptorPool, name: string): Uint8Array[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const file = fileByProtoName(pool, n);
    if (pool.files.has(n)) out.push(n);
    for (const d of file?.proto.dependency ?? []) visit(d);
  };
  visit(name);
  return out.map((n) => pool.files.get(n)!);
}

function fileByProtoName(pool: DescriptorPool, name: string) {
  for (const f of pool.registry.files) if (f.proto.name === name) return f;
  return undefined;
}

class ReflectionStream implements DownstreamHandler {
  private readonly deframer = new MessageDeframer();
  private responded = false;
  private done = false;

  constructor(
    private readonly server: ReflectionServer,
    private readonly stream: DownstreamStream,
  ) {}

  start(): void {
    this.stream.attach(this);
    this.stream.resume();
  }

  onRequestData(stream: DownstreamStream, chunk: Buffer): void {
    if (this.done) return;
    let failed: string | null = null;
    const problem = this.deframer.push(chunk, (m) => {
      if (failed !== null || this.done) return;
      let response: ReflectionResponse;
      try {
        response = this.server.answer(decodeRequest(m));
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        failed = `a reflection request does not decode: ${err.message}`;
        return;
      }
      if (!this.responded) {
        this.responded = true;
        stream.respond([':status', '200', 'content-type', 'application/grpc'], false);
      }
      if (!stream.write(frameMessage(encodeResponse(response, m)))) stream.pause();
    });
    const why = failed ?? (problem === null ? null : problem.replace('upstream', 'client'));
    if (why !== null) this.finish(Status.INVALID_ARGUMENT, why);
  }

  onRequestEnd(): void {
    this.finish(Status.OK, '');
  }

  onResponseDrain(stream: DownstreamStream): void {
    if (!this.done) stream.resume();
  }

  onStreamClose(): void {
    this.done = true;
  }

  private finish(code: number, message: string): void {
    if (this.done || this.stream.closed) return;
    this.done = true;
    const trailers = ['grpc-status', String(code)];
    if (message !== '') trailers.push('grpc-message', encodeURIComponent(message));
    if (!this.responded) {
      this.stream.respond(
        [':status', '200', 'content-type', 'application/grpc', ...trailers],
        true,
      );
    } else {
      this.stream.end(trailers);
    }
  }
}
