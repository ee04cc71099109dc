// grpc.reflection.v1 (and v1alpha, the same messages in another package) on the wire: the few
// fields of ServerReflectionRequest and ServerReflectionResponse that switchyard reads and
// writes, encoded by hand. Six fields do not need a registry, and the descriptor bytes inside
// stay exactly as the backend sent them.

export const REFLECTION_V1_PATH = '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo';
export const REFLECTION_V1ALPHA_PATH =
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo';
/** What both paths start with: the one compare the listener makes on a gRPC call's path. */
export const REFLECTION_PATH_PREFIX = '/grpc.reflection.v1';
export const REFLECTION_SERVICES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/** A ServerReflectionRequest: one of its message_request cases (others read as `other`). */
export type ReflectionRequest =
  | { readonly kind: 'listServices' }
  | { readonly kind: 'fileByFilename'; readonly name: string }
  | { readonly kind: 'fileContainingSymbol'; readonly symbol: string }
  | { readonly kind: 'fileContainingExtension'; readonly type: string; readonly number: number }
  | { readonly kind: 'allExtensionNumbersOfType'; readonly type: string }
  | { readonly kind: 'other' };

export type ReflectionResponse =
  | { readonly kind: 'files'; readonly files: readonly Uint8Array[] }
  | { readonly kind: 'services'; readonly services: readonly string[] }
  | { readonly kind: 'extensionNumbers'; readonly type: string; readonly numbers: number[] }
  | { readonly kind: 'error'; readonly code: number; readonly message: string };

const REQUEST_FIELD = {
  fileByFilename: 3,
  fileContainingSymbol: 4,
  fileContainingExtension: 5,
  allExtensionNumbersOfType: 6,
  listServices: 7,
} as const;

export function encodeRequest(request: ReflectionRequest): Uint8Array {
  const w = new Writer();
  switch (request.kind) {
    case 'listServices':
      w.string(REQUEST_FIELD.listServices, '*');
      break;
    case 'fileByFilename':
      w.string(REQUEST_FIELD.fileByFilename, request.name);
      break;
    case 'fileContainingSymbol':
      w.string(REQUEST_FIELD.fileContainingSymbol, request.symbol);
      break;
    case 'fileContainingExtension': {
      const inner = new Writer();
      inner.string(1, request.type);
      inner.varintField(2, request.number);
      w.bytes(REQUEST_FIELD.fileContainingExtension, inner.finish());
      break;
    }
    case 'allExtensionNumbersOfType':
      w.string(REQUEST_FIELD.allExtensionNumbersOfType, request.type);
      break;
    case 'other':
      break;
  }
  return w.finish();
}

export function decodeRequest(bytes: Uint8Array): ReflectionRequest {
  let request: ReflectionRequest = { kind: 'other' };
  for (const f of fields(bytes)) {
    if (f.wire !== 2) continue;
    const text = () => new TextDecoder().decode(f.bytes);
    switch (f.number) {
      case REQUEST_FIELD.fileByFilename:
        request = { kind: 'fileByFilename', name: text() };
        break;
      case REQUEST_FIELD.fileContainingSymbol:
        request = { kind: 'fileContainingSymbol', symbol: text() };
        break;
      case REQUEST_FIELD.fileContainingExtension: {
        let type = '';
        let number = 0;
        for (const g of fields(f.bytes)) {
          if (g.number === 1 && g.wire === 2) type = new TextDecoder().decode(g.bytes);
          if (g.number === 2 && g.wire === 0) number = g.value;
        }
        request = { kind: 'fileContainingExtension', type, number };
        break;
      }
      case REQUEST_FIELD.allExtensionNumbersOfType:
        request = { kind: 'allExtensionNumbersOfType', type: text() };
        break;
      case REQUEST_FIELD.listServices:
        request = { kind: 'listServices' };
        break;
    }
  }
  return request;
}

/** A response; `original` is the request's own bytes, echoed as `original_request`. */
export function encodeResponse(response: ReflectionResponse, original: Uint8Array): Uint8Array {
  const w = new Writer();
  w.bytes(2, original);
  const inner = new Writer();
  switch (response.kind) {
    case 'files':
      for (const f of response.files) inner.bytes(1, f);
      w.bytes(4, inner.finish());
      break;
    case 'extensionNumbers':
      inner.string(1, response.type);
      for (const n of response.numbers) inner.varintField(2, n);
      w.bytes(5, inner.finish());
      break;
    case 'services':
      for (const name of response.services) {
        const svc = new Writer();
        svc.string(1, name);
        inner.bytes(1, svc.finish());
      }
      w.bytes(6, inner.finish());
      break;
    case 'error':
      inner.varintField(1, response.code);
      inner.string(2, response.message);
      w.bytes(7, inner.finish());
      break;
  }
  return w.finish();
}

/** The answer in a response, or undefined for a case switchyard does not read. */
export function decodeResponse(bytes: Uint8Array): ReflectionResponse | undefined {
  for (const f of fields(bytes)) {
    if (f.wire !== 2) continue;
    if (f.number === 4) {
      const files: Uint8Array[] = [];
      for (const g of fields(f.bytes)) if (g.number === 1 && g.wire === 2) files.push(g.bytes);
      return { kind: 'files', files };
    }
    if (f.number === 6) {
      const services: string[] = [];
      for (const g of fields(f.bytes)) {
        if (g.number !== 1 || g.wire !== 2) continue;
        for (const h of fields(g.bytes)) {
          if (h.number === 1 && h.wire === 2) services.push(new TextDecoder().decode(h.bytes));
        }
      }
      return { kind: 'services', services };
    }
    if (f.number === 7) {
      let code = 0;
      let message = '';
      for (const g of fields(f.bytes)) {
        if (g.number === 1 && g.wire === 0) code = g.value;
        if (g.number === 2 && g.wire === 2) message = new TextDecoder().decode(g.bytes);
      }
      return { kind: 'error', code, message };
    }
  }
  return undefined;
}

/** The bad input a reader refuses: the backend (or a client) sent broken protobuf. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

interface Field {
  readonly number: number;
  readonly wire: number;
  /** Varint value (wire type 0), as a number: the fields read here are small. */
  readonly value: number;
  /** Length-delimited contents (wire type 2), a view into the input. */
  readonly bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new WireError('truncated varint');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  };
  while (pos < buf.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      yield { number, wire, value: varint(), bytes: EMPTY };
    } else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new WireError('length past the end of the message');
      const bytes = buf.subarray(pos, pos + len);
      pos += len;
      yield { number, wire, value: 0, bytes };
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new WireError(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new WireError('field past the end of the message');
  }
}

class Writer {
  private readonly parts: number[] = [];
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private flush(): void {
    if (this.parts.length === 0) return;
    this.chunks.push(Uint8Array.from(this.parts));
    this.size += this.parts.length;
    this.parts.length = 0;
  }

  private varint(v: number): void {
    // Negative int32 values take ten bytes, as protobuf writes them.
    let n = v < 0 ? BigInt.asUintN(64, BigInt(v)) : BigInt(v);
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      this.parts.push(b);
    } while (n > 0n);
  }

  varintField(number: number, v: number): void {
    this.varint(number * 8);
    this.varint(v);
  }

  bytes(number: number, b: Uint8Array): void {
    this.varint(number * 8 + 2);
    this.varint(b.length);
    this.flush();
    this.chunks.push(b);
    this.size += b.length;
  }

  string(number: number, s: string): void {
    this.bytes(number, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
