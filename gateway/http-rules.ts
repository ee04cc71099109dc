// From google.api.http rules (method options, or `httpRules:` in YAML) to routes, checked
// against the request and response messages at load time, and the table that matches an HTTP
// method and path to one of them. Among several matches the most specific wins, segment by
// segment (literal over `*` over `**`), so the order rules were declared in never matters.
import {
  fromJson,
  getOption,
  toJson,
  type DescField,
  type DescMessage,
  type DescMethod,
  type JsonValue,
} from '@bufbuild/protobuf';
import { SwitchyardError } from '../common/errors.js';
import type { DescriptorPool } from './descriptor-pool.js';
import {
  matchTemplate,
  parseTemplate,
  specificity,
  templateKey,
  TemplateSyntaxError,
  type PathTemplate,
} from './path-template.js';

/** A rule that cannot be served (bad template, unknown field, clash): names its source. */
export class HttpRuleError extends SwitchyardError {
  override readonly name = 'HttpRuleError';
  constructor(message: string) {
    super('SWY_ERR_HTTP_RULE', message);
  }
}

/** An HttpRule in proto3 JSON form (what `toJson(HttpRule)` gives and YAML may hold). */
export interface HttpRuleJson {
  readonly selector?: string;
  readonly get?: string;
  readonly put?: string;
  readonly post?: string;
  readonly delete?: string;
  readonly patch?: string;
  readonly custom?: { readonly kind?: string; readonly path?: string };
  readonly body?: string;
  readonly responseBody?: string;
  readonly additionalBindings?: readonly HttpRuleJson[];
}

/** A rule given outside the protos, with where it was written. */
export interface ExtraRule {
  readonly rule: JsonValue;
  /** `config.yaml:12:5`, or similar, for messages. */
  readonly source: string;
}

