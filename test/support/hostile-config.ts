// Config files built to be expensive to check: many unknown keys, many routes to a cluster that
// does not exist. Valid apart from those, so every problem they report is one of them.

export interface HostileConfigOptions {
  /** Where clients connect; default an unused one. */
  readonly listen?: string;
  /** The one cluster's target; default a closed port. */
  readonly target?: string;
  /** Extra top-level lines (an admin listener, …). */
  readonly extra?: readonly string[];
  readonly unknownKeys?: number;
  readonly unknownClusterRoutes?: number;
}

/** The file's text; its unknown keys start on line 5. */
export function hostileConfig(options: HostileConfigOptions): string {
  const lines = [
    'listeners:',
    `  - address: ${options.listen ?? '127.0.0.1:0'}`,
    'clusters:',
    `  main: { target: "${options.target ?? '127.0.0.1:1'}" }`,
  ];
  for (let i = 0; i < (options.unknownKeys ?? 0); i++) lines.push(`unknown${i}: ${i}`);
  lines.push(...(options.extra ?? []));
  const routes = options.unknownClusterRoutes ?? 0;
  if (routes > 0) {
    lines.push('routes:');
    for (let i = 0; i < routes; i++) lines.push(`  - { cluster: nope${i % 10} }`);
  }
  lines.push('');
  return lines.join('\n');
}
