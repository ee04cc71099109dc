// registerWithGrpcJs(): explicit, idempotent registration of switchyard's schemes in @grpc/grpc-js.
import { createRequire } from 'node:module';
import type { ResolverOptions } from '../resolver/options.js';
import type { TargetScheme } from '../resolver/target.js';
import { makeGrpcJsResolverClass, type GrpcJsModule } from './grpc-js-resolver.js';
import { registerBalancersWithGrpcJs } from './grpc-js-balancer.js';
import { registerProxyPolicyWithGrpcJs } from './grpc-js-proxy.js';

/**
 * grpc-js scheme → switchyard scheme. Our DNS resolver registers as `switchyard-dns`: grpc-js's
 * registry is process-wide and last-wins, so taking over `dns` would change every channel in
 * the program, including libraries that never asked for it.
 */
export const GRPC_JS_SCHEMES: Readonly<Record<string, TargetScheme>> = Object.freeze({
  'switchyard-dns': 'dns',
  'dns+srv': 'dns+srv',
  consul: 'consul',
  static: 'static',
});

export interface RegisterOptions {
  /**
   * Defaults for every channel's resolver (DNS servers and refresh bounds, Consul address and
   * token, an HTTP agent for Consul). A channel can override them with the channel option
   * `switchyard.resolver_options`. A later call replaces them for channels created afterwards.
   */
  readonly resolverOptions?: ResolverOptions;
}

interface Registration {
  options: ResolverOptions;
}

/** Keyed by the module's `experimental` object: one registration per copy of grpc-js. */
const registrations = new WeakMap<object, Registration>();

function loadGrpcJs(): GrpcJsModule {
  try {
    return createRequire(import.meta.url)('@grpc/grpc-js') as GrpcJsModule;
  } catch (cause) {
    throw new Error(
      'registerWithGrpcJs: @grpc/grpc-js (~1.14) is not installed; install it or pass your own module',
      { cause },
    );
  }
}

/**
 * Registers the `switchyard-dns`, `dns+srv`, `consul` and `static` schemes, switchyard's
 * balancing policies and `switchyard_proxy` (per-endpoint proxy tunnels) with grpc-js. Pass the program's own `@grpc/grpc-js` module
 * so registration lands in the copy its channels use; without it the copy next to switchyard is
 * loaded. Calling it again is harmless: schemes are registered once per module, and new
 * `resolverOptions` apply to channels created afterwards. Returns the module it registered in.
 */
export function registerWithGrpcJs(
  grpc?: GrpcJsModule,
  options: RegisterOptions = {},
): GrpcJsModule {
  const mod = grpc ?? loadGrpcJs();
  const experimental = mod.experimental as Partial<GrpcJsModule['experimental']> | undefined;
  if (
    !experimental?.registerResolver ||
    !experimental.statusOrFromValue ||
    !experimental.statusOrFromError
  ) {
    throw new Error('registerWithGrpcJs: this @grpc/grpc-js is too old; switchyard needs ~1.14');
  }
  const existing = registrations.get(mod.experimental);
  if (existing) {
    if (options.resolverOptions) existing.options = options.resolverOptions;
    return mod;
  }
  const registration: Registration = { options: options.resolverOptions ?? {} };
  for (const [grpcScheme, scheme] of Object.entries(GRPC_JS_SCHEMES)) {
    mod.experimental.registerResolver(
      grpcScheme,
      makeGrpcJsResolverClass({ grpc: mod, scheme, defaults: () => registration.options }),
    );
  }

  // ---- Balancing policies -------------------------------------------------------------------
  // switchyard_least_loaded, switchyard_weighted_round_robin, switchyard_ring_hash. Every
  // grpc-js ~1.14 has registerLoadBalancerType; a resolver-only module (a test double) gets
  // the schemes alone.
  if (typeof experimental.registerLoadBalancerType === 'function') {
    registerBalancersWithGrpcJs(mod);
    // switchyard_proxy: one CONNECT tunnel per endpoint (see withProxyTunnels).
    registerProxyPolicyWithGrpcJs(mod);
  }
  // ---------------------------------------------------------------------------------------------

  registrations.set(mod.experimental, registration);
  return mod;
}
