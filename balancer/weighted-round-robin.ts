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
  private deadlines = new Float64Array(0);
  /** Host indices in heap order by (deadline, index). */
  private heap = new Int32Array(0);

  constructor(private readonly random: () => number = Math.random) {}

  setHosts(hosts: readonly Host[]): void {
    const n = hosts.length;
    const weights = effectiveWeights(hosts);
    this.hosts = hosts;
    this.steps = new Float64Array(n);
    this.deadlines = new Float64Array(n);
    this.heap = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.steps[i] = 1 / weights[i];
      this.deadlines[i] = this.random() * this.steps[i];
      this.heap[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  pick(): Host | null {
    if (this.heap.length === 0) return null;
    const i = this.heap[0];
    const deadline = this.deadlines[i] + this.steps[i];
    this.deadlines[i] = deadline;
    this.siftDown(0);
    if (deadline > RENORMALIZE_ABOVE) this.renormalize();
    return this.hosts[i];
  }

  private less(a: number, b: number): boolean {
    const da = this.deadlines[a];
    const db = this.deadlines[b];
    return da < db || (da === db && a < b);
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    let pos = start;
    const item = heap[pos];
    while (true) {
      const left = 2 * pos + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(heap[right], heap[left]) ? right : left;
      if (!this.less(heap[child], item)) break;
      heap[pos] = heap[child];
      pos = child;
    }
    heap[pos] = item;
  }

  private renormalize(): void {
    const base = this.deadlines[this.heap[0]];
    for (let i = 0; i < this.deadlines.length; i++) this.deadlines[i] -= base;
  }
}
