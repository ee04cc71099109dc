// Builds a cluster's balancer from its validated config: the policy by name with its
// settings, panic threshold, outlier detection, and health checks when a probe is given.
import { Balancer } from './balancer.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { HealthCheckOptions, HealthProbe } from './health-checker.js';
import type { OutlierDetectionOptions } from './outlier-detector.js';
import { policyFromConfig, type PolicyConfig } from './registry.js';
import { systemClock } from '../common/clock.js';

/**
 * The part of a cluster's config the balancer reads. The config's `ClusterConfig` has this
 * shape, so the proxy passes it as it is (balancer/ does not import config/).
 */
export interface BalancerClusterConfig {
  /** Checked by the config loader (`parsePolicyConfig`); not checked again here. */
  readonly balancer: PolicyConfig;
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
 * A balancer for `cluster`, whose policy and settings were validated with the config. Without a `healthProbe`
 * health checks stay off until `balancer.startHealthChecks(probe)`. Call `close()` when the
 * cluster goes away.
 */
export function createBalancer(
  cluster: BalancerClusterConfig,
  options: CreateBalancerOptions = {},
): Balancer {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const policy = policyFromConfig(cluster.balancer, {
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
