// weighted_round_robin: smooth weighted rotation by resolver weights (SRV weight, Consul
// Service.Weights), as earliest-deadline-first scheduling on a binary heap: O(log n) per pick.
import type { Host } from './host.js';
import type { Policy } from './policy.js';

// Deadlines grow by 1/weight per pick; past this they are shifted back toward 0 so that
// adding a small step to a huge number never loses precision.
const RENORMALIZE_ABOVE = 1e9;

/**
 * The effective weight of each host. A weight of 0 (allowed for SRV records) gets a very small
 * share, as RFC 2782 asks: 1/100 of the smallest positive weight; all zeros mean equal shares.
 */
export function effectiveWeights(hosts: readonly Host[]): Float64Array {
  const weights = new Float64Array(hosts.length);
  let minPositive = Infinity;
  for (const host of hosts) {
    const w = host.endpoint.weight;
    if (w > 0 && w < minPositive) minPositive = w;
  }
  const zero = minPositive === Infinity ? 1 : minPositive / 100;
  for (let i = 0; i < hosts.length; i++) {
    const w = hosts[i].endpoint.weight;
    weights[i] = w > 0 && Number.isFinite(w) ? w : zero;
  }
  return weights;
}

/**
 * Every host has a deadline; a pick takes the host with the earliest one and moves that
 * deadline 1/weight later. Over any stretch of picks each host's share is its weight's share,
 * and picks of a heavy host are spread between the others' rather than bunched (weights 1:2:7
 * give runs of at most four of the heaviest). Initial deadlines are offset at random, within
 * one step, so proxies started together do not move in lockstep.
 */
export class WeightedRoundRobinPolicy implements Policy {
  readonly name = 'weighted_round_robin';
  private hosts: readonly Host[] = [];
  private steps = new Float64Array(0);
  // The heap, as two parallel arrays in heap order: each slot's deadline and host index.
  // Keeping deadlines in heap order (not indexed by host) keeps a sift's reads adjacent.
  private deadlines = new Float64Array(0);
  private ids = new Int32Array(0);

  constructor(private readonly random: () => number = Math.random) {}

  setHosts(hosts: readonly Host[]): void {
    const n = hosts.length;
    const weights = effectiveWeights(hosts);
    this.hosts = hosts;
    this.steps = new Float64Array(n);
    this.deadlines = new Float64Array(n);
    this.ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.steps[i] = 1 / weights[i];
      this.deadlines[i] = this.random() * this.steps[i];
      this.ids[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  pick(): Host | null {
    if (this.ids.length === 0) return null;
    const id = this.ids[0];
    const deadline = this.deadlines[0] + this.steps[id];
    this.deadlines[0] = deadline;
    this.siftDown(0);
    if (deadline > RENORMALIZE_ABOVE) this.renormalize();
    return this.hosts[id];
  }

  private siftDown(start: number): void {
    const deadlines = this.deadlines;
    const ids = this.ids;
    const n = ids.length;
    let pos = start;
    const deadline = deadlines[pos];
    const id = ids[pos];
    while (true) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      let d = deadlines[child];
      const right = child + 1;
      if (right < n) {
        const dr = deadlines[right];
        if (dr < d || (dr === d && ids[right] < ids[child])) {
          child = right;
          d = dr;
        }
      }
      // Ties go to the lower host index, so equal deadlines pick in list order.
      if (d > deadline || (d === deadline && ids[child] > id)) break;
      deadlines[pos] = d;
      ids[pos] = ids[child];
      pos = child;
    }
    deadlines[pos] = deadline;
    ids[pos] = id;
  }

  private renormalize(): void {
    const base = this.deadlines[0];
    for (let i = 0; i < this.deadlines.length; i++) this.deadlines[i] -= base;
  }
}
