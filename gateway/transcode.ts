// REST ↔ protobuf for one matched route: the request message from path variables, the query
// string and the JSON body; the response message to JSON. The proto3 JSON mapping itself is
// @bufbuild/protobuf's (fromJson/toJson); this file only decides which JSON goes where, and
// is strict: an unknown field in the body or the query string is an error naming it.
import {
  create,
  fromBinary,
  mergeFromJson,
  toBinary,
  toJson,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Registry,
} from '@bufbuild/protobuf';
import type { GatewayRoute } from './http-rules.js';

/** A request the gateway refuses before calling upstream: HTTP status and what was wrong. */
export class RequestError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

export interface JsonOptions {
  /** Write fields that hold their default value (proto3 JSON leaves them out). */
  readonly emitDefaults: boolean;
  /** Write proto field names (`page_size`) instead of lowerCamelCase JSON names. */
  readonly useProtoNames: boolean;
}

export const DEFAULT_JSON_OPTIONS: JsonOptions = { emitDefaults: false, useProtoNames: false };

/** Message types whose JSON form is a string or a number, so a query value can set them. */
const STRING_FORM_MESSAGES = new Set([
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.FieldMask',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
  'google.protobuf.Int32Value',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.FloatValue',
  'google.protobuf.DoubleValue',
  'google.protobuf.BoolValue',
]);

/**
 * Builds the request message's bytes. `values` are the path variables' decoded values in the
 * template's order; `body` the raw request body (undefined or empty for none).
 */
export function buildRequest(
  route: GatewayRoute,
  values: readonly string[],
  query: URLSearchParams,
  body: Buffer | undefined,
  registry: Registry,
): Uint8Array {
  const input = route.method.input;
  const msg = create(input);
  const readOptions = { registry, ignoreUnknownFields: false };
  if (route.body !== '' && body !== undefined && body.length > 0) {
    const json = parseJson(body);
    try {
      if (route.body === '*') {
        mergeFromJson(input, msg, json, readOptions);
      } else {
        mergeFromJson(input, msg, { [route.bodyField!.jsonName]: json }, readOptions);
      }
    } catch (err) {
      throw new RequestError(400, `request body: ${jsonErrorText(err)}`);
    }
  } else if (route.body === '' && body !== undefined && body.length > 0) {
    throw new RequestError(400, `${route.httpMethod} ${route.template.text} takes no request body`);
  }
  const fromUrl: JsonObject = {};
  const bound = new Set<string>();
  route.pathFields.forEach((fields, i) => {
    const key = fields.map((f) => f.name).join('.');
    bound.add(key);
    setPath(fromUrl, fields, scalarJson(fields.at(-1)!, values[i], key), false);
  });
  for (const key of new Set(query.keys())) {
    if (route.body === '*') {
      throw new RequestError(
        400,
        `unknown query parameter "${key}": ${route.httpMethod} ${route.template.text} takes every field from the body`,
      );
    }
    const fields = queryFields(input, key);
    const names = fields.map((f) => f.name).join('.');
    if (bound.has(names)) {
      throw new RequestError(400, `query parameter "${key}" is already bound by the path`);
    }
    if (route.bodyField !== undefined && fields[0] === route.bodyField) {
      throw new RequestError(400, `query parameter "${key}" is part of the body ("${route.body}")`);
    }
    const leaf = fields.at(-1)!;
    const all = query.getAll(key);
    if (leaf.fieldKind === 'list') {
      setPath(
        fromUrl,
        fields,
        all.map((v) => scalarJson(leaf, v, key)),
        true,
      );
    } else {
      if (all.length > 1) {
        throw new RequestError(
          400,
          `query parameter "${key}" is not repeated but was given ${all.length} times`,
        );
      }
      setPath(fromUrl, fields, scalarJson(leaf, all[0], key), false);
    }
  }
  if (Object.keys(fromUrl).length > 0) {
    try {
      mergeFromJson(input, msg, fromUrl, readOptions);
    } catch (err) {
      throw new RequestError(400, `path or query: ${jsonErrorText(err)}`);
    }
  }
  return toBinary(input, msg);
}

/**
 * A client stream's messages from a newline-delimited JSON body, each framed for gRPC; blank
 * lines are skipped, and an error names its line.
 */
