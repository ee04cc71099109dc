// Balancer benchmark: the cost of pick() (and of a whole call's accounting) per policy with
// 10, 1,000 and 10,000 ready endpoints, and of rebuilding the eligible list; and how pick() cost
// grows with the endpoint count (it should stay flat: O(1) or O(log n), never a scan).
import { pathToFileURL } from 'node:url';
import { Balancer } from '../balancer/balancer.js';
import type { PickRequest } from '../balancer/policy.js';
import { createPolicy, policyNames } from '../balancer/registry.js';
import { createEndpoint, createEndpointSet, type EndpointSet } from '../resolver/endpoint.js';

export interface BalancerBenchOptions {
  /** Endpoint counts. Default 10, 1,000, 10,000. */
  readonly sizes?: readonly number[];
  /** Policies. Default every registered one. */
  readonly policies?: readonly string[];
  /** Picks per timed run. Default 1,000,000. */
  readonly picks?: number;
  /** Timed runs (the median is reported). Default 5. */
  readonly runs?: number;
}

export interface BalancerBenchRow {
  readonly policy: string;
  readonly endpoints: number;
  /** Median ns per `pick()`. */
  readonly nsPerPick: number;
  /** Fastest run's ns per `pick()`: the least disturbed by other work on the machine. */
  readonly nsPerPickBest: number;
  /** Median ns per pick + callStarted + callEnded (what the proxy does per call). */
  readonly nsPerCall: number;
  /** Median ms to rebuild the eligible list after one endpoint changed connectivity. */
  readonly rebuildMs: number;
  /**
   * nsPerPickBest ÷ the same policy's at the fewest endpoints measured. A pick that scanned
   * the endpoints would cost about 1,000× more at 10,000 than at 10; cache misses and log n
   * allow a few times more.
   */
  readonly bestVsFewest: number;
}

export interface BalancerBenchResult {
  readonly picksPerRun: number;
  readonly rows: readonly BalancerBenchRow[];
}

function endpointSet(n: number): EndpointSet {
  const endpoints = [];
  for (let i = 0; i < n; i++) {
    endpoints.push(
      createEndpoint({
        address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        port: 50051,
        weight: 1 + (i % 7),
      }),
    );
  }
  return createEndpointSet(endpoints);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function setup(policy: string, n: number): Balancer {
  const balancer = new Balancer(
    createPolicy(policy, policy === 'ring_hash' ? { hashKey: 'x-user-id' } : {}),
  );
  balancer.update(endpointSet(n));
  let i = 0;
  for (const host of [...balancer.hosts()]) {
    balancer.setConnectivity(host, 'ready');
    // Give least_loaded something to compare: varied latencies and some calls in flight.
    balancer.callStarted(host);
    balancer.callEnded(host, 1 + (i % 13), false);
    if (i++ % 3 === 0) balancer.callStarted(host);
  }
  return balancer;
}

/** Requests with distinct ring_hash keys, cycled through so lookups hit the whole ring. */
function requests(): PickRequest[] {
  return Array.from({ length: 1024 }, (_, i) => ({
    path: '/bench.Svc/Call',
    headers: { 'x-user-id': `user-${i * 7919}` },
  }));
}

function timePicks(balancer: Balancer, reqs: PickRequest[], picks: number): number {
  const mask = reqs.length - 1;
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < picks; i++) {
    const host = balancer.pick(reqs[i & mask]);
    if (host !== null) sink += host.inFlight;
  }
  const ns = Number(process.hrtime.bigint() - start);
  if (sink < 0) console.log(sink); // keep the loop from being optimised away
  return ns / picks;
}

function timeCalls(balancer: Balancer, reqs: PickRequest[], calls: number): number {
  const mask = reqs.length - 1;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const host = balancer.pick(reqs[i & mask])!;
    balancer.callStarted(host);
    balancer.callEnded(host, 2, false);
  }
  return Number(process.hrtime.bigint() - start) / calls;
}

function timeRebuild(balancer: Balancer, reqs: PickRequest[], times: number): number {
  const [host] = balancer.hosts();
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    balancer.setConnectivity(host, i % 2 === 0 ? 'failing' : 'ready');
    const start = process.hrtime.bigint();
    balancer.pick(reqs[0]); // the rebuild runs on the first pick after a change
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

export function balancerBench(options: BalancerBenchOptions = {}): Promise<BalancerBenchResult> {
  const sizes = options.sizes ?? [10, 1_000, 10_000];
  const policies = options.policies ?? policyNames();
  const picks = options.picks ?? 1_000_000;
  const runs = options.runs ?? 5;
  const reqs = requests();
  const rows: BalancerBenchRow[] = [];
  for (const policy of policies) {
    let fewestBest = 0;
    for (const n of sizes) {
      const balancer = setup(policy, n);
      timePicks(balancer, reqs, Math.min(picks, 200_000)); // warm-up: let the JIT settle
      timeCalls(balancer, reqs, Math.min(picks, 50_000));
      const pickNs: number[] = [];
      const callNs: number[] = [];
      for (let r = 0; r < runs; r++) {
        pickNs.push(timePicks(balancer, reqs, picks));
        callNs.push(timeCalls(balancer, reqs, Math.max(1, picks >> 2)));
      }
      const best = Math.min(...pickNs);
      if (fewestBest === 0) fewestBest = best;
      rows.push({
        policy,
        endpoints: n,
        nsPerPick: Math.round(median(pickNs) * 10) / 10,
        nsPerPickBest: Math.round(best * 10) / 10,
        bestVsFewest: Math.round((best / fewestBest) * 100) / 100,
        nsPerCall: Math.round(median(callNs) * 10) / 10,
        rebuildMs: Math.round(timeRebuild(balancer, reqs, 11) * 1000) / 1000,
      });
      balancer.close();
    }
  }
  return Promise.resolve({ picksPerRun: picks, rows });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await balancerBench();
  console.table(result.rows);
}
