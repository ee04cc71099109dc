// Descriptors at runtime from .proto source, with no protoc: protobufjs parses the text,
// this file turns what it parsed into FileDescriptorProtos, and @bufbuild/protobuf builds the
// registry the transcoder uses for binary and proto3 JSON. The google.api.http option is
// written into each method's options as protoc would, so rules are read the same way whether
// the descriptors came from source or (later) from a backend's reflection.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import protobuf from 'protobufjs';
import {
  create,
  createFileRegistry,
  fromBinary,
  fromJson,
  setExtension,
  toBinary,
  type DescExtension,
  type DescMethod,
  type FileRegistry,
  type JsonValue,
} from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  DescriptorProtoSchema,
  DescriptorProto_ExtensionRangeSchema,
  DescriptorProto_ReservedRangeSchema,
  EnumDescriptorProtoSchema,
  EnumOptionsSchema,
  EnumValueDescriptorProtoSchema,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  MessageOptionsSchema,
  MethodDescriptorProtoSchema,
  MethodOptionsSchema,
  OneofDescriptorProtoSchema,
  ServiceDescriptorProtoSchema,
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_source_context,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  type ServiceDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { SwitchyardError } from '../common/errors.js';
import { BUNDLED_PROTOS } from './bundled-protos.js';
import { normalizeReflected } from './reflected-files.js';

/** A .proto file that could not be read, parsed or resolved: names file and line. */
export class ProtoLoadError extends SwitchyardError {
  override readonly name = 'ProtoLoadError';
  constructor(
    readonly file: string,
    /** 1-based; 0 when the problem has no line (a missing import). */
    readonly line: number,
    detail: string,
  ) {
    super('SWY_ERR_PROTO_LOAD', `${file}${line > 0 ? `:${line}` : ''}: ${detail}`);
  }
}

export interface ProtoSources {
  /** Files to load, as paths on disk or names relative to an import path. */
  readonly files: readonly string[];
  /** Directories imports are looked up in, in order (then the bundled files). */
  readonly importPaths: readonly string[];
}

