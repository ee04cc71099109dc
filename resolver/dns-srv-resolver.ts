// The `dns+srv` resolver: SRV records (priority, weight, port), then A/AAAA of every SRV target.
import {
  classifyDnsError,
  dnsErrorCode,
  lookupAddresses,
  shortestTtlMs,
  type AddressLookup,
  type AddressWithTtl,
  type DnsClient,
  type SrvAnswer,
} from './dns-client.js';
import { dnsClientFor, dnsSchedule, type DnsRuntime } from './dns-resolver.js';
import { createEndpoint, createEndpointSet, type Endpoint } from './endpoint.js';
import { ResolutionError } from './errors.js';
import type { DnsResolverOptions } from './options.js';
import { PollingResolver, type PollOutcome } from './polling-resolver.js';
import { lookupServiceConfig, nextServiceConfig } from './service-config.js';
import type { SrvTarget } from './target.js';

/** Address lookups in flight at once for one SRV answer: polite to the server, quick for 1,000 targets. */
const LOOKUP_CONCURRENCY = 64;

interface TargetAddresses {
  readonly v4: readonly AddressWithTtl[];
  readonly v6: readonly AddressWithTtl[];
}

/**
 * Emits every SRV record's addresses with the record's priority and weight (balancers decide
 * how to use priority groups). SRV weight 0 ("no preference" in most zones) becomes weight 1,
 * since balancers treat weights as relative and would never pick a 0; the raw value stays in
 * `metadata.srvWeight`. Node does not expose SRV TTLs, so the SRV query is repeated at the
 * shortest address TTL, capped by `maxRefreshMs`.
 */
export class SrvResolver extends PollingResolver {
  private client: DnsClient | undefined;
  /** Last good addresses per SRV target, kept through transient failures. */
  private readonly addresses = new Map<string, TargetAddresses>();
  private serviceConfig: Readonly<Record<string, unknown>> | undefined;
  private readonly percentage: number;

  constructor(
    target: string,
    private readonly parsed: SrvTarget,
    private readonly options: DnsResolverOptions,
    private readonly runtime: DnsRuntime,
  ) {
    super(target, dnsSchedule(options), runtime.clock, runtime.random);
    this.percentage = runtime.random() * 100;
  }

  protected async poll(): Promise<PollOutcome> {
    this.client ??= dnsClientFor(
      this.parsed.nameserver,
      this.options,
      this.runtime.createDnsClient,
    );
    const client = this.client;
    const name = this.parsed.name;
    const txtPromise = this.options.serviceConfig
      ? lookupServiceConfig(client, serviceHost(name), { percentage: this.percentage })
      : undefined;
    let records: SrvAnswer[];
    try {
      records = await client.resolveSrv(name);
    } catch (error) {
      await txtPromise;
      const code = dnsErrorCode(error);
      const kind = classifyDnsError(error);
      if (kind === 'not-found') {
        this.addresses.clear();
        return {
          kind: 'not-found',
          error: new ResolutionError(
            'SWY_ERR_RESOLVE_NOT_FOUND',
            this.target,
            `no SRV records for ${name} (${code})`,
          ),
        };
      }
      return {
        kind: 'error',
        error: new ResolutionError(
          kind === 'bad-answer' ? 'SWY_ERR_RESOLVE_BAD_ANSWER' : 'SWY_ERR_RESOLVE_TRANSIENT',
          this.target,
          `SRV lookup of ${name} failed (${code})`,
          { cause: error },
        ),
      };
    }
    // A lone "." target means "decidedly not available here" (RFC 2782).
    const usable = records.filter((r) => r.name !== '' && r.name !== '.');
    if (usable.length === 0) {
      await txtPromise;
      this.addresses.clear();
      return {
        kind: 'not-found',
        error: new ResolutionError(
          'SWY_ERR_RESOLVE_NOT_FOUND',
          this.target,
          `SRV records for ${name} name no target`,
        ),
      };
    }
    const targets = [...new Set(usable.map((r) => r.name))];
    const lookups = await mapConcurrent(targets, LOOKUP_CONCURRENCY, (t) =>
      lookupAddresses(client, t),
    );
    const problems: ResolutionError[] = [];
    let transient = 0;
    let ttlMs = Infinity;
    for (const [i, t] of targets.entries()) {
      const found = this.absorb(t, lookups[i], problems);
      if (found === 'transient') transient++;
      const addresses = this.addresses.get(t);
      if (addresses && found === 'fresh')
        ttlMs = Math.min(ttlMs, shortestTtlMs(addresses.v4, addresses.v6));
    }
    for (const t of this.addresses.keys()) if (!targets.includes(t)) this.addresses.delete(t);
    if (txtPromise) {
      const next = nextServiceConfig(this.serviceConfig, await txtPromise, this.target);
      this.serviceConfig = next.config;
      if (next.problem) problems.push(next.problem);
    }
    const endpoints = this.endpoints(usable);
    if (endpoints.length === 0) {
      if (transient > 0) return { kind: 'error', error: problems[0] };
      return {
        kind: 'not-found',
        error: new ResolutionError(
          'SWY_ERR_RESOLVE_NOT_FOUND',
          this.target,
          `no SRV target of ${name} has an address`,
        ),
      };
    }
    // The SRV TTL is hidden from us, so never treat the answer as final.
    return {
      kind: 'set',
      set: createEndpointSet(endpoints, this.serviceConfig),
      staleAfterMs: Math.min(ttlMs, this.options.maxRefreshMs),
      problems,
    };
  }

