// One set of descriptors and routes from every source: the files backends serve by reflection,
// .proto files, and HTTP rules from the config. Reflection wins for the files it has; .proto
// files fill in files it lacks and, method by method, the google.api.http rules reflection
// left out (Node's @grpc/reflection serves descriptors without them); the config's rules
// replace both.
import { getOption, toJson, type JsonValue } from '@bufbuild/protobuf';
import { poolFromFiles, type DescriptorPool } from './descriptor-pool.js';
import { buildRoutes, RouteTable, type ExtraRule, type GatewayRoute } from './http-rules.js';

export interface DescriptorSet {
  readonly pool: DescriptorPool;
  readonly routes: readonly GatewayRoute[];
  /** Services that have methods but no HTTP rule for any of them, sorted. */
  readonly withoutRules: readonly string[];
}

/**
 * Builds the set (throws ProtoLoadError or HttpRuleError). `reflected`: files by name from
 * reflection, dependencies first, or undefined when reflection is off.
 */
export function buildDescriptorSet(
  reflected: ReadonlyMap<string, Uint8Array> | undefined,
  protos: DescriptorPool | undefined,
  httpRules: readonly ExtraRule[],
): DescriptorSet {
  let pool: DescriptorPool;
  const extra: ExtraRule[] = [];
  if (reflected === undefined) {
    if (protos === undefined) throw new Error('a descriptor set needs reflection or .proto files');
    pool = protos;
  } else {
    const files = new Map(reflected);
    if (protos !== undefined) {
      // Files only the .proto source has (services no backend reflects) go after the rest.
      for (const [name, bytes] of protos.files) if (!files.has(name)) files.set(name, bytes);
    }
    try {
      pool = poolFromFiles(files, 'server reflection');
    } catch (err) {
      // The same declarations under another file name (the .proto named by another path
      // than the backend's): reflection alone, with the files' rules still applied below.
      if (files.size === reflected.size) throw err;
      pool = poolFromFiles(reflected, 'server reflection');
    }
    if (protos !== undefined) extra.push(...rulesOf(protos, pool));
  }
  extra.push(...httpRules);
  const routes = buildRoutes(pool, extra);
  // Clashing rules fail here, before the set replaces a working one.
  new RouteTable(routes);
  const routed = new Set(routes.map((r) => r.method.parent.typeName));
  const withoutRules = new Set<string>();
  for (const m of pool.methods.values()) {
    const svc = m.parent.typeName;
    if (!routed.has(svc) && !svc.startsWith('grpc.reflection.')) withoutRules.add(svc);
  }
  return { pool, routes, withoutRules: [...withoutRules].sort() };
}

/** The .proto files' rules, as config rules, for methods whose reflected form has none. */
function rulesOf(protos: DescriptorPool, pool: DescriptorPool): ExtraRule[] {
  const httpRule = protos.registry.getMessage('google.api.HttpRule')!;
  const out: ExtraRule[] = [];
  for (const [full, method] of protos.methods) {
    const target = pool.methods.get(full);
    if (target === undefined) continue;
    const own = getOption(target, pool.httpExtension) as Parameters<typeof toJson>[1] | undefined;
    if (own !== undefined && Object.keys(toJson(httpRule, own) as object).length > 0) continue;
    const opt = getOption(method, protos.httpExtension) as Parameters<typeof toJson>[1] | undefined;
    if (opt === undefined) continue;
    const json = toJson(httpRule, opt) as Record<string, JsonValue>;
    if (Object.keys(json).length === 0) continue;
    out.push({ rule: { ...json, selector: full }, source: protos.sourceOf.get(full) ?? full });
  }
  return out;
}
