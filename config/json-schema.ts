// The config file's JSON Schema (draft-07, for editors and CI), generated from the same shapes
// the loader checks with; policy settings and resolver options are handed in by the caller.
import { formatSocketAddress } from './address.js';
import { CONFIG_SHAPE } from './config-schema.js';
import { formatDuration } from './duration.js';
import type { ObjectShape, Property, Shape } from './shape.js';
import type { SocketAddress } from './types.js';

/** A balancing policy setting, as the balancer registry describes it. */
export interface PolicySettingInfo {
  readonly type: 'integer' | 'number' | 'enum' | 'string';
  readonly description: string;
  readonly default?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly unit?: string;
  readonly pattern?: RegExp;
}

export interface PolicyInfo {
  readonly name: string;
  readonly summary: string;
  readonly settings: Readonly<Record<string, PolicySettingInfo>>;
}

/** A resolver option, as resolver/options.ts describes it. */
export interface ResolverOptionInfo {
  readonly type: 'string' | 'string[]' | 'integer' | 'number' | 'boolean';
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
}

export interface JsonSchemaInputs {
  readonly policies: readonly PolicyInfo[];
  /** Option group (`dns` for dns and dns+srv targets, `consul`, `static`) → option → field. */
  readonly resolverOptions: Readonly<Record<string, Readonly<Record<string, ResolverOptionInfo>>>>;
}

type JsonSchema = Record<string, unknown>;

const ENV: JsonSchema = { $ref: '#/definitions/env' };
const DURATION_PATTERN = '^(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h))+$';

/** Also accept `${VAR}` text, which becomes a number or boolean after substitution. */
function orEnv(schema: JsonSchema): JsonSchema {
  return { anyOf: [schema, ENV] };
}

function durationSchema(bareMs: boolean, min?: number, max?: number): JsonSchema {
  const text = { type: 'string', pattern: DURATION_PATTERN };
  const number = bareMs
    ? {
        type: 'integer',
        ...(min !== undefined ? { minimum: min } : {}),
        ...(max !== undefined ? { maximum: max } : {}),
      }
    : { const: 0 };
  return { anyOf: [text, number, ENV] };
}

function shapeSchema(shape: Shape, inputs: JsonSchemaInputs): JsonSchema {
  switch (shape.kind) {
    case 'string': {
      const s: JsonSchema = { type: 'string' };
      if (shape.pattern) s.pattern = shape.pattern.source;
      if (shape.examples) s.examples = shape.examples;
      if (shape.fromScalar) return { type: ['string', 'number', 'boolean'] };
      return shape.pattern ? orEnv(s) : s;
    }
    case 'integer':
    case 'number':
      return orEnv({ type: shape.kind, minimum: shape.min, maximum: shape.max });
    case 'boolean':
      return orEnv({ type: 'boolean' });
    case 'duration':
      return durationSchema(false);
    case 'address':
      return orEnv({
        type: 'string',
        pattern: '^(?:\\[[0-9a-fA-F:.%\\w]+\\]|[^:\\[\\]\\s]*):\\d{1,5}$',
      });
    case 'enum':
      return orEnv({ enum: shape.values });
    case 'object':
      return objectSchema(shape, inputs);
    case 'list':
      return {
        type: 'array',
        items: shapeSchema(shape.items, inputs),
        ...(shape.minItems !== undefined ? { minItems: shape.minItems } : {}),
      };
    case 'map':
      return {
        type: 'object',
        propertyNames: { pattern: shape.keyPattern.source },
        additionalProperties: shapeSchema(shape.values, inputs),
        ...(shape.minEntries !== undefined ? { minProperties: shape.minEntries } : {}),
      };
    case 'union':
      return { anyOf: shape.variants.map((v) => shapeSchema(v, inputs)) };
    case 'any':
      return {};
    case 'balancer':
      return balancerSchema(inputs);
    case 'resolver':
      return resolverSchema(
        Object.assign({}, ...Object.values(inputs.resolverOptions)) as Record<
          string,
          ResolverOptionInfo
        >,
      );
  }
}

function defaultValue(property: Property): unknown {
  if (property.default === undefined || property.shape.kind === 'object') return undefined;
  if (property.shape.kind === 'duration') return formatDuration(property.default as number);
  if (property.shape.kind === 'address')
    return formatSocketAddress(property.default as SocketAddress);
  return property.default;
}

