// The checks the config loader borrows from the balancer and resolver layers. config/ imports
// neither, so the program hands them in (proxy/config-validators.ts builds the real set).

/** A problem inside a block, with its key path relative to the block. */
export interface BlockIssue {
  /** `['minRingSize']`, or `'servers[1]'` as the resolver writes it; empty for the block itself. */
  readonly path: readonly string[] | string;
  readonly message: string;
}

/** Synchronous, side-effect-free checks; they never throw for bad input, they describe it. */
export interface ConfigValidators {
  /** The registered balancing policies, for the JSON Schema and messages. */
  policyNames(): readonly string[];
  /** Undefined for a registered policy; else a message (with a "did you mean" when close). */
  validatePolicyName(name: string): string | undefined;
  /**
   * Every problem with `settings` (a mapping, `…Ms` durations already in milliseconds) for the
   * registered policy `name`; paths relative to the settings mapping.
   */
  validatePolicySettings(
    name: string,
    settings: Readonly<Record<string, unknown>>,
  ): readonly BlockIssue[];
  /** Undefined when `target` is a target the resolvers accept; else why not. */
  validateTarget(target: string): string | undefined;
  /**
   * Every problem with a cluster's `resolver:` block (`…Ms` durations already in
   * milliseconds) for a valid `target`; paths relative to the block.
   */
  validateResolverOptions(
    target: string,
    options: Readonly<Record<string, unknown>>,
  ): readonly BlockIssue[];
}
