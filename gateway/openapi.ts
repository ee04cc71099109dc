// OpenAPI 3.1 for the REST/JSON routes, generated from the descriptors and HTTP rules the
// gateway serves: one operation per route, path and query parameters, request bodies, message
// schemas in the proto3 JSON mapping (int64 as strings, bytes as base64, enums by name, the
// well-known types in their JSON forms), google.rpc.Status errors and NDJSON/SSE streams.
import { ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import type { GatewayRoute } from './http-rules.js';
import type { JsonOptions } from './transcode.js';

type Schema = Record<string, unknown>;

/** Query parameters are followed this deep into nested messages (grpc-gateway stops at cycles). */
const MAX_QUERY_DEPTH = 4;

const STATUS_REF = { $ref: '#/components/schemas/google.rpc.Status' };

/** Well-known types with a JSON form of their own (the proto3 JSON mapping's table). */
const WKT: Readonly<Record<string, Schema>> = {
  'google.protobuf.Timestamp': { type: 'string', format: 'date-time' },
  'google.protobuf.Duration': { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$' },
  'google.protobuf.FieldMask': { type: 'string', description: 'comma-separated lowerCamel paths' },
  'google.protobuf.Struct': { type: 'object', additionalProperties: true },
  'google.protobuf.Value': {},
  'google.protobuf.ListValue': { type: 'array', items: {} },
  'google.protobuf.Empty': { type: 'object', additionalProperties: false },
  'google.protobuf.Any': {
    type: 'object',
    properties: { '@type': { type: 'string' } },
    required: ['@type'],
    additionalProperties: true,
  },
  'google.protobuf.DoubleValue': { type: ['number', 'string'] },
  'google.protobuf.FloatValue': { type: ['number', 'string'] },
  'google.protobuf.Int64Value': { type: 'string', format: 'int64' },
  'google.protobuf.UInt64Value': { type: 'string', format: 'uint64' },
  'google.protobuf.Int32Value': { type: 'integer', format: 'int32' },
  'google.protobuf.UInt32Value': { type: 'integer', format: 'uint32', minimum: 0 },
  'google.protobuf.BoolValue': { type: 'boolean' },
  'google.protobuf.StringValue': { type: 'string' },
  'google.protobuf.BytesValue': { type: 'string', contentEncoding: 'base64' },
};

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      // proto3 JSON writes 64-bit integers as strings (JavaScript numbers lose precision).
      return { type: 'string', format: 'int64', pattern: '^-?[0-9]+$' };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: 'string', format: 'uint64', pattern: '^[0-9]+$' };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: 'integer', format: 'int32' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', format: 'uint32', minimum: 0 };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      // "NaN", "Infinity" and "-Infinity" are written as strings.
      return {
        oneOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }],
        format: t === ScalarType.FLOAT ? 'float' : 'double',
      };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BYTES:
      return { type: 'string', contentEncoding: 'base64' };
  }
}

class SchemaSet {
  readonly schemas: Record<string, Schema> = {};

  constructor(private readonly useProtoNames: boolean) {}

  ref(msg: DescMessage): Schema {
    const wkt = WKT[msg.typeName];
    if (wkt !== undefined) return wkt;
    this.add(msg);
    return { $ref: `#/components/schemas/${msg.typeName}` };
  }

  enumSchema(e: DescEnum): Schema {
    if (e.typeName === 'google.protobuf.NullValue') return { type: 'null' };
    return { type: 'string', enum: e.values.map((v) => v.name) };
  }

  field(f: DescField): Schema {
    switch (f.fieldKind) {
      case 'scalar':
        return scalarSchema(f.scalar);
      case 'enum':
        return this.enumSchema(f.enum);
      case 'message':
        return this.ref(f.message);
      case 'list': {
        const items =
          f.listKind === 'scalar'
            ? scalarSchema(f.scalar)
            : f.listKind === 'enum'
              ? this.enumSchema(f.enum)
              : this.ref(f.message);
        return { type: 'array', items };
      }
      case 'map': {
        const values =
          f.mapKind === 'scalar'
            ? scalarSchema(f.scalar)
            : f.mapKind === 'enum'
              ? this.enumSchema(f.enum)
              : this.ref(f.message);
        return { type: 'object', additionalProperties: values };
      }
    }
  }

  private add(msg: DescMessage): void {
    if (msg.typeName in this.schemas) return;
    // Placed first so a recursive message refers to itself instead of looping.
    const schema: Schema = { type: 'object', additionalProperties: false };
    this.schemas[msg.typeName] = schema;
    const properties: Record<string, Schema> = {};
    for (const f of msg.fields) {
      properties[this.useProtoNames ? f.name : f.jsonName] = this.field(f);
    }
    schema.properties = properties;
  }
}

/** `/v1/{name=shelves/*}/books:stream` → `/v1/{name}/books:stream`, with each variable's pattern. */
function openApiPath(route: GatewayRoute): { path: string; patterns: Map<string, string> } {
  const t = route.template;
  const patterns = new Map<string, string>();
  const parts: string[] = [];
  let wildcard = 0;
  for (let i = 0; i < t.segments.length; i++) {
    const v = t.variables.find((x) => x.start === i);
    if (v !== undefined) {
      const name = v.fieldPath.join('.');
      parts.push(`{${name}}`);
      const covered = t.segments
        .slice(v.start, v.end)
        .map((s) =>
          s.kind === 'literal'
            ? s.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            : s.kind === 'single'
              ? '[^/]+'
              : '.+',
        );
      patterns.set(name, `^${covered.join('/')}$`);
      i = v.end - 1;
      continue;
    }
    const s = t.segments[i];
    if (s.kind === 'literal') parts.push(s.value);
    else {
      // A bare `*` or `**` outside a variable binds nothing; it still takes a value.
      const name = `_${wildcard++}`;
      parts.push(`{${name}}`);
      patterns.set(name, s.kind === 'single' ? '^[^/]+$' : '^.+$');
    }
  }
  return { path: `/${parts.join('/')}${t.verb === undefined ? '' : `:${t.verb}`}`, patterns };
}

