// ring_hash: consistent hashing of a request header onto a ring of virtual nodes (ketama
// style), for affinity with minimal remapping when endpoints come and go.
import type { Host } from './host.js';
import type { PickRequest, Policy } from './policy.js';
import { hashString, pointHash } from './string-hash.js';
import { effectiveWeights } from './weighted-round-robin.js';

export interface RingHashSettings {
  /** Lower-case request header whose value picks the endpoint; none: every call is random. */
  readonly hashKey: string | undefined;
  /** Fewest points on the ring; more points spread keys more evenly. */
  readonly minRingSize: number;
  /** Most points on the ring (memory: about 12 bytes a point). */
  readonly maxRingSize: number;
}

export const RING_HASH_DEFAULTS: RingHashSettings = {
  hashKey: undefined,
  minRingSize: 1024,
  maxRingSize: 1_048_576,
};

const TWO_POW_32 = 4294967296;
// Ring points are sorted as hash × 2^21 + host rank: exact in a double while ranks < 2^21.
const RANK_FACTOR = 2097152;

/**
 * Each host owns points on a 32-bit ring, in proportion to its weight; a call goes to the host
 * owning the first point at or after its key's hash (binary search, O(log points)).
 *
 * The ring is laid out for the whole endpoint set (`setAllHosts`); hosts that cannot take
 * calls (not ready, unhealthy, ejected) are filtered out of it in O(points), without hashing or
 * sorting again. The point density (points per unit of weight) is chosen so that the set's
 * ring holds about `minRingSize` points, and then kept while the set's ring stays between half
 * that and four times it (and under `maxRingSize`). Each host's points then depend only on its
 * own key and weight, so a host leaving (or failing) moves only its own keys, and a host
 * joining takes keys only for itself. When the ring leaves that band the density is chosen
 * again, which moves some keys between hosts that stayed.
 *
 * Calls without the key (or with `hashKey` unset) go to a random point, so they still spread
 * by weight.
 */
export class RingHashPolicy implements Policy {
  readonly name = 'ring_hash';
  private readonly hashKey: string | undefined;
  private readonly minRingSize: number;
  private readonly maxRingSize: number;
  private pointsPerWeight = 0;
  /** Points per host of the current set. */
  private counts = new Map<Host, number>();
  /** The whole set's ring, sorted: point hash and owner. */
  private fullRing = new Uint32Array(0);
  private fullOwners: Host[] = [];
  /** The ring of the hosts that may take calls now. */
  private ring = new Uint32Array(0);
  private owners: Host[] = [];

  constructor(
    settings: RingHashSettings = RING_HASH_DEFAULTS,
    private readonly random: () => number = Math.random,
  ) {
    this.hashKey = settings.hashKey;
    this.minRingSize = settings.minRingSize;
    this.maxRingSize = settings.maxRingSize;
  }

  /** Points currently on the ring (for tests and the admin view). */
  get ringSize(): number {
    return this.ring.length;
  }

  setAllHosts(hosts: readonly Host[]): void {
    // Rank hosts by key so that ties between equal point hashes break the same way in every
    // proxy, whatever order the resolver listed the endpoints in.
    const sorted = [...hosts].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const weights = effectiveWeights(sorted);
    let total = 0;
    for (const w of weights) total += w;
    const size = (density: number) => {
      let points = 0;
      for (const w of weights) points += Math.max(1, Math.ceil(w * density - 1e-9));
      return points;
    };
    let points = this.pointsPerWeight > 0 ? size(this.pointsPerWeight) : 0;
    const upper = Math.min(this.maxRingSize, 4 * this.minRingSize);
    if (sorted.length > 0 && (points < this.minRingSize / 2 || points > upper)) {
      this.pointsPerWeight = Math.min(this.minRingSize, this.maxRingSize) / total;
      points = size(this.pointsPerWeight);
    }

    const counts = new Map<Host, number>();
    const packed = new Float64Array(points);
    let p = 0;
    for (let rank = 0; rank < sorted.length; rank++) {
      const keyHash = hashString(sorted[rank].key);
      const count = Math.max(1, Math.ceil(weights[rank] * this.pointsPerWeight - 1e-9));
      counts.set(sorted[rank], count);
      for (let i = 0; i < count; i++) packed[p++] = pointHash(keyHash, i) * RANK_FACTOR + rank;
    }
    packed.sort();
    const ring = new Uint32Array(points);
    const owners = new Array<Host>(points);
    for (let k = 0; k < points; k++) {
      const rank = packed[k] % RANK_FACTOR;
      ring[k] = (packed[k] - rank) / RANK_FACTOR;
      owners[k] = sorted[rank];
    }
    this.counts = counts;
    this.fullRing = ring;
    this.fullOwners = owners;
  }

  setHosts(hosts: readonly Host[]): void {
    // Used on its own (no setAllHosts), the eligible hosts are the whole set.
    if (hosts.some((h) => !this.counts.has(h))) {
      const all = new Set(this.counts.keys());
      for (const h of hosts) all.add(h);
      this.setAllHosts([...all]);
    }
    const eligible = new Set(hosts);
    let points = 0;
    for (const h of hosts) points += this.counts.get(h)!;
    const ring = new Uint32Array(points);
    const owners = new Array<Host>(points);
    let p = 0;
    for (let k = 0; k < this.fullRing.length; k++) {
      const owner = this.fullOwners[k];
      if (!eligible.has(owner)) continue;
      ring[p] = this.fullRing[k];
      owners[p++] = owner;
    }
    this.ring = ring;
    this.owners = owners;
  }
  pick(request: PickRequest): Host | null {
    if (this.ring.length === 0) return null;
    const value = this.hashKey === undefined ? undefined : request.headers[this.hashKey];
    if (typeof value === 'string') return this.lookup(hashString(value));
    if (value !== undefined && value.length > 0) return this.lookup(hashString(value[0]));
    return this.lookup(Math.floor(this.random() * TWO_POW_32));
  }

  /**
   * A retry walks the ring on from the call's point to the first host not in `avoid`, as
   * Envoy's ring hash does when asked for another host: the key's next choice, the same for
   * every call with that key.
   */
  pickOther(request: PickRequest, avoid: ReadonlySet<Host>): Host | null {
    const n = this.ring.length;
    if (n === 0) return null;
    const value = this.hashKey === undefined ? undefined : request.headers[this.hashKey];
    const key = typeof value === 'string' ? value : value !== undefined ? value[0] : undefined;
    const hash = key !== undefined ? hashString(key) : Math.floor(this.random() * TWO_POW_32);
    const start = this.pointAt(hash);
    for (let i = 0; i < n; i++) {
      const owner = this.owners[(start + i) % n];
      if (!avoid.has(owner)) return owner;
    }
    return this.owners[start];
  }

  /** The host a key maps to now, or null on an empty ring (for tests and tools). */
  hostFor(key: string): Host | null {
    return this.ring.length === 0 ? null : this.lookup(hashString(key));
  }

  private lookup(hash: number): Host {
    return this.owners[this.pointAt(hash)];
  }

  /** The index of the first point at or after `hash`, wrapping past the last to the first. */
  private pointAt(hash: number): number {
    const ring = this.ring;
    const n = ring.length;
    // First point at or after the hash; past the last point the ring wraps to the first.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === n ? 0 : lo;
  }
}
