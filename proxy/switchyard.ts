// The proxy: wires listeners, the router and clusters from a validated config, validates each
// incoming request, and hands it to a ProxyCall.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { availableParallelism } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { createBalancer } from '../balancer/create-balancer.js';
import { TRACE } from '../common/trace.js';
import type { HealthStatus } from '../balancer/host.js';
import { DEFAULT_LISTENER } from '../config/defaults.js';
import type { ClusterConfig, Config, ListenerConfig, SocketAddress } from '../config/types.js';
import { resolverForTarget } from '../resolver/create-resolver.js';
import { ProxyEnvironment, type ProxyEnv } from '../egress/proxy-settings.js';
import type { Resolver } from '../resolver/resolver.js';
import type { UpstreamLocalSettings } from '../transport/upstream.js';
import { systemClock, type Clock } from '../common/clock.js';
import { ProxyCall, type CallContext, type CallObserver, type CallRecord } from './call.js';
import { Cluster } from '../upstream/cluster.js';
import type { Dialer, UpstreamTlsOptions } from '../upstream/dialer.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import { Status, statusName } from '../grpc/grpc-status.js';
import { statusResponse } from './upstream-call.js';
import { GrpcHealthProbe } from '../upstream/health-probe.js';
import {
  INVALID_FIELDS,
  headerFieldsSize,
  invalidFieldReason,
  isGrpcContentType,
} from '../grpc/header-fields.js';
import { effectiveTimeout, parseGrpcTimeout } from '../grpc/grpc-timeout.js';
import { Listener, type ListenerMaterial, type TunnelServices } from './listener.js';
import type { ClientConnection } from './client-connection.js';
import type { DownstreamStream } from '../transport/downstream.js';
import { fieldValue, type HeaderFields } from '../transport/header-fields.js';
import { TlsFileWatch, listenerTlsFiles, secureContextOptions } from './listener-tls.js';
import { LogLimiter, silentLogger, type Logger } from '../common/log.js';
import { Router } from './router.js';
import { createGateway, emptyGatewayRoutes, ProxyGatewayUpstream } from './gateway-wiring.js';
import { DescriptorSource, type DescriptorsView } from './descriptor-source.js';
import { ReflectionServer } from '../gateway/reflection-server.js';
import { StallWatch } from '../gateway/stall-watch.js';
import { REFLECTION_PATH_PREFIX } from '../gateway/reflection-wire.js';
import type { DescriptorSet } from '../gateway/descriptor-set.js';
import { startFilteredCall } from './filtered-call.js';
import type { FilterRouting } from './filter-stage.js';
import type { DescriptorPool } from '../gateway/descriptor-pool.js';
import type { Filter } from '../filter/filter.js';
import { FilterDecisions } from '../filter/filter-metrics.js';
import { NO_FILTERS, loadFilters, type FilterSet } from '../filter/load-filters.js';
import {
  clusterResolverOptions,
  createUpstreamDialer,
  dialPassthrough,
  type EgressContext,
} from '../egress/upstream-proxy.js';

export interface SwitchyardOptions {
  readonly logger?: Logger;
  /** Builds the resolver for a cluster's target (tests inject DNS servers through it). */
  readonly createResolver?: (target: string, cluster: ClusterConfig) => Resolver;
  /**
   * The environment upstream proxies come from (`grpc_proxy`, `https_proxy`, `http_proxy`,
   * `no_proxy`, …) and Consul resolvers read (`CONSUL_HTTP_ADDR`, `CONSUL_CACERT`, …), read
   * once at start; default `process.env`.
   */
  readonly env?: ProxyEnv;
  /**
   * Where endpoint health comes from: `local` (default) checks here; `external` leaves it to
   * `applyHealth()` (the workers of a multi-worker proxy, whose primary checks once for all).
   */
  readonly healthChecks?: 'local' | 'external';
  /**
   * A control plane only: clusters follow their resolvers and connect to endpoints just to
   * health-check them (the primary of a multi-worker proxy; its config has no listeners).
   */
  readonly controlPlane?: boolean;
  /**
   * The filters' clock (rate limits, durations, the deadline while a hook waits); default the
   * system clock. For tests.
   */
  readonly filterClock?: Clock;
}

