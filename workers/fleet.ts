// The primary process of a multi-worker proxy: forks the workers that serve calls on the
// shared listeners, and runs the control plane once for all of them — one resolver per
// cluster and one health checker per endpoint — relaying what they learn to every worker.
import nodeCluster, { type Worker } from 'node:cluster';
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/types.js';
import type { AdminState } from '../observability/admin/admin-routes.js';
import type { ProxyView, Readiness } from '../observability/admin/cluster-view.js';
import { LatestEvent, type ResolverEvent } from '../resolver/latest-event.js';
import type { Cluster } from '../upstream/cluster.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import {
  Switchyard,
  type HealthVerdict,
  type PreloadedFiles,
  type ReloadSummary,
} from '../proxy/switchyard.js';
import { mergeMetrics, mergeReadiness, mergeViews } from './merge-views.js';
import {
  WORKER_ENV,
  type FeedMap,
  type FromWorker,
  type ToWorker,
  type WorkerQuery,
} from './messages.js';

/** The control plane's copy of the config: no listeners, it serves no calls. */
function controlConfig(config: Config): Config {
  return {
    ...config,
    listeners: [],
    admin: undefined,
    accessLog: { ...config.accessLog, sample: 0 },
  };
}

/** How long a worker may take to start, reload or answer a query. */
const WORKER_TIMEOUT_MS = 15_000;
/** A worker that keeps dying is restarted after this, doubling up to a minute. */
const RESTART_BACKOFF_MS = 1_000;

interface Feed {
  readonly id: number;
  readonly cluster: Cluster;
  readonly stop: () => void;
  /** What a worker that starts now must be told: the last resolver event, the last verdicts. */
  /** What the cluster's resolver said, for workers that start later. */
  readonly resolver: LatestEvent;
  lastHealth: ToWorker | undefined;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class WorkerFleet implements AdminState {
  private control!: Switchyard;
  private readonly feeds = new Map<string, Feed>();
  private nextFeed = 1;
  private readonly workers = new Set<Worker>();
  /** Workers whose message listener is in place. */
  private readonly greeted = new WeakSet<Worker>();
  /** Workers that answered 'started' with the current config. */
  private readonly serving = new Set<Worker>();
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;
  private stopping = false;
  private restartDelay = RESTART_BACKOFF_MS;

  private constructor(
    private current: Config,
    private readonly count: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the control plane and `count` workers; resolves once every worker serves. Rejects
   * (with the workers stopped) when the config cannot be started.
   */
  static async start(config: Config, count: number, logger: Logger): Promise<WorkerFleet> {
    const fleet = new WorkerFleet(config, count, logger);
    fleet.control = await Switchyard.start(controlConfig(config), { logger, controlPlane: true });
    fleet.syncFeeds();
    nodeCluster.setupPrimary({ serialization: 'advanced' });
    try {
      await Promise.all(Array.from({ length: count }, () => fleet.fork()));
    } catch (err) {
      await fleet.shutdown(0);
      throw err;
    }
    logger.info({ workers: count }, 'workers serving');
    return fleet;
  }

  /** AdminState: the config in force. */
  config(): Config {
    return this.current;
  }

  /** AdminState: every worker's /clusters view, merged. */
  async view(): Promise<ProxyView> {
    return mergeViews((await this.ask('view')) as ProxyView[]);
  }

  /** AdminState: ready when every worker is. */
  async readiness(): Promise<Readiness> {
    return mergeReadiness((await this.ask('readiness')) as Readiness[], this.count);
  }

  /** Every worker's metrics, each sample labelled with its worker. */
  async metrics(): Promise<{ contentType: string; text: string }> {
    const texts = (await this.ask('metrics')) as string[];
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', text: mergeMetrics(texts) };
  }

  /**
   * Applies a new config: the control plane first (so changed clusters already resolve), then
   * every worker. When a worker cannot apply it, the others go back to the old config and the
   * promise rejects. `workers` takes effect at the next start. `files` (already read) go to
   * the workers with the config, so none of them reads a certificate on its own loop.
   */
  async reload(next: Config, files?: PreloadedFiles): Promise<ReloadSummary> {
    const previous = this.current;
    const previousFeeds = this.feedMap();
    const summary = await this.control.reload(controlConfig(next), files);
    this.syncFeeds();
    const feeds = this.feedMap();
    const results = await Promise.allSettled(
      [...this.serving].map((w) =>
        this.request(w, (id) => ({ type: 'reload', id, config: next, feeds, files })),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(
        [...this.serving].map((w) =>
          this.request(w, (id) => ({ type: 'reload', id, config: previous, feeds: previousFeeds })),
        ),
      );
      await this.control.reload(controlConfig(previous)).catch(() => undefined);
      this.syncFeeds();
      throw failed.reason as Error;
    }
    this.current = next;
    if (next.workers !== previous.workers) {
      this.logger.warn('the number of workers changes only when switchyard restarts');
    }
    return summary;
  }

  /** Stops every worker (each drains its calls for up to `graceMs`), then the control plane. */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    const exited = [...this.workers].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          const timer = setTimeout(() => w.kill('SIGKILL'), graceMs + 5_000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          this.post(w, { type: 'shutdown', graceMs });
        }),
    );
    await Promise.all(exited);
    for (const feed of this.feeds.values()) feed.stop();
    await this.control?.close(0);
  }

