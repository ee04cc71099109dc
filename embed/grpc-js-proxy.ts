// Per-endpoint HTTP CONNECT tunnels for @grpc/grpc-js 1.14 channels: the `switchyard_proxy`
// policy wraps any child policy and sends each subchannel through its own tunnel, so
// balancing survives a proxy (grpc-js alone tunnels the whole channel to one target).
import type * as grpcJs from '@grpc/grpc-js';
import type { EndpointSet } from '../resolver/endpoint.js';
import { endpointKey } from '../resolver/endpoint.js';
import {
  ProxyEnvironment,
  parseProxyUrl,
  type ProxyEnv,
  type ProxyServer,
} from '../egress/proxy-settings.js';
import {
  AUTHORITY_ATTRIBUTE,
  ENDPOINT_SET_ATTRIBUTE,
  type GrpcJsModule,
} from './grpc-js-resolver.js';

type ChannelControlHelper = grpcJs.experimental.ChannelControlHelper;
type ChildLoadBalancerHandler = grpcJs.experimental.ChildLoadBalancerHandler;
type GrpcEndpoint = grpcJs.experimental.Endpoint;
type LoadBalancer = grpcJs.experimental.LoadBalancer;
type StatusOr<T> = grpcJs.experimental.StatusOr<T>;
type SubchannelAddress = grpcJs.experimental.SubchannelAddress;
type TypedLoadBalancingConfig = grpcJs.experimental.TypedLoadBalancingConfig;

/** The policy name in `loadBalancingConfig`. */
export const PROXY_POLICY_NAME = 'switchyard_proxy';

/** What `withProxyTunnels` and the policy's `proxy` field take. */
export interface ProxyTunnelSettings {
  /**
   * `http://[user:password@]host:port` for every endpoint, `none` for none, or omitted: the
   * environment as the proxy reads it (grpc_proxy, https_proxy, http_proxy, lower case first;
   * no_grpc_proxy or no_proxy with names, domains, IPs, CIDR ranges, ports and `*`).
   */
  readonly proxy?: string;
  /** The environment to read instead of `process.env` (read when a channel first resolves). */
  readonly env?: ProxyEnv;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Channel options for a channel whose endpoints should each get their own CONNECT tunnel:
 * grpc-js's whole-channel proxy turned off (`grpc.enable_http_proxy: 0`, else it would replace
 * the target, resolver and all, with the proxy) and the service config's balancing policy
 * wrapped in `switchyard_proxy`. Other options pass through unchanged.
 */
export function withProxyTunnels(
  options: grpcJs.ChannelOptions = {},
  settings: Pick<ProxyTunnelSettings, 'proxy'> = {},
): grpcJs.ChannelOptions {
  const raw = options['grpc.service_config'] as unknown;
  let serviceConfig: Record<string, unknown> = {};
  if (typeof raw === 'string' && raw.trim() !== '') {
    const parsed = JSON.parse(raw) as unknown;
    if (!isRecord(parsed))
      throw new Error('withProxyTunnels: grpc.service_config is not an object');
    serviceConfig = parsed;
  }
  const list = Array.isArray(serviceConfig.loadBalancingConfig)
    ? (serviceConfig.loadBalancingConfig as unknown[])
    : [];
  const already = list.length === 1 && isRecord(list[0]) && PROXY_POLICY_NAME in list[0];
  const wrapped = already
    ? list
    : [
        {
          [PROXY_POLICY_NAME]: {
            childPolicy: list.length > 0 ? list : [{ pick_first: {} }],
            ...(settings.proxy !== undefined ? { proxy: settings.proxy } : {}),
          },
        },
      ];
  return {
    ...options,
    'grpc.enable_http_proxy': 0,
    'grpc.service_config': JSON.stringify({ ...serviceConfig, loadBalancingConfig: wrapped }),
  };
}

