// Routing: the first route whose service/method/prefix and header matches hold names the cluster.
import type { HeaderMatch, RouteConfig } from '../config/types.js';
import { joinedFieldValue } from '../transport/header-fields.js';

interface CompiledHeaderMatch {
  readonly name: string;
  test(value: string | undefined): boolean;
}

export interface CompiledRoute {
  readonly name: string;
  readonly cluster: string;
  /** Exact `:path` to match, or undefined. */
  readonly path: string | undefined;
  /** `:path` prefix to match, or undefined. */
  readonly prefix: string | undefined;
  readonly headers: readonly CompiledHeaderMatch[];
}

function compileHeaderMatch(m: HeaderMatch): CompiledHeaderMatch {
  const name = m.name.toLowerCase();
  if (m.present !== undefined) {
    const want = m.present;
    return { name, test: (v) => (v !== undefined) === want };
  }
  if (m.exact !== undefined) {
    const want = m.exact;
    return { name, test: (v) => v === want };
  }
  if (m.prefix !== undefined) {
    const want = m.prefix;
    return { name, test: (v) => v !== undefined && v.startsWith(want) };
  }
  if (m.regex !== undefined) {
    const re = new RegExp(`^(?:${m.regex})$`);
    return { name, test: (v) => v !== undefined && re.test(v) };
  }
  return { name, test: (v) => v !== undefined };
}

function compile(route: RouteConfig): CompiledRoute {
  const { service, method, prefix } = route.match;
  let path: string | undefined;
  let pathPrefix = prefix;
  if (service !== undefined && method !== undefined) path = `/${service}/${method}`;
  else if (service !== undefined) pathPrefix = `/${service}/`;
  return {
    name: route.name,
    cluster: route.cluster,
    path,
    prefix: pathPrefix,
    headers: route.match.headers.map(compileHeaderMatch),
  };
}

/** Paths cached per router; bounded so a client cannot grow it with made-up paths. */
const MAX_CACHED_PATHS = 10_000;

export class Router {
  private readonly routes: readonly CompiledRoute[];
  /** When no route looks at headers, the answer depends on the path alone and is cached. */
  private readonly byPath: Map<string, CompiledRoute | null> | undefined;

  constructor(routes: readonly RouteConfig[]) {
    this.routes = routes.map(compile);
    this.byPath = this.routes.every((r) => r.headers.length === 0) ? new Map() : undefined;
  }

  /** The route for a call to `path` with request header fields `fields` ([name, value, …]). */
  match(path: string, fields: readonly string[]): CompiledRoute | undefined {
    const cache = this.byPath;
    if (cache !== undefined) {
      const hit = cache.get(path);
      if (hit !== undefined) return hit ?? undefined;
      const found = this.scan(path, fields);
      if (cache.size < MAX_CACHED_PATHS) cache.set(path, found ?? null);
      return found;
    }
    return this.scan(path, fields);
  }

  private scan(path: string, fields: readonly string[]): CompiledRoute | undefined {
    outer: for (const route of this.routes) {
      if (route.path !== undefined && route.path !== path) continue;
      if (route.prefix !== undefined && !path.startsWith(route.prefix)) continue;
      for (const h of route.headers) {
        if (!h.test(joinedFieldValue(fields, h.name))) continue outer;
      }
      return route;
    }
    return undefined;
  }
}