/** A loaded set of descriptors: the registry and where each method's rule came from. */
export interface DescriptorPool {
  readonly registry: FileRegistry;
  /** Every service method, by full name (`pkg.Service.Method`). */
  readonly methods: ReadonlyMap<string, DescMethod>;
  /** The google.api.http extension, to read rules from method options. */
  readonly httpExtension: DescExtension;
  /** The file each method was declared in, for messages about its rules. */
  readonly sourceOf: ReadonlyMap<string, string>;
  /**
   * Every file of the registry as a serialized FileDescriptorProto, dependencies first: the
   * bytes a backend sent (options and all) or, for .proto source, what this file built.
   */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

const WKT_FILES: ReadonlyMap<string, FileDescriptorProto> = new Map(
  [
    file_google_protobuf_any,
    file_google_protobuf_api,
    file_google_protobuf_descriptor,
    file_google_protobuf_duration,
    file_google_protobuf_empty,
    file_google_protobuf_field_mask,
    file_google_protobuf_source_context,
    file_google_protobuf_struct,
    file_google_protobuf_timestamp,
    file_google_protobuf_type,
    file_google_protobuf_wrappers,
  ].map((f) => [f.proto.name, f.proto]),
);

/** The well-known types' file names: present in every pool without being fetched. */
export const WKT_FILE_NAMES: ReadonlySet<string> = new Set(WKT_FILES.keys());

const ALWAYS_LOADED = ['google/api/annotations.proto', 'google/rpc/status.proto'];

/** protobufjs scalar names to descriptor types; anything else names a message or an enum. */
const SCALARS: Readonly<Record<string, FieldDescriptorProto_Type>> = {
  double: FieldDescriptorProto_Type.DOUBLE,
  float: FieldDescriptorProto_Type.FLOAT,
  int64: FieldDescriptorProto_Type.INT64,
  uint64: FieldDescriptorProto_Type.UINT64,
  int32: FieldDescriptorProto_Type.INT32,
  fixed64: FieldDescriptorProto_Type.FIXED64,
  fixed32: FieldDescriptorProto_Type.FIXED32,
  bool: FieldDescriptorProto_Type.BOOL,
  string: FieldDescriptorProto_Type.STRING,
  bytes: FieldDescriptorProto_Type.BYTES,
  uint32: FieldDescriptorProto_Type.UINT32,
  sfixed32: FieldDescriptorProto_Type.SFIXED32,
  sfixed64: FieldDescriptorProto_Type.SFIXED64,
  sint32: FieldDescriptorProto_Type.SINT32,
  sint64: FieldDescriptorProto_Type.SINT64,
};

interface ParsedFile {
  readonly name: string;
  /** Where it was read from, for messages. */
  readonly display: string;
  readonly syntax: 'proto2' | 'proto3';
  readonly pkg: string;
  readonly imports: readonly string[];
  /** Top-level declarations, in source order. */
  readonly decls: protobuf.ReflectionObject[];
}

/** Loads .proto files and everything they import into one registry. */
export function loadProtos(sources: ProtoSources): DescriptorPool {
  const loader = new Loader(sources.importPaths);
  // Always there: the rules' own types, and google.rpc.Status for error bodies.
  for (const f of ALWAYS_LOADED) loader.loadImport(f);
  for (const f of sources.files) loader.loadRoot(f);
  return loader.build();
}

let bundled: DescriptorPool | undefined;

/**
 * A pool from serialized FileDescriptorProtos (dependencies first), as reflection fetched
 * them; `origin` says where from, for messages. The well-known types and google/api/http.proto
 * are added when the set does not hold them, so rules can be read and given in the config.
 */
export function poolFromFiles(
  files: ReadonlyMap<string, Uint8Array>,
  origin: string,
): DescriptorPool {
  bundled ??= loadProtos({ files: [], importPaths: [] });
  const given = new Map<string, FileDescriptorProto>();
  for (const [name, bytes] of files) {
    // The bundled copies of the google/api files, whatever a backend sent: protobufjs-built
    // servers (@grpc/reflection) send them with relative type names the registry refuses.
    if (BUNDLED_PROTOS.has(name)) continue;
    try {
      given.set(name, fromBinary(FileDescriptorProtoSchema, bytes));
    } catch (err) {
      throw new ProtoLoadError(
        `${name} (${origin})`,
        0,
        `does not decode: ${(err as Error).message}`,
      );
    }
  }
  const decoded = new Map(given);
  const known = [
    ...WKT_FILES.values(),
    ...[...bundled.files.values()].map((b) => fromBinary(FileDescriptorProtoSchema, b)),
  ];
  normalizeReflected(given, known);
  const bytesOf = new Map<string, Uint8Array>();
  const set: FileDescriptorProto[] = [];
  for (const [name, proto] of WKT_FILES) {
    if (given.has(name) || bundled.files.has(name)) continue;
    set.push(proto);
    bytesOf.set(name, toBinary(FileDescriptorProtoSchema, proto));
  }
  for (const [name, bytes] of bundled.files) {
    if (given.has(name)) continue;
    set.push(fromBinary(FileDescriptorProtoSchema, bytes));
    bytesOf.set(name, bytes);
  }
  for (const [name, proto] of given) {
    set.push(proto);
    // Raw bytes as received, unless the file had to be put right (reflected-files.ts).
    bytesOf.set(
      name,
      decoded.get(name) === proto ? files.get(name)! : toBinary(FileDescriptorProtoSchema, proto),
    );
  }
  // The registry takes files after their dependencies.
  const byName = new Map(set.map((f) => [f.name, f]));
  const ordered: FileDescriptorProto[] = [];
  const placed = new Set<string>();
  const place = (f: FileDescriptorProto): void => {
    if (placed.has(f.name)) return;
    placed.add(f.name);
    for (const d of f.dependency) {
      const dep = byName.get(d);
      if (dep !== undefined) place(dep);
    }
    ordered.push(f);
  };
  for (const f of set) place(f);
  let registry: FileRegistry;
  try {
    registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
  } catch (err) {
    throw new ProtoLoadError(origin, 0, (err as Error).message);
  }
  const methods = new Map<string, DescMethod>();
  const sourceOf = new Map<string, string>();
  for (const file of registry.files) {
    for (const svc of file.services) {
      for (const m of svc.methods) {
        methods.set(`${svc.typeName}.${m.name}`, m);
        sourceOf.set(`${svc.typeName}.${m.name}`, `${file.proto.name} (${origin})`);
      }
    }
  }
  const httpExtension = registry.getExtension('google.api.http');
  if (httpExtension === undefined) {
    throw new ProtoLoadError(origin, 0, 'google/api/http.proto does not define google.api.http');
  }
  return { registry, methods, httpExtension, sourceOf, files: bytesOf };
}

class Loader {
  private readonly parsed = new Map<string, ParsedFile>();
  /** Files in dependency order (imports before importers). */
  private readonly order: string[] = [];
  private readonly loading = new Set<string>();
  /** Full name (no leading dot) → 'message' | 'enum', over every file. */
  private readonly symbols = new Map<string, 'message' | 'enum'>();

