// switchyard's balancing policies as @grpc/grpc-js 1.14 load-balancing policies
// (experimental.registerLoadBalancerType), registered under their own `switchyard_` names.
import type * as grpcJs from '@grpc/grpc-js';
import { Balancer } from '../balancer/balancer.js';
import type { Connectivity, Host } from '../balancer/host.js';
import type { PickRequest } from '../balancer/policy.js';
import { EMPTY_PICK_REQUEST } from '../balancer/policy.js';
import {
  createPolicy,
  resolvePolicySettings,
  validatePolicySettings,
} from '../balancer/registry.js';
import {
  createEndpoint,
  createEndpointSet,
  type Endpoint,
  type EndpointSet,
} from '../resolver/endpoint.js';
import { ENDPOINT_SET_ATTRIBUTE, type GrpcJsModule } from './grpc-js-resolver.js';

type X = typeof grpcJs.experimental;
type ChannelControlHelper = grpcJs.experimental.ChannelControlHelper;
type GrpcEndpoint = grpcJs.experimental.Endpoint;
type LeafLoadBalancer = grpcJs.experimental.LeafLoadBalancer;
type LoadBalancer = grpcJs.experimental.LoadBalancer;
type PickArgs = grpcJs.experimental.PickArgs;
type PickResult = grpcJs.experimental.PickResult;
type Picker = grpcJs.experimental.Picker;
type StatusOr<T> = grpcJs.experimental.StatusOr<T>;
type TypedLoadBalancingConfig = grpcJs.experimental.TypedLoadBalancingConfig;

/**
 * Our policy → its grpc-js name. grpc-js 1.14 has its own `weighted_round_robin` (driven by
 * ORCA load reports) and @grpc/grpc-js-xds registers `ring_hash`; the registry is process-wide
 * and last-wins, so every switchyard policy carries a `switchyard_` prefix and never replaces a
 * grpc-js one. (round_robin is grpc-js's own and already starts at a random offset.)
 */
export const GRPC_JS_POLICY_NAMES = Object.freeze({
  least_loaded: 'switchyard_least_loaded',
  weighted_round_robin: 'switchyard_weighted_round_robin',
  ring_hash: 'switchyard_ring_hash',
} as const);

const registered = new WeakSet<object>();

/**
 * Registers `switchyard_least_loaded`, `switchyard_weighted_round_robin` and
 * `switchyard_ring_hash` in the given @grpc/grpc-js module (pass the program's own, so the
 * policies land in the copy its channels use). Idempotent per module. Channels select one by
 * service config, with the same settings as the proxy's YAML:
 *
 *   'grpc.service_config': JSON.stringify({
 *     loadBalancingConfig: [{ switchyard_least_loaded: { decayMs: 5000 } }] })
 *
 * Endpoint weights and priorities come from switchyard's resolvers (`dns+srv:`, `consul:`,
 * `static:` registered by `registerWithGrpcJs`); with grpc-js's own resolvers every endpoint
 * has weight 1 and priority 0.
 */
export function registerBalancersWithGrpcJs(grpc: GrpcJsModule): void {
  const x = grpc.experimental as Partial<X> | undefined;
  if (!x?.registerLoadBalancerType || !x.LeafLoadBalancer || !x.createChildChannelControlHelper) {
    throw new Error(
      'registerBalancersWithGrpcJs: this @grpc/grpc-js is too old; switchyard needs ~1.14',
    );
  }
  if (registered.has(grpc.experimental)) return;
  for (const [policy, grpcName] of Object.entries(GRPC_JS_POLICY_NAMES)) {
    const { Balancer: LB, Config } = makePolicyClasses(grpc, policy, grpcName);
    grpc.experimental.registerLoadBalancerType(grpcName, LB, Config);
  }
  registered.add(grpc.experimental);
}

