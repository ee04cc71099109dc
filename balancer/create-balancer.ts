// Builds a cluster's balancer from its validated config: the policy by name with its
// settings, panic threshold, outlier detection, and health checks when a probe is given.
import { Balancer } from './balancer.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { HealthCheckOptions, HealthProbe } from './health-checker.js';
import type { OutlierDetectionOptions } from './outlier-detector.js';
import { createPolicy } from './registry.js';
import { systemClock } from '../common/clock.js';

/**
 * The part of a cluster's config the balancer reads. The config's `ClusterConfig` has this
 * shape, so the proxy passes it as it is (balancer/ does not import config/).
 */
export interface BalancerClusterConfig {
  readonly balancer: {
    readonly policy: string;
    readonly settings: Readonly<Record<string, unknown>>;
  };
  readonly panicThreshold: number;
  readonly healthCheck: HealthCheckOptions | undefined;
  readonly outlierDetection: OutlierDetectionOptions | undefined;
}

export interface CreateBalancerOptions {
  /** Starts health checks at once when the cluster has a `healthCheck` block. */
  readonly healthProbe?: HealthProbe;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Where SWITCHYARD_TRACE=balancer writes. */
  readonly logger?: Logger;
}

/**
 * A balancer for `cluster`. Throws `BalancerError` for an unknown policy or bad settings
 * (the config loader validates both first, so that is a bug there). Without a `healthProbe`
 * health checks stay off until `balancer.startHealthChecks(probe)`. Call `close()` when the
 * cluster goes away.
 */
export function createBalancer(
  cluster: BalancerClusterConfig,
  options: CreateBalancerOptions = {},
): Balancer {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const policy = createPolicy(cluster.balancer.policy, cluster.balancer.settings, {
    now: () => clock.now(),
    random,
  });
  const balancer = new Balancer(policy, {
    panicThreshold: cluster.panicThreshold,
    healthCheck: cluster.healthCheck,
    outlierDetection: cluster.outlierDetection,
    clock,
    random,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  if (cluster.healthCheck && options.healthProbe) balancer.startHealthChecks(options.healthProbe);
  return balancer;
}
