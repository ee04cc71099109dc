// A cluster's proxy policy: its `proxy:` setting (a URL, or none) or else the environment,
// turned into the dialer for its endpoints and the HTTP agent for its Consul queries.
import type { Agent as HttpAgent } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClusterConfig } from '../config/types.js';
import { consulEndpoint } from '../resolver/consul-client.js';
import { createEndpoint } from '../resolver/endpoint.js';
import { blockOptions, consulOptions, type ResolverOptions } from '../resolver/options.js';
import {
  parseProxyUrl,
  type ProxyEnv,
  type ProxyEnvironment,
  type ProxyServer,
} from './proxy-settings.js';
import {
  DirectDialer,
  connectError,
  connectTcp,
  type Dialer,
  type UpstreamTlsOptions,
} from '../upstream/dialer.js';
import { SwitchyardError } from '../common/errors.js';
import { createTunnelAgent } from './tunnel-agent.js';
import {
  TunnelDialer,
  openTunnel,
  type ProxyRoute,
  type ProxyTlsOptions,
} from './tunnel-dialer.js';

/** What decides a cluster's proxies: the process environment, read once at startup. */
export interface EgressContext {
  readonly environment: ProxyEnvironment;
  /** The raw environment, for `CONSUL_HTTP_ADDR` and friends. */
  readonly env: ProxyEnv;
  readonly proxyTls?: ProxyTlsOptions;
}

/** The cluster's own proxy URL, 'none', or undefined when the environment decides. */
function configuredProxy(cluster: ClusterConfig): ProxyServer | 'none' | undefined {
  if (cluster.proxy === undefined || cluster.proxy === 'none') return cluster.proxy;
  const parsed = parseProxyUrl(cluster.proxy, 'config');
  if (typeof parsed === 'string') {
    // The config loader checked it; a Config built in code may not have been.
    throw new SwitchyardError('SWY_ERR_CONFIG', `cluster "${cluster.name}": proxy ${parsed}`);
  }
  return parsed;
}

/**
 * Where each endpoint's connection goes: the cluster's proxy for all of them, none, or the
 * environment's gRPC proxy unless `no_grpc_proxy` / `no_proxy` names the endpoint's address,
 * its DNS name, or its port. Undefined when every endpoint connects directly.
 */
export function endpointProxyRoute(
  cluster: ClusterConfig,
  context: EgressContext,
): ProxyRoute | undefined {
  const configured = configuredProxy(cluster);
  if (configured === 'none') return undefined;
  if (configured !== undefined) return () => configured;
  const environment = context.environment;
  if (environment.proxy('grpc') === undefined) return undefined;
  return (endpoint) =>
    environment.proxyFor('grpc', {
      host: endpoint.address,
      hostname: endpoint.hostname,
      port: endpoint.port,
    });
}

/** The dialer for a cluster's endpoints: direct, or through CONNECT tunnels. */
export function createUpstreamDialer(
  cluster: ClusterConfig,
  tls: UpstreamTlsOptions | undefined,
  context: EgressContext,
): Dialer {
  const route = endpointProxyRoute(cluster, context);
  return route === undefined
    ? new DirectDialer(tls)
    : new TunnelDialer(route, tls, context.proxyTls);
}

/**
 * The resolver options for a cluster: its validated `resolver:` block, plus an agent that
 * tunnels Consul queries when a proxy applies to the agent's address (`http_proxy` or
 * `https_proxy` by its scheme, and `no_proxy`; or the cluster's own `proxy:`).
 */
export function clusterResolverOptions(
  cluster: ClusterConfig,
  context: EgressContext,
): ResolverOptions {
  const target = cluster.parsedTarget;
  const block = blockOptions(target.scheme, cluster.resolver);
  if (target.scheme !== 'consul') return block;
  // CONSUL_HTTP_ADDR, CONSUL_HTTP_SSL and the rest come from the same environment as the
  // proxies, so the agent's scheme the resolver uses is the one its agent was made for.
  const options: ResolverOptions = { ...block, env: context.env };
  const configured = configuredProxy(cluster);
  if (configured === 'none') return options;
  if (configured === undefined && !context.environment.any) return options;
  const { baseUrl, tls } = consulEndpoint(
    cluster.target,
    target,
    consulOptions(options.consul),
    context.env,
  );
  const secure = baseUrl.startsWith('https:');
  const environment = context.environment;
  // Without a proxy for the agent's scheme the resolver keeps its own agent.
  if (configured === undefined && environment.proxy(secure ? 'https' : 'http') === undefined) {
    return options;
  }
  const route =
    configured !== undefined
      ? () => configured
      : (host: string, port: number) =>
          environment.proxyFor(secure ? 'https' : 'http', { host, port });
  const agent: HttpAgent = createTunnelAgent({
    secure,
    route,
    connectTimeoutMs: cluster.timeouts.connectMs,
    proxyTls: context.proxyTls,
    ...(tls !== undefined ? { tls: () => tls.settings() } : {}),
  });
  return { ...options, consulAgent: agent };
}

/**
 * A raw connection to `host:port` for a passthrough tunnel of forward-proxy mode: through the
 * environment's gRPC proxy unless `no_proxy` names the target, else direct. Rejects with a
 * SwitchyardError (SWY_ERR_CONNECT_TIMEOUT when it took too long).
 */
export async function dialPassthrough(
  host: string,
  port: number,
  timeoutMs: number,
  context: EgressContext,
): Promise<Duplex> {
  const proxy = context.environment.proxyFor('grpc', { host, port });
  if (proxy !== undefined) return openTunnel(proxy, host, port, timeoutMs, context.proxyTls);
  try {
    return await connectTcp(host, port, timeoutMs);
  } catch (err) {
    throw connectError(createEndpoint({ address: host, port }), err);
  }
}