function makePolicyClasses(grpc: GrpcJsModule, policyName: string, grpcName: string) {
  const x = grpc.experimental;
  const { READY, CONNECTING, IDLE, TRANSIENT_FAILURE } = grpc.connectivityState;
  const UNAVAILABLE = grpc.status.UNAVAILABLE;
  const QUEUE: PickResult = {
    pickResultType: x.PickResultType.QUEUE,
    subchannel: null,
    status: null,
    onCallStarted: null,
    onCallEnded: null,
  };

  class Config implements TypedLoadBalancingConfig {
    constructor(readonly settings: Readonly<Record<string, unknown>>) {}
    getLoadBalancerName(): string {
      return grpcName;
    }
    toJsonObject(): object {
      return { [grpcName]: this.settings };
    }
    /** Throws on bad settings; grpc-js then rejects the service config. */
    static createFromJson(obj: unknown): Config {
      const issues = validatePolicySettings(policyName, obj);
      if (issues.length > 0) {
        const text = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message);
        throw new Error(`${grpcName}: ${text.join('; ')}`);
      }
      return new Config(resolvePolicySettings(policyName, obj));
    }
  }

  function connectivityOf(state: grpcJs.connectivityState): Connectivity {
    if (state === READY) return 'ready';
    if (state === CONNECTING) return 'connecting';
    if (state === IDLE) return 'idle';
    return 'failing';
  }

  /** `addresses[0]` as our endpoint, with weight and priority from our resolver's set. */
  function ourEndpoint(endpoint: GrpcEndpoint, set: EndpointSet | undefined): Endpoint | undefined {
    const address = endpoint.addresses[0];
    if (!address) return undefined;
    const fresh =
      'port' in address
        ? createEndpoint({ address: address.host, port: address.port })
        : createEndpoint({ address: address.path, port: 0 });
    return set?.endpoints.find((e) => e.key === fresh.key) ?? fresh;
  }

  interface Child {
    leaf: LeafLoadBalancer;
    grpcEndpoint: GrpcEndpoint;
  }

  /**
   * One LeafLoadBalancer (grpc-js's pick_first on one endpoint) per endpoint, as grpc-js's own
   * round_robin does; our `Balancer` decides which ready child takes each call, and the pick
   * result's onCallStarted/onCallEnded hooks feed its in-flight counts and latencies.
   */
  class SwitchyardLoadBalancer implements LoadBalancer {
    private balancer: Balancer | undefined;
    private settingsJson = '';
    private readonly children = new Map<string, Child>();
    private readonly childHelper: ChannelControlHelper;
    private request: PickRequest = EMPTY_PICK_REQUEST;
    private currentMetadata: grpcJs.Metadata | undefined;
    private lastState: grpcJs.connectivityState = IDLE;
    /** The balancer the last READY picker reads (a new one after a settings change). */
    private pickerFor: Balancer | undefined;
    private lastError = '';
    private updatesPaused = false;
    private destroyed = false;

    constructor(private readonly helper: ChannelControlHelper) {
      this.childHelper = x.createChildChannelControlHelper(helper, {
        updateState: (_state, _picker, errorMessage) => {
          if (errorMessage) this.lastError = errorMessage;
          this.refresh();
        },
      });
    }

    updateAddressList(
      endpoints: StatusOr<GrpcEndpoint[]>,
      lbConfig: TypedLoadBalancingConfig,
      options: grpcJs.ChannelOptions,
      resolutionNote: string,
    ): boolean {
      if (!(lbConfig instanceof Config) || this.destroyed) return false;
      if (!endpoints.ok) {
        if (this.children.size === 0) {
          this.publish(
            TRANSIENT_FAILURE,
            new x.UnavailablePicker(endpoints.error),
            endpoints.error.details,
          );
        }
        return true;
      }
      this.configure(lbConfig.settings);
      const set = (options as Record<string, unknown>)[ENDPOINT_SET_ATTRIBUTE] as
        EndpointSet | undefined;
      const ours: Endpoint[] = [];
      const grpcByKey = new Map<string, GrpcEndpoint>();
      for (const endpoint of endpoints.value) {
        const e = ourEndpoint(endpoint, set);
        if (!e || grpcByKey.has(e.key)) continue;
        grpcByKey.set(e.key, endpoint);
        ours.push(e);
      }
      this.updatesPaused = true;
      const { added, removed } = this.balancer!.update(createEndpointSet(ours));
      for (const host of removed) {
        this.children.get(host.key)?.leaf.destroy();
        this.children.delete(host.key);
      }
      for (const [key, child] of this.children) {
        const next = grpcByKey.get(key)!;
        if (x.endpointToString(next) !== x.endpointToString(child.grpcEndpoint)) {
          child.grpcEndpoint = next;
          child.leaf.updateEndpoint(next, options);
        }
      }
      for (const host of added) {
        const grpcEndpoint = grpcByKey.get(host.key)!;
        const leaf = new x.LeafLoadBalancer(
          grpcEndpoint,
          this.childHelper,
          options,
          resolutionNote,
        );
        this.children.set(host.key, { leaf, grpcEndpoint });
        leaf.startConnecting();
      }
      this.updatesPaused = false;
      if (ours.length === 0) {
        const details = `${grpcName}: no addresses resolved${resolutionNote ? ` (${resolutionNote})` : ''}`;
        this.publish(TRANSIENT_FAILURE, new x.UnavailablePicker({ details }), details);
        return false;
      }
      this.refresh();
      return true;
    }

    exitIdle(): void {
      for (const child of this.children.values()) child.leaf.exitIdle();
    }

    resetBackoff(): void {
      // The leaves own their backoff.
    }

    destroy(): void {
      this.destroyed = true;
      for (const child of this.children.values()) child.leaf.destroy();
      this.children.clear();
      this.balancer?.close();
    }

    getTypeName(): string {
      return grpcName;
    }

    /** A new balancer when the settings change (hosts and connections carry over). */
    private configure(settings: Readonly<Record<string, unknown>>): void {
      const json = JSON.stringify(settings);
      if (this.balancer && json === this.settingsJson) return;
      this.settingsJson = json;
      const old = this.balancer;
      const balancer = new Balancer(createPolicy(policyName, settings));
      if (old) {
        balancer.update(createEndpointSet([...old.hosts()].map((h) => h.endpoint)));
        old.close();
      }
      this.balancer = balancer;
      this.request = this.requestFor(settings);
    }

    /**
     * ring_hash reads `request.headers[hashKey]`; rather than copying the call's metadata into
     * a record per pick, the request's one header is a getter over the metadata being picked.
     */
    private requestFor(settings: Readonly<Record<string, unknown>>): PickRequest {
      const hashKey = settings.hashKey;
      if (typeof hashKey !== 'string') return EMPTY_PICK_REQUEST;
      const headers = {};
      Object.defineProperty(headers, hashKey, {
        enumerable: true,
        get: () => {
          const values = this.currentMetadata?.get(hashKey);
          const first = values?.[0];
          return typeof first === 'string' ? first : undefined;
        },
      });
      return { path: '', headers };
    }

    /** Mirrors every child's state into the balancer and publishes the aggregate state. */
    private refresh(): void {
      const balancer = this.balancer;
      if (this.updatesPaused || this.destroyed || !balancer) return;
      let connecting = false;
      for (const [key, child] of this.children) {
        const state = child.leaf.getConnectivityState();
        const host = balancer.host(key);
        if (host) balancer.setConnectivity(host, connectivityOf(state));
        if (state === CONNECTING) connecting = true;
        // Keep every endpoint connected, as round_robin does: any may be picked.
        if (state === IDLE) {
          child.leaf.exitIdle();
          connecting = true;
        }
      }
      if (balancer.eligible > 0) {
        // The picker reads the balancer live, so it is replaced only on a state change.
        if (this.lastState !== READY || this.pickerFor !== balancer) {
          this.pickerFor = balancer;
          this.publish(READY, this.picker(balancer), null);
        }
      } else if (connecting) {
        this.publish(CONNECTING, new x.QueuePicker(this), null);
      } else {
        const details = `${grpcName}: no ready endpoint; last error: ${this.lastError || 'none'}`;
        this.publish(TRANSIENT_FAILURE, new x.UnavailablePicker({ details }), details);
      }
    }

    private publish(state: grpcJs.connectivityState, picker: Picker, error: string | null): void {
      if (this.lastState === READY && state !== READY) this.helper.requestReresolution();
      this.lastState = state;
      this.helper.updateState(state, picker, error);
    }

    private picker(balancer: Balancer): Picker {
      return {
        pick: (args: PickArgs): PickResult => {
          if (this.balancer !== balancer) return QUEUE;
          this.currentMetadata = args.metadata;
          const host = balancer.pick(this.request);
          this.currentMetadata = undefined;
          const child = host ? this.children.get(host.key) : undefined;
          if (!host || !child) return QUEUE;
          const result = child.leaf.getPicker().pick(args);
          if (result.pickResultType !== x.PickResultType.COMPLETE) return result;
          return withAccounting(balancer, host, result, UNAVAILABLE);
        },
      };
    }
  }

  return { Balancer: SwitchyardLoadBalancer, Config };
}

/** The pick result with hooks that report the call's start, end, latency and outcome. */
function withAccounting(
  balancer: Balancer,
  host: Host,
  result: PickResult,
  unavailable: grpcJs.status,
): PickResult {
  let started = 0;
  const { onCallStarted, onCallEnded } = result;
  return {
    ...result,
    onCallStarted: () => {
      started = performance.now();
      balancer.callStarted(host);
      onCallStarted?.();
    },
    onCallEnded: (code, details, metadata) => {
      // UNAVAILABLE is what grpc-js reports for connect errors and resets on this endpoint.
      balancer.callEnded(host, performance.now() - started, code === unavailable);
      onCallEnded?.(code, details, metadata);
    },
  };
}
