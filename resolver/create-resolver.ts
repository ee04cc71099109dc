// Builds the resolver a target string names.
import { createEndpoint, createEndpointSet } from './endpoint.js';
import { TargetError } from './errors.js';
import type { Resolver } from './resolver.js';
import { StaticResolver } from './static-resolver.js';

export interface ResolverOptions {
  /** Reserved for per-scheme settings (DNS servers and refresh bounds, Consul agent and token). */
  readonly [key: string]: unknown;
}

/** Parses `host:port` or `[v6]:port`. */
function parseHostPort(target: string, part: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d+)$/.exec(part);
  if (!m) throw new TargetError(target, `"${part}" is not host:port`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new TargetError(target, `port ${m[3]} is out of range`);
  return { host: m[1] ?? m[2], port };
}

export function createResolver(target: string, _options: ResolverOptions = {}): Resolver {
  const list = target.startsWith('static:///') ? target.slice('static:///'.length) : target;
  const endpoints = list
    .split(',')
    .filter((p) => p.length > 0)
    .map((part) => {
      const { host, port } = parseHostPort(target, part.trim());
      return createEndpoint({ address: host, port });
    });
  if (endpoints.length === 0) throw new TargetError(target, 'no endpoints');
  return new StaticResolver(target, createEndpointSet(endpoints));
}