  /** Records one target's lookup in `addresses`; says whether it was fresh, kept or gone. */
  private absorb(
    target: string,
    lookup: AddressLookup,
    problems: ResolutionError[],
  ): 'fresh' | 'transient' | 'gone' {
    const previous = this.addresses.get(target);
    if (lookup.kind === 'not-found') {
      this.addresses.delete(target);
      problems.push(
        new ResolutionError(
          'SWY_ERR_RESOLVE_BAD_ANSWER',
          this.target,
          `SRV target ${target} has no A or AAAA records (${lookup.code})`,
        ),
      );
      return 'gone';
    }
    if (lookup.kind === 'error') {
      problems.push(
        new ResolutionError(
          'SWY_ERR_RESOLVE_TRANSIENT',
          this.target,
          `lookup of SRV target ${target} failed (${lookup.code})${previous ? '; kept its earlier addresses' : ''}`,
          { cause: lookup.cause },
        ),
      );
      return 'transient';
    }
    let { v4, v6 } = lookup;
    if (lookup.failed) {
      if (lookup.failed.family === 4) v4 = previous?.v4 ?? [];
      else v6 = previous?.v6 ?? [];
      problems.push(
        new ResolutionError(
          'SWY_ERR_RESOLVE_TRANSIENT',
          this.target,
          `${lookup.failed.family === 4 ? 'A' : 'AAAA'} lookup of SRV target ${target} failed (${lookup.failed.code})`,
          { cause: lookup.failed.cause },
        ),
      );
    }
    this.addresses.set(target, { v4, v6 });
    return 'fresh';
  }

  /** Lowest priority first, then heaviest; one endpoint per address:port (the first wins). */
  private endpoints(records: readonly SrvAnswer[]): Endpoint[] {
    const sorted = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    const seen = new Set<string>();
    const out: Endpoint[] = [];
    for (const r of sorted) {
      const addresses = this.addresses.get(r.name);
      if (!addresses) continue;
      const metadata = { srvTarget: r.name, srvWeight: String(r.weight) };
      for (const list of [addresses.v4, addresses.v6]) {
        for (const { address } of list) {
          const endpoint = createEndpoint({
            address,
            port: r.port,
            weight: r.weight === 0 ? 1 : r.weight,
            priority: r.priority,
            hostname: r.name,
            metadata,
          });
          if (seen.has(endpoint.key)) continue;
          seen.add(endpoint.key);
          out.push(endpoint);
        }
      }
    }
    return out;
  }

  protected cancelQueries(): void {
    this.client?.cancel();
  }
}

/** `_grpc._tcp.svc.example` → `svc.example`: the name gRPC's TXT service config hangs off. */
export function serviceHost(srvName: string): string {
  return srvName.replace(/^_[^.]+\._[^.]+\./, '');
}

async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
