// The `dns` resolver: A and AAAA through c-ares, re-resolved when the shortest TTL runs out.
import { isIP } from 'node:net';
import type { Clock } from '../common/clock.js';
import {
  lookupAddresses,
  literalAddresses,
  shortestTtlMs,
  type AddressWithTtl,
  type DnsClient,
  type DnsClientFactory,
} from './dns-client.js';
import { createEndpoint, createEndpointSet, type Endpoint } from './endpoint.js';
import { ResolutionError } from './errors.js';
import type { DnsResolverOptions } from './options.js';
import { PollingResolver, type PollOutcome, type PollingSchedule } from './polling-resolver.js';
import { lookupServiceConfig, nextServiceConfig } from './service-config.js';
import { formatHostPort, type DnsTarget, type HostPort } from './target.js';

export interface DnsRuntime {
  readonly clock: Clock;
  readonly random: () => number;
  readonly createDnsClient: DnsClientFactory;
}

/** When DNS resolvers poll: the refresh bounds and the backoff from their options. */
export function dnsSchedule(options: DnsResolverOptions): PollingSchedule {
  return {
    minRefreshMs: options.minRefreshMs,
    maxRefreshMs: options.maxRefreshMs,
    backoff: {
      initialMs: options.backoffInitialMs,
      maxMs: options.backoffMaxMs,
      multiplier: options.backoffMultiplier,
      jitter: options.backoffJitter,
    },
  };
}

/** Builds the c-ares client for a target: its own nameserver first, then the configured ones. */
export function dnsClientFor(
  nameserver: HostPort | undefined,
  options: DnsResolverOptions,
  factory: DnsClientFactory,
): DnsClient {
  const client = factory({ timeoutMs: options.timeoutMs, tries: options.tries });
  if (nameserver) client.setServers([formatHostPort(nameserver)]);
  else if (options.servers.length > 0) client.setServers(options.servers);
  return client;
}

/**
 * Resolves `host` to one endpoint per address, both families. A transient failure of one family
 * keeps that family's last good addresses (some networks drop AAAA queries); IP literals and
 * `localhost` are answered without a query and never re-resolved.
 */
export class DnsResolver extends PollingResolver {
  private client: DnsClient | undefined;
  private lastV4: readonly AddressWithTtl[] = [];
  private lastV6: readonly AddressWithTtl[] = [];
  private serviceConfig: Readonly<Record<string, unknown>> | undefined;
  private readonly percentage: number;

  constructor(
    target: string,
    private readonly parsed: DnsTarget,
    private readonly options: DnsResolverOptions,
    private readonly runtime: DnsRuntime,
  ) {
    super(target, dnsSchedule(options), runtime.clock, runtime.random);
    this.percentage = runtime.random() * 100;
  }

  protected async poll(): Promise<PollOutcome> {
    const { host, port } = this.parsed;
    const literal = literalAddresses(host);
    if (literal) {
      return {
        kind: 'set',
        set: createEndpointSet(
          this.endpoints([...literal.v4, ...literal.v6], port, isIP(host) === 0 ? host : undefined),
        ),
        staleAfterMs: Infinity,
        problems: [],
      };
    }
    this.client ??= dnsClientFor(
      this.parsed.nameserver,
      this.options,
      this.runtime.createDnsClient,
    );
    const client = this.client;
    const [lookup, txt] = await Promise.all([
      lookupAddresses(client, host),
      this.options.serviceConfig
        ? lookupServiceConfig(client, host, { percentage: this.percentage })
        : undefined,
    ]);
    if (lookup.kind === 'not-found') {
      this.lastV4 = this.lastV6 = [];
      return {
        kind: 'not-found',
        error: new ResolutionError(
          'SWY_ERR_RESOLVE_NOT_FOUND',
          this.target,
          `${host} has no A or AAAA records (${lookup.code})`,
        ),
      };
    }
    if (lookup.kind === 'error') {
      const code =
        lookup.code === 'EBADRESP' || lookup.code === 'EFORMERR'
          ? 'SWY_ERR_RESOLVE_BAD_ANSWER'
          : 'SWY_ERR_RESOLVE_TRANSIENT';
      return {
        kind: 'error',
        error: new ResolutionError(
          code,
          this.target,
          `DNS lookup of ${host} failed (${lookup.code})`,
          {
            cause: lookup.cause,
          },
        ),
      };
    }
    const problems: ResolutionError[] = [];
    let v4 = lookup.v4;
    let v6 = lookup.v6;
    if (lookup.failed) {
      const kept = lookup.failed.family === 4 ? this.lastV4 : this.lastV6;
      if (lookup.failed.family === 4) v4 = kept;
      else v6 = kept;
      problems.push(
        new ResolutionError(
          'SWY_ERR_RESOLVE_TRANSIENT',
          this.target,
          `${lookup.failed.family === 4 ? 'A' : 'AAAA'} lookup of ${host} failed (${lookup.failed.code}); ` +
            `kept ${kept.length} earlier address(es)`,
          { cause: lookup.failed.cause },
        ),
      );
    }
    this.lastV4 = v4;
    this.lastV6 = v6;
    if (txt) {
      const next = nextServiceConfig(this.serviceConfig, txt, this.target);
      this.serviceConfig = next.config;
      if (next.problem) problems.push(next.problem);
    }
    return {
      kind: 'set',
      set: createEndpointSet(this.endpoints([...v4, ...v6], port, host), this.serviceConfig),
      staleAfterMs: shortestTtlMs(lookup.v4, lookup.v6),
      problems,
    };
  }

  private endpoints(
    addresses: readonly AddressWithTtl[],
    port: number,
    hostname: string | undefined,
  ): Endpoint[] {
    const seen = new Set<string>();
    const out: Endpoint[] = [];
    for (const { address } of addresses) {
      if (seen.has(address)) continue;
      seen.add(address);
      out.push(createEndpoint({ address, port, hostname }));
    }
    return out;
  }

  protected cancelQueries(): void {
    this.client?.cancel();
  }
}
