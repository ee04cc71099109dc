// Builds the filters a config names, per listener and per route, before any socket opens:
// built-ins from their settings, custom ones by importing their module and calling its factory.
// Anything that fails is a FilterConfigError naming the entry's file:line:col.
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config, FilterConfig } from '../config/types.js';
import { describeError } from '../common/errors.js';
import type { Filter, FilterEnvironment, FilterFactory } from './filter.js';
import { FilterConfigError } from './filter-errors.js';
import type { FilterDecisions } from './filter-metrics.js';
import { headersFilter } from './headers-filter.js';
import { rateLimitFilter } from './rate-limit-filter.js';
import { jwtFilter, type JwtFilterSettings } from './jwt-filter.js';
import { authzFilter } from './authz-filter.js';

export interface FilterLoadOptions {
  /** Clock milliseconds for rate limits and durations. */
  readonly now: () => number;
  /** This process's share of proxy-wide limits (1 / workers). */
  readonly share: number;
  readonly decisions: FilterDecisions;
}

/** The filters of one config; lists only for listeners and routes that have some. */
export interface FilterSet {
  readonly listeners: ReadonlyMap<string, readonly Filter[]>;
  readonly routes: ReadonlyMap<string, readonly Filter[]>;
  /** Closes every filter (after the set was replaced, or at shutdown). */
  close(): void;
}

const HOOKS = [
  'onRequestHeaders',
  'onResponseHeaders',
  'onTrailers',
  'onCallEnd',
  'onRequestMessage',
  'onResponseMessage',
  'close',
];

function fileOf(source: string): string {
  return source.replace(/:\d+:\d+$/, '');
}

function checkFilter(value: unknown, source: string, what: string): Filter {
  if (typeof value !== 'object' || value === null) {
    throw new FilterConfigError(`${source}: ${what} gave ${describeValue(value)}, not a filter`);
  }
  const f = value as Record<string, unknown>;
  if (typeof f.name !== 'string' || f.name === '') {
    throw new FilterConfigError(`${source}: ${what} gave a filter without a \`name\` string`);
  }
  for (const hook of HOOKS) {
    if (f[hook] !== undefined && typeof f[hook] !== 'function') {
      throw new FilterConfigError(
        `${source}: ${what} gave a filter whose ${hook} is not a function`,
      );
    }
  }
  if (f.messages !== undefined && f.messages !== 'raw' && f.messages !== 'decoded') {
    throw new FilterConfigError(
      `${source}: ${what} gave a filter whose messages is ${JSON.stringify(f.messages)}, not 'raw' or 'decoded'`,
    );
  }
  return value as Filter;
}

function describeValue(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
}

async function loadModule(
  config: Extract<FilterConfig, { kind: 'module' }>,
  env: FilterEnvironment,
): Promise<Filter> {
  const what = `module ${config.module}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(config.module).href)) as Record<string, unknown>;
  } catch (err) {
    throw new FilterConfigError(`${config.source}: ${what} does not load: ${describeError(err)}`, {
      cause: err,
    });
  }
  const exported = mod.createFilter ?? mod.default;
  if (typeof exported === 'function') {
    let made: unknown;
    try {
      made = await (exported as FilterFactory)(config.options, env);
    } catch (err) {
      throw new FilterConfigError(
        `${config.source}: ${what}: its filter factory failed: ${describeError(err)}`,
        { cause: err },
      );
    }
    return checkFilter(made, config.source, what);
  }
  if (typeof exported === 'object' && exported !== null) {
    return checkFilter(exported, config.source, what);
  }
  throw new FilterConfigError(
    `${config.source}: ${what} exports no filter: export a factory (options, env) => filter as \`default\` or \`createFilter\``,
  );
}

/** A built-in made from its settings; what it refuses becomes an error naming the entry. */
function built(source: string, what: string, make: () => Filter): Filter {
  try {
    return make();
  } catch (err) {
    throw new FilterConfigError(`${source}: ${what}: ${describeError(err)}`, { cause: err });
  }
}

/** The jwt entry as written, a relative `jwks.file` made relative to the config file. */
function jwtSettings(raw: Readonly<Record<string, unknown>>, configDir: string): JwtFilterSettings {
  const jwks = raw.jwks as Record<string, unknown> | undefined;
  if (jwks !== undefined && typeof jwks === 'object' && typeof jwks.file === 'string') {
    return {
      ...raw,
      jwks: { ...jwks, file: resolve(configDir, jwks.file) },
    } as unknown as JwtFilterSettings;
  }
  return raw as unknown as JwtFilterSettings;
}

async function buildOne(
  config: FilterConfig,
  scope: string,
  options: FilterLoadOptions,
): Promise<Filter> {
  const env: FilterEnvironment = {
    configDir: dirname(fileOf(config.source)),
    source: config.source,
    now: options.now,
    share: options.share,
  };
  switch (config.kind) {
    case 'headers':
      return headersFilter(config.request, config.response, config.source);
    case 'rateLimit':
      return rateLimitFilter(config, {
        now: options.now,
        share: options.share,
        allowed: options.decisions.counter('rateLimit', scope, 'allow'),
        denied: options.decisions.counter('rateLimit', scope, 'deny'),
      });
    case 'jwt':
      return built(config.source, 'jwt', () =>
        jwtFilter(jwtSettings(config.settings, env.configDir), {
          allowed: options.decisions.counter('jwt', scope, 'allow'),
          denied: options.decisions.counter('jwt', scope, 'deny'),
        }),
      );
    case 'authz':
      return built(config.source, 'authz', () =>
        authzFilter(config.policy, {
          allowed: options.decisions.counter('authz', scope, 'allow'),
          denied: options.decisions.counter('authz', scope, 'deny'),
        }),
      );
    case 'module':
      return loadModule(config, env);
  }
}

export async function loadFilters(config: Config, options: FilterLoadOptions): Promise<FilterSet> {
  const made: Filter[] = [];
  const build = async (list: readonly FilterConfig[] | undefined, scope: string) => {
    const out: Filter[] = [];
    for (const fc of list ?? []) {
      const f = await buildOne(fc, scope, options);
      made.push(f);
      out.push(f);
    }
    return out;
  };
  const close = () => {
    for (const f of made) {
      try {
        f.close?.();
      } catch {
        // Closing one filter must not keep the others open.
      }
    }
  };
  const listeners = new Map<string, readonly Filter[]>();
  const routes = new Map<string, readonly Filter[]>();
  try {
    for (const l of config.listeners) {
      const list = await build(l.filters, `listener:${l.name}`);
      if (list.length > 0) listeners.set(l.name, list);
    }
    for (const r of config.routes) {
      const list = await build(r.filters, `route:${r.name}`);
      if (list.length > 0) routes.set(r.name, list);
    }
  } catch (err) {
    close();
    throw err;
  }
  return { listeners, routes, close };
}

/** No filters anywhere: what a proxy starts with. */
export const NO_FILTERS: FilterSet = {
  listeners: new Map(),
  routes: new Map(),
  close: () => undefined,
};