  private feedMap(): FeedMap {
    return Object.fromEntries([...this.feeds].map(([name, feed]) => [name, feed.id]));
  }

  /** A feed per control-plane cluster object: kept clusters keep theirs, new ones get new ids. */
  private syncFeeds(): void {
    const live = new Map<string, Cluster>();
    for (const c of this.control.clusterList()) live.set(c.name, c);
    for (const [name, feed] of this.feeds) {
      if (live.get(name) !== feed.cluster) {
        feed.stop();
        this.feeds.delete(name);
      }
    }
    for (const [name, c] of live) {
      if (!this.feeds.has(name)) this.feeds.set(name, this.watch(c));
    }
  }

  private watch(c: Cluster): Feed {
    const id = this.nextFeed++;
    const feed: Feed = {
      id,
      cluster: c,
      stop: () => undefined,
      resolver: new LatestEvent(),
      lastHealth: undefined,
    };
    const stopResolver = c.watchResolver((event) => {
      feed.resolver.record(event);
      this.broadcast(feedMessage(id, event));
    });
    let sent: readonly HealthVerdict[] = [];
    const stopHealth = c.config.healthCheck
      ? c.balancer.onChange(() => {
          const verdicts: HealthVerdict[] = [];
          for (const h of c.balancer.hosts()) verdicts.push([h.key, h.health, h.healthReason]);
          if (isDeepStrictEqual(verdicts, sent)) return;
          sent = verdicts;
          feed.lastHealth = { type: 'health', feed: id, verdicts };
          this.broadcast(feed.lastHealth);
        })
      : () => undefined;
    (feed as { stop: () => void }).stop = () => {
      stopResolver();
      stopHealth();
    };
    return feed;
  }