  constructor(private readonly importPaths: readonly string[]) {}

  /** A file by its import name (searched in the import paths, then the bundled files). */
  loadImport(name: string): void {
    this.load(name, name, undefined, []);
  }

  /** A file named on the command line: a path on disk, or a name under an import path. */
  loadRoot(file: string): void {
    // A path that exists as given is named relative to the import path that holds it, so its
    // imports of sibling files resolve to the same name.
    const abs = resolve(file);
    let name = file;
    if (existsSync(abs)) {
      const under = this.importPaths
        .map((p) => resolve(p))
        .find((p) => abs.startsWith(p.endsWith('/') ? p : p + '/'));
      name = under !== undefined ? abs.slice(under.length + 1) : isAbsolute(file) ? abs : file;
      if (under === undefined) {
        this.load(name, file, abs, []);
        return;
      }
    }
    this.load(name, file, undefined, []);
  }

  private locate(name: string): { path: string | undefined; text: string | undefined } {
    for (const dir of this.importPaths) {
      const p = join(dir, name);
      if (existsSync(p)) return { path: p, text: undefined };
    }
    return { path: undefined, text: BUNDLED_PROTOS.get(name) };
  }

  private load(name: string, importedAs: string, path: string | undefined, chain: string[]): void {
    if (this.parsed.has(name) || WKT_FILES.has(name)) return;
    if (this.loading.has(name)) {
      throw new ProtoLoadError(name, 0, `import cycle: ${[...chain, name].join(' -> ')}`);
    }
    let text: string | undefined;
    let display = name;
    if (path === undefined) {
      const found = this.locate(name);
      path = found.path;
      text = found.text;
    }
    if (path !== undefined) {
      display = path;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new ProtoLoadError(path, 0, `cannot read: ${(err as Error).message}`);
      }
    }
    if (text === undefined) {
      const importer = chain.at(-1);
      throw new ProtoLoadError(
        importer ?? importedAs,
        0,
        `${importer ? `import "${name}"` : `"${name}"`} not found in the import paths (${
          this.importPaths.length > 0 ? this.importPaths.join(', ') : 'none given'
        }) or among the bundled files`,
      );
    }
    this.loading.add(name);
    const file = parseOne(name, display, text);
    for (const dep of file.imports) this.load(dep, dep, undefined, [...chain, display]);
    this.loading.delete(name);
    this.parsed.set(name, file);
    this.order.push(name);
  }

  build(): DescriptorPool {
    for (const wkt of WKT_FILES.values()) collectProtoSymbols(wkt, this.symbols);
    for (const name of this.order) {
      const f = this.parsed.get(name)!;
      for (const d of f.decls) collectSymbols(d, f.pkg, this.symbols);
    }
    const protos = new Map<string, FileDescriptorProto>();
    for (const name of this.order) protos.set(name, this.convert(this.parsed.get(name)!));
    // The registry needs every dependency first; the well-known types lead.
    const needed = new Set<string>();
    const visit = (n: string): void => {
      if (needed.has(n)) return;
      needed.add(n);
      const p = protos.get(n) ?? WKT_FILES.get(n);
      for (const d of p?.dependency ?? []) visit(d);
    };
    for (const n of this.order) visit(n);
    const wktList = [...WKT_FILES.values()].filter((p) => needed.has(p.name));
    const base = createFileRegistry(
      create(FileDescriptorSetSchema, {
        file: [
          ...wktList,
          protos.get('google/api/http.proto')!,
          protos.get('google/api/annotations.proto')!,
        ],
      }),
    );
    const httpExtension = base.getExtension('google.api.http');
    const httpRuleType = base.getMessage('google.api.HttpRule');
    if (httpExtension === undefined || httpRuleType === undefined) {
      throw new Error('the bundled google/api/annotations.proto does not define google.api.http');
    }
    const sourceOf = new Map<string, string>();
    for (const [name, proto] of protos) {
      const file = this.parsed.get(name)!;
      for (const svc of proto.service) {
        for (const m of svc.method) {
          const full = `${file.pkg ? file.pkg + '.' : ''}${svc.name}.${m.name}`;
          sourceOf.set(full, file.display);
          const rule = this.rules.get(full);
          if (rule === undefined) continue;
          try {
            const msg = fromJson(httpRuleType, rule, { registry: base });
            const options = m.options ?? create(MethodOptionsSchema);
            setExtension(options, httpExtension, msg);
            m.options = options;
          } catch (err) {
            throw new ProtoLoadError(
              file.display,
              0,
              `method ${full}: option (google.api.http) is not a valid HttpRule: ${(err as Error).message}`,
            );
          }
        }
      }
    }
    const ordered = [...protos.keys()]
      .filter((n) => n !== 'google/api/http.proto' && n !== 'google/api/annotations.proto')
      .map((n) => protos.get(n)!);
    let registry: FileRegistry;
    try {
      registry = createFileRegistry(
        create(FileDescriptorSetSchema, {
          file: [
            ...wktList,
            protos.get('google/api/http.proto')!,
            protos.get('google/api/annotations.proto')!,
            ...ordered,
          ],
        }),
      );
    } catch (err) {
      throw new ProtoLoadError(this.order.at(-1) ?? '', 0, (err as Error).message);
    }
    const methods = new Map<string, DescMethod>();
    for (const file of registry.files) {
      for (const svc of file.services) {
        for (const m of svc.methods) methods.set(`${svc.typeName}.${m.name}`, m);
      }
    }
    // The extension as the final registry knows it: its message type must be the registry's
    // own HttpRule, or toJson of an option read through it sees fields it does not know.
    const finalExtension = registry.getExtension('google.api.http')!;
    const files = new Map<string, Uint8Array>();
    for (const f of registry.files)
      files.set(f.proto.name, toBinary(FileDescriptorProtoSchema, f.proto));
    return { registry, methods, httpExtension: finalExtension, sourceOf, files };
  }

