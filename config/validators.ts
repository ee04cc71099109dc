// The checks the config loader borrows from the balancer and resolver layers, and the types of
// what they parse. config/ imports neither layer, so the program hands the checks in
// (proxy/config-validators.ts builds the real set) and names the types (see ParsedTypes).
import type { Target } from '../common/target.js';

/** A problem inside a block, with its key path relative to the block. */
export interface BlockIssue {
  /** `['minRingSize']`, or `'servers[1]'` as the resolver writes it; empty for the block itself. */
  readonly path: readonly string[] | string;
  readonly message: string;
}

/**
 * The types of the values the validators parse, which a validated config holds: the balancer's
 * `PolicyConfig` (policy name and settings, typed per policy) and the resolver's
 * `ResolverBlock`. They belong to layers config/ may not import, so the layer that supplies
 * the validators fills this interface in by declaration merging
 * (`declare module '../config/validators.js'` in proxy/config-validators.ts); every reader of
 * a Config then sees them typed, while config/ itself treats them as opaque.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by merging
export interface ParsedTypes {}

/** A cluster's `balancer:` once checked; `{ policy, settings }` whatever the layer above says. */
export type ParsedPolicy = ParsedTypes extends { readonly policy: infer P }
  ? P
  : { readonly policy: string; readonly settings: Readonly<Record<string, unknown>> };

/** A cluster's `resolver:` block once checked against its target's scheme. */
export type ParsedResolverBlock = ParsedTypes extends { readonly resolverBlock: infer B }
  ? B
  : Readonly<Record<string, unknown>>;

/** A parsed value, or every problem found on the way. */
export type ParseResult<T> =
  { readonly value: T; readonly issues?: undefined } | { readonly issues: readonly BlockIssue[] };

/** Synchronous, side-effect-free checks; they never throw for bad input, they describe it. */
export interface ConfigValidators {
  /** The registered balancing policies, for the JSON Schema and messages. */
  policyNames(): readonly string[];
  /** Undefined for a registered policy; else a message (with a "did you mean" when close). */
  validatePolicyName(name: string): string | undefined;
  /**
   * Undefined when the cluster's `proxy:` URL (already a well-formed http(s) URL, not `none`)
   * is one the upstream dialer takes; else why not, so that `validate` refuses what startup
   * would.
   */
  proxyProblem(url: string): string | undefined;
  /**
   * Policy `name` (registered) with `settings` (a mapping, `…Ms` durations already in
   * milliseconds), checked; issue paths relative to the settings mapping.
   */
  parsePolicy(name: string, settings: Readonly<Record<string, unknown>>): ParseResult<ParsedPolicy>;
  /**
   * A cluster's `resolver:` block (`…Ms` durations already in milliseconds) checked against
   * the scheme of its target; issue paths relative to the block.
   */
  parseResolverBlock(
    target: Target,
    block: Readonly<Record<string, unknown>>,
  ): ParseResult<ParsedResolverBlock>;
}