export function buildStreamRequest(
  route: GatewayRoute,
  values: readonly string[],
  query: URLSearchParams,
  body: Buffer,
  registry: Registry,
): Buffer {
  const frames: Buffer[] = [];
  const lines = body.toString('utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let message: Uint8Array;
    try {
      message = buildRequest(route, values, query, Buffer.from(line), registry);
    } catch (err) {
      if (err instanceof RequestError) {
        throw new RequestError(err.httpStatus, `line ${i + 1}: ${err.message}`);
      }
      throw err;
    }
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(message.length, 1);
    frames.push(prefix, Buffer.from(message.buffer, message.byteOffset, message.byteLength));
  }
  return Buffer.concat(frames);
}

function parseJson(body: Buffer): JsonValue {
  try {
    return JSON.parse(body.toString('utf8')) as JsonValue;
  } catch (err) {
    // V8 says where: "Unexpected token } in JSON at position 12" (line and column on Node 22+).
    throw new RequestError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function jsonErrorText(err: unknown): string {
  return (err as Error).message.replace(/^cannot decode /, '');
}

/** A query key's fields: dotted, by proto or JSON name, through singular messages only. */
function queryFields(input: DescMessage, key: string): DescField[] {
  const parts = key.split('.');
  const out: DescField[] = [];
  let msg: DescMessage = input;
  for (const [i, part] of parts.entries()) {
    const f = msg.fields.find((x) => x.name === part || x.jsonName === part);
    if (f === undefined) {
      throw new RequestError(
        400,
        `unknown query parameter "${key}": ${msg.typeName} has no field "${part}"`,
      );
    }
    out.push(f);
    const last = i === parts.length - 1;
    if (f.fieldKind === 'map') {
      throw new RequestError(
        400,
        `query parameter "${key}": map fields cannot be set from the query`,
      );
    }
    if (f.fieldKind === 'list') {
      if (!last || f.listKind === 'message') {
        throw new RequestError(
          400,
          `query parameter "${key}": repeated messages cannot be set from the query`,
        );
      }
    } else if (f.fieldKind === 'message') {
      if (last) {
        if (!STRING_FORM_MESSAGES.has(f.message.typeName)) {
          throw new RequestError(
            400,
            `query parameter "${key}" is a message; set its fields (${key}.<field>)`,
          );
        }
      } else {
        msg = f.message;
      }
    } else if (!last) {
      throw new RequestError(400, `unknown query parameter "${key}": "${part}" is not a message`);
    }
  }
  return out;
}

/** The JSON form of a text value for a scalar, enum or string-form message field. */
function scalarJson(field: DescField, text: string, key: string): JsonValue {
  let scalar: number | undefined;
  let isEnum = false;
  let messageName: string | undefined;
  switch (field.fieldKind) {
    case 'scalar':
      scalar = field.scalar;
      break;
    case 'enum':
      isEnum = true;
      break;
    case 'list':
      if (field.listKind === 'scalar') scalar = field.scalar;
      else if (field.listKind === 'enum') isEnum = true;
      break;
    case 'message':
      messageName = field.message.typeName;
      break;
    default:
      break;
  }
  // Enums by name, or by number as the spec allows.
  if (isEnum) return /^-?\d+$/.test(text) ? Number(text) : text;
  if (messageName === 'google.protobuf.BoolValue' || scalar === 8 /* BOOL */) {
    if (text === 'true' || text === 'false') return text === 'true';
    throw new RequestError(400, `${key}: "${text}" is not a boolean (true or false)`);
  }
  // Every other scalar's JSON form accepts a string (numbers, 64-bit integers, base64 bytes).
  return text;
}

function setPath(
  obj: JsonObject,
  fields: readonly DescField[],
  value: JsonValue,
  _repeated: boolean,
): void {
  let o: JsonObject = obj;
  for (let i = 0; i < fields.length - 1; i++) {
    const k = fields[i].jsonName;
    let next = o[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      next = {};
      o[k] = next;
    }
    o = next;
  }
  o[fields.at(-1)!.jsonName] = value;
}

/** The response message (or its `response_body` field) as JSON text. */
export function responseJson(
  route: GatewayRoute,
  bytes: Uint8Array,
  registry: Registry,
  options: JsonOptions,
): string {
  const output = route.method.output;
  const msg = fromBinary(output, bytes, { readUnknownFields: false });
  const writeOptions = {
    registry,
    alwaysEmitImplicit: options.emitDefaults,
    useProtoFieldName: options.useProtoNames,
  };
  const field = route.responseField;
  if (field === undefined) return JSON.stringify(toJson(output, msg, writeOptions));
  const whole = toJson(output, msg, { ...writeOptions, alwaysEmitImplicit: true }) as JsonObject;
  return JSON.stringify(whole[options.useProtoNames ? field.name : field.jsonName] ?? null);
}
