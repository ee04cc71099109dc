// Adapters that let @grpc/grpc-js 1.14 channels use switchyard resolvers (experimental.registerResolver).
import type * as grpcJs from '@grpc/grpc-js';
import { createResolver } from '../resolver/create-resolver.js';
import type { EndpointSet } from '../resolver/endpoint.js';
import { ResolverOptionsError } from '../resolver/errors.js';
import type { ResolverOptions } from '../resolver/options.js';
import type { Resolver } from '../resolver/resolver.js';
import { serviceHost } from '../resolver/dns-srv-resolver.js';
import { formatHostPort, parseTarget, type TargetScheme } from '../resolver/target.js';

export type GrpcJsModule = typeof grpcJs;
type GrpcUri = grpcJs.experimental.GrpcUri;
type GrpcListener = grpcJs.experimental.ResolverListener;
type GrpcResolver = grpcJs.experimental.Resolver;
type GrpcEndpoint = grpcJs.experimental.Endpoint;
type ResolverConstructor = Parameters<typeof grpcJs.experimental.registerResolver>[1];
type ServiceConfigResult = Parameters<GrpcListener>[2];

/**
 * Channel option carrying per-channel resolver options (a `ResolverOptions` object or its JSON),
 * merged over the defaults given to `registerWithGrpcJs`.
 */
export const RESOLVER_OPTIONS_CHANNEL_OPTION = 'switchyard.resolver_options';

/**
 * Resolution attribute holding the whole `EndpointSet` (weights, priorities, metadata) for
 * switchyard's balancers. The prefix is grpc-js's "not a subchannel argument" marker, so a new
 * set never splits the subchannel pool.
 */
export const ENDPOINT_SET_ATTRIBUTE = 'grpc.internal.no_subchannel.switchyard.endpoint_set';

/**
 * Resolution attribute holding the channel's default authority (what TLS checks certificates
 * against), for the `switchyard_proxy` policy: through a tunnel grpc-js would check them
 * against the tunnel's target instead.
 */
export const AUTHORITY_ATTRIBUTE = 'grpc.internal.no_subchannel.switchyard.authority';

/** What a registered scheme needs: the grpc module, our scheme, and the current defaults. */
export interface GrpcJsResolverSettings {
  readonly grpc: GrpcJsModule;
  readonly scheme: TargetScheme;
  /** Read at each channel's first resolution, so a later `registerWithGrpcJs` call updates it. */
  readonly defaults: () => ResolverOptions;
}

/** Our target text for a grpc-js URI registered under another scheme name (`switchyard-dns`). */
export function targetText(scheme: TargetScheme, uri: GrpcUri): string {
  return `${scheme}://${uri.authority ?? ''}/${uri.path}`;
}

function channelResolverOptions(raw: unknown, target: string): ResolverOptions {
  if (raw === undefined || raw === null) return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      throw new ResolverOptionsError(target, [
        { path: RESOLVER_OPTIONS_CHANNEL_OPTION, message: 'is not valid JSON' },
      ]);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResolverOptionsError(target, [
      { path: RESOLVER_OPTIONS_CHANNEL_OPTION, message: 'must be an object' },
    ]);
  }
  return value;
}

function mergeOptions(base: ResolverOptions, over: ResolverOptions): ResolverOptions {
  return {
    ...base,
    ...over,
    dns: { ...base.dns, ...over.dns },
    consul: { ...base.consul, ...over.consul },
  };
}

/**
 * grpc-js wants `loadBalancingConfig` and `methodConfig` lists; the TXT parser already checked
 * that what is there has the right shape.
 */
function grpcServiceConfig(config: unknown): grpcJs.ServiceConfig {
  const c = config as Partial<grpcJs.ServiceConfig>;
  return {
    ...c,
    loadBalancingConfig: c.loadBalancingConfig ?? [],
    methodConfig: c.methodConfig ?? [],
  };
}

/** The default authority (`:authority`, TLS name) for a target, as grpc-js asks for it. */
export function defaultAuthority(scheme: TargetScheme, uri: GrpcUri): string {
  const target = parseTarget(targetText(scheme, uri));
  switch (target.scheme) {
    case 'dns':
      // As grpc-js's own dns resolver: the host[:port] as written.
      return uri.path;
    case 'dns+srv':
      return serviceHost(target.name);
    case 'consul':
      return target.service;
    case 'static':
      return formatHostPort(target.endpoints[0]);
  }
}

