// The proxy: wires listeners, the router and clusters from a validated config, validates each
// incoming request, and hands it to a ProxyCall.
import { readFileSync } from 'node:fs';
import type http2 from 'node:http2';
import { createBalancer } from '../balancer/create-balancer.js';
import type { ClusterConfig, Config, ListenerConfig, SocketAddress } from '../config/types.js';
import { createResolver as defaultCreateResolver } from '../resolver/create-resolver.js';
import type { Resolver } from '../resolver/resolver.js';
import { ProxyCall, type CallContext, type CallObserver } from './call.js';
import { Cluster } from './cluster.js';
import { DirectDialer, type Dialer, type UpstreamTlsOptions } from './dialer.js';
import { SwitchyardError, describeError } from './errors.js';
import { Status, encodeGrpcMessage, statusName } from './grpc-status.js';
import { GrpcHealthProbe } from './health-probe.js';
import { effectiveTimeout, parseGrpcTimeout } from './grpc-timeout.js';
import { Listener, type TlsMaterial } from './listener.js';
import { LogLimiter, silentLogger, type Logger } from './log.js';
import { Router } from './router.js';

export interface ProxyOptions {
  readonly logger?: Logger;
  /** Builds the resolver for a cluster's target (tests inject DNS servers through it). */
  readonly createResolver?: (target: string, cluster: ClusterConfig) => Resolver;
}

/** Local SETTINGS for upstream sessions: room for a stream's data in flight, no push. */
const UPSTREAM_SETTINGS: http2.Settings = { enablePush: false };

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SwitchyardError(
      'ERR_TLS_FILES',
      `cannot read ${what} ${path}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

function listenerTls(config: ListenerConfig): TlsMaterial | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  return {
    cert: readFile(tls.certFile, 'certificate'),
    key: readFile(tls.keyFile, 'private key'),
    ca: tls.caFile ? readFile(tls.caFile, 'CA bundle') : undefined,
  };
}

function upstreamTls(config: ClusterConfig): UpstreamTlsOptions | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  return {
    ca: tls.caFile ? readFile(tls.caFile, 'CA bundle') : undefined,
    cert: tls.certFile ? readFile(tls.certFile, 'client certificate') : undefined,
    key: tls.keyFile ? readFile(tls.keyFile, 'client key') : undefined,
    serverName: tls.serverName,
    rejectUnauthorized: !tls.insecureSkipVerify,
  };
}

/** A non-gRPC request gets a plain HTTP answer: it is not a gRPC client. */
function refuseHttp(stream: http2.ServerHttp2Stream, status: number, text: string): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
  stream.end(`switchyard: ${text}\n`);
}

function refuseGrpc(stream: http2.ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
    },
    { endStream: true },
  );
}

function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  // application/grpc, application/grpc+proto, application/grpc;charset=…, but not grpc-web.
  return ct.length === 16 || ct.charCodeAt(16) === 43 /* + */ || ct.charCodeAt(16) === 59; /* ; */
}

export class Proxy implements CallObserver {
  private readonly listeners: Listener[] = [];
  private readonly clusters = new Map<string, Cluster>();
  private readonly contexts = new Map<string, CallContext>();
  private readonly router: Router;
  private readonly logger: Logger;
  private readonly failureLog = new LogLimiter();
  private closed = false;

  private constructor(
    readonly config: Config,
    private readonly options: ProxyOptions,
  ) {
    this.logger = options.logger ?? silentLogger();
    this.router = new Router(config.routes);
  }

  /** Validates file inputs, builds clusters, and opens every listener. */
  static async start(config: Config, options: ProxyOptions = {}): Promise<Proxy> {
    const proxy = new Proxy(config, options);
    try {
      await proxy.open();
    } catch (err) {
      await proxy.close(0);
      throw err;
    }
    return proxy;
  }

  private async open(): Promise<void> {
    // Read every file first: a missing certificate fails before any socket opens.
    const listenerMaterial = this.config.listeners.map((l) => listenerTls(l));
    const dialers = this.config.clusters.map((c) => this.createDialer(c));
    this.config.clusters.forEach((c, i) => this.addCluster(c, dialers[i]));
    const handler = this.handleStream.bind(this);
    for (const [i, lc] of this.config.listeners.entries()) {
      const listener = new Listener(lc, listenerMaterial[i], handler, this.logger);
      this.listeners.push(listener);
      const at = await listener.listen();
      this.logger.info(
        { listener: lc.name, address: `${at.host}:${at.port}`, tls: lc.tls !== undefined },
        'listening',
      );
    }
  }

  private createDialer(config: ClusterConfig): Dialer {
    return new DirectDialer(upstreamTls(config));
  }

  private addCluster(config: ClusterConfig, dialer: Dialer): void {
    const resolver = this.options.createResolver
      ? this.options.createResolver(config.target, config)
      : defaultCreateResolver(config.target, config.resolver);
    const balancer = createBalancer(config);
    const cluster = new Cluster(config, {
      resolver,
      balancer,
      dialer,
      logger: this.logger,
      poolSettings: UPSTREAM_SETTINGS,
    });
    if (config.healthCheck) {
      balancer.startHealthChecks(
        new GrpcHealthProbe((host) => cluster.pool(host), config.authority),
      );
    }
    this.clusters.set(config.name, cluster);
    this.contexts.set(config.name, {
      cluster,
      routeName: config.name,
      authority: config.authority,
      observer: this,
    });
  }

  /** Where each listener is bound, by name. */
  addresses(): Record<string, SocketAddress> {
    return Object.fromEntries(this.listeners.map((l) => [l.name, l.address()]));
  }

  cluster(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  private handleStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    if (headers[':method'] !== 'POST') {
      refuseHttp(stream, 405, `gRPC calls are POST requests; got ${headers[':method']}`);
      return;
    }
    if (!isGrpcContentType(headers['content-type'])) {
      refuseHttp(
        stream,
        415,
        `expected content-type application/grpc, got ${headers['content-type'] ?? 'none'}`,
      );
      return;
    }
    const path = headers[':path'] ?? '';
    const route = this.router.match(path, headers);
    if (route === undefined) {
      refuseGrpc(stream, Status.UNIMPLEMENTED, `no route for ${path}`);
      return;
    }
    const context = this.contexts.get(route.cluster);
    if (context === undefined) {
      refuseGrpc(stream, Status.UNIMPLEMENTED, `route "${route.name}" names no cluster`);
      return;
    }
    const rawTimeout = headers['grpc-timeout'];
    const requested = parseGrpcTimeout(rawTimeout);
    if (rawTimeout !== undefined && requested === undefined) {
      refuseGrpc(stream, Status.INVALID_ARGUMENT, `malformed grpc-timeout "${String(rawTimeout)}"`);
      return;
    }
    const timeoutMs = effectiveTimeout(requested, context.cluster.config.timeouts);
    new ProxyCall(stream, headers, path, context, timeoutMs).start();
  }

  /** CallObserver: one log line for calls the proxy itself failed (rate-limited per reason). */
  callEnded(call: ProxyCall): void {
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
  async close(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.listeners.map((l) => l.close(graceMs)));
    for (const cluster of this.clusters.values()) cluster.destroy();
  }
}
