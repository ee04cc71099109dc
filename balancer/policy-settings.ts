// Declarative settings of a balancing policy: one description drives validation (with paths
// and "did you mean" for the YAML loader), defaults, and the config reference.
import { closestName } from './did-you-mean.js';
import type { PolicySettingsIssue } from './errors.js';

interface SettingBase {
  /** One line for the config reference. */
  readonly description: string;
}

export interface NumberSetting extends SettingBase {
  readonly type: 'integer' | 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Appended to messages and the reference, e.g. "ms". */
  readonly unit?: string;
}

export interface EnumSetting extends SettingBase {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly default: string;
}

export interface StringSetting extends SettingBase {
  readonly type: 'string';
  readonly default: string | undefined;
  /** What a valid value looks like, checked after `normalize`. */
  readonly pattern?: RegExp;
  readonly patternMessage?: string;
  readonly normalize?: (value: string) => string;
}

export type SettingSpec = NumberSetting | EnumSetting | StringSetting;
export type SettingsSpec = Readonly<Record<string, SettingSpec>>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function checkOne(name: string, spec: SettingSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const unit = spec.unit ? ` ${spec.unit}` : '';
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        const what = spec.unit === 'ms' ? 'a number of milliseconds' : 'a number';
        return `${name} must be ${what}, got ${describe(value)}`;
      }
      if (spec.type === 'integer' && !Number.isInteger(value)) {
        return `${name} must be a whole number, got ${value}`;
      }
      if (value < spec.min || value > spec.max) {
        return `${name} must be between ${spec.min} and ${spec.max}${unit}, got ${value}`;
      }
      return undefined;
    }
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) {
        const hint = typeof value === 'string' ? closestName(value, spec.values) : undefined;
        return (
          `${name} must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}, got ${describe(value)}` +
          (hint ? ` (did you mean "${hint}"?)` : '')
        );
      }
      return undefined;
    case 'string': {
      if (typeof value !== 'string') return `${name} must be a string, got ${describe(value)}`;
      const normalized = spec.normalize ? spec.normalize(value) : value;
      if (spec.pattern && !spec.pattern.test(normalized)) {
        return `${name} ${spec.patternMessage ?? `must match ${String(spec.pattern)}`}, got ${JSON.stringify(value)}`;
      }
      return undefined;
    }
  }
}

/** Every problem in `raw` against `spec`; empty when it is valid. Absent or null means {}. */
export function validateSettings(spec: SettingsSpec, raw: unknown): PolicySettingsIssue[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return [{ path: [], message: `settings must be a mapping, got ${describe(raw)}` }];
  }
  const issues: PolicySettingsIssue[] = [];
  const known = Object.keys(spec);
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const setting = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!setting) {
      const hint = closestName(name, known);
      const list = known.length > 0 ? `known: ${known.join(', ')}` : 'this policy has no settings';
      issues.push({
        path: [name],
        message: `unknown setting "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; ${list}`,
      });
      continue;
    }
    const problem = checkOne(name, setting, value);
    if (problem) issues.push({ path: [name], message: problem });
  }
  return issues;
}

/**
 * `raw` (already valid) as given: only the keys it has, strings normalized, no defaults. What a
 * validated config keeps, so that it says what the file said.
 */
export function normalizeSettings(spec: SettingsSpec, raw: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    if (value === undefined) continue;
    const setting = spec[name];
    out[name] =
      setting.type === 'string' && setting.normalize ? setting.normalize(value as string) : value;
  }
  return out;
}

/**
 * `raw` (already valid) with every default filled in and strings normalized. The caller
 * validates first; this only reads.
 */
export function resolveSettings(spec: SettingsSpec, raw: unknown): Record<string, unknown> {
  const given = (raw ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(spec)) {
    let value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined) value = setting.default;
    else if (setting.type === 'string' && setting.normalize)
      value = setting.normalize(value as string);
    out[name] = value;
  }
  return out;
}
