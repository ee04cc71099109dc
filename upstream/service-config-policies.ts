// gRFC A6 policies from a resolver's service config (DNS TXT `grpc_config`), read the way gRPC
// clients read them, so that one record drives the proxy and embedded grpc-js channels alike:
// `methodConfig[].name` picks the calls (service and method, then service, then `{}` for all),
// `retryPolicy` / `hedgingPolicy` in A6's JSON (durations as "0.1s"), and `retryThrottling`.
import { statusCodeOf } from '../config/status-codes.js';
import type {
  HedgingPolicyConfig,
  RetryPolicyConfig,
  RetryThrottlingConfig,
} from '../config/types.js';

/** The policies one call runs under: at most one of the two (A6). */
export interface CallPolicies {
  readonly retry: RetryPolicyConfig | undefined;
  readonly hedging: HedgingPolicyConfig | undefined;
}

export const NO_POLICIES: CallPolicies = Object.freeze({ retry: undefined, hedging: undefined });

/** What a service config says about retries, looked up by call path. */
export interface ServiceConfigPolicies {
  /** The policies of `/package.Service/Method`: the most specific `name` that matches, or none. */
  forPath(path: string): CallPolicies;
  readonly throttling: RetryThrottlingConfig | undefined;
  /** Why parts of the config were ignored (each named by its place), for the log. */
  readonly problems: readonly string[];
}

/** A6 durations in proto3 JSON: decimal seconds with an `s`, as `"0.1s"` or `"2s"`. */
function durationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,9})(?:\.(\d{1,9}))?s$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * 1000 + Number(`0.${m[2] ?? '0'}`) * 1000;
}

function statusCodes(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const codes = value.map((v) => statusCodeOf(v));
  if (codes.some((c) => c === undefined)) return undefined;
  return [...new Set(codes as number[])];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function retryPolicy(p: unknown): RetryPolicyConfig | string {
  if (!isObject(p)) return 'is not an object';
  const { maxAttempts, backoffMultiplier } = p;
  if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 2) {
    return 'maxAttempts is not an integer of at least 2';
  }
  const initial = durationMs(p.initialBackoff);
  const max = durationMs(p.maxBackoff);
  if (initial === undefined || initial <= 0) return 'initialBackoff is not a duration above 0';
  if (max === undefined || max <= 0) return 'maxBackoff is not a duration above 0';
  if (typeof backoffMultiplier !== 'number' || !(backoffMultiplier > 0)) {
    return 'backoffMultiplier is not a number above 0';
  }
  const codes = statusCodes(p.retryableStatusCodes);
  if (codes === undefined || codes.length === 0) {
    return 'retryableStatusCodes is not a list of status names or codes';
  }
  const perTry =
    p.perAttemptRecvTimeout === undefined ? undefined : durationMs(p.perAttemptRecvTimeout);
  return {
    // A6: "values greater than 5 are treated as 5".
    maxAttempts: Math.min(maxAttempts, 5),
    initialBackoffMs: initial,
    maxBackoffMs: max,
    backoffMultiplier,
    retryableStatusCodes: codes,
    // gRFC A6's later per-attempt receive timeout, where a record sets it.
    perTryTimeoutMs: perTry,
    retryClientRetries: false,
  };
}

function hedgingPolicy(p: unknown): HedgingPolicyConfig | string {
  if (!isObject(p)) return 'is not an object';
  const { maxAttempts } = p;
  if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 2) {
    return 'maxAttempts is not an integer of at least 2';
  }
  const delay = p.hedgingDelay === undefined ? 0 : durationMs(p.hedgingDelay);
  if (delay === undefined) return 'hedgingDelay is not a duration';
  const codes = p.nonFatalStatusCodes === undefined ? [] : statusCodes(p.nonFatalStatusCodes);
  if (codes === undefined) return 'nonFatalStatusCodes is not a list of status names or codes';
  return {
    maxAttempts: Math.min(maxAttempts, 5),
    hedgingDelayMs: delay,
    nonFatalStatusCodes: codes,
  };
}

function throttling(t: unknown): RetryThrottlingConfig | string {
  if (!isObject(t)) return 'is not an object';
  const { maxTokens, tokenRatio } = t;
  if (typeof maxTokens !== 'number' || !(maxTokens > 0) || maxTokens > 1000) {
    return 'maxTokens is not a number above 0 and at most 1000';
  }
  if (typeof tokenRatio !== 'number' || !(tokenRatio > 0)) {
    return 'tokenRatio is not a number above 0';
  }
  // A6 keeps three decimal places.
  return { maxTokens, tokenRatio: Math.round(tokenRatio * 1000) / 1000 };
}

/**
 * The A6 policies of a service config. A method config whose policy is malformed is left out
 * (its calls fall to a less specific name, as if it were absent) and named in `problems`; gRPC
 * clients would refuse the whole config, but the proxy's endpoints must not wait on it.
 */
export function policiesFromServiceConfig(config: unknown): ServiceConfigPolicies {
  const problems: string[] = [];
  const byMethod = new Map<string, CallPolicies>();
  const byService = new Map<string, CallPolicies>();
  let all: CallPolicies = NO_POLICIES;
  const methodConfigs =
    isObject(config) && Array.isArray(config.methodConfig) ? config.methodConfig : [];
  for (const [i, mc] of methodConfigs.entries()) {
    if (!isObject(mc)) continue;
    let policies: CallPolicies = NO_POLICIES;
    if (mc.retryPolicy !== undefined && mc.hedgingPolicy !== undefined) {
      problems.push(`methodConfig[${i}] has retryPolicy and hedgingPolicy (A6 allows one)`);
      continue;
    }
    if (mc.retryPolicy !== undefined) {
      const retry = retryPolicy(mc.retryPolicy);
      if (typeof retry === 'string') {
        problems.push(`methodConfig[${i}].retryPolicy: ${retry}`);
        continue;
      }
      policies = { retry, hedging: undefined };
    } else if (mc.hedgingPolicy !== undefined) {
      const hedging = hedgingPolicy(mc.hedgingPolicy);
      if (typeof hedging === 'string') {
        problems.push(`methodConfig[${i}].hedgingPolicy: ${hedging}`);
        continue;
      }
      policies = { retry: undefined, hedging };
    }
    for (const name of Array.isArray(mc.name) ? mc.name : []) {
      if (!isObject(name)) continue;
      const service = typeof name.service === 'string' ? name.service : '';
      const method = typeof name.method === 'string' ? name.method : '';
      // gRPC: the first method config naming a call wins.
      if (service === '' && method === '') {
        if (all === NO_POLICIES) all = policies;
      } else if (method === '') {
        if (!byService.has(service)) byService.set(service, policies);
      } else if (!byMethod.has(`/${service}/${method}`)) {
        byMethod.set(`/${service}/${method}`, policies);
      }
    }
  }
  let throttle: RetryThrottlingConfig | undefined;
  if (isObject(config) && config.retryThrottling !== undefined) {
    const t = throttling(config.retryThrottling);
    if (typeof t === 'string') problems.push(`retryThrottling: ${t}`);
    else throttle = t;
  }
  return {
    forPath(path) {
      const exact = byMethod.get(path);
      if (exact !== undefined) return exact;
      const slash = path.indexOf('/', 1);
      const service = slash > 0 ? byService.get(path.slice(1, slash)) : undefined;
      return service ?? all;
    },
    throttling: throttle,
    problems,
  };
}