  /** google.api.http options as protobufjs parsed them (proto-name JSON), by method. */
  private readonly rules = new Map<string, JsonValue>();

  private convert(f: ParsedFile): FileDescriptorProto {
    const proto = create(FileDescriptorProtoSchema, {
      name: f.name,
      package: f.pkg,
      dependency: [...f.imports],
      syntax: f.syntax,
    });
    const scope = f.pkg;
    for (const d of f.decls) {
      if (d instanceof protobuf.Type) proto.messageType.push(this.message(d, scope, f));
      else if (d instanceof protobuf.Enum) proto.enumType.push(enumProto(d));
      else if (d instanceof protobuf.Service) proto.service.push(this.service(d, scope, f));
      else if (d instanceof protobuf.Field && d.extend !== undefined) {
        proto.extension.push(this.field(d, scope, f, undefined));
      }
    }
    return proto;
  }

  private message(t: protobuf.Type, scope: string, f: ParsedFile): DescriptorProto {
    const full = scope ? `${scope}.${t.name}` : t.name;
    const msg: DescriptorProto = create(DescriptorProtoSchema);
    msg.name = t.name;
    // Real oneofs first, then the synthetic ones of proto3 `optional` fields, as protoc orders.
    const oneofs = t.oneofsArray;
    const synthetic = (o: protobuf.OneOf) =>
      o.fieldsArray.length === 1 && o.fieldsArray[0].options?.['proto3_optional'] === true;
    const orderedOneofs = [...oneofs.filter((o) => !synthetic(o)), ...oneofs.filter(synthetic)];
    for (const o of orderedOneofs)
      msg.oneofDecl.push(create(OneofDescriptorProtoSchema, { name: o.name }));
    for (const field of t.fieldsArray) {
      if (field.map) {
        // A map is a repeated nested entry message with key = 1, value = 2.
        const entryName = `${field.name
          .split('_')
          .map((s) => (s ? s[0].toUpperCase() + s.slice(1) : ''))
          .join('')}Entry`;
        const entry = create(DescriptorProtoSchema);
        entry.name = entryName;
        entry.options = create(MessageOptionsSchema, { mapEntry: true });
        const mf = field as unknown as protobuf.MapField;
        entry.field.push(
          fieldProto('key', 1, SCALARS[mf.keyType], '', FieldDescriptorProto_Label.OPTIONAL),
          this.typedField('value', 2, field.type, full, f, FieldDescriptorProto_Label.OPTIONAL),
        );
        msg.nestedType.push(entry);
        const fp = fieldProto(
          field.name,
          field.id,
          FieldDescriptorProto_Type.MESSAGE,
          `.${full}.${entryName}`,
          FieldDescriptorProto_Label.REPEATED,
        );
        setJsonName(fp, field);
        msg.field.push(fp);
        continue;
      }
      const fp = this.field(field, full, f, orderedOneofs);
      msg.field.push(fp);
    }
    for (const nested of t.nestedArray) {
      if (nested instanceof protobuf.Type) msg.nestedType.push(this.message(nested, full, f));
      else if (nested instanceof protobuf.Enum) msg.enumType.push(enumProto(nested));
      else if (nested instanceof protobuf.Field && nested.extend !== undefined) {
        msg.extension.push(this.field(nested, full, f, undefined));
      }
    }
    for (const r of t.extensions ?? []) {
      msg.extensionRange.push(
        create(DescriptorProto_ExtensionRangeSchema, { start: r[0], end: r[1] + 1 }),
      );
    }
    for (const r of t.reserved ?? []) {
      if (typeof r === 'string') msg.reservedName.push(r);
      else
        msg.reservedRange.push(
          create(DescriptorProto_ReservedRangeSchema, { start: r[0], end: r[1] + 1 }),
        );
    }
    return msg;
  }

