// Resolver benchmark: resolving and diffing a 1,000-endpoint SRV answer; heap over 10,000 polls.
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock, TimerHandle } from '../common/clock.js';
import { createResolver } from '../resolver/create-resolver.js';
import type { AddressWithTtl, DnsClient, SrvAnswer } from '../resolver/dns-client.js';
import { sameEndpointSet, type EndpointSet } from '../resolver/endpoint.js';
import type { Resolver } from '../resolver/resolver.js';

export interface ResolverBenchOptions {
  /** SRV records (one target each) in the big answer. Default 1,000. */
  readonly endpoints?: number;
  /** Timed runs of the first resolution. Default 20. */
  readonly runs?: number;
  /** Re-resolutions in the memory run. Default 10,000. */
  readonly polls?: number;
}

export interface Summary {
  readonly medianMs: number;
  readonly p95Ms: number;
}

export interface ResolverBenchResult {
  readonly endpoints: number;
  /** SRV query, every target's A+AAAA, building and publishing the set. */
  readonly firstResolution: Summary;
  /** A re-resolution whose answer did not change (query, build, diff, nothing emitted). */
  readonly unchangedReresolution: Summary;
  /** `sameEndpointSet` on two equal sets in different order. */
  readonly diffEqual: Summary;
  /** `sameEndpointSet` on sets differing in one weight (the last endpoint checked). */
  readonly diffChanged: Summary;
  readonly memory: {
    readonly polls: number;
    /** Heap after a full GC at 10 % of the polls, and at the end. */
    readonly heapStartKb: number;
    readonly heapEndKb: number;
    readonly growthKb: number;
    readonly updatesEmitted: number;
  };
}

/** Answers from tables, asynchronously, like c-ares but with no network. */
class TableDns implements DnsClient {
  srv: SrvAnswer[] = [];
  readonly a = new Map<string, AddressWithTtl[]>();
  setServers(): void {}
  resolve4(name: string): Promise<AddressWithTtl[]> {
    const v = this.a.get(name);
    return v
      ? Promise.resolve(v.map((r) => ({ ...r })))
      : Promise.reject(Object.assign(new Error(name), { code: 'ENODATA' }));
  }
  resolve6(name: string): Promise<AddressWithTtl[]> {
    return Promise.reject(Object.assign(new Error(name), { code: 'ENODATA' }));
  }
  resolveSrv(): Promise<SrvAnswer[]> {
    return Promise.resolve(this.srv.map((r) => ({ ...r })));
  }
  resolveTxt(): Promise<string[][]> {
    return Promise.reject(Object.assign(new Error('txt'), { code: 'ENODATA' }));
  }
  cancel(): void {}
}

/** A clock whose timers fire only on `fireNext()`. */
class ManualClock implements Clock {
  private time = 0;
  private id = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.timers.set(++this.id, { at: this.time + ms, fn });
    return this.id;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }
  /** Timers waiting; a polling resolver re-arms one when its poll has finished. */
  get armed(): number {
    return this.timers.size;
  }
  fireNext(): boolean {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers) if (!best || entry[1].at < best[1].at) best = entry;
    if (!best) return false;
    this.timers.delete(best[0]);
    this.time = best[1].at;
    best[1].fn();
    return true;
  }
}

function summary(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { medianMs: round(at(0.5)), p95Ms: round(at(0.95)) };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function bigAnswer(dns: TableDns, n: number): void {
  dns.srv = [];
  for (let i = 0; i < n; i++) {
    const target = `t${i}.svc.bench`;
    dns.srv.push({ name: target, port: 50051, priority: i % 3, weight: 1 + (i % 10) });
    dns.a.set(target, [{ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, ttl: 30 }]);
  }
}

/** Subscribes and resolves with a function that waits for the next update. */
function updates(resolver: Resolver): () => Promise<EndpointSet> {
  const queue: EndpointSet[] = [];
  let wake: (() => void) | undefined;
  resolver.subscribe({
    onUpdate: (set) => {
      queue.push(set);
      wake?.();
    },
    onError: () => {},
    onNotFound: () => {},
  });
  return async () => {
    while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return queue.shift()!;
  };
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function resolverBench(
  options: ResolverBenchOptions = {},
): Promise<ResolverBenchResult> {
  const n = options.endpoints ?? 1_000;
  const runs = options.runs ?? 20;
  const polls = options.polls ?? 10_000;
  const dns = new TableDns();
  bigAnswer(dns, n);
  const settings = { maxRefreshMs: 1_000, minRefreshMs: 0 };

  const first: number[] = [];
  const unchanged: number[] = [];
  let lastSet: EndpointSet | undefined;
  for (let r = 0; r < runs; r++) {
    const clock = new ManualClock();
    const resolver = createResolver('dns+srv:///_grpc._tcp.svc.bench', {
      dns: settings,
      clock,
      createDnsClient: () => dns,
    });
    const start = performance.now();
    const next = updates(resolver);
    lastSet = await next();
    first.push(performance.now() - start);
    // Re-resolve with the same answer: until the poll is done (it re-arms its timer).
    const t0 = performance.now();
    clock.fireNext();
    while (clock.armed === 0) await tick();
    unchanged.push(performance.now() - t0);
    resolver.close();
  }

  const set = lastSet!;
  const shuffled = { ...set, endpoints: [...set.endpoints].reverse() };
  const changedEndpoints = [...set.endpoints];
  changedEndpoints[0] = { ...changedEndpoints[0], weight: changedEndpoints[0].weight + 1 };
  const changed = { ...set, endpoints: changedEndpoints };
  const diffEqual: number[] = [];
  const diffChanged: number[] = [];
  for (let r = 0; r < 200; r++) {
    let t = performance.now();
    if (!sameEndpointSet(set, shuffled)) throw new Error('equal sets compared unequal');
    diffEqual.push(performance.now() - t);
    t = performance.now();
    if (sameEndpointSet(set, changed)) throw new Error('changed sets compared equal');
    diffChanged.push(performance.now() - t);
  }

  // Memory: a small answer that changes every other poll, re-resolved `polls` times.
  const small = new TableDns();
  small.srv = [{ name: 'a.bench', port: 1, priority: 0, weight: 1 }];
  small.a.set('a.bench', [{ address: '10.0.0.1', ttl: 1 }]);
  const clock = new ManualClock();
  const resolver = createResolver('dns+srv:///_grpc._tcp.small.bench', {
    dns: settings,
    clock,
    createDnsClient: () => small,
  });
  let emitted = 0;
  resolver.subscribe({ onUpdate: () => emitted++, onError: () => {}, onNotFound: () => {} });
  await tick();
  let heapStart = 0;
  for (let i = 0; i < polls; i++) {
    small.srv = [{ name: 'a.bench', port: 1, priority: 0, weight: 1 + (i % 2) }];
    clock.fireNext();
    while (clock.armed === 0) await tick();
    if (i === Math.floor(polls / 10)) {
      gc();
      heapStart = process.memoryUsage().heapUsed;
    }
  }
  gc();
  const heapEnd = process.memoryUsage().heapUsed;
  resolver.close();

  return {
    endpoints: n,
    firstResolution: summary(first),
    unchangedReresolution: summary(unchanged),
    diffEqual: summary(diffEqual),
    diffChanged: summary(diffChanged),
    memory: {
      polls,
      heapStartKb: Math.round(heapStart / 1024),
      heapEndKb: Math.round(heapEnd / 1024),
      growthKb: Math.round((heapEnd - heapStart) / 1024),
      updatesEmitted: emitted,
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await resolverBench(), null, 2));
}