/** Fields the query string may set: scalars, enums, repeated scalars, through singular messages. */
function queryParameters(
  msg: DescMessage,
  prefix: string,
  skip: (path: string, f: DescField) => boolean,
  set: SchemaSet,
  depth: number,
  out: Schema[],
): void {
  for (const f of msg.fields) {
    const name = prefix + f.jsonName;
    const protoPath = prefix === '' ? f.name : `${prefix}${f.name}`;
    if (skip(protoPath, f)) continue;
    if (f.fieldKind === 'map') continue;
    if (f.fieldKind === 'list') {
      if (f.listKind === 'message') continue;
      out.push({ name, in: 'query', schema: set.field(f), style: 'form', explode: true });
    } else if (f.fieldKind === 'message') {
      if (f.message.typeName in WKT && f.message.typeName !== 'google.protobuf.Struct') {
        out.push({ name, in: 'query', schema: set.ref(f.message) });
      } else if (depth < MAX_QUERY_DEPTH) {
        queryParameters(f.message, `${name}.`, skip, set, depth + 1, out);
      }
    } else {
      out.push({ name, in: 'query', schema: set.field(f) });
    }
  }
}

/** The document for these routes, with property names as the gateway writes them. */
export function openApiDocument(
  routes: readonly GatewayRoute[],
  json: JsonOptions,
  title = 'switchyard REST/JSON gateway',
): Schema {
  const set = new SchemaSet(json.useProtoNames);
  set.schemas['google.rpc.Status'] = {
    type: 'object',
    description: 'The error body: a gRPC status with its details (google.rpc.Status)',
    properties: {
      code: { type: 'integer', format: 'int32', description: 'the gRPC status code' },
      message: { type: 'string' },
      details: { type: 'array', items: WKT['google.protobuf.Any'] },
    },
  };
  const paths: Record<string, Record<string, Schema>> = {};
  const ids = new Map<string, number>();
  for (const route of routes) {
    const { path, patterns } = openApiPath(route);
    const method = route.method;
    const base = `${method.parent.typeName}.${method.name}`;
    const n = ids.get(base) ?? 0;
    ids.set(base, n + 1);
    const parameters: Schema[] = [];
    const bound = new Set<string>();
    route.pathFields.forEach((fields) => {
      const name = fields.map((f) => f.name).join('.');
      bound.add(name);
      const pattern = patterns.get(name);
      const schema = { ...set.field(fields.at(-1)!) };
      if (pattern !== undefined && pattern !== '^[^/]+$') schema.pattern = pattern;
      parameters.push({ name, in: 'path', required: true, schema });
    });
    for (const [name, pattern] of patterns) {
      if (!bound.has(name)) {
        parameters.push({ name, in: 'path', required: true, schema: { type: 'string', pattern } });
      }
    }
    if (route.body !== '*') {
      queryParameters(
        method.input,
        '',
        (p, f) => bound.has(p) || f === route.bodyField,
        set,
        0,
        parameters,
      );
    }
    const operation: Schema = {
      operationId: n === 0 ? base : `${base}_${n}`,
      tags: [method.parent.typeName],
      summary: `${method.parent.name}.${method.name} (gRPC ${route.grpcPath})`,
      parameters,
    };
    if (route.body !== '') {
      const schema = route.body === '*' ? set.ref(method.input) : set.field(route.bodyField!);
      const clientStream =
        method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming';
      // A client stream's body is newline-delimited JSON, one message (this schema) a line.
      const type = clientStream ? 'application/x-ndjson' : 'application/json';
      operation.requestBody = { required: false, content: { [type]: { schema } } };
    }
    const result =
      route.responseField === undefined ? set.ref(method.output) : set.field(route.responseField);
    const errors = {
      description:
        'a gRPC error, its status mapped to HTTP (NOT_FOUND 404, INVALID_ARGUMENT 400, …)',
      content: { 'application/json': { schema: STATUS_REF } },
    };
    if (method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming') {
      const record = {
        type: 'object',
        description: 'one record per message, then a last record with the final status',
        properties: {
          result: result,
          status: {
            allOf: [STATUS_REF],
            properties: { metadata: { type: 'object', additionalProperties: { type: 'string' } } },
          },
        },
      };
      operation.responses = {
        '200': {
          description:
            'a stream: newline-delimited JSON records; Server-Sent Events for Accept: text/event-stream; one JSON array of the records for Accept: application/json alone',
          content: {
            'application/x-ndjson': { schema: record },
            'text/event-stream': { schema: { type: 'string' } },
            'application/json': { schema: { type: 'array', items: record } },
          },
        },
        default: errors,
      };
    } else {
      operation.responses = {
        '200': { description: 'OK', content: { 'application/json': { schema: result } } },
        default: errors,
      };
    }
    const verb = route.httpMethod === '*' ? 'post' : route.httpMethod.toLowerCase();
    if (!['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'].includes(verb)) {
      // A custom kind OpenAPI has no field for: recorded as an extension.
      (paths[path] ??= {})[`x-${verb}`] = operation;
      continue;
    }
    (paths[path] ??= {})[verb] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title,
      version: '1',
      description:
        'Generated from the loaded .proto files and their google.api.http rules. Server streams answer newline-delimited JSON ({"result": …} records, then {"status": …}); Accept: text/event-stream gives Server-Sent Events, and Accept: application/json alone one JSON array of the same records.',
    },
    paths,
    components: { schemas: set.schemas },
  };
}