function objectSchema(shape: ObjectShape, inputs: JsonSchemaInputs): JsonSchema {
  const properties: JsonSchema = {};
  const required: string[] = [];
  for (const [key, property] of Object.entries(shape.properties)) {
    const schema = shapeSchema(property.shape, inputs);
    const value = defaultValue(property);
    const defaultText =
      value === undefined && property.defaultText !== undefined
        ? ` (default: ${property.defaultText})`
        : '';
    properties[key] = {
      description: property.description + defaultText,
      ...(value !== undefined ? { default: value } : {}),
      ...schema,
    };
    if (property.required) required.push(key);
  }
  return {
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}

function settingSchema(setting: PolicySettingInfo): JsonSchema {
  const base: JsonSchema = { description: setting.description };
  if (setting.default !== undefined) base.default = setting.default;
  switch (setting.type) {
    case 'integer':
    case 'number':
      if (setting.unit === 'ms')
        return { ...base, ...durationSchema(true, setting.min, setting.max) };
      return {
        ...base,
        ...orEnv({ type: setting.type, minimum: setting.min, maximum: setting.max }),
      };
    case 'enum':
      return { ...base, ...orEnv({ enum: setting.values }) };
    case 'string':
      return { ...base, type: 'string' };
  }
}

function balancerSchema(inputs: JsonSchemaInputs): JsonSchema {
  const names = inputs.policies.map((p) => p.name);
  return {
    anyOf: [
      { enum: names },
      ENV,
      ...inputs.policies.map((p) => ({
        type: 'object',
        description: p.summary,
        properties: {
          policy: { const: p.name, description: p.summary },
          ...Object.fromEntries(Object.entries(p.settings).map(([k, s]) => [k, settingSchema(s)])),
        },
        required: ['policy'],
        additionalProperties: false,
      })),
    ],
  };
}

function optionSchema(key: string, field: ResolverOptionInfo): JsonSchema {
  const base: JsonSchema = { description: field.description };
  switch (field.type) {
    case 'string':
      return { ...base, type: 'string', minLength: 1 };
    case 'string[]':
      return { ...base, type: 'array', items: { type: 'string', minLength: 1 } };
    case 'boolean':
      return { ...base, ...orEnv({ type: 'boolean' }) };
    case 'integer':
    case 'number':
      if (key.endsWith('Ms')) return { ...base, ...durationSchema(true, field.min, field.max) };
      return { ...base, ...orEnv({ type: field.type, minimum: field.min, maximum: field.max }) };
  }
}

function resolverSchema(fields: Readonly<Record<string, ResolverOptionInfo>>): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, optionSchema(k, f)])),
    additionalProperties: false,
  };
}

/** Narrows `resolver:` to the options of the cluster's target scheme. */
function resolverBySchemeRules(inputs: JsonSchemaInputs): JsonSchema[] {
  const rule = (pattern: string, group: string): JsonSchema => ({
    if: { properties: { target: { type: 'string', pattern } }, required: ['target'] },
    then: { properties: { resolver: resolverSchema(inputs.resolverOptions[group] ?? {}) } },
  });
  return [
    rule('^consul://', 'consul'),
    rule('^(?:dns|dns\\+srv)://', 'dns'),
    rule('^static://', 'static'),
  ];
}

/** The JSON Schema of the config file. */
export function buildJsonSchema(inputs: JsonSchemaInputs): JsonSchema {
  const root = objectSchema(CONFIG_SHAPE, inputs);
  const clusters = (root.properties as Record<string, JsonSchema>).clusters;
  const cluster = clusters.additionalProperties as JsonSchema;
  clusters.additionalProperties = { ...cluster, allOf: resolverBySchemeRules(inputs) };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'switchyard configuration',
    description:
      'Listeners, routes and clusters of the switchyard gRPC proxy. Values may use ${VAR} and ${VAR:-default}.',
    ...root,
    definitions: {
      env: {
        type: 'string',
        pattern: '\\$\\{',
        description: 'text with ${VAR} or ${VAR:-default}, substituted from the environment',
      },
    },
  };
}
