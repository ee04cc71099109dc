// Small builders for balancer tests: endpoints, sets, and a balancer with every host ready.
import { Balancer, type BalancerOptions } from '../../balancer/balancer.js';
import type { Host } from '../../balancer/host.js';
import type { Policy } from '../../balancer/policy.js';
import {
  createEndpoint,
  createEndpointSet,
  type EndpointInit,
  type EndpointSet,
} from '../../resolver/endpoint.js';

/** `count` endpoints on 10.0.0.1.. port 50051, with optional per-index overrides. */
export function endpointSet(
  count: number,
  init: (i: number) => Partial<EndpointInit> = () => ({}),
): EndpointSet {
  const endpoints = [];
  for (let i = 0; i < count; i++) {
    endpoints.push(
      createEndpoint({
        address: `10.0.${(i >> 8) & 255}.${(i & 255) + 1}`,
        port: 50051,
        ...init(i),
      }),
    );
  }
  return createEndpointSet(endpoints);
}

/** A balancer over `set` with every host ready. */
export function readyBalancer(
  policy: Policy,
  set: EndpointSet,
  options: BalancerOptions = {},
): Balancer {
  const balancer = new Balancer(policy, options);
  balancer.update(set);
  for (const host of [...balancer.hosts()]) balancer.setConnectivity(host, 'ready');
  return balancer;
}

/** Picks `n` times (with no request data) and counts picks per host key. */
export function countPicks(pick: () => Host | null, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const host = pick();
    const key = host ? host.key : 'null';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export const NO_REQUEST = { path: '/test.Svc/Call', headers: {} };

/** Whether `host` may take calls now (a snapshot is always current; `host.eligible` is lazy). */
export function isEligible(balancer: Balancer, host: Host): boolean {
  return balancer.snapshot().hosts.some((h) => h.key === host.key && h.eligible);
}
