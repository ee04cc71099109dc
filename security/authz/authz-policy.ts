// A gRFC A43 authorization policy, checked and compiled: the JSON that grpc-go's and
// grpc-java's `authz` packages read (`{name, deny_rules, allow_rules}`), with their checks
// (unknown keys, missing names, headers that may not be matched) and each problem reported with
// its file, line:col and key path. One switchyard extension: `source.jwt_claims`.
import { readFileSync, statSync } from 'node:fs';
import { SecurityError } from '../errors.js';
import { formatPath, parseJsonSource, type JsonSource } from '../json-source.js';
import { compilePattern, type PatternMatcher } from './match-pattern.js';

/** One `{key, values}` header condition: the header must be present and match one value. */
export interface CompiledHeader {
  /** Lower-cased, as grpc-go does before checking it. */
  readonly key: string;
  readonly values: readonly PatternMatcher[];
}

/** Switchyard's extension: a JWT claim that must match one of the patterns. */
export interface CompiledClaim {
  /** The claim's name; dots reach into objects (`realm_access.roles`). */
  readonly claim: string;
  readonly values: readonly PatternMatcher[];
}

export interface CompiledRule {
  readonly name: string;
  /** Undefined: any peer, with or without TLS. Otherwise ORed principal patterns. */
  readonly principals: readonly PatternMatcher[] | undefined;
  /** Undefined: no claim condition. Otherwise ANDed claim conditions (switchyard extension). */
  readonly claims: readonly CompiledClaim[] | undefined;
  /** Undefined: any path. Otherwise ORed path patterns. */
  readonly paths: readonly PatternMatcher[] | undefined;
  /** ANDed header conditions; empty for none. */
  readonly headers: readonly CompiledHeader[];
}

export interface AuthzPolicy {
  /** The policy's `name`. */
  readonly name: string;
  /** Where it came from: a file path, or `<inline>`. */
  readonly source: string;
  readonly denyRules: readonly CompiledRule[];
  readonly allowRules: readonly CompiledRule[];
}

/** A policy file larger than this is refused before it is read: a policy is a few KiB. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * Headers a rule may not match (gRFC A43 "key"): pseudo-headers, `grpc-*`, `host`, and the
 * hop-by-hop headers. The same list as grpc-go's translator, so a policy refused there is
 * refused here.
 */
const UNSUPPORTED_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function isUnsupportedHeaderKey(key: string): boolean {
  return key.startsWith(':') || key.startsWith('grpc-') || UNSUPPORTED_HEADERS.has(key);
}

const POLICY_KEYS = new Set(['name', 'deny_rules', 'allow_rules', 'audit_logging_options']);
const RULE_KEYS = new Set(['name', 'source', 'request']);
const SOURCE_KEYS = new Set(['principals', 'jwt_claims']);
const REQUEST_KEYS = new Set(['paths', 'headers']);
const HEADER_KEYS = new Set(['key', 'values']);
const CLAIM_KEYS = new Set(['claim', 'values']);

type Path = (string | number)[];

class PolicyReader {
  constructor(
    private readonly json: JsonSource | undefined,
    private readonly file: string,
  ) {}

  fail(path: Path, message: string): never {
    throw new SecurityError('SWY_ERR_AUTHZ_POLICY', message, {
      position: this.json?.locate(path) ?? { file: this.file, line: 0, column: 0 },
      path: formatPath(path),
    });
  }

