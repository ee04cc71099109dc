// The balancing policies by name: what a cluster's `balancer.policy` (and `--balancer`) may
// say, each policy's settings, and their validation for the config loader.
import { closestName } from './did-you-mean.js';
import { BalancerError, type PolicySettingsIssue } from './errors.js';
import {
  LEAST_LOADED_DEFAULTS,
  LeastLoadedPolicy,
  type LeastLoadedSettings,
} from './least-loaded.js';
import type { Policy, PolicyContext } from './policy.js';
import {
  normalizeSettings,
  resolveSettings,
  validateSettings,
  type SettingsSpec,
} from './policy-settings.js';
import { RING_HASH_DEFAULTS, RingHashPolicy, type RingHashSettings } from './ring-hash.js';
import { RoundRobinPolicy } from './round-robin.js';
import { WeightedRoundRobinPolicy } from './weighted-round-robin.js';

/** A policy without settings takes an empty mapping. */
export type NoSettings = Readonly<Record<string, never>>;

/**
 * A cluster's validated `balancer:`: the policy by name and its settings as the file gave them
 * (checked, strings normalized, defaults not yet filled), typed per policy.
 */
export type PolicyConfig =
  | { readonly policy: 'round_robin'; readonly settings: NoSettings }
  | { readonly policy: 'least_loaded'; readonly settings: Partial<LeastLoadedSettings> }
  | { readonly policy: 'weighted_round_robin'; readonly settings: NoSettings }
  | { readonly policy: 'ring_hash'; readonly settings: Partial<RingHashSettings> };

export interface PolicyDescription {
  readonly name: string;
  /** One line for `--help` and the config reference. */
  readonly summary: string;
  readonly settings: SettingsSpec;
}

interface PolicyEntry extends PolicyDescription {
  create(settings: Record<string, unknown>, context: PolicyContext): Policy;
}

// Lower-case HTTP/2 header names (pseudo-headers such as :authority allowed).
const HEADER_NAME = /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/;

const POLICIES: readonly PolicyEntry[] = [
  {
    name: 'round_robin',
    summary: 'even rotation over ready endpoints, from a random start',
    settings: {},
    create: (_settings, context) => new RoundRobinPolicy(context.random),
  },
  {
    name: 'least_loaded',
    summary: 'fewest in-flight calls by two random choices, scored by peak-EWMA latency',
    settings: {
      scoring: {
        type: 'enum',
        values: ['peak_ewma', 'in_flight'],
        default: LEAST_LOADED_DEFAULTS.scoring,
        description: 'peak_ewma: latency × (in-flight + 1); in_flight: in-flight calls only',
      },
      decayMs: {
        type: 'number',
        default: LEAST_LOADED_DEFAULTS.decayMs,
        min: 1,
        max: 3_600_000,
        unit: 'ms',
        description:
          'time constant of the latency average: how fast a slow endpoint is forgiven and probed again',
      },
      probeAfterMs: {
        type: 'number',
        default: LEAST_LOADED_DEFAULTS.probeAfterMs,
        min: 0,
        max: 3_600_000,
        unit: 'ms',
        description:
          'an endpoint idle this long gets the next call as a probe, whose answer replaces its latency estimate (so a recovered one is found again); 0 turns probes off',
      },
    },
    create: (settings, context) =>
      new LeastLoadedPolicy(settings as unknown as LeastLoadedSettings, context),
  },
  {
    name: 'weighted_round_robin',
    summary: 'smooth rotation in proportion to resolver weights (SRV weight, Consul Weights)',
    settings: {},
    create: (_settings, context) => new WeightedRoundRobinPolicy(context.random),
  },
  {
    name: 'ring_hash',
    summary: 'consistent hashing of a request header, for affinity with minimal remapping',
    settings: {
      hashKey: {
        type: 'string',
        default: RING_HASH_DEFAULTS.hashKey,
        pattern: HEADER_NAME,
        patternMessage: 'must be a header (metadata) name such as "x-user-id"',
        normalize: (value) => value.toLowerCase(),
        description:
          'request header whose value picks the endpoint; calls without it (or with no hashKey) go to a random endpoint by weight',
      },
      minRingSize: {
        type: 'integer',
        default: RING_HASH_DEFAULTS.minRingSize,
        min: 1,
        max: 8_388_608,
        description:
          'fewest virtual nodes on the ring; raise to about 100 × endpoints for an even spread',
      },
      maxRingSize: {
        type: 'integer',
        default: RING_HASH_DEFAULTS.maxRingSize,
        min: 1,
        max: 8_388_608,
        description: 'most virtual nodes on the ring (about 12 bytes each)',
      },
    },
    create: (settings, context) =>
      new RingHashPolicy(settings as unknown as RingHashSettings, context.random),
  },
];

