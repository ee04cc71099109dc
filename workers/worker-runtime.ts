// A worker process of a multi-worker proxy: serves calls on the shared listeners with its own
// Switchyard, takes endpoints and health verdicts from the primary, and answers its admin queries.
import type { Config } from '../config/types.js';
import { LatestEvent } from '../resolver/latest-event.js';
import { proxyView, readiness } from '../observability/admin/cluster-view.js';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { Observability } from '../observability/observability.js';
import { Switchyard, type HealthVerdict, type PreloadedFiles } from '../proxy/switchyard.js';
import type { FeedMap, FromWorker, ToWorker } from './messages.js';
import { RelayedResolver, reviveEndpointSet, reviveResolutionError } from './relayed-resolver.js';

/** The admin listener runs in the primary only. */
function workerConfig(config: Config): Config {
  return { ...config, admin: undefined };
}

export class WorkerRuntime {
  private proxy: Switchyard | undefined;
  private observability: Observability | undefined;
  private feeds: FeedMap = {};
  private readonly resolvers = new Map<number, RelayedResolver>();
  /** What each feed's resolver said, and its health verdicts, for clusters created later. */
  private readonly lastEvent = new Map<number, LatestEvent>();
  private readonly lastHealth = new Map<number, readonly HealthVerdict[]>();
  private stopping = false;

  constructor(
    private readonly send: (message: FromWorker) => void,
    private readonly logger: Logger,
    private readonly version: string,
    /** Ends the process once shutdown drained the calls. */
    private readonly exit: (code: number) => void,
  ) {}

  async handle(message: ToWorker): Promise<void> {
    switch (message.type) {
      case 'start':
        return this.start(message.config, message.feeds);
      case 'reload':
        return this.reload(message.id, message.config, message.feeds, message.files);
      case 'endpoints': {
        const set = reviveEndpointSet(message.set);
        this.latest(message.feed).record({ kind: 'update', set });
        this.resolvers.get(message.feed)?.update(set);
        return;
      }
      case 'resolver-error': {
        const error = reviveResolutionError(message.code, message.target, message.message);
        this.latest(message.feed).record(
          error.code === 'SWY_ERR_RESOLVE_NOT_FOUND'
            ? { kind: 'not-found', error }
            : { kind: 'error', error },
        );
        this.resolvers.get(message.feed)?.fail(error);
        return;
      }
      case 'health':
        this.lastHealth.set(message.feed, message.verdicts);
        this.applyHealth(message.feed);
        return;
      case 'query':
        return this.answer(message.id, message.what);
      case 'shutdown':
        return this.shutdown(message.graceMs);
    }
  }

  private createResolver(target: string, clusterName: string): RelayedResolver {
    const feed = this.feeds[clusterName];
    const resolver = new RelayedResolver(target, () => {
      if (feed !== undefined) this.send({ type: 'refresh', feed });
    });
    if (feed === undefined) return resolver;
    this.resolvers.set(feed, resolver);
    for (const event of this.lastEvent.get(feed)?.held() ?? []) {
      if (event.kind === 'update') resolver.update(event.set);
      else resolver.fail(event.error);
    }
    return resolver;
  }

  private latest(feed: number): LatestEvent {
    let latest = this.lastEvent.get(feed);
    if (latest === undefined) this.lastEvent.set(feed, (latest = new LatestEvent()));
    return latest;
  }

  private applyHealth(feed: number): void {
    const verdicts = this.lastHealth.get(feed);
    if (verdicts === undefined || this.proxy === undefined) return;
    for (const [name, id] of Object.entries(this.feeds)) {
      if (id === feed) this.proxy.applyHealth(name, verdicts);
    }
  }

  private setFeeds(feeds: FeedMap): void {
    this.feeds = feeds;
    const live = new Set(Object.values(feeds));
    for (const map of [this.resolvers, this.lastEvent, this.lastHealth] as Map<number, unknown>[]) {
      for (const feed of map.keys()) if (!live.has(feed)) map.delete(feed);
    }
  }

  private async start(config: Config, feeds: FeedMap): Promise<void> {
    this.setFeeds(feeds);
    try {
      const proxy = await Switchyard.start(workerConfig(config), {
        logger: this.logger,
        healthChecks: 'external',
        createResolver: (target, cluster) => this.createResolver(target, cluster.name),
      });
      this.proxy = proxy;
      this.observability = await Observability.start(workerConfig(config), proxy, {
        logger: this.logger,
        version: this.version,
      });
      for (const feed of Object.values(feeds)) this.applyHealth(feed);
      this.send({ type: 'started' });
    } catch (err) {
      this.send({
        type: 'start-failed',
        message: describeError(err),
        code: (err as { code?: string }).code,
      });
    }
  }

  private async reload(
    id: number,
    config: Config,
    feeds: FeedMap,
    files: PreloadedFiles | undefined,
  ): Promise<void> {
    const proxy = this.proxy;
    if (proxy === undefined) {
      this.send({ type: 'reload-failed', id, message: 'the worker has not started' });
      return;
    }
    const previous = this.feeds;
    this.setFeeds({ ...previous, ...feeds });
    try {
      await proxy.reload(workerConfig(config), files);
      this.setFeeds(feeds);
      await this.observability?.reconfigure(workerConfig(config)).catch(() => undefined);
      for (const feed of Object.values(feeds)) this.applyHealth(feed);
      this.send({ type: 'reloaded', id });
    } catch (err) {
      this.setFeeds(previous);
      this.send({ type: 'reload-failed', id, message: describeError(err) });
    }
  }

  private async answer(id: number, what: 'metrics' | 'view' | 'readiness'): Promise<void> {
    const proxy = this.proxy;
    let value: unknown;
    if (proxy === undefined) value = undefined;
    else if (what === 'metrics') value = (await this.observability?.metrics())?.text ?? '';
    else if (what === 'view') value = proxyView(proxy, this.version);
    else value = readiness(proxy, this.stopping);
    this.send({ type: 'answer', id, value });
  }

  private async shutdown(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.observability?.shuttingDown();
    try {
      await this.proxy?.close(graceMs);
      await this.observability?.close();
    } catch (err) {
      this.logger.error(`shutdown failed: ${describeError(err)}`);
      this.exit(1);
      return;
    }
    this.exit(0);
  }
}
