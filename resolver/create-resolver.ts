// Builds the resolver a target string names, with its scheme's settings and injected seams.
import { isIP } from 'node:net';
import { systemClock } from '../common/clock.js';
import { ConsulHealthClient, consulEndpoint } from './consul-client.js';
import { ConsulResolver } from './consul-resolver.js';
import { createCaresClient } from './dns-client.js';
import { DnsResolver, type DnsRuntime } from './dns-resolver.js';
import { SrvResolver } from './dns-srv-resolver.js';
import { createEndpoint, createEndpointSet, type Endpoint } from './endpoint.js';
import { ResolverOptionsError } from './errors.js';
import {
  consulOptions,
  dnsOptions,
  validateResolverOptions,
  type ResolverOptions,
} from './options.js';
import type { Resolver } from './resolver.js';
import { StaticResolver } from './static-resolver.js';
import { parseTarget, type StaticTarget, type Target } from './target.js';

export type { ResolverOptions } from './options.js';

const OPTION_KEYS = new Set([
  'dns',
  'consul',
  'clock',
  'random',
  'createDnsClient',
  'consulAgent',
  'env',
]);

/**
 * A cluster's flat `resolver:` block (`{ minRefreshMs: 500 }` for a dns target) as options for
 * `createResolver`. Throws `ResolverOptionsError` listing every problem.
 */
export function resolverOptionsFromBlock(target: string, block: unknown): ResolverOptions {
  const result = validateResolverOptions(parseTarget(target).scheme, block);
  if ('errors' in result) throw new ResolverOptionsError(target, result.errors);
  return result.options;
}

/**
 * Accepts `ResolverOptions`, or a flat `resolver:` block (its keys never clash with the
 * option names), and gives programmatic settings the same checks as YAML ones, so a typo
 * fails here rather than being ignored.
 */
function normalizeOptions(
  target: string,
  scheme: Target['scheme'],
  options: object,
): ResolverOptions {
  const keys = Object.keys(options);
  const flat = keys.filter((k) => !OPTION_KEYS.has(k));
  if (flat.length > 0) {
    if (flat.length < keys.length) {
      throw new ResolverOptionsError(
        target,
        flat.map((k) => ({
          path: k,
          message: `unknown option (expected ${[...OPTION_KEYS].join(', ')})`,
        })),
      );
    }
    return resolverOptionsFromBlock(target, options);
  }
  const o = options as ResolverOptions;
  const groups = [
    ['dns', o.dns, scheme === 'dns' || scheme === 'dns+srv' ? scheme : 'dns'],
    ['consul', o.consul, 'consul'],
  ] as const;
  const problems: { path: string; message: string }[] = [];
  for (const [name, value, as] of groups) {
    if (value === undefined) continue;
    const result = validateResolverOptions(as, value);
    if ('errors' in result)
      for (const p of result.errors)
        problems.push({ path: `${name}.${p.path}`, message: p.message });
  }
  if (problems.length > 0) throw new ResolverOptionsError(target, problems);
  return o;
}

/** One endpoint per distinct address:port; a name stays a name (the static list never resolves). */
function staticEndpoints(target: StaticTarget): Endpoint[] {
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const { host, port } of target.endpoints) {
    const endpoint = createEndpoint({
      address: host,
      port,
      hostname: isIP(host) === 0 ? host : undefined,
    });
    if (seen.has(endpoint.key)) continue;
    seen.add(endpoint.key);
    out.push(endpoint);
  }
  return out;
}

/**
 * Parses `target` and builds its resolver. Nothing is queried until the first `subscribe()`.
 * `options` is `ResolverOptions` or a cluster's flat `resolver:` block. Throws `TargetError`
 * for a bad target and `ResolverOptionsError` for bad options; every later failure arrives
 * through the listener.
 */
export function createResolver(
  target: string,
  options: ResolverOptions | Readonly<Record<string, unknown>> = {},
): Resolver {
  const parsed = parseTarget(target);
  return resolverForTarget(target, parsed, normalizeOptions(target, parsed.scheme, options));
}

/**
 * The resolver for a target already parsed, with options already checked (a validated
 * config's cluster: its `resolver:` block through `blockOptions`, plus seams). Nothing is
 * parsed or checked again. `text` names the target in messages, as the user wrote it.
 */
export function resolverForTarget(
  text: string,
  parsed: Target,
  options: ResolverOptions = {},
): Resolver {
  const o = options;
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  switch (parsed.scheme) {
    case 'static':
      return new StaticResolver(text, createEndpointSet(staticEndpoints(parsed)));
    case 'dns':
    case 'dns+srv': {
      const runtime: DnsRuntime = {
        clock,
        random,
        createDnsClient: o.createDnsClient ?? createCaresClient,
      };
      const settings = dnsOptions(o.dns);
      return parsed.scheme === 'dns'
        ? new DnsResolver(text, parsed, settings, runtime)
        : new SrvResolver(text, parsed, settings, runtime);
    }
    case 'consul': {
      const settings = consulOptions(o.consul);
      const endpoint = consulEndpoint(text, parsed, settings, o.env ?? process.env);
      const client = new ConsulHealthClient(parsed, settings, endpoint, o.consulAgent);
      return new ConsulResolver(text, parsed, settings, client, clock, random);
    }
  }
}
