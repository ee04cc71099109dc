// Descriptors as protobufjs-built servers (Node's @grpc/reflection) send them: one file per
// package ("library_v1.proto"), type names relative to the scope ("Book", not ".library.v1.Book"),
// no dependency list, and the well-known and google/api types in files of their own. The
// registry needs what protoc writes, so such files are put right here: names resolved the way
// protoc resolves them (innermost scope outwards), dependencies listed, and the files of the
// packages switchyard bundles (google.protobuf, google.api, google.rpc) left out in favour of
// the bundled copies. Files that already use full names (protoc-built servers) pass untouched.
import { create } from '@bufbuild/protobuf';
import {
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from '@bufbuild/protobuf/wkt';

const BUNDLED_PACKAGES = new Set(['google.protobuf', 'google.api', 'google.rpc']);

/** Whether a file names types relative to its scope (protoc never does). */
export function hasRelativeNames(file: FileDescriptorProto): boolean {
  let relative = false;
  const fields = (fs: readonly FieldDescriptorProto[]) => {
    for (const f of fs) if (f.typeName !== '' && !f.typeName.startsWith('.')) relative = true;
  };
  const walk = (ms: readonly DescriptorProto[]) => {
    for (const m of ms) {
      fields(m.field);
      fields(m.extension);
      walk(m.nestedType);
    }
  };
  walk(file.messageType);
  fields(file.extension);
  for (const s of file.service) {
    for (const m of s.method) {
      if (!m.inputType.startsWith('.') || !m.outputType.startsWith('.')) relative = true;
    }
  }
  return relative;
}

/**
 * Rewrites protobufjs-style files in place of the originals; `known` are the files already in
 * the pool (well-known types, bundled google/api), whose symbols references may name.
 */
export function normalizeReflected(
  files: Map<string, FileDescriptorProto>,
  known: readonly FileDescriptorProto[],
): void {
  const loose = [...files.values()].filter(hasRelativeNames);
  if (loose.length === 0) return;
  for (const f of loose) {
    if (BUNDLED_PACKAGES.has(f.package)) files.delete(f.name);
  }
  // Full name (no leading dot) → its kind and the file declaring it.
  const symbols = new Map<string, { kind: 'message' | 'enum'; file: string }>();
  const collect = (file: FileDescriptorProto): void => {
    const walk = (ms: readonly DescriptorProto[], scope: string): void => {
      for (const m of ms) {
        const full = scope ? `${scope}.${m.name}` : m.name;
        symbols.set(full, { kind: 'message', file: file.name });
        for (const e of m.enumType)
          symbols.set(`${full}.${e.name}`, { kind: 'enum', file: file.name });
        walk(m.nestedType, full);
      }
    };
    for (const e of file.enumType) {
      symbols.set(file.package ? `${file.package}.${e.name}` : e.name, {
        kind: 'enum',
        file: file.name,
      });
    }
    walk(file.messageType, file.package);
  };
  for (const k of known) collect(k);
  for (const f of files.values()) collect(f);

  for (const f of [...files.values()]) {
    if (!hasRelativeNames(f)) continue;
    const deps = new Set(f.dependency);
    const resolve = (ref: string, scope: string): string => {
      if (ref.startsWith('.')) return ref;
      const parts = scope ? scope.split('.') : [];
      for (let i = parts.length; i >= 0; i--) {
        const candidate = [...parts.slice(0, i), ref].join('.');
        const found = symbols.get(candidate);
        if (found !== undefined) {
          if (found.file !== f.name) deps.add(found.file);
          return `.${candidate}`;
        }
      }
      return ref; // left for the registry to name in its error
    };
    const fixFields = (fs: FieldDescriptorProto[], scope: string): void => {
      for (const field of fs) {
        // Without json_name the registry would give every field the JSON name "".
        if (field.jsonName === '') field.jsonName = protocJsonName(field.name);
        if (field.typeName !== '') {
          field.typeName = resolve(field.typeName, scope);
          const kind = symbols.get(field.typeName.slice(1))?.kind;
          if (kind === 'enum') field.type = FieldDescriptorProto_Type.ENUM;
          else if (kind === 'message' && field.type !== FieldDescriptorProto_Type.GROUP) {
            field.type = FieldDescriptorProto_Type.MESSAGE;
          }
        }
        if (field.extendee !== '') field.extendee = resolve(field.extendee, scope);
      }
    };
    const walk = (ms: DescriptorProto[], scope: string): void => {
      for (const m of ms) {
        const full = scope ? `${scope}.${m.name}` : m.name;
        fixFields(m.field, full);
        fixFields(m.extension, full);
        walk(m.nestedType, full);
      }
    };
    walk(f.messageType, f.package);
    fixFields(f.extension, f.package);
    for (const s of f.service) {
      for (const m of s.method) {
        m.inputType = resolve(m.inputType, f.package);
        m.outputType = resolve(m.outputType, f.package);
      }
    }
    files.set(f.name, create(FileDescriptorProtoSchema, { ...f, dependency: [...deps] }));
  }
}

/** protoc's default JSON name: underscores dropped, the letter after each upper-cased. */
function protocJsonName(name: string): string {
  return name.replace(/_+([a-z0-9])?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase());
}