  private fork(): Promise<void> {
    const worker = nodeCluster.fork({ [WORKER_ENV]: '1' });
    this.workers.add(worker);
    worker.on('message', (message: FromWorker) => this.received(worker, message));
    worker.on('exit', (code, signal) => this.exited(worker, code, signal));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.kill('SIGKILL');
        reject(
          new SwitchyardError(
            'SWY_ERR_LISTEN',
            `a worker did not start within ${WORKER_TIMEOUT_MS} ms`,
          ),
        );
      }, WORKER_TIMEOUT_MS);
      const onMessage = (message: FromWorker) => {
        if (message.type === 'started') {
          clearTimeout(timer);
          worker.off('message', onMessage);
          this.serving.add(worker);
          resolve();
        } else if (message.type === 'start-failed') {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.kill();
          const err = new SwitchyardError('SWY_ERR_LISTEN', message.message);
          if (message.code !== undefined) (err as { code: string }).code = message.code;
          reject(err);
        }
      };
      worker.on('message', onMessage);
    });
  }

  /** A worker listens: send it the config and everything the control plane learned so far. */
  private greet(worker: Worker): void {
    this.post(worker, { type: 'start', config: this.current, feeds: this.feedMap() });
    for (const feed of this.feeds.values()) {
      // The set and a transient error since it: the error alone would leave it no endpoints.
      for (const event of feed.resolver.held()) this.post(worker, feedMessage(feed.id, event));
      if (feed.lastHealth) this.post(worker, feed.lastHealth);
    }
  }

  private exited(worker: Worker, code: number | null, signal: string | null): void {
    this.workers.delete(worker);
    const wasServing = this.serving.delete(worker);
    if (this.stopping || !wasServing) return;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(60_000, delay * 2);
    this.logger.error(
      { pid: worker.process.pid, code, signal },
      `a worker exited unexpectedly; starting another in ${delay} ms`,
    );
    setTimeout(() => {
      if (this.stopping) return;
      this.fork().then(
        () => {
          this.restartDelay = RESTART_BACKOFF_MS;
        },
        (err: unknown) => this.logger.error(`restarting a worker failed: ${describeError(err)}`),
      );
    }, delay).unref();
  }

  private received(worker: Worker, message: FromWorker): void {
    switch (message.type) {
      case 'hello':
        this.greeted.add(worker);
        this.greet(worker);
        return;
      case 'refresh':
        for (const feed of this.feeds.values())
          if (feed.id === message.feed) feed.cluster.endpointFailed();
        return;
      case 'answer':
      case 'reloaded': {
        const p = this.pending.get(message.id);
        if (p === undefined) return;
        this.pending.delete(message.id);
        clearTimeout(p.timer);
        p.resolve(message.type === 'answer' ? message.value : undefined);
        return;
      }
      case 'reload-failed': {
        const p = this.pending.get(message.id);
        if (p === undefined) return;
        this.pending.delete(message.id);
        clearTimeout(p.timer);
        p.reject(new SwitchyardError('SWY_ERR_CONFIG', `worker ${worker.id}: ${message.message}`));
        return;
      }
      default:
        return;
    }
  }

  /** Sends a request that the worker answers with the same id. */
  private request(worker: Worker, build: (id: number) => ToWorker): Promise<unknown> {
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new SwitchyardError(
            'SWY_ERR_CONFIG',
            `worker ${worker.id} did not answer within ${WORKER_TIMEOUT_MS} ms`,
          ),
        );
      }, WORKER_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.post(worker, build(id));
    });
  }

  /** Asks every serving worker; workers that fail to answer are left out. */
  private async ask(what: WorkerQuery): Promise<unknown[]> {
    const answers = await Promise.allSettled(
      [...this.serving].map((w) => this.request(w, (id) => ({ type: 'query', id, what }))),
    );
    return answers.flatMap((a) =>
      a.status === 'fulfilled' && a.value !== undefined ? [a.value] : [],
    );
  }

  /** To every worker that listens (one that has not said hello gets everything in greet()). */
  private broadcast(message: ToWorker): void {
    for (const w of this.workers) if (this.greeted.has(w)) this.post(w, message);
  }

  private post(worker: Worker, message: ToWorker): void {
    if (!worker.isConnected()) return;
    worker.send(message, (err: Error | null) => {
      if (err) this.logger.debug(`message to worker ${worker.id} lost: ${err.message}`);
    });
  }
}

/** A resolver event as the message that relays it to workers. */
function feedMessage(feed: number, event: ResolverEvent): ToWorker {
  return event.kind === 'update'
    ? { type: 'endpoints', feed, set: event.set }
    : {
        type: 'resolver-error',
        feed,
        code: event.error.code,
        target: event.error.target,
        message: event.error.message,
      };
}
