// The `rateLimit` built-in: token buckets per route (or listener) and per key, answering
// RESOURCE_EXHAUSTED with `grpc-retry-pushback-ms`. Not UNAVAILABLE: gRPC clients retry
// UNAVAILABLE at once (it is in most retryable lists), which turns a limit into a storm;
// RESOURCE_EXHAUSTED with a pushback tells a retrying client when to come back (gRFC A6).
//
// With `workers: N`, each worker keeps its own buckets with 1/N of the rate and of the burst:
// the primary hands out equal shares once, at config load, rather than keeping the buckets.
// Keeping them in the primary would make every limited call wait for a message round trip
// (tens of µs and an await on a path that is otherwise synchronous, against a budget of 1 µs
// per call) and would stop every call when the primary is busy. The price: a key whose calls
// all arrive on one worker's connections is held to 1/N of its rate. Node's cluster module
// hands connections round-robin to workers, so many clients even out; a single client
// connection does not (its calls all go to one worker).
import type { Filter, FilterContext, FilterMetadata, FilterReject } from './filter.js';
import type { DecisionCounter } from './filter-metrics.js';
import { TokenBucket } from './token-bucket.js';
import { text } from './value-template.js';

/** gRPC status RESOURCE_EXHAUSTED. */
const RESOURCE_EXHAUSTED = 8;

export interface RateLimitSettings {
  readonly requestsPerSecond: number;
  readonly burst: number;
  /** `route` (one bucket), `peer`, `metadata.NAME` or `jwt.CLAIM`. */
  readonly key: string;
  readonly maxKeys: number;
}

export interface RateLimitEnvironment {
  readonly now: () => number;
  /** This process's share of the limit (1 / workers). */
  readonly share: number;
  readonly allowed?: DecisionCounter;
  readonly denied?: DecisionCounter;
}

type KeyOf = (ctx: FilterContext, md: FilterMetadata) => string;

/** The client's address without its port: one client, one bucket, whatever port it uses. */
function peerHost(ctx: FilterContext): string {
  const a = ctx.peer.address;
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
  const colon = a.lastIndexOf(':');
  return colon < 0 ? a : a.slice(0, colon);
}

function keyFunction(key: string): KeyOf | undefined {
  if (key === 'route') return undefined;
  if (key === 'peer') return (ctx) => peerHost(ctx);
  if (key.startsWith('metadata.')) {
    const name = key.slice('metadata.'.length);
    return (_ctx, md) => md.get(name) ?? '';
  }
  if (key.startsWith('jwt.')) {
    const claim = key.slice('jwt.'.length);
    return (ctx) => {
      return text(ctx.claims?.[claim]) ?? '';
    };
  }
  throw new Error(`unknown rate limit key "${key}"`);
}

export function rateLimitFilter(settings: RateLimitSettings, env: RateLimitEnvironment): Filter {
  const share = env.share > 0 && env.share <= 1 ? env.share : 1;
  const ratePerMs = (settings.requestsPerSecond * share) / 1000;
  // A worker's burst is its share too, but never below one call, or it would admit nothing.
  const burst = Math.max(1, settings.burst * share);
  const now = env.now;
  const keyOf = keyFunction(settings.key);
  const allowed = env.allowed;
  const denied = env.denied;
  const single = keyOf === undefined ? new TokenBucket(ratePerMs, burst, now()) : undefined;
  const buckets = new Map<string, TokenBucket>();
  const maxKeys = settings.maxKeys;

  function bucketFor(key: string, t: number): TokenBucket {
    let b = buckets.get(key);
    if (b !== undefined) {
      // Most recently used last, so the first entry is the one to drop when full.
      buckets.delete(key);
      buckets.set(key, b);
      return b;
    }
    if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
    b = new TokenBucket(ratePerMs, burst, t);
    buckets.set(key, b);
    return b;
  }

  return {
    name: 'rateLimit',
    onRequestHeaders(ctx, md): FilterReject | undefined {
      const t = now();
      const bucket = single ?? bucketFor(keyOf!(ctx, md), t);
      const wait = bucket.take(t);
      if (wait === 0) {
        if (allowed !== undefined) allowed.value++;
        return undefined;
      }
      if (denied !== undefined) denied.value++;
      return {
        code: RESOURCE_EXHAUSTED,
        message: `rate limit: ${settings.requestsPerSecond} calls per second${
          settings.key === 'route' ? '' : ` per ${settings.key}`
        }; retry in ${wait} ms`,
        trailers: { 'grpc-retry-pushback-ms': String(wait) },
      };
    },
  };
}