  private field(
    field: protobuf.Field,
    scope: string,
    f: ParsedFile,
    oneofs: protobuf.OneOf[] | undefined,
  ): FieldDescriptorProto {
    const rule = (field as unknown as { rule?: string }).rule;
    const label =
      rule === 'repeated'
        ? FieldDescriptorProto_Label.REPEATED
        : rule === 'required'
          ? FieldDescriptorProto_Label.REQUIRED
          : FieldDescriptorProto_Label.OPTIONAL;
    const fp = this.typedField(field.name, field.id, field.type, scope, f, label);
    setJsonName(fp, field);
    if (field.extend !== undefined) {
      fp.extendee = `.${this.resolveName(field.extend, scope, f, field.name) ?? field.extend}`;
    }
    if (oneofs !== undefined && field.partOf) {
      fp.oneofIndex = oneofs.indexOf(field.partOf);
      if (field.options?.['proto3_optional'] === true) fp.proto3Optional = true;
    }
    if (field.options?.['packed'] !== undefined) {
      fp.options = create(FieldOptionsSchema, { packed: field.options['packed'] === true });
    }
    const def: unknown = field.options?.['default'];
    if (typeof def === 'string' || typeof def === 'number' || typeof def === 'boolean') {
      fp.defaultValue = String(def);
    }
    return fp;
  }

  private typedField(
    name: string,
    id: number,
    type: string,
    scope: string,
    f: ParsedFile,
    label: FieldDescriptorProto_Label,
  ): FieldDescriptorProto {
    const scalar = SCALARS[type];
    if (scalar !== undefined) return fieldProto(name, id, scalar, '', label);
    const resolved = this.resolveName(type, scope, f, name);
    if (resolved === undefined) {
      throw new ProtoLoadError(f.display, 0, `field "${name}" in ${scope}: unknown type "${type}"`);
    }
    const kind = this.symbols.get(resolved)!;
    return fieldProto(
      name,
      id,
      kind === 'enum' ? FieldDescriptorProto_Type.ENUM : FieldDescriptorProto_Type.MESSAGE,
      `.${resolved}`,
      label,
    );
  }

  /** Resolves a type reference the way protoc does: innermost scope outwards. */
  private resolveName(
    ref: string,
    scope: string,
    _f: ParsedFile,
    _for: string,
  ): string | undefined {
    if (ref.startsWith('.')) return this.symbols.has(ref.slice(1)) ? ref.slice(1) : undefined;
    const parts = scope ? scope.split('.') : [];
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), ref].join('.');
      if (this.symbols.has(candidate)) return candidate;
    }
    return undefined;
  }

  private service(s: protobuf.Service, scope: string, f: ParsedFile): ServiceDescriptorProto {
    const full = scope ? `${scope}.${s.name}` : s.name;
    const svc = create(ServiceDescriptorProtoSchema, { name: s.name });
    for (const m of s.methodsArray) {
      const input = this.resolveName(m.requestType, scope, f, m.name);
      const output = this.resolveName(m.responseType, scope, f, m.name);
      if (input === undefined || output === undefined) {
        const missing = input === undefined ? m.requestType : m.responseType;
        throw new ProtoLoadError(f.display, 0, `rpc ${full}.${m.name}: unknown type "${missing}"`);
      }
      const method = create(MethodDescriptorProtoSchema);
      method.name = m.name;
      method.inputType = `.${input}`;
      method.outputType = `.${output}`;
      if (m.requestStream) method.clientStreaming = true;
      if (m.responseStream) method.serverStreaming = true;
      for (const opt of m.parsedOptions ?? []) {
        const rule = (opt as Record<string, unknown>)['(google.api.http)'];
        if (rule !== undefined)
          this.rules.set(`${full}.${m.name}`, listBindings(rule as JsonValue));
      }
      svc.method.push(method);
    }
    return svc;
  }
}