const registered = new WeakSet<object>();
/** Environments for the policy's channels, by module, for tests that inject one. */
const environments = new WeakMap<object, () => ProxyEnv>();

/**
 * Registers `switchyard_proxy` in the given grpc-js module; idempotent. `env` replaces
 * `process.env` for channels created afterwards.
 */
export function registerProxyPolicyWithGrpcJs(grpc: GrpcJsModule, env?: () => ProxyEnv): void {
  if (env !== undefined) environments.set(grpc.experimental, env);
  if (registered.has(grpc.experimental)) return;
  const { Balancer, Config } = makeProxyPolicy(grpc);
  grpc.experimental.registerLoadBalancerType(PROXY_POLICY_NAME, Balancer, Config);
  registered.add(grpc.experimental);
}

function hostPort(address: SubchannelAddress): { host: string; port: number } | undefined {
  return 'port' in address ? { host: address.host, port: address.port } : undefined;
}

/** `user:password` as grpc-js wants it in `grpc.http_connect_creds` (it adds the Basic). */
function credentialsOf(proxy: ProxyServer): string | undefined {
  const auth = proxy.authorization;
  return auth === undefined ? undefined : Buffer.from(auth.slice(6), 'base64').toString('utf8');
}

function makeProxyPolicy(grpc: GrpcJsModule) {
  const x = grpc.experimental;

  class Config implements TypedLoadBalancingConfig {
    constructor(
      readonly child: TypedLoadBalancingConfig,
      readonly childJson: unknown[],
      /** A parsed proxy, `none`, or undefined for the environment. */
      readonly proxy: ProxyServer | 'none' | undefined,
      readonly proxyText: string | undefined,
    ) {}
    getLoadBalancerName(): string {
      return PROXY_POLICY_NAME;
    }
    toJsonObject(): object {
      return {
        [PROXY_POLICY_NAME]: {
          childPolicy: this.childJson,
          ...(this.proxyText !== undefined ? { proxy: this.proxyText } : {}),
        },
      };
    }
    /** Throws on bad settings; grpc-js then rejects the service config. */
    static createFromJson(obj: unknown): Config {
      if (!isRecord(obj)) throw new Error(`${PROXY_POLICY_NAME}: config must be an object`);
      const rawChild = obj.childPolicy ?? obj.child_policy ?? [];
      if (!Array.isArray(rawChild)) {
        throw new Error(`${PROXY_POLICY_NAME}: childPolicy must be a list of policies`);
      }
      const child = x.selectLbConfigFromList(rawChild as never[], true);
      if (child === null) {
        throw new Error(`${PROXY_POLICY_NAME}: no childPolicy is a registered policy`);
      }
      let proxy: ProxyServer | 'none' | undefined;
      const text = obj.proxy;
      if (text !== undefined) {
        if (typeof text !== 'string') throw new Error(`${PROXY_POLICY_NAME}: proxy must be a URL`);
        if (text === 'none') proxy = 'none';
        else {
          const parsed = parseProxyUrl(text, 'service config');
          if (typeof parsed === 'string') throw new Error(`${PROXY_POLICY_NAME}: proxy ${parsed}`);
          if (parsed.protocol !== 'http:') {
            throw new Error(`${PROXY_POLICY_NAME}: grpc-js tunnels through http:// proxies only`);
          }
          proxy = parsed;
        }
      }
      return new Config(child, rawChild, proxy, typeof text === 'string' ? text : undefined);
    }
  }

  /**
   * Delegates everything to its child policy, except that each subchannel the child asks for
   * is made to the proxy's address with `grpc.http_connect_target` naming the endpoint: grpc-js
   * then opens one CONNECT tunnel per subchannel (its own transport does the CONNECT).
   */
  class ProxyTunnelLoadBalancer implements LoadBalancer {
    private readonly child: ChildLoadBalancerHandler;
    private config: Config | undefined;
    private environment: ProxyEnvironment | undefined;
    private set: EndpointSet | undefined;
    private authority: string | undefined;
    private userOptions: grpcJs.ChannelOptions = {};

    constructor(helper: ChannelControlHelper) {
      this.child = new x.ChildLoadBalancerHandler(
        x.createChildChannelControlHelper(helper, {
          createSubchannel: (address, args) => {
            const tunnel = this.tunnelFor(address, args);
            return helper.createSubchannel(tunnel?.address ?? address, tunnel?.args ?? args);
          },
        }),
      );
    }

    updateAddressList(
      endpoints: StatusOr<GrpcEndpoint[]>,
      lbConfig: TypedLoadBalancingConfig,
      options: grpcJs.ChannelOptions,
      resolutionNote: string,
    ): boolean {
      if (!(lbConfig instanceof Config)) return false;
      this.config = lbConfig;
      const record = options as Record<string, unknown>;
      this.set = record[ENDPOINT_SET_ATTRIBUTE] as EndpointSet | undefined;
      this.authority = record[AUTHORITY_ATTRIBUTE] as string | undefined;
      this.userOptions = options;
      if (lbConfig.proxy === undefined && this.environment === undefined) {
        this.environment = new ProxyEnvironment(
          (environments.get(grpc.experimental) ?? (() => process.env))(),
        );
        for (const p of this.environment.problems) {
          x.log(grpc.logVerbosity.ERROR, `${PROXY_POLICY_NAME}: ${p.variable}: ${p.message}`);
        }
      }
      return this.child.updateAddressList(endpoints, lbConfig.child, options, resolutionNote);
    }

    exitIdle(): void {
      this.child.exitIdle();
    }

    resetBackoff(): void {
      this.child.resetBackoff();
    }

    destroy(): void {
      this.child.destroy();
    }

    getTypeName(): string {
      return PROXY_POLICY_NAME;
    }

    private proxyFor(host: string, port: number): ProxyServer | undefined {
      const configured = this.config?.proxy;
      if (configured === 'none') return undefined;
      if (configured !== undefined) return configured;
      const hostname = this.set?.endpoints.find((e) => e.key === endpointKey(host, port))?.hostname;
      const proxy = this.environment?.proxyFor('grpc', { host, port, hostname });
      if (proxy?.protocol === 'https:') {
        x.log(
          grpc.logVerbosity.ERROR,
          `${PROXY_POLICY_NAME}: ${proxy.source} is an https:// proxy, which grpc-js cannot use; connecting to ${endpointKey(host, port)} directly`,
        );
        return undefined;
      }
      return proxy;
    }

    private tunnelFor(
      address: SubchannelAddress,
      args: grpcJs.ChannelOptions,
    ): { address: SubchannelAddress; args: grpcJs.ChannelOptions } | undefined {
      const target = hostPort(address);
      if (target === undefined) return undefined;
      const proxy = this.proxyFor(target.host, target.port);
      if (proxy === undefined) return undefined;
      const tunnelArgs: Record<string, unknown> = {
        ...args,
        // The CONNECT target: this endpoint's own address, so each subchannel is its endpoint.
        'grpc.http_connect_target': `dns:///${endpointKey(target.host, target.port)}`,
      };
      const credentials = credentialsOf(proxy);
      if (credentials !== undefined) tunnelArgs['grpc.http_connect_creds'] = credentials;
      // grpc-js checks TLS certificates against the CONNECT target's host; keep checking them
      // against the channel's authority, as without a proxy.
      const authority = this.authority;
      if (
        authority !== undefined &&
        this.userOptions['grpc.ssl_target_name_override'] === undefined
      ) {
        tunnelArgs['grpc.ssl_target_name_override'] = x.splitHostPort(authority)?.host ?? authority;
      }
      return { address: { host: proxy.host, port: proxy.port }, args: tunnelArgs };
    }
  }

  return { Balancer: ProxyTunnelLoadBalancer, Config };
}
