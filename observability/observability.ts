// Observability for a running proxy in one place: Prometheus metrics, the access log and the
// admin listener (page, /metrics, /ready, /live, /config, /clusters, POST /reload), fed by one
// call observer and reconfigured after each reload.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Registry } from 'prom-client';
import { redactConfig } from '../config/redact-config.js';
import type { AccessLogConfig, AdminConfig, Config, SocketAddress } from '../config/types.js';
import { AccessLog, type AccessLogOptions } from './access-log.js';
import { adminRoutes, type AdminState } from './admin/admin-routes.js';
import { adminAccess, isLoopback } from './admin/admin-auth.js';
import { AdminServer, type AdminTls } from './admin/admin-server.js';
import { proxyView, readiness } from './admin/cluster-view.js';
import type { CallObserver, CallRecord } from '../proxy/call-record.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { CallMetrics } from './metrics/call-metrics.js';
import { PeerCallMetrics } from './metrics/peer-metrics.js';
import { createMetricsRegistry } from './metrics/metrics-registry.js';
import type { ObservedProxy } from './metrics/proxy-state.js';
import type { Switchyard, ReloadSummary } from '../proxy/switchyard.js';

export interface ObservabilityOptions {
  readonly logger: Logger;
  /**
   * Re-reads and applies the configuration (for POST /reload); rejects with the reason.
   * Without it POST /reload answers 404.
   */
  readonly reload?: () => Promise<ReloadSummary>;
  /** The switchyard version, shown on the page and in `switchyard_build_info`. */
  readonly version: string;
  /** Sampling randomness for the access log (tests). */
  readonly accessLog?: AccessLogOptions;
}

function sameAdmin(a: AdminConfig | undefined, b: AdminConfig | undefined): boolean {
  return isDeepStrictEqual(a, b);
}

/** The admin listener's certificate files, read (SWY_ERR_TLS_FILES when one cannot be). */
function adminTls(config: AdminConfig): AdminTls | undefined {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new SwitchyardError(
        'SWY_ERR_TLS_FILES',
        `the admin listener cannot read its ${what} ${path}: ${describeError(err)}`,
        { cause: err },
      );
    }
  };
  return {
    cert: read(tls.certFile, 'certificate'),
    key: read(tls.keyFile, 'private key'),
    ca: tls.caFile === undefined ? undefined : read(tls.caFile, 'CA bundle'),
    minVersion: tls.minVersion,
  };
}

function sameAccessLog(a: AccessLogConfig, b: AccessLogConfig): boolean {
  return a.sample === b.sample && a.destination === b.destination;
}

/** The Prometheus exposition, as /metrics serves it. */
export type MetricsSource = () => Promise<{ contentType: string; text: string }>;

/** The admin state of one proxy in this process. */
function localState(proxy: ObservedProxy, version: string): AdminState {
  return {
    config: () => proxy.config,
    view: () => proxyView(proxy, version),
    readiness: () => readiness(proxy),
  };
}

export class Observability implements CallObserver {
  private readonly calls = new CallMetrics();
  private readonly peers = new PeerCallMetrics();
  private admin: AdminServer | undefined;
  private adminConfig: AdminConfig | undefined;
  private accessLogConfig: AccessLogConfig;
  /**
   * The config last applied whole. Applying the same object again does nothing: a reload
   * applies its config, and the admin's POST /reload then applies the one in force, the same.
   */
  private applied: Config;
  /** Reconfigurations run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private draining = false;
  private state!: AdminState;
  private metricsSource!: MetricsSource;

  private constructor(
    private readonly accessLog: AccessLog | undefined,
    config: Config,
    private readonly options: ObservabilityOptions,
  ) {
    this.accessLogConfig = config.accessLog;
    this.applied = config;
    this.peers.configure(config.listeners);
  }

  /**
   * Opens the access log (when `accessLog.sample` > 0) and the admin listener (when
   * `config.admin` is set), and starts observing the proxy's calls. Rejects, with nothing
   * left open, when either cannot be opened (SWY_ERR_CONFIG, SWY_ERR_LISTEN).
   */
  static async start(
    config: Config,
    proxy: Pick<Switchyard, 'addObserver'> & ObservedProxy,
    options: ObservabilityOptions,
  ): Promise<Observability> {
    const accessLog = await AccessLog.open(config.accessLog, options.logger, options.accessLog);
    const o = new Observability(accessLog, config, options);
    const registry: Registry = createMetricsRegistry(proxy, o.calls, options.version, o.peers);
    o.state = localState(proxy, options.version);
    o.metricsSource = async () => ({
      contentType: registry.contentType,
      text: await registry.metrics(),
    });
    try {
      if (config.admin) await o.openAdmin(config.admin);
    } catch (err) {
      await accessLog.close();
      throw err;
    }
    proxy.addObserver(o);
    return o;
  }

