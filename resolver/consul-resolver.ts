// The `consul` resolver: a blocking-query loop over the passing instances of one service.
import { isIP } from 'node:net';
import { backoffDelay, type BackoffPolicy } from '../common/backoff.js';
import { BaseResolver } from './base-resolver.js';
import type { Clock, TimerHandle } from '../common/clock.js';
import { ConsulQueryError, type ConsulHealthClient } from './consul-client.js';
import { createEndpoint, createEndpointSet, type Endpoint } from './endpoint.js';
import { ResolutionError } from './errors.js';
import type { ConsulResolverOptions } from './options.js';
import type { ConsulTarget } from './target.js';

/** Turns health entries into endpoints; entries without a usable address or port are skipped. */
export function endpointsFromHealth(entries: readonly unknown[]): {
  endpoints: Endpoint[];
  skipped: number;
} {
  const endpoints: Endpoint[] = [];
  const seen = new Set<string>();
  let skipped = 0;
  for (const entry of entries) {
    const e = (entry ?? {}) as {
      Node?: Record<string, unknown>;
      Service?: Record<string, unknown>;
    };
    const service = e.Service ?? {};
    const node = e.Node ?? {};
    // An instance registered without an address is reached at its node's address.
    const address =
      typeof service.Address === 'string' && service.Address !== ''
        ? service.Address
        : typeof node.Address === 'string'
          ? node.Address
          : '';
    const port = service.Port;
    if (
      address === '' ||
      typeof port !== 'number' ||
      !Number.isInteger(port) ||
      port < 1 ||
      port > 65535
    ) {
      skipped++;
      continue;
    }
    const weights = service.Weights as { Passing?: unknown } | undefined;
    const passing = weights?.Passing;
    const weight = typeof passing === 'number' && passing >= 1 ? passing : 1;
    const metadata: Record<string, string> = {};
    if (service.Meta && typeof service.Meta === 'object') {
      for (const [k, v] of Object.entries(service.Meta as Record<string, unknown>)) {
        if (typeof v === 'string') metadata[k] = v;
      }
    }
    if (typeof node.Node === 'string') metadata['consul.node'] = node.Node;
    if (typeof service.ID === 'string') metadata['consul.serviceId'] = service.ID;
    if (Array.isArray(service.Tags) && service.Tags.length > 0)
      metadata['consul.tags'] = service.Tags.join(',');
    const endpoint = createEndpoint({
      address: address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address,
      port,
      weight,
      hostname: isIP(address) === 0 ? address : undefined,
      metadata,
    });
    if (seen.has(endpoint.key)) continue;
    seen.add(endpoint.key);
    endpoints.push(endpoint);
  }
  return { endpoints, skipped };
}

/**
 * Follows a service with blocking queries: the first query returns at once, later ones carry
 * the last `X-Consul-Index` and return when something changes (or after `waitMs`). Index rules
 * from Consul's docs: an index that goes backwards resets to 0 (one non-blocking query), one
 * that is ≤ 0 is treated as 1; query starts are at least `minIntervalMs` apart; failures back
 * off exponentially and keep the last good set. `refresh()` does nothing: Consul pushes.
 */
export class ConsulResolver extends BaseResolver {
  private index: bigint | undefined;
  private failures = 0;
  private lastStartAt = -Infinity;
  private sleepTimer: TimerHandle | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: BackoffPolicy;

  constructor(
    target: string,
    private readonly parsed: ConsulTarget,
    private readonly options: ConsulResolverOptions,
    private readonly client: ConsulHealthClient,
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {
    super(target);
    this.backoff = {
      initialMs: options.backoffInitialMs,
      maxMs: options.backoffMaxMs,
      multiplier: options.backoffMultiplier,
      jitter: options.backoffJitter,
    };
  }

  /** The index the next query will carry (tests). */
  get currentIndex(): bigint | undefined {
    return this.index;
  }

  protected start(): void {
    void this.loop();
  }

  protected stop(): void {
    this.client.close();
    if (this.sleepTimer !== undefined) this.clock.clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const wait = this.lastStartAt + this.options.minIntervalMs - this.clock.now();
      if (wait > 0) await this.sleep(wait);
      if (this.closed) return;
      this.lastStartAt = this.clock.now();
      try {
        const answer = await this.client.fetch(this.index);
        if (this.closed) return;
        this.failures = 0;
        this.absorbIndex(answer.index);
        this.absorbEntries(answer.entries);
      } catch (error) {
        if (this.closed) return;
        this.failures++;
        const e = error instanceof ConsulQueryError ? error : undefined;
        this.reportError(
          new ResolutionError(
            e?.code ?? 'SWY_ERR_RESOLVE_TRANSIENT',
            this.target,
            e?.message ?? String(error),
            {
              cause: e?.cause ?? error,
            },
          ),
        );
        await this.sleep(backoffDelay(this.backoff, this.failures, this.random));
      }
    }
  }

  private absorbIndex(next: bigint): void {
    if (this.index !== undefined && next < this.index) {
      // The index went backwards (a snapshot restore, a new leader): start over.
      this.index = undefined;
    } else {
      // An index of 0 would turn the next blocking query into a busy loop.
      this.index = next <= 0n ? 1n : next;
    }
  }

  private absorbEntries(entries: readonly unknown[]): void {
    const { endpoints, skipped } = endpointsFromHealth(entries);
    if (skipped > 0) {
      this.reportError(
        new ResolutionError(
          'SWY_ERR_RESOLVE_BAD_ANSWER',
          this.target,
          `skipped ${skipped} Consul entr${skipped === 1 ? 'y' : 'ies'} without an address or port`,
        ),
      );
    }
    if (endpoints.length === 0) {
      const where = this.parsed.datacenter ?? this.options.datacenter;
      this.reportNotFound(
        new ResolutionError(
          'SWY_ERR_RESOLVE_NOT_FOUND',
          this.target,
          `no passing instances of "${this.parsed.service}"${where ? ` in ${where}` : ''} ` +
            `(unknown service, or every instance failing its checks)`,
        ),
      );
      return;
    }
    this.publish(createEndpointSet(endpoints));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      this.sleepTimer = this.clock.setTimeout(() => {
        this.sleepTimer = undefined;
        this.wake?.();
      }, ms);
    });
  }
}