export interface GatewayRoute {
  /** Upper-case HTTP method; `*` for a custom rule of kind "*". */
  readonly httpMethod: string;
  readonly template: PathTemplate;
  readonly method: DescMethod;
  /** The gRPC path, `/pkg.Service/Method`. */
  readonly grpcPath: string;
  /** '' (no body), '*' (the whole request), or a top-level field of the request. */
  readonly body: string;
  readonly bodyField: DescField | undefined;
  readonly responseField: DescField | undefined;
  /** Each path variable's fields from the request message down. */
  readonly pathFields: readonly (readonly DescField[])[];
  /** Where the rule was declared, for messages. */
  readonly source: string;
  /** Comparison key: 1 for a verb, then each segment's specificity. */
  readonly rank: readonly number[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * Routes for every method with a rule: from its google.api.http option, replaced by an entry
 * of `extra` for the same selector (service config rules win over annotations, as in
 * google.api.Service).
 */
export function buildRoutes(
  pool: DescriptorPool,
  extra: readonly ExtraRule[] = [],
): GatewayRoute[] {
  const httpRule = pool.registry.getMessage('google.api.HttpRule');
  if (httpRule === undefined) throw new Error('google.api.HttpRule missing from the pool');
  const bySelector = new Map<string, { rule: HttpRuleJson; source: string }>();
  for (const e of extra) {
    let normalized: HttpRuleJson;
    try {
      normalized = toJson(httpRule, fromJson(httpRule, e.rule)) as HttpRuleJson;
    } catch (err) {
      throw new HttpRuleError(`${e.source}: not a valid HttpRule: ${(err as Error).message}`);
    }
    const selector = normalized.selector ?? '';
    if (!pool.methods.has(selector)) {
      throw new HttpRuleError(
        `${e.source}: selector "${selector}" names no method of the loaded protos`,
      );
    }
    bySelector.set(selector, { rule: normalized, source: e.source });
  }
  const routes: GatewayRoute[] = [];
  for (const [full, method] of pool.methods) {
    let rule: HttpRuleJson | undefined;
    let source = pool.sourceOf.get(full) ?? full;
    const given = bySelector.get(full);
    if (given !== undefined) {
      rule = given.rule;
      source = given.source;
    } else {
      const opt = getOption(method, pool.httpExtension);
      const msg = opt as Parameters<typeof toJson>[1];
      if (opt !== undefined && opt !== null) {
        const json = toJson(httpRule, msg) as HttpRuleJson;
        if (Object.keys(json).length > 0) rule = json;
      }
    }
    if (rule === undefined) continue;
    routes.push(...routesOf(method, rule, source, false));
  }
  return routes;
}

function routesOf(
  method: DescMethod,
  rule: HttpRuleJson,
  source: string,
  nested: boolean,
): GatewayRoute[] {
  const full = `${method.parent.typeName}.${method.name}`;
  const where = `${source}: method ${full}`;
  let httpMethod: string | undefined;
  let path: string | undefined;
  for (const m of METHODS) {
    if (rule[m] !== undefined) {
      httpMethod = m.toUpperCase();
      path = rule[m];
    }
  }
  if (rule.custom !== undefined) {
    httpMethod = (rule.custom.kind ?? '').toUpperCase();
    path = rule.custom.path;
    if (httpMethod === '') throw new HttpRuleError(`${where}: custom rule without a kind`);
  }
  if (httpMethod === undefined || path === undefined) {
    throw new HttpRuleError(`${where}: the rule names no HTTP method and path`);
  }
  const what = `${where}: ${httpMethod} ${path}`;
  let template: PathTemplate;
  try {
    template = parseTemplate(path);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) throw new HttpRuleError(`${what}: ${err.message}`);
    throw err;
  }
  const input = method.input;
  const pathFields = template.variables.map((v) => {
    const fields = fieldPath(input, v.fieldPath, what);
    const leaf = fields.at(-1)!;
    if (leaf.fieldKind !== 'scalar' && leaf.fieldKind !== 'enum') {
      throw new HttpRuleError(
        `${what}: path variable "${v.fieldPath.join('.')}" must name a singular scalar field`,
      );
    }
    return fields;
  });
  const body = rule.body ?? '';
  let bodyField: DescField | undefined;
  if (body !== '' && body !== '*') {
    bodyField = input.fields.find((f) => f.name === body);
    if (bodyField === undefined) {
      throw new HttpRuleError(`${what}: body "${body}" is not a field of ${input.typeName}`);
    }
  }
  if (body !== '' && httpMethod === 'GET') {
    throw new HttpRuleError(`${what}: a GET rule must not have a body`);
  }
  if (bodyField !== undefined && pathFields.some((p) => p.length === 1 && p[0] === bodyField)) {
    throw new HttpRuleError(`${what}: field "${body}" is bound by both the path and the body`);
  }
  let responseField: DescField | undefined;
  if (rule.responseBody !== undefined && rule.responseBody !== '') {
    responseField = method.output.fields.find((f) => f.name === rule.responseBody);
    if (responseField === undefined) {
      throw new HttpRuleError(
        `${what}: response_body "${rule.responseBody}" is not a field of ${method.output.typeName}`,
      );
    }
  }
  if (method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming') {
    // The request stream is the body, one JSON message a line: it needs a body.
    if (body === '') {
      throw new HttpRuleError(
        `${what}: a ${method.methodKind.replace('_', ' ')} method takes its messages from the body; give the rule a body`,
      );
    }
  }
  const route: GatewayRoute = {
    httpMethod,
    template,
    method,
    grpcPath: `/${method.parent.typeName}/${method.name}`,
    body,
    bodyField,
    responseField,
    pathFields,
    source,
    rank: [template.verb !== undefined ? 1 : 0, ...specificity(template)],
  };
  const out = [route];
  for (const b of rule.additionalBindings ?? []) {
    if (nested) throw new HttpRuleError(`${what}: additional_bindings may not nest`);
    out.push(...routesOf(method, b, source, true));
  }
  return out;
}

/** Resolves `a.b.c` through singular message fields of `msg`. */
export function fieldPath(msg: DescMessage, path: readonly string[], what: string): DescField[] {
  const out: DescField[] = [];
  let current: DescMessage | undefined = msg;
  for (const [i, name] of path.entries()) {
    const f: DescField | undefined = current?.fields.find((x) => x.name === name);
    if (f === undefined || current === undefined) {
      throw new HttpRuleError(
        `${what}: "${path.join('.')}" is not a field of ${msg.typeName} (no "${name}")`,
      );
    }
    out.push(f);
    if (i < path.length - 1) {
      if (f.fieldKind !== 'message') {
        throw new HttpRuleError(`${what}: "${path.slice(0, i + 1).join('.')}" is not a message`);
      }
      current = f.message;
    }
  }
  return out;
}

export type MatchResult =
  | { readonly kind: 'route'; readonly route: GatewayRoute; readonly values: readonly string[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'wrong-method'; readonly allow: readonly string[] };

const NOT_FOUND: MatchResult = { kind: 'not-found' };

/** Routes by HTTP method; matching is by specificity, not by order. */
export class RouteTable {
  private readonly byMethod = new Map<string, GatewayRoute[]>();

  constructor(readonly routes: readonly GatewayRoute[]) {
    const seen = new Map<string, GatewayRoute>();
    for (const r of routes) {
      const key = `${r.httpMethod} ${templateKey(r.template)}`;
      const other = seen.get(key);
      if (other !== undefined) {
        throw new HttpRuleError(
          `${r.source}: method ${r.method.parent.typeName}.${r.method.name}: ${r.httpMethod} ${r.template.text} ` +
            `clashes with ${other.httpMethod} ${other.template.text} of ${other.method.parent.typeName}.${other.method.name} (${other.source})`,
        );
      }
      seen.set(key, r);
      let list = this.byMethod.get(r.httpMethod);
      if (list === undefined) this.byMethod.set(r.httpMethod, (list = []));
      list.push(r);
    }
  }

  /** `rawPath` without the query string, still percent-encoded. */
  match(httpMethod: string, rawPath: string): MatchResult {
    if (!rawPath.startsWith('/')) return NOT_FOUND;
    const found =
      this.best(this.byMethod.get(httpMethod), rawPath) ??
      this.best(this.byMethod.get('*'), rawPath);
    if (found !== undefined) return found;
    const allow: string[] = [];
    for (const [m, list] of this.byMethod) {
      if (m !== '*' && this.best(list, rawPath) !== undefined) allow.push(m);
    }
    return allow.length > 0 ? { kind: 'wrong-method', allow: allow.sort() } : NOT_FOUND;
  }

  private best(
    list: readonly GatewayRoute[] | undefined,
    rawPath: string,
  ): (MatchResult & { kind: 'route' }) | undefined {
    if (list === undefined) return undefined;
    const plain = rawPath.slice(1).split('/');
    let best: (MatchResult & { kind: 'route' }) | undefined;
    for (const route of list) {
      let segs = plain;
      const verb = route.template.verb;
      if (verb !== undefined) {
        const last = plain.at(-1)!;
        if (!last.endsWith(':' + verb)) continue;
        segs = [...plain.slice(0, -1), last.slice(0, -verb.length - 1)];
      }
      const values = matchTemplate(route.template, segs);
      if (values === null) continue;
      if (best === undefined || compareRank(route.rank, best.route.rank) > 0) {
        best = { kind: 'route', route, values };
      }
    }
    return best;
  }
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