/** protobufjs reads the file name for its error messages from a property of `parse`. */
const parseState = protobuf.parse as unknown as { filename: string | null };

function parseOne(name: string, display: string, text: string): ParsedFile {
  const root = new protobuf.Root();
  let parsed: protobuf.IParserResult;
  try {
    parseState.filename = display;
    parsed = protobuf.parse(text, root, { keepCase: true, alternateCommentMode: false });
  } catch (err) {
    const message = (err as Error).message;
    // protobufjs says "illegal token 'x' (file, line N)".
    const m = /^(.*) \((?:.*, )?line (\d+)\)$/.exec(message);
    throw new ProtoLoadError(display, m ? Number(m[2]) : 0, m ? m[1] : message);
  } finally {
    parseState.filename = null;
  }
  const pkg = parsed.package ?? '';
  let ns: protobuf.Namespace = root;
  if (pkg !== '') ns = root.lookup(pkg) as protobuf.Namespace;
  const syntax = /^\s*syntax\s*=\s*["']proto3["']/m.test(text) ? 'proto3' : 'proto2';
  return {
    name,
    display,
    syntax,
    pkg,
    imports: [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])],
    decls: ns.nestedArray,
  };
}

function collectSymbols(
  obj: protobuf.ReflectionObject,
  scope: string,
  out: Map<string, 'message' | 'enum'>,
): void {
  const full = scope ? `${scope}.${obj.name}` : obj.name;
  if (obj instanceof protobuf.Type) {
    out.set(full, 'message');
    for (const n of obj.nestedArray) collectSymbols(n, full, out);
    for (const field of obj.fieldsArray) {
      if (field.map) {
        const entry = `${field.name
          .split('_')
          .map((s) => (s ? s[0].toUpperCase() + s.slice(1) : ''))
          .join('')}Entry`;
        out.set(`${full}.${entry}`, 'message');
      }
    }
  } else if (obj instanceof protobuf.Enum) {
    out.set(full, 'enum');
  }
}

function collectProtoSymbols(file: FileDescriptorProto, out: Map<string, 'message' | 'enum'>) {
  const walk = (msgs: DescriptorProto[], enums: EnumDescriptorProto[], scope: string): void => {
    for (const e of enums) out.set(`${scope}.${e.name}`, 'enum');
    for (const m of msgs) {
      out.set(`${scope}.${m.name}`, 'message');
      walk(m.nestedType, m.enumType, `${scope}.${m.name}`);
    }
  };
  walk(file.messageType, file.enumType, file.package);
}

function enumProto(e: protobuf.Enum): EnumDescriptorProto {
  const proto = create(EnumDescriptorProtoSchema, { name: e.name });
  for (const [name, number] of Object.entries(e.values)) {
    proto.value.push(create(EnumValueDescriptorProtoSchema, { name, number }));
  }
  if (e.options?.['allow_alias'] === true) {
    proto.options = create(EnumOptionsSchema, { allowAlias: true });
  }
  return proto;
}

function setJsonName(fp: FieldDescriptorProto, field: protobuf.Field): void {
  const custom: unknown = field.options?.['json_name'];
  if (typeof custom === 'string') fp.jsonName = custom;
}

function fieldProto(
  name: string,
  number: number,
  type: FieldDescriptorProto_Type,
  typeName: string,
  label: FieldDescriptorProto_Label,
): FieldDescriptorProto {
  // protoc always writes json_name; the registry takes it as given.
  const jsonName = jsonNameOf(name);
  return create(FieldDescriptorProtoSchema, { name, number, type, typeName, label, jsonName });
}

/** protoc's default JSON name: underscores dropped, the letter after each upper-cased. */
function jsonNameOf(name: string): string {
  let out = '';
  let upper = false;
  for (const c of name) {
    if (c === '_') upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

/**
 * protobufjs gives one `additional_bindings { … }` as an object and several as a list; the
 * JSON form of a repeated field is always a list.
 */
function listBindings(rule: JsonValue): JsonValue {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return rule;
  const b = rule['additional_bindings'];
  if (b === undefined) return rule;
  const list = Array.isArray(b) ? b : [b];
  return { ...rule, additional_bindings: list.map(listBindings) };
}
