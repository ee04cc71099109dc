// Declarative shapes of config values: one description drives the checks (every problem with
// its key path), the defaults, the JSON Schema and the reference docs.
import { parseSocketAddress } from './address.js';
import { didYouMean } from '../common/closest-name.js';
import { clip, describeValue, type KeyPath } from './config-error.js';
import { formatDuration, parseDuration } from './duration.js';

export interface Property {
  readonly shape: Shape;
  /** One line for the reference and editor hovers. */
  readonly description: string;
  readonly required?: boolean;
  /**
   * The value used when the key is absent or null (already in checked form: milliseconds for
   * durations). For object shapes, the object checked to fill its own defaults (usually `{}`).
   * Without one an absent key stays undefined.
   */
  readonly default?: unknown;
  /** The default as the reference shows it, when it is not a plain value (`"main", "listener-2", …`). */
  readonly defaultText?: string;
}

export type Shape =
  | StringShape
  | NumberShape
  | { readonly kind: 'boolean' }
  | DurationShape
  | { readonly kind: 'address' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | ObjectShape
  | { readonly kind: 'list'; readonly items: Shape; readonly minItems?: number }
  | MapShape
  | UnionShape
  /** Checked later with the injected validators (the policy registry, the resolver). */
  | { readonly kind: 'balancer' }
  | { readonly kind: 'resolver' }
  /** Any YAML value, passed on as written (a filter module's `options`, which it checks). */
  | { readonly kind: 'any' };

export interface StringShape {
  readonly kind: 'string';
  readonly pattern?: RegExp;
  /** Completes "must …" when `pattern` fails, e.g. "be a lower-case header name". */
  readonly patternMessage?: string;
  /** Further checks; a message, or undefined when fine. */
  readonly check?: (value: string) => string | undefined;
  readonly normalize?: (value: string) => string;
  /** Accept YAML numbers and booleans (header values such as `exact: 42`). */
  readonly fromScalar?: boolean;
  /** A file path: resolved against the config file's folder and checked to be readable. */
  readonly file?: boolean;
  readonly examples?: readonly string[];
}

export interface NumberShape {
  readonly kind: 'integer' | 'number';
  readonly min: number;
  readonly max: number;
}

export interface DurationShape {
  readonly kind: 'duration';
  /** Milliseconds. */
  readonly min: number;
  readonly max: number;
}

export interface ObjectShape {
  readonly kind: 'object';
  readonly properties: Readonly<Record<string, Property>>;
}

export interface MapShape {
  readonly kind: 'map';
  readonly values: Shape;
  readonly keyPattern: RegExp;
  readonly keyMessage: string;
  readonly minEntries?: number;
}

export interface UnionShape {
  readonly kind: 'union';
  /** Tried in order; the first that fits wins. */
  readonly variants: readonly Shape[];
  /** Completes "must be …" when none fits. */
  readonly expected: string;
}

/** A problem found by a check, before it is given a line and column. */
export interface ShapeIssue {
  readonly path: KeyPath;
  readonly message: string;
  /** The rest of the message, written only if the problem is reported (a "did you mean"). */
  readonly detail?: () => string;
  /** Point at the key (unknown keys) rather than the value. */
  readonly on?: 'key';
}

export interface CheckContext {
  readonly issues: ShapeIssue[];
  /** Absolute path of a file the config names (relative ones are relative to the config file). */
  resolveFile(path: string): string;
  /** Undefined when the file can be read; else the reason. */
  checkFile(path: string): string | undefined;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rangeText(min: number, max: number, format: (n: number) => string): string {
  if (max >= 0x7fffffff) return `at least ${format(min)}`;
  return `from ${format(min)} to ${format(max)}`;
}

/** Checks `value` against `shape`; returns it in checked form (undefined after a problem). */
export function checkShape(
  value: unknown,
  shape: Shape,
  path: KeyPath,
  ctx: CheckContext,
): unknown {
  const fail = (message: string): undefined => {
    ctx.issues.push({ path, message });
    return undefined;
  };
  switch (shape.kind) {
    case 'string': {
      let text = value;
      if (shape.fromScalar && (typeof value === 'number' || typeof value === 'boolean')) {
        text = String(value);
      }
      if (typeof text !== 'string') return fail(`must be a string, got ${describeValue(value)}`);
      const normalized = shape.normalize ? shape.normalize(text) : text;
      if (shape.pattern && !shape.pattern.test(normalized)) {
        return fail(
          `"${clip(text)}" must ${shape.patternMessage ?? `match ${String(shape.pattern)}`}`,
        );
      }
      const problem = shape.check?.(normalized);
      if (problem !== undefined) return fail(problem);
      if (!shape.file) return normalized;
      if (normalized === '') return fail('must name a file');
      const file = ctx.resolveFile(normalized);
      const unreadable = ctx.checkFile(file);
      return unreadable === undefined ? file : fail(`cannot read ${file}: ${unreadable}`);
    }
    case 'integer':
    case 'number': {
      const whole = shape.kind === 'integer';
      const what = whole ? 'a whole number' : 'a number';
      const range = rangeText(shape.min, shape.max, String);
      if (
        typeof value !== 'number' ||
        !Number.isFinite(value) ||
        (whole && !Number.isInteger(value))
      ) {
        return fail(`must be ${what} ${range}, got ${describeValue(value)}`);
      }
      if (value < shape.min || value > shape.max) return fail(`must be ${range}, got ${value}`);
      return value;
    }
    case 'boolean':
      return typeof value === 'boolean'
        ? value
        : fail(`must be true or false, got ${describeValue(value)}`);
    case 'duration': {
      const ms = parseDuration(value, { bareNumbers: 'zero-only' });
      if (typeof ms === 'string') return fail(ms);
      if (ms < shape.min || ms > shape.max) {
        return fail(
          `must be ${rangeText(shape.min, shape.max, formatDuration)}, got ${formatDuration(ms)}`,
        );
      }
      return ms;
    }
    case 'address': {
      if (typeof value === 'number') {
        return fail(`${value} is not an address: write ":${value}" or "0.0.0.0:${value}"`);
      }
      if (typeof value !== 'string') return fail(`must be host:port, got ${describeValue(value)}`);
      const address = parseSocketAddress(value);
      return typeof address === 'string' ? fail(address) : address;
    }
    case 'enum': {
      if (typeof value === 'string' && shape.values.includes(value)) return value;
      const list = shape.values.map((v) => `"${v}"`).join(', ');
      ctx.issues.push({
        path,
        message: `must be one of ${list}, got ${describeValue(value)}`,
        detail: () => (typeof value === 'string' ? didYouMean(value, shape.values) : ''),
      });
      return undefined;
    }
    case 'object':
      return checkObject(value, shape, path, ctx);
    case 'list': {
      if (!Array.isArray(value)) return fail(`must be a list, got ${describeValue(value)}`);
      if (shape.minItems !== undefined && value.length < shape.minItems) {
        return fail(`must have at least ${shape.minItems} item${shape.minItems === 1 ? '' : 's'}`);
      }
      return value.map((item: unknown, i) => checkShape(item, shape.items, [...path, i], ctx));
    }
    case 'map': {
      if (!isMapping(value)) return fail(`must be a mapping of names, got ${describeValue(value)}`);
      const entries = Object.entries(value);
      if (shape.minEntries !== undefined && entries.length < shape.minEntries) {
        return fail(
          `must have at least ${shape.minEntries} entr${shape.minEntries === 1 ? 'y' : 'ies'}`,
        );
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) {
        if (!shape.keyPattern.test(key)) {
          ctx.issues.push({
            path: [...path, key],
            message: `"${clip(key)}" ${shape.keyMessage}`,
            on: 'key',
          });
        }
        out[key] = checkShape(item, shape.values, [...path, key], ctx);
      }
      return out;
    }
    case 'union': {
      let sameKind: Shape | undefined;
      for (const variant of shape.variants) {
        const scratch: CheckContext = { ...ctx, issues: [] };
        const checked = checkShape(value, variant, path, scratch);
        if (scratch.issues.length === 0) return checked;
        if (sameKind === undefined && takesKindOf(variant, value)) sameKind = variant;
      }
      // A mapping where one variant is an object (a retry policy beside `off`) gets that
      // variant's own problems, which name the key at fault, rather than "must be one of".
      if (sameKind !== undefined) return checkShape(value, sameKind, path, ctx);
      return fail(`must be ${shape.expected}, got ${describeValue(value)}`);
    }
    case 'balancer':
    case 'resolver':
    case 'any':
      return value;
  }
}

/** A mapping for an object or map variant, a list for a list one. */
function takesKindOf(variant: Shape, value: unknown): boolean {
  if (isMapping(value)) return variant.kind === 'object' || variant.kind === 'map';
  return Array.isArray(value) && variant.kind === 'list';
}

function checkObject(
  value: unknown,
  shape: ObjectShape,
  path: KeyPath,
  ctx: CheckContext,
): unknown {
  if (!isMapping(value)) {
    ctx.issues.push({ path, message: `must be a mapping, got ${describeValue(value)}` });
    return undefined;
  }
  const known = Object.keys(shape.properties);
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(shape.properties, key)) continue;
    ctx.issues.push({
      path: [...path, key],
      message: `unknown key "${clip(key)}"`,
      detail: () => {
        const hint = didYouMean(key, known);
        return hint === '' ? ` (expected ${listNames(known)})` : hint;
      },
      on: 'key',
    });
  }
  const out: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(shape.properties)) {
    const given = Object.hasOwn(value, key) ? value[key] : undefined;
    if (given !== undefined && given !== null) {
      out[key] = checkShape(given, property.shape, [...path, key], ctx);
    } else if (property.required) {
      ctx.issues.push({ path, message: `missing required key "${key}"` });
    } else if (property.default !== undefined && property.shape.kind === 'object') {
      out[key] = checkShape(property.default, property.shape, [...path, key], ctx);
    } else {
      out[key] = property.default;
    }
  }
  return out;
}

/** `a, b or c`. */
export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