  object(value: unknown, path: Path, keys: ReadonlySet<string>): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(path, `must be an object, not ${describe(value)}`);
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!keys.has(key)) {
        this.fail([...path, key], `unknown key "${key}" (expected one of ${[...keys].join(', ')})`);
      }
    }
    return record;
  }

  /** A list of strings; undefined when absent. */
  strings(value: unknown, path: Path): string[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) this.fail(path, `must be a list of strings, not ${describe(value)}`);
    value.forEach((item, i) => {
      if (typeof item !== 'string')
        this.fail([...path, i], `must be a string, not ${describe(item)}`);
    });
    return value as string[];
  }

  name(value: unknown, path: Path): string {
    if (value === undefined) this.fail(path, 'is required (gRFC A43)');
    if (typeof value !== 'string') this.fail(path, `must be a string, not ${describe(value)}`);
    if (value === '') this.fail(path, 'must not be empty');
    return value;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function compileRules(reader: PolicyReader, value: unknown, path: Path): CompiledRule[] {
  if (!Array.isArray(value)) reader.fail(path, `must be a list of rules, not ${describe(value)}`);
  const seen = new Map<string, number>();
  return value.map((raw, i) => {
    const at: Path = [...path, i];
    const rule = reader.object(raw, at, RULE_KEYS);
    const name = reader.name(rule.name, [...at, 'name']);
    const earlier = seen.get(name);
    // grpc-go keys its RBAC policies by name, so a second rule with the same name replaces the
    // first there without a word; here it is an error rather than a silent difference.
    if (earlier !== undefined) {
      reader.fail(
        [...at, 'name'],
        `rule name "${name}" is used twice (also ${formatPath([...path, earlier])})`,
      );
    }
    seen.set(name, i);

    let principals: PatternMatcher[] | undefined;
    let claims: CompiledClaim[] | undefined;
    if (rule.source !== undefined) {
      const source = reader.object(rule.source, [...at, 'source'], SOURCE_KEYS);
      const list = reader.strings(source.principals, [...at, 'source', 'principals']);
      // An empty list is the same as none: any peer (grpc-go's parsePeer).
      if (list !== undefined && list.length > 0) principals = list.map(compilePattern);
      if (source.jwt_claims !== undefined) {
        const claimsAt: Path = [...at, 'source', 'jwt_claims'];
        if (!Array.isArray(source.jwt_claims)) {
          reader.fail(
            claimsAt,
            `must be a list of {claim, values}, not ${describe(source.jwt_claims)}`,
          );
        }
        claims = source.jwt_claims.map((c, j) => {
          const cAt: Path = [...claimsAt, j];
          const entry = reader.object(c, cAt, CLAIM_KEYS);
          if (typeof entry.claim !== 'string' || entry.claim === '') {
            reader.fail([...cAt, 'claim'], 'must be a non-empty string');
          }
          const values = reader.strings(entry.values, [...cAt, 'values']);
          if (values === undefined || values.length === 0) {
            reader.fail([...cAt, 'values'], 'is required: a non-empty list of patterns');
          }
          return { claim: entry.claim, values: values.map(compilePattern) };
        });
        if (claims.length === 0) claims = undefined;
      }
    }

    let paths: PatternMatcher[] | undefined;
    const headers: CompiledHeader[] = [];
    if (rule.request !== undefined) {
      const request = reader.object(rule.request, [...at, 'request'], REQUEST_KEYS);
      const list = reader.strings(request.paths, [...at, 'request', 'paths']);
      if (list !== undefined && list.length > 0) paths = list.map(compilePattern);
      if (request.headers !== undefined) {
        const hAt: Path = [...at, 'request', 'headers'];
        if (!Array.isArray(request.headers)) {
          reader.fail(hAt, `must be a list of {key, values}, not ${describe(request.headers)}`);
        }
        request.headers.forEach((h, j) => {
          const entryAt: Path = [...hAt, j];
          const header = reader.object(h, entryAt, HEADER_KEYS);
          if (header.key === undefined || header.key === '') {
            reader.fail([...entryAt, 'key'], 'is required');
          }
          if (typeof header.key !== 'string') {
            reader.fail([...entryAt, 'key'], `must be a string, not ${describe(header.key)}`);
          }
          const key = header.key.toLowerCase();
          if (isUnsupportedHeaderKey(key)) {
            reader.fail(
              [...entryAt, 'key'],
              `unsupported "key" ${key}: pseudo-headers, grpc-* headers, host and hop-by-hop headers cannot be matched (gRFC A43)`,
            );
          }
          const values = reader.strings(header.values, [...entryAt, 'values']);
          if (values === undefined || values.length === 0) {
            reader.fail([...entryAt, 'values'], 'is required: a non-empty list of patterns');
          }
          headers.push({ key, values: values.map(compilePattern) });
        });
      }
    }
    return { name, principals, claims, paths, headers };
  });
}

function compile(value: unknown, json: JsonSource | undefined, source: string): AuthzPolicy {
  const reader = new PolicyReader(json, source);
  const policy = reader.object(value, [], POLICY_KEYS);
  const name = reader.name(policy.name, ['name']);
  if (policy.allow_rules === undefined) reader.fail(['allow_rules'], 'is required (gRFC A43)');
  const allowRules = compileRules(reader, policy.allow_rules, ['allow_rules']);
  if (allowRules.length === 0)
    reader.fail(['allow_rules'], 'must have at least one rule (gRFC A43)');
  const denyRules =
    policy.deny_rules === undefined ? [] : compileRules(reader, policy.deny_rules, ['deny_rules']);
  // audit_logging_options (gRFC A59) is accepted so a grpc-go policy loads unchanged; the
  // decision itself says which rule decided, for the caller to log or count.
  if (policy.audit_logging_options !== undefined) {
    const opts = policy.audit_logging_options;
    if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
      reader.fail(['audit_logging_options'], `must be an object, not ${describe(opts)}`);
    }
  }
  return { name, source, denyRules, allowRules };
}

/** Checks and compiles a policy from its JSON text; throws SecurityError SWY_ERR_AUTHZ_POLICY. */
export function parseAuthzPolicy(text: string, file = '<inline>'): AuthzPolicy {
  const parsed = parseJsonSource(text, file);
  if (!parsed.ok) {
    throw new SecurityError('SWY_ERR_AUTHZ_POLICY', `not valid JSON: ${parsed.message}`, {
      position: parsed.position,
    });
  }
  return compile(parsed.source.value, parsed.source, file);
}

/**
 * Checks and compiles a policy given as a value (inline in a YAML config, say). Problems name
 * key paths but no line:col; a caller that has the config's positions adds them.
 */
export function compileAuthzPolicy(value: unknown, source = '<inline>'): AuthzPolicy {
  return compile(value, undefined, source);
}

/** Reads, checks and compiles a policy file, synchronously (config load time). */
export function loadAuthzPolicyFile(path: string): AuthzPolicy {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_POLICY_BYTES) {
      throw new SecurityError(
        'SWY_ERR_AUTHZ_POLICY',
        `the policy file is ${size} bytes; a policy may be at most ${MAX_POLICY_BYTES}`,
        { position: { file: path, line: 0, column: 0 } },
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof SecurityError) throw err;
    throw new SecurityError(
      'SWY_ERR_AUTHZ_POLICY',
      `cannot read the policy file: ${(err as Error).message}`,
      {
        position: { file: path, line: 0, column: 0 },
        cause: err,
      },
    );
  }
  return parseAuthzPolicy(text, path);
}
