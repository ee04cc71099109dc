// Builds the resolver a target string names, with its scheme's settings and injected seams.
import { isIP } from 'node:net';
import { systemClock } from './clock.js';
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

/** Programmatic options get the same checks as YAML ones, so a typo fails here, not later. */
function checkGroup(target: string, scheme: Target['scheme'], options: ResolverOptions): void {
  const groups = [
    ['dns', options.dns, scheme === 'dns' || scheme === 'dns+srv' ? scheme : 'dns'],
    ['consul', options.consul, 'consul'],
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
 * Throws `TargetError` for a bad target and `ResolverOptionsError` for bad options; every
 * later failure arrives through the listener.
 */
export function createResolver(target: string, options: ResolverOptions = {}): Resolver {
  const parsed = parseTarget(target);
  checkGroup(target, parsed.scheme, options);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  switch (parsed.scheme) {
    case 'static':
      return new StaticResolver(target, createEndpointSet(staticEndpoints(parsed)));
    case 'dns':
    case 'dns+srv': {
      const runtime: DnsRuntime = {
        clock,
        random,
        createDnsClient: options.createDnsClient ?? createCaresClient,
      };
      const settings = dnsOptions(options.dns);
      return parsed.scheme === 'dns'
        ? new DnsResolver(target, parsed, settings, runtime)
        : new SrvResolver(target, parsed, settings, runtime);
    }
    case 'consul': {
      const settings = consulOptions(options.consul);
      const endpoint = consulEndpoint(target, parsed, settings, options.env ?? process.env);
      const client = new ConsulHealthClient(parsed, settings, endpoint, options.consulAgent);
      return new ConsulResolver(target, parsed, settings, client, clock, random);
    }
  }
}