/** The default authority, or the target text when it does not parse (resolution then fails). */
function safeAuthority(scheme: TargetScheme, uri: GrpcUri): string {
  try {
    return defaultAuthority(scheme, uri);
  } catch {
    return uri.path;
  }
}

/**
 * Builds the class grpc-js instantiates per channel. The listener is only ever called from our
 * resolver's asynchronous delivery (or a queued microtask for errors), never from the constructor
 * or `updateResolution()`. `destroy()` closes our resolver; a later `updateResolution()` builds a
 * fresh one. Errors while a set is in force are not passed on: the channel keeps its endpoints.
 */
export function makeGrpcJsResolverClass(settings: GrpcJsResolverSettings): ResolverConstructor {
  const { grpc, scheme } = settings;
  const { statusOrFromValue, statusOrFromError } = grpc.experimental;
  const UNAVAILABLE = grpc.status.UNAVAILABLE;

  return class SwitchyardGrpcJsResolver implements GrpcResolver {
    private resolver: Resolver | undefined;
    private unsubscribe: (() => void) | undefined;
    /** Bumped by destroy(), so a late delivery from a closed resolver is dropped. */
    private generation = 0;
    private readonly text: string;
    private readonly authority: string;
    private readonly useServiceConfig: boolean;

    constructor(
      uri: GrpcUri,
      private readonly listener: GrpcListener,
      private readonly channelOptions: grpcJs.ChannelOptions,
    ) {
      this.text = targetText(scheme, uri);
      // What grpc-js checks TLS certificates against without a proxy (not grpc.default_authority).
      this.authority = safeAuthority(scheme, uri);
      this.useServiceConfig = channelOptions['grpc.service_config_disable_resolution'] !== 1;
    }

    static getDefaultAuthority(uri: GrpcUri): string {
      return defaultAuthority(scheme, uri);
    }

    updateResolution(): void {
      if (this.resolver) this.resolver.refresh();
      else this.start();
    }

    destroy(): void {
      this.generation++;
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      this.resolver?.close();
      this.resolver = undefined;
    }

    private start(): void {
      const generation = this.generation;
      let resolver: Resolver;
      try {
        const options = mergeOptions(
          settings.defaults(),
          channelResolverOptions(this.channelOptions[RESOLVER_OPTIONS_CHANNEL_OPTION], this.text),
        );
        resolver = createResolver(this.text, options);
      } catch (error) {
        // A bad target or bad options: say so on a later tick, like any resolution failure.
        const details = error instanceof Error ? error.message : String(error);
        queueMicrotask(() => {
          if (generation === this.generation) this.fail(details);
        });
        return;
      }
      this.resolver = resolver;
      this.unsubscribe = resolver.subscribe({
        onUpdate: (set) => {
          if (generation === this.generation) this.deliver(resolver, set);
        },
        onError: (error) => {
          // The channel keeps using the last good set; only a resolver with none fails calls.
          if (generation === this.generation && !resolver.current()) this.fail(error.message);
        },
        onNotFound: (error) => {
          if (generation === this.generation) this.fail(error.message);
        },
      });
    }

    private deliver(resolver: Resolver, set: EndpointSet): void {
      const endpoints: GrpcEndpoint[] = set.endpoints.map((e) => ({
        addresses: [{ host: e.address, port: e.port }],
      }));
      let serviceConfig: ServiceConfigResult = null;
      if (this.useServiceConfig && set.serviceConfig !== undefined) {
        serviceConfig = statusOrFromValue(grpcServiceConfig(set.serviceConfig));
      }
      const accepted = this.listener(
        statusOrFromValue(endpoints),
        { [ENDPOINT_SET_ATTRIBUTE]: set, [AUTHORITY_ATTRIBUTE]: this.authority },
        serviceConfig,
        '',
      );
      // The balancer rejected the update: ask again (rate-limited by the resolver).
      if (!accepted) resolver.refresh();
    }

    private fail(details: string): void {
      this.listener(statusOrFromError({ code: UNAVAILABLE, details }), {}, null, details);
    }
  };
}