const BY_NAME = new Map(POLICIES.map((p) => [p.name, p]));

const DEFAULT_CONTEXT: PolicyContext = { now: () => performance.now(), random: Math.random };

/** The registered policy names, in the order of the docs. */
export function policyNames(): readonly string[] {
  return POLICIES.map((p) => p.name);
}

/** Each policy with its summary and settings (for the config reference and JSON schema). */
export function describePolicies(): readonly PolicyDescription[] {
  return POLICIES.map(({ name, summary, settings }) => ({ name, summary, settings }));
}

/** The registered name closest to a misspelt one ("least_laoded" → "least_loaded"). */
export function suggestPolicyName(name: string): string | undefined {
  return closestName(name, policyNames());
}

/** Undefined when `name` is a registered policy, else a message with a suggestion. */
export function validatePolicyName(name: string): string | undefined {
  if (BY_NAME.has(name)) return undefined;
  const hint = suggestPolicyName(name);
  return (
    `unknown balancing policy "${name}"` +
    (hint ? ` (did you mean "${hint}"?)` : '') +
    `; known: ${policyNames().join(', ')}`
  );
}

/**
 * Every problem with `raw` as settings of policy `name`, paths relative to the settings
 * mapping (`['minRingSize']`). An unknown name is one issue with an empty path.
 */
export function validatePolicySettings(name: string, raw: unknown): PolicySettingsIssue[] {
  const entry = BY_NAME.get(name);
  if (!entry) return [{ path: [], message: validatePolicyName(name) ?? '' }];
  const issues = validateSettings(entry.settings, raw);
  if (issues.length === 0 && name === 'ring_hash') {
    const s = resolveSettings(entry.settings, raw) as unknown as RingHashSettings;
    if (s.minRingSize > s.maxRingSize) {
      issues.push({
        path: ['minRingSize'],
        message: `minRingSize (${s.minRingSize}) must not exceed maxRingSize (${s.maxRingSize})`,
      });
    }
  }
  return issues;
}

/**
 * Policy `name` with `raw` as its settings, checked: the config a validated cluster holds, or
 * every problem (as `validatePolicySettings` gives them).
 */
export function parsePolicyConfig(
  name: string,
  raw: unknown,
): { config: PolicyConfig } | { issues: PolicySettingsIssue[] } {
  const issues = validatePolicySettings(name, raw);
  if (issues.length > 0) return { issues };
  const settings = normalizeSettings(BY_NAME.get(name)!.settings, raw);
  // The registry checked the name and every setting against that policy's spec.
  return { config: { policy: name, settings } as PolicyConfig };
}

/**
 * A new policy instance for a config `parsePolicyConfig` made: its defaults filled in, nothing
 * checked again.
 */
export function policyFromConfig(
  config: PolicyConfig,
  context: PolicyContext = DEFAULT_CONTEXT,
): Policy {
  const entry = BY_NAME.get(config.policy)!;
  return entry.create(resolveSettings(entry.settings, config.settings), context);
}

/** `raw` settings of policy `name` with defaults filled in; throws like `createPolicy`. */
export function resolvePolicySettings(name: string, raw: unknown): Record<string, unknown> {
  const entry = BY_NAME.get(name);
  if (!entry) throw new BalancerError('SWY_ERR_UNKNOWN_POLICY', validatePolicyName(name) ?? name);
  const issues = validatePolicySettings(name, raw);
  if (issues.length > 0) {
    const text = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message);
    throw new BalancerError(
      'SWY_ERR_BAD_POLICY_SETTINGS',
      `invalid ${name} settings: ${text.join('; ')}`,
      issues,
    );
  }
  return resolveSettings(entry.settings, raw);
}

/**
 * A new policy instance. Throws `BalancerError` (`SWY_ERR_UNKNOWN_POLICY`,
 * `SWY_ERR_BAD_POLICY_SETTINGS`) — configs are validated before this runs, so it is a bug there.
 */
export function createPolicy(
  name: string,
  settings: unknown = {},
  context: PolicyContext = DEFAULT_CONTEXT,
): Policy {
  const resolved = resolvePolicySettings(name, settings);
  return BY_NAME.get(name)!.create(resolved, context);
}