/** One health verdict for an endpoint: key, status, reason. */
export type HealthVerdict = readonly [key: string, status: HealthStatus, reason: string];

/**
 * Certificate, key and CA files already read, by absolute path (by the process that loaded the
 * config for a reload, so the loop that serves calls does not read them). Others are read here.
 */
export type PreloadedFiles = ReadonlyMap<string, Uint8Array>;

/** Local SETTINGS for upstream sessions: room for a stream's data in flight, no push. */
const UPSTREAM_SETTINGS: UpstreamLocalSettings = { enablePush: false };

function readFile(path: string, what: string, files: PreloadedFiles | undefined): Buffer {
  const read = files?.get(path);
  if (read !== undefined) return Buffer.from(read.buffer, read.byteOffset, read.byteLength);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SwitchyardError(
      'SWY_ERR_TLS_FILES',
      `cannot read ${what} ${path}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

function listenerTls(config: ListenerConfig, files?: PreloadedFiles): ListenerMaterial {
  const tls = config.tls;
  const tunnel = config.connect?.tls;
  return {
    tls: tls && {
      cert: readFile(tls.certFile, 'certificate', files),
      key: readFile(tls.keyFile, 'private key', files),
      ca: tls.caFile ? readFile(tls.caFile, 'CA bundle', files) : undefined,
    },
    tunnel: tunnel && {
      cert: readFile(tunnel.certFile, 'tunnel certificate', files),
      key: readFile(tunnel.keyFile, 'tunnel private key', files),
    },
  };
}

function upstreamTls(
  config: ClusterConfig,
  files?: PreloadedFiles,
): UpstreamTlsOptions | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  return {
    ca: tls.caFile ? readFile(tls.caFile, 'CA bundle', files) : undefined,
    cert: tls.certFile ? readFile(tls.certFile, 'client certificate', files) : undefined,
    key: tls.keyFile ? readFile(tls.keyFile, 'client key', files) : undefined,
    serverName: tls.serverName,
    rejectUnauthorized: !tls.insecureSkipVerify,
    cluster: config.name,
  };
}

/**
 * Throws what TLS would throw for this material (a key that does not match its certificate, a
 * file that is no PEM), so it is found before a listener is given it.
 */
function checkMaterial(config: ListenerConfig, material: ListenerMaterial): void {
  if (material.tls && config.tls) {
    createSecureContext(secureContextOptions(config.tls, material.tls));
  }
  if (material.tunnel) createSecureContext(material.tunnel);
}

function sameMaterial(a: ListenerMaterial | undefined, b: ListenerMaterial): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined) =>
    x === y || (x !== undefined && y !== undefined && x.equals(y));
  return (
    a !== undefined &&
    same(a.tls?.cert, b.tls?.cert) &&
    same(a.tls?.key, b.tls?.key) &&
    same(a.tls?.ca, b.tls?.ca) &&
    same(a.tunnel?.cert, b.tunnel?.cert) &&
    same(a.tunnel?.key, b.tunnel?.key)
  );
}

/** A non-gRPC request gets a plain HTTP answer: it is not a gRPC client. */
function refuseHttp(stream: DownstreamStream, status: number, text: string): void {
  if (stream.closed) return;
  stream.respond([':status', String(status), 'content-type', 'text/plain; charset=utf-8'], false);
  stream.write(Buffer.from(`switchyard: ${text}\n`));
  stream.end([]);
}

function refuseGrpc(stream: DownstreamStream, code: number, message: string): void {
  if (stream.closed) return;
  stream.respond(statusResponse(code, message), true);
}

function sameAddress(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.address.host === b.address.host && a.address.port === b.address.port;
}

/** What a reload changed, for logs and the admin API. */
export interface ReloadSummary {
  readonly listeners: {
    readonly added: string[];
    readonly removed: string[];
    readonly changed: string[];
  };
  readonly clusters: {
    readonly added: string[];
    readonly removed: string[];
    readonly changed: string[];
    readonly kept: string[];
  };
  readonly routes: number;
}

/** The router and the per-route contexts, swapped as one value so a reload is atomic for calls. */
interface Routing {
  readonly router: Router;
  readonly contexts: ReadonlyMap<string, CallContext>;
  /** Per cluster, for calls inside CONNECT tunnels pinned to it (forward-proxy mode). */
  readonly tunnels: ReadonlyMap<string, CallContext>;
  /** Listeners' filters, only for listeners that have some (empty: no lookup per call). */
  readonly listenerFilters: ReadonlyMap<string, readonly Filter[]>;
  /** The routes as calls (and filters choosing among them) see them. */
  readonly filterRouting: FilterRouting;
  /** By listener: the largest message a call with message hooks reads, each way. */
  readonly messageLimits: ReadonlyMap<string, number>;
}

/**
 * The routes of one config as calls see them: the first route a call matches, or a route by
 * name, with its call context.
 */
function filterRoutingOf(
  router: Router,
  contexts: ReadonlyMap<string, CallContext>,
  unknownRoute: FilterRouting['unknownRoute'],
): FilterRouting {
  return {
    match(path, fields) {
      const route = router.match(path, fields);
      if (route === undefined) return `no route for ${path}`;
      return (
        contexts.get(route.name) ??
        `route "${route.name}" names an unknown cluster "${route.cluster}"`
      );
    },
    named: (name) => contexts.get(name),
    unknownRoute,
  };
}

export class Switchyard implements CallObserver {
  private listeners = new Map<string, Listener>();
  private clusters = new Map<string, Cluster>();
  private routing: Routing;
  private readonly observers: CallObserver[] = [];
  /** Calls started and not yet ended, over all clusters. */
  inFlight = 0;
  private readonly logger: Logger;
  private readonly failureLog = new LogLimiter();
  private readonly handler = this.handleStream.bind(this);
  private reloading: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The filters of the config in force. */
  private filters: FilterSet = NO_FILTERS;
  /** What filters decided, for metrics. */
  readonly filterDecisions = new FilterDecisions();
  private current: Config;
  private readonly egressContext: EgressContext;
  /** Per TLS listener: the material it serves, and the watch on its files. */
  private readonly tlsFiles = new Map<
    string,
    { material: ListenerMaterial; watch: TlsFileWatch | undefined }
  >();
  /** The REST/JSON gateway's descriptors and routes, when the config has `descriptors:`. */
  private descriptors: DescriptorSource | undefined;
  /**
   * Answers grpc.reflection on every listener when the config has `descriptors:` (and
   * `serveReflection` is not false); undefined costs plain calls nothing.
   */
  private reflectionServer: ReflectionServer | undefined;
  /** The descriptors in use now, for filters that ask for decoded messages. */
  private readonly currentDescriptors = (): DescriptorPool | undefined =>
    this.descriptors?.current.pool;
  /** The filters' clock (rate limits, durations, deadlines while a hook waits). */
  private readonly filterClock: Clock;
  private readonly gatewayUpstream = new ProxyGatewayUpstream(() => {
    const routing = this.routing;
    return {
      routes: routing.filterRouting,
      listenerFilters: routing.listenerFilters,
      clock: this.filterClock,
      descriptors: this.currentDescriptors,
      messageLimits: routing.messageLimits,
    };
  });
  private readonly unknownRoute: FilterRouting['unknownRoute'] = (name, filter, listener, path) => {
    const suppressed = this.failureLog.take(`route-pick:${name}`);
    if (suppressed < 0) return;
    this.logger.warn(
      { listener, method: path, filter, route: name, ...(suppressed > 0 ? { suppressed } : {}) },
      `filter "${filter}" picked route "${name}", which the config does not have; the call ends INTERNAL`,
    );
  };

  private constructor(
    config: Config,
    private readonly options: SwitchyardOptions,
  ) {
    this.current = config;
    this.filterClock = options.filterClock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    const env = options.env ?? process.env;
    this.egressContext = { environment: new ProxyEnvironment(env), env };
    for (const p of this.egressContext.environment.problems) {
      this.logger.warn({ variable: p.variable }, `proxy environment: ${p.message}`);
    }
    const router = new Router([]);
    this.routing = {
      router,
      contexts: new Map(),
      tunnels: new Map(),
      listenerFilters: new Map(),
      filterRouting: filterRoutingOf(router, new Map(), this.unknownRoute),
      messageLimits: new Map(),
    };
  }

  /** The config in force (the latest one applied by a reload). */
  get config(): Config {
    return this.current;
  }

  /** Reads every file, builds clusters and routes, and opens every listener. */
  static async start(config: Config, options: SwitchyardOptions = {}): Promise<Switchyard> {
    const proxy = new Switchyard(config, options);
    try {
      // Every file is read before any socket opens: a missing certificate fails here.
      const material = config.listeners.map((l) => listenerTls(l));
      if (config.descriptors !== undefined) proxy.useDescriptors(config.descriptors);
      const dialers = config.clusters.map((c) => proxy.createDialer(c));
      config.clusters.forEach((c, i) =>
        proxy.clusters.set(c.name, proxy.createCluster(c, dialers[i])),
      );
      proxy.filters = await loadFilters(config, proxy.filterOptions(config));
      proxy.routing = proxy.buildRouting(config, proxy.clusters, proxy.filters);
      proxy.descriptors?.watch(proxy.clusters);
      for (const [i, lc] of config.listeners.entries()) {
        await proxy.openListener(lc, material[i]);
      }
      proxy.watchTlsFiles(new Map(config.listeners.map((l, i) => [l.name, material[i]])));
    } catch (err) {
      await proxy.close(0);
      throw err;
    }
    return proxy;
  }

  /**
   * Applies a new validated config: listeners added, removed or changed, clusters swapped,
   * routes replaced in one step. Clusters whose config did not change keep their endpoints,
   * connections and balancer state; calls in flight finish on whatever they started on.
   * Everything that can fail (files, new sockets) happens before anything changes, so a failed
   * reload leaves the running config as it was. Reloads run one at a time. Files in `files`
   * are not read again.
   */
  reload(next: Config, files?: PreloadedFiles): Promise<ReloadSummary> {
    const run = this.reloading.then(() => this.applyConfig(next, files));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyConfig(next: Config, files?: PreloadedFiles): Promise<ReloadSummary> {
    if (this.closed) throw new SwitchyardError('SWY_ERR_CLOSED', 'switchyard is shutting down');
    const prev = this.current;
    // 1. Everything that can fail, without touching what runs.
    const material = new Map(next.listeners.map((l) => [l.name, listenerTls(l, files)] as const));
    for (const l of next.listeners) {
      try {
        checkMaterial(l, material.get(l.name)!);
      } catch (err) {
        throw new SwitchyardError(
          'SWY_ERR_TLS_FILES',
          `listener "${l.name}": the certificate files cannot be used: ${describeError(err)}`,
          { cause: err },
        );
      }
    }
    // Descriptors first: a .proto that no longer parses fails the reload before anything changes.
    let freshDescriptors: DescriptorSource | undefined;
    if (next.descriptors !== undefined && this.descriptors !== undefined) {
      this.descriptors.reconfigure(next.descriptors);
    } else if (next.descriptors !== undefined) {
      freshDescriptors = new DescriptorSource(next.descriptors, this.logger);
    }
    const clusters = new Map<string, Cluster>();
    const created: Cluster[] = [];
    const summary: ReloadSummary = {
      listeners: { added: [], removed: [], changed: [] },
      clusters: { added: [], removed: [], changed: [], kept: [] },
      routes: next.routes.length,
    };
    const opened: Listener[] = [];
    // Filter modules load first: a module that fails leaves everything as it was.
    const filters = await loadFilters(next, this.filterOptions(next));
    try {
      for (const c of next.clusters) {
        const old = this.clusters.get(c.name);
        if (old && isDeepStrictEqual(old.config, c)) {
          clusters.set(c.name, old);
          summary.clusters.kept.push(c.name);
          continue;
        }
        const cluster = this.createCluster(c, this.createDialer(c, files));
        created.push(cluster);
        clusters.set(c.name, cluster);
        (old ? summary.clusters.changed : summary.clusters.added).push(c.name);
      }
      // New listeners, and changed ones that move to another address, open now.
      for (const lc of next.listeners) {
        const old = this.listeners.get(lc.name);
        if (old && (old.canReconfigure(lc) || sameAddress(old.config, lc))) continue;
        opened.push(await this.createListener(lc, material.get(lc.name)));
      }
    } catch (err) {
      for (const cluster of created) cluster.destroy();
      await Promise.all(opened.map((l) => l.close(0)));
      filters.close();
      throw err;
    }

    // 2. Commit: from here on nothing throws.
    const routing = this.buildRouting(next, clusters, filters);
    const retiredFilters = this.filters;
    this.filters = filters;
    const retiredClusters = [...this.clusters.values()].filter((c) => clusters.get(c.name) !== c);
    const listeners = new Map<string, Listener>();
    const retiredListeners: Listener[] = [];
    const reopen: ListenerConfig[] = [];
    for (const lc of next.listeners) {
      const old = this.listeners.get(lc.name);
      const fresh = opened.find((l) => l.name === lc.name);
      if (fresh) {
        listeners.set(lc.name, fresh);
        if (old) {
          retiredListeners.push(old);
          summary.listeners.changed.push(lc.name);
        } else {
          summary.listeners.added.push(lc.name);
        }
      } else if (old && old.canReconfigure(lc)) {
        if (!isDeepStrictEqual(old.config, lc)) summary.listeners.changed.push(lc.name);
        old.reconfigure(lc, material.get(lc.name));
        listeners.set(lc.name, old);
      } else if (old) {
        // Same address, different kind: the old socket must close before the new one binds.
        retiredListeners.push(old);
        reopen.push(lc);
        summary.listeners.changed.push(lc.name);
      }
    }
    for (const [name, old] of this.listeners) {
      if (!next.listeners.some((l) => l.name === name)) {
        retiredListeners.push(old);
        summary.listeners.removed.push(name);
      }
    }
    for (const c of retiredClusters) {
      if (!clusters.has(c.name)) summary.clusters.removed.push(c.name);
    }
    this.current = next;
    this.clusters = clusters;
    this.routing = routing;
    this.listeners = listeners;
    if (next.descriptors === undefined) {
      this.descriptors?.close();
      this.descriptors = undefined;
      this.reflectionServer = undefined;
    } else if (freshDescriptors !== undefined) {
      this.useDescriptors(next.descriptors, freshDescriptors);
    } else if (this.descriptors !== undefined) {
      this.reflectionServer =
        next.descriptors.serveReflection === false
          ? undefined
          : (this.reflectionServer ?? new ReflectionServer());
      this.reflectionServer?.swap(this.descriptors.current.pool);
    }
    this.descriptors?.watch(clusters);
    for (const l of listeners.values()) this.fitGateway(l);

    // 3. Retire what was replaced: old clients get GOAWAY and finish their calls; old
    // clusters finish the calls they carry, then close their sessions.
    // close() stops listening at once (the port is free on the next tick) and then waits for
    // client sessions, which may take the whole grace: that part is not awaited.
    const grace = next.shutdownGraceMs;
    for (const l of retiredListeners) void l.close(grace);
    if (reopen.length > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const lc of reopen) {
      try {
        await this.openListener(lc, material.get(lc.name));
      } catch (err) {
        this.logger.error(
          { listener: lc.name },
          `reload could not reopen the listener: ${describeError(err)}`,
        );
      }
    }
    for (const c of retiredClusters) {
      c.successor = clusters.get(c.name);
      c.close();
    }
    // Calls in flight keep the filter objects they hold; close() only stops their timers.
    retiredFilters.close();
    this.watchTlsFiles(material);
    this.logger.info(
      { ...summary, from: prev === next ? 'same' : 'new' },
      'configuration reloaded',
    );
    return summary;
  }

  /**
   * (Re)starts the watch on each TLS listener's files, which serve `material` now. Called after
   * start and after every reload, which may have moved the files.
   */
  private watchTlsFiles(material: ReadonlyMap<string, ListenerMaterial>): void {
    for (const entry of this.tlsFiles.values()) entry.watch?.close();
    this.tlsFiles.clear();
    if (this.closed) return;
    for (const listener of this.listeners.values()) {
      const config = listener.config;
      const files = listenerTlsFiles(config);
      const served = material.get(config.name);
      if (files.length === 0 || served === undefined) continue;
      const name = config.name;
      const watch =
        (config.tls?.watch ?? true)
          ? new TlsFileWatch(files, () => this.reloadTlsFiles(name), this.logger, {
              listener: name,
            })
          : undefined;
      this.tlsFiles.set(name, { material: served, watch });
    }
  }

  /**
   * A listener's certificate files changed: new connections get what they hold now, once it
   * reads and makes a working TLS context (a key written after its certificate is waited for:
   * the mismatch in between is logged and the running certificate stays). Open connections
   * keep the certificate they began with.
   */
  private reloadTlsFiles(name: string): void {
    const entry = this.tlsFiles.get(name);
    const listener = this.listeners.get(name);
    if (entry === undefined || listener === undefined || this.closed) return;
    let next: ListenerMaterial;
    try {
      next = listenerTls(listener.config);
      if (sameMaterial(entry.material, next)) return;
      checkMaterial(listener.config, next);
    } catch (err) {
      this.logger.warn(
        { listener: name },
        `certificate files changed but cannot be used, the running certificate stays: ${describeError(err)}`,
      );
      return;
    }
    listener.reconfigure(listener.config, next);
    entry.material = next;
    const notAfter = listener.certificateNotAfter;
    this.logger.info(
      { listener: name, notAfter: notAfter === undefined ? undefined : new Date(notAfter) },
      'certificate reloaded from its files',
    );
  }

  private async createListener(
    config: ListenerConfig,
    material: ListenerMaterial | undefined,
  ): Promise<Listener> {
    const listener = new Listener(config, material, this.handler, this.logger, this.tunnels);
    this.fitGateway(listener);
    const at = await listener.listen();
    this.logger.info(
      { listener: config.name, address: `${at.host}:${at.port}`, tls: config.tls !== undefined },
      'listening',
    );
    return listener;
  }

  /** Reads `descriptors:` (throws ProtoLoadError, HttpRuleError) and follows its changes. */
  private useDescriptors(
    config: NonNullable<Config['descriptors']>,
    source = new DescriptorSource(config, this.logger),
  ): void {
    source.onChange = (set) => this.descriptorsChanged(set);
    this.descriptors = source;
    if (config.serveReflection !== false) {
      this.reflectionServer = new ReflectionServer();
      this.reflectionServer.swap(source.current.pool);
    }
  }

  private descriptorsChanged(set: DescriptorSet): void {
    for (const l of this.listeners.values()) l.httpGateway?.swap(set.pool, set.routes);
    this.reflectionServer?.swap(set.pool);
  }

  /** Gives a listener the gateway its config asks for, with the current descriptors. */
  private fitGateway(listener: Listener): void {
    const gateway = listener.config.gateway;
    const set = this.descriptors?.current;
    // gRPC-Web needs no descriptors; REST needs them.
    if (gateway === undefined || !(gateway.grpcWeb || (gateway.rest && set !== undefined))) {
      listener.httpGateway?.close();
      listener.httpGateway = undefined;
    } else if (listener.httpGateway === undefined) {
      listener.httpGateway = createGateway(
        set ?? emptyGatewayRoutes(),
        gateway,
        this.gatewayUpstream.forListener(listener.name),
        new StallWatch(listener, systemClock),
      );
    } else if (set !== undefined) {
      listener.httpGateway.swap(set.pool, set.routes);
    }
  }

  /** The descriptors in use and what reflection found, for /clusters; undefined without them. */
  descriptorsView(): DescriptorsView | undefined {
    return this.descriptors?.view();
  }

  /** Asks the backends for their descriptors again now (also done on a timer). */
  refreshDescriptors(): Promise<void> {
    return this.descriptors?.refresh() ?? Promise.resolve();
  }

  private async openListener(
    config: ListenerConfig,
    material: ListenerMaterial | undefined,
  ): Promise<void> {
    this.listeners.set(config.name, await this.createListener(config, material));
  }

  /** Forward-proxy mode: tunnels map to the clusters in force; passthrough dials out. */
  private readonly tunnels: TunnelServices = {
    hasCluster: (name) => this.clusters.has(name),
    dial: (host, port, timeoutMs) => dialPassthrough(host, port, timeoutMs, this.egressContext),
  };

  private buildRouting(
    config: Config,
    clusters: ReadonlyMap<string, Cluster>,
    filters: FilterSet,
  ): Routing {
    const contexts = new Map<string, CallContext>();
    for (const route of config.routes) {
      const cluster = clusters.get(route.cluster);
      if (cluster === undefined) continue; // answered UNIMPLEMENTED, with the reason
      contexts.set(route.name, {
        cluster,
        routeName: route.name,
        authority: cluster.config.authority,
        observer: this,
        clock: systemClock,
        // A route's own policy wins over the cluster's and its resolver's.
        ...(route.retryPolicy !== undefined || route.hedgingPolicy !== undefined
          ? {
              policies: {
                retry: route.retryPolicy === 'off' ? undefined : route.retryPolicy,
                hedging: route.hedgingPolicy,
              },
            }
          : {}),
        filters: filters.routes.get(route.name),
      });
    }
    const tunnels = new Map<string, CallContext>();
    for (const cluster of clusters.values()) {
      tunnels.set(cluster.name, {
        cluster,
        routeName: 'connect',
        authority: cluster.config.authority,
        observer: this,
        clock: systemClock,
        filters: undefined,
      });
    }
    const router = new Router(config.routes);
    return {
      router,
      contexts,
      tunnels,
      listenerFilters: filters.listeners,
      filterRouting: filterRoutingOf(router, contexts, this.unknownRoute),
      messageLimits: new Map(config.listeners.map((l) => [l.name, l.maxFilteredMessageBytes])),
    };
  }

  private filterOptions(config: Config): Parameters<typeof loadFilters>[1] {
    const workers = config.workers === 'auto' ? availableParallelism() : config.workers;
    const clock = this.filterClock;
    return {
      now: () => clock.now(),
      share: 1 / Math.max(1, workers),
      decisions: this.filterDecisions,
    };
  }

  private createDialer(config: ClusterConfig, files?: PreloadedFiles): Dialer {
    return createUpstreamDialer(config, upstreamTls(config, files), this.egressContext);
  }

  private createCluster(config: ClusterConfig, dialer: Dialer): Cluster {
    const resolver = this.options.createResolver
      ? this.options.createResolver(config.target, config)
      : resolverForTarget(
          config.target,
          config.parsedTarget,
          clusterResolverOptions(config, this.egressContext),
        );
    // A logger per cluster only when SWITCHYARD_TRACE=balancer asks for one.
    const balancer = createBalancer(
      config,
      TRACE.balancer ? { logger: this.logger.child({ cluster: config.name }) } : {},
    );
    const cluster = new Cluster(config, {
      resolver,
      balancer,
      dialer,
      logger: this.logger,
      poolSettings: UPSTREAM_SETTINGS,
      dialEndpoints: this.options.controlPlane !== true || config.healthCheck !== undefined,
    });
    if (config.healthCheck && this.options.healthChecks !== 'external') {
      balancer.startHealthChecks(
        new GrpcHealthProbe((host) => cluster.pool(host), config.authority),
      );
    }
    return cluster;
  }

  /** Health verdicts reached elsewhere, for a cluster's endpoints (see `healthChecks`). */
  applyHealth(clusterName: string, verdicts: readonly HealthVerdict[]): void {
    const balancer = this.clusters.get(clusterName)?.balancer;
    if (balancer === undefined) return;
    for (const [key, status, reason] of verdicts) {
      const host = balancer.host(key);
      if (host !== undefined) balancer.applyHealth(host, status, reason);
    }
  }

  /** Where each listener is bound, by name. */
  addresses(): Record<string, SocketAddress> {
    return Object.fromEntries([...this.listeners.values()].map((l) => [l.name, l.address()]));
  }

  cluster(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  private handleStream(
    stream: DownstreamStream,
    fields: HeaderFields,
    _headerBytes: number,
    connection: ClientConnection,
  ): void {
    // Lookups scan the ~10 fields: cheaper than building an object of them for every call.
    const method = fieldValue(fields, ':method');
    if (method !== 'POST') {
      refuseHttp(stream, 405, `gRPC calls are POST requests; got ${method}`);
      return;
    }
    const contentType = fieldValue(fields, 'content-type');
    if (!isGrpcContentType(contentType)) {
      refuseHttp(
        stream,
        415,
        `expected content-type application/grpc, got ${contentType ?? 'none'}`,
      );
      return;
    }
    const path = fieldValue(fields, ':path') ?? '';
    const reflection = this.reflectionServer;
    if (reflection !== undefined && path.startsWith(REFLECTION_PATH_PREFIX)) {
      reflection.serve(stream);
      return;
    }
    const routing = this.routing;
    const info = stream.info;
    // A listener's filters run before routing (they may change what it sees): only without
    // them is the route matched here.
    const listenerFilters =
      routing.listenerFilters.size === 0 ? undefined : routing.listenerFilters.get(info.listener);
    let context: CallContext | undefined;
    const pinned = info.tunnelCluster;
    if (pinned !== undefined) {
      // Inside a CONNECT tunnel every call goes to the tunnel's cluster.
      context = routing.tunnels.get(pinned);
      if (context === undefined) {
        refuseGrpc(stream, Status.UNAVAILABLE, `cluster "${pinned}" of this tunnel is gone`);
        return;
      }
    } else if (listenerFilters === undefined) {
      const found = routing.filterRouting.match(path, fields);
      if (typeof found === 'string') {
        refuseGrpc(stream, Status.UNIMPLEMENTED, found);
        return;
      }
      context = found;
    }
    const rawTimeout = fieldValue(fields, 'grpc-timeout');
    const requested = parseGrpcTimeout(rawTimeout);
    if (rawTimeout !== undefined && requested === undefined) {
      refuseGrpc(stream, Status.INVALID_ARGUMENT, `malformed grpc-timeout "${String(rawTimeout)}"`);
      return;
    }
    const headerBytes = headerFieldsSize(fields);
    if (headerBytes === INVALID_FIELDS) {
      refuseGrpc(stream, Status.INTERNAL, invalidFieldReason(fields));
      return;
    }
    if (context === undefined || context.filters !== undefined || listenerFilters !== undefined) {
      startFilteredCall(
        {
          listenerFilters,
          context,
          pinned: pinned !== undefined,
          routing: routing.filterRouting,
          fields,
          path,
          peer: {
            address: info.peer,
            secure: info.tls !== undefined,
            identity: info.tls?.identity,
          },
          listener: info.listener,
          requestedMs: requested,
          clock: this.filterClock,
        },
        stream,
        connection,
        headerBytes,
        routing.messageLimits.get(info.listener) ?? DEFAULT_LISTENER.maxFilteredMessageBytes,
        this.currentDescriptors,
      );
      return;
    }
    const timeoutMs = effectiveTimeout(requested, context.cluster.config.timeouts);
    new ProxyCall(stream, connection, fields, path, context, timeoutMs, headerBytes).start();
  }

  /** Adds an observer of every call (metrics, access log). */
  addObserver(observer: CallObserver): void {
    this.observers.push(observer);
  }

  /** Clusters by name, for the admin view and metrics. */
  clusterList(): IterableIterator<Cluster> {
    return this.clusters.values();
  }

  listenerList(): IterableIterator<Listener> {
    return this.listeners.values();
  }

  callStarted(call: CallRecord): void {
    this.inFlight++;
    const observers = this.observers;
    for (let i = 0; i < observers.length; i++) observers[i].callStarted(call);
  }

  /** CallObserver: observers, and one log line for calls the proxy itself failed. */
  callEnded(call: CallRecord): void {
    this.inFlight--;
    const observers = this.observers;
    for (let i = 0; i < observers.length; i++) observers[i].callEnded(call);
    if (call.message === '' || call.status === Status.CANCELLED) return;
    const cluster = call.context.cluster.name;
    const suppressed = this.failureLog.take(`${cluster}:${call.status}:${call.host?.key ?? ''}`);
    if (suppressed < 0) return;
    this.logger.warn(
      {
        cluster,
        method: call.path,
        status: statusName(call.status),
        endpoint: call.host?.key,
        ...(suppressed > 0 ? { suppressed } : {}),
      },
      call.message,
    );
  }

  /**
   * Graceful shutdown: listeners stop accepting and send GOAWAY; calls in flight get up to
   * `graceMs` to finish; then clusters close their upstream sessions.
   */
  async close(graceMs = this.current.shutdownGraceMs): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reloading;
    this.watchTlsFiles(new Map());
    await Promise.all([...this.listeners.values()].map((l) => l.close(graceMs)));
    for (const l of this.listeners.values()) l.httpGateway?.close();
    this.descriptors?.close();
    for (const cluster of this.clusters.values()) cluster.destroy();
    this.filters.close();
  }
}
