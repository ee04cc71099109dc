// Fetches a backend's descriptors with server reflection: list_services, then the file holding
// each service (file_containing_symbol), then any dependency still missing (file_by_filename).
// v1 first; on UNIMPLEMENTED, v1alpha. The files are kept as the bytes the backend sent, so
// options such as google.api.http survive, and their hash names the schema version.
import { createHash } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { SwitchyardError } from '../common/errors.js';
import { Status } from '../grpc/grpc-status.js';
import { WKT_FILE_NAMES } from './descriptor-pool.js';
import {
  decodeResponse,
  encodeRequest,
  REFLECTION_SERVICES,
  REFLECTION_V1_PATH,
  REFLECTION_V1ALPHA_PATH,
  type ReflectionRequest,
  type ReflectionResponse,
} from './reflection-wire.js';

/** A backend's reflection could not be read: names the endpoint and what it answered. */
export class ReflectionError extends SwitchyardError {
  override readonly name = 'ReflectionError';
  constructor(
    readonly endpoint: string,
    /** The gRPC status the backend answered with; UNAVAILABLE when it could not be reached. */
    readonly status: number,
    detail: string,
  ) {
    super('SWY_ERR_REFLECTION', `reflection from ${endpoint}: ${detail}`);
  }
}

export interface ReflectionReply {
  readonly code: number;
  readonly message: string;
  readonly messages: readonly Uint8Array[];
}

/**
 * One gRPC call to one endpoint: sends `request` as the only message, half-closes, and
 * resolves with every response message and the final status (never rejects).
 */
export type ReflectionCall = (path: string, request: Uint8Array) => Promise<ReflectionReply>;

/** What one endpoint serves. */
export interface ReflectedSchema {
  /** Services the endpoint lists (reflection itself left out), sorted. */
  readonly services: readonly string[];
  /** Serialized FileDescriptorProtos by file name, as received; dependencies first. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** sha256 over the sorted file names and bytes: equal hashes, equal schemas. */
  readonly hash: string;
  readonly api: 'v1' | 'v1alpha';
}

/** Stops a backend that keeps sending new dependencies: a schema has far fewer files. */
const MAX_FILES = 2000;

export async function fetchSchema(
  endpoint: string,
  call: ReflectionCall,
): Promise<ReflectedSchema> {
  let api: 'v1' | 'v1alpha' = 'v1';
  let path = REFLECTION_V1_PATH;
  let listed = await ask(endpoint, call, path, { kind: 'listServices' });
  if (listed.kind === 'unimplemented') {
    api = 'v1alpha';
    path = REFLECTION_V1ALPHA_PATH;
    listed = await ask(endpoint, call, path, { kind: 'listServices' });
    if (listed.kind === 'unimplemented') {
      throw new ReflectionError(
        endpoint,
        Status.UNIMPLEMENTED,
        `the backend does not serve grpc.reflection.v1 or v1alpha (UNIMPLEMENTED: ${listed.message}); give the services with --proto or descriptors.protos`,
      );
    }
  }
  const answer = listed.response;
  if (answer.kind !== 'services') {
    throw new ReflectionError(
      endpoint,
      Status.INTERNAL,
      `list_services answered ${describe(answer)}`,
    );
  }
  const services = answer.services.filter((s) => !REFLECTION_SERVICES.includes(s)).sort();
  const files = new Map<string, { bytes: Uint8Array; deps: readonly string[] }>();
  const take = (received: readonly Uint8Array[]): void => {
    for (const bytes of received) {
      let proto;
      try {
        proto = fromBinary(FileDescriptorProtoSchema, bytes);
      } catch (err) {
        throw new ReflectionError(
          endpoint,
          Status.INTERNAL,
          `a file descriptor does not decode: ${(err as Error).message}`,
        );
      }
      if (!files.has(proto.name)) files.set(proto.name, { bytes, deps: proto.dependency });
      if (files.size > MAX_FILES) {
        throw new ReflectionError(endpoint, Status.INTERNAL, `more than ${MAX_FILES} files`);
      }
    }
  };
  for (const symbol of services) {
    const r = await ask(endpoint, call, path, { kind: 'fileContainingSymbol', symbol });
    take(filesOf(endpoint, r, `file_containing_symbol ${symbol}`));
  }
  // Dependencies a server left out (it may skip files it sent before on the same stream, and
  // each request here is a stream of its own, but some servers skip them anyway).
  for (let missing = missingDeps(files); missing.length > 0; missing = missingDeps(files)) {
    for (const name of missing) {
      const r = await ask(endpoint, call, path, { kind: 'fileByFilename', name });
      const got = filesOf(endpoint, r, `file_by_filename ${name}`);
      take(got);
      if (!files.has(name)) {
        throw new ReflectionError(
          endpoint,
          Status.INTERNAL,
          `file_by_filename ${name} did not return that file`,
        );
      }
    }
  }
  const ordered = new Map<string, Uint8Array>();
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    const f = files.get(name);
    if (f === undefined || ordered.has(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const d of f.deps) visit(d);
    ordered.set(name, f.bytes);
  };
  for (const name of [...files.keys()].sort()) visit(name);
  return { services, files: ordered, hash: schemaHash(ordered), api };
}

export function schemaHash(files: ReadonlyMap<string, Uint8Array>): string {
  const h = createHash('sha256');
  for (const name of [...files.keys()].sort()) {
    h.update(name);
    h.update('\0');
    h.update(files.get(name)!);
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function missingDeps(files: ReadonlyMap<string, { deps: readonly string[] }>): string[] {
  const missing = new Set<string>();
  for (const f of files.values()) {
    for (const d of f.deps) if (!files.has(d) && !WKT_FILE_NAMES.has(d)) missing.add(d);
  }
  return [...missing];
}

type Asked =
  | { readonly kind: 'unimplemented'; readonly message: string }
  | { readonly kind: 'answer'; readonly response: ReflectionResponse };

async function ask(
  endpoint: string,
  call: ReflectionCall,
  path: string,
  request: ReflectionRequest,
): Promise<Asked> {
  const reply = await call(path, encodeRequest(request));
  if (reply.code === Status.UNIMPLEMENTED) return { kind: 'unimplemented', message: reply.message };
  if (reply.code !== Status.OK) {
    throw new ReflectionError(
      endpoint,
      reply.code,
      `${path} failed with status ${reply.code}: ${reply.message}`,
    );
  }
  if (reply.messages.length === 0) {
    throw new ReflectionError(endpoint, Status.INTERNAL, `${path} answered no message`);
  }
  let response: ReflectionResponse | undefined;
  try {
    response = decodeResponse(reply.messages[0]);
  } catch (err) {
    throw new ReflectionError(
      endpoint,
      Status.INTERNAL,
      `${path}: a response does not decode: ${(err as Error).message}`,
    );
  }
  if (response === undefined) {
    throw new ReflectionError(endpoint, Status.INTERNAL, `${path} answered an empty response`);
  }
  return { kind: 'answer', response };
}

function filesOf(endpoint: string, r: Asked, what: string): readonly Uint8Array[] {
  if (r.kind === 'unimplemented') {
    throw new ReflectionError(endpoint, Status.UNIMPLEMENTED, `${what}: UNIMPLEMENTED`);
  }
  if (r.response.kind !== 'files') {
    throw new ReflectionError(
      endpoint,
      Status.INTERNAL,
      `${what} answered ${describe(r.response)}`,
    );
  }
  return r.response.files;
}

function describe(r: ReflectionResponse): string {
  return r.kind === 'error' ? `error ${r.code}: ${r.message}` : `a ${r.kind} response`;
}