  /**
   * The admin listener alone, over state gathered elsewhere (the primary process of a
   * multi-worker proxy, which merges what its workers report). Observes no calls itself.
   */
  static async startAdmin(
    config: Config,
    state: AdminState,
    metrics: MetricsSource,
    options: ObservabilityOptions,
  ): Promise<Observability> {
    const o = new Observability(undefined, config, options);
    o.state = state;
    o.metricsSource = metrics;
    if (config.admin) await o.openAdmin(config.admin);
    return o;
  }

  /** Where the admin listener is bound (the real port when the config said 0). */
  get adminAddress(): SocketAddress | undefined {
    return this.admin?.address;
  }

  /** The Prometheus exposition, as /metrics serves it. */
  metrics(): Promise<{ contentType: string; text: string }> {
    return this.metricsSource();
  }

  // CallObserver: on every call, synchronously. Metrics are a few increments; the access log
  // does nothing for calls it does not sample.

  callStarted(call: CallRecord): void {
    if (this.closed) return;
    this.calls.callStarted(call);
    this.accessLog?.callStarted(call);
  }

  callEnded(call: CallRecord): void {
    if (this.closed) return;
    this.calls.callEnded(call);
    if (this.peers.enabled) this.peers.callEnded(call);
    this.accessLog?.callEnded(call);
  }

  /**
   * Applies the admin and access-log parts of a new config after a reload: the admin
   * listener moves, opens or closes; the access log changes its share or destination, or, when
   * they are unchanged, reopens its file (log rotation). Calling it again with the config
   * object it last applied does nothing. A part
   * that cannot be applied keeps running as it was, and the call rejects with why.
   */
  reconfigure(config: Config): Promise<void> {
    const run = this.queue.then(() => this.apply(config));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Marks the proxy as shutting down: /ready answers 503 from now on, while /metrics and the
   * page keep working until close(). Call it when shutdown begins, before the proxy drains.
   */
  shuttingDown(): void {
    this.draining = true;
  }

  /** Closes the admin listener and flushes the access log; calls are no longer observed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    const admin = this.admin;
    this.admin = undefined;
    await Promise.all([admin?.close(), this.accessLog?.close()]);
  }

  private async apply(config: Config): Promise<void> {
    if (this.closed || config === this.applied) return;
    const errors: unknown[] = [];
    this.peers.configure(config.listeners);
    if (this.accessLog !== undefined) {
      try {
        if (!sameAccessLog(this.accessLogConfig, config.accessLog)) {
          await this.accessLog.reconfigure(config.accessLog);
          this.accessLogConfig = config.accessLog;
        } else {
          // Every reload reopens the access-log file: after a rotation by rename (logrotate's
          // default), SIGHUP or POST /reload moves the log to a new file of the same name.
          await this.accessLog.reopen();
        }
      } catch (err) {
        errors.push(err);
      }
    }
    if (!sameAdmin(this.adminConfig, config.admin)) {
      try {
        await this.moveAdmin(config.admin);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) {
      for (const err of errors) this.options.logger.error(describeError(err));
      throw errors[0];
    }
    this.applied = config;
  }

  private async moveAdmin(next: AdminConfig | undefined): Promise<void> {
    const old = this.admin;
    const oldPort = this.adminConfig?.address.port;
    if (next === undefined) {
      this.admin = undefined;
      this.adminConfig = undefined;
      this.options.logger.info('admin listener closed');
      // Not awaited: the request that asked for this reload is still being answered on it.
      void old?.close();
      return;
    }
    if (old !== undefined && next.address.port !== 0 && next.address.port === oldPort) {
      // Same port, another host: the old socket must go before the new one can bind. It stops
      // listening at once (the port is free on the next turn of the loop); requests in
      // progress on it, such as the POST /reload that asked for this, still get answered.
      this.admin = undefined;
      this.adminConfig = undefined;
      void old.close();
      await new Promise((resolve) => setImmediate(resolve));
      await this.openAdmin(next);
      return;
    }
    await this.openAdmin(next);
    void old?.close();
  }

  private async openAdmin(config: AdminConfig): Promise<void> {
    const reload = this.options.reload;
    const handler = adminRoutes({
      state: this.state,
      metrics: () => this.metrics(),
      redact: redactConfig,
      shuttingDown: () => this.draining,
      access: adminAccess(config.auth),
      reload:
        reload === undefined
          ? undefined
          : async () => {
              const summary = await reload();
              // A no-op when the reload function already did it.
              await this.reconfigure(this.state.config());
              return summary;
            },
    });
    this.admin = await AdminServer.listen(
      config.address,
      handler,
      this.options.logger,
      adminTls(config),
    );
    this.adminConfig = config;
    const a = this.admin.address;
    const at = `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
    this.options.logger.info(
      { address: at, tls: config.tls !== undefined, auth: config.auth?.protect ?? 'none' },
      'admin listening',
    );
    if (config.auth === undefined && !isLoopback(config.address.host)) {
      this.options.logger.warn(
        { address: at },
        `the admin listener on ${at} is reachable from other hosts and asks for no credentials: anyone who reaches it can reload the config (POST /reload) and read it; set admin.auth (a token or client certificates) or bind it to 127.0.0.1`,
      );
    }
  }
}
