// Runs the proxy until a shutdown signal, and reloads its config file on SIGHUP, on a change of
// the file, or on request (the admin API), keeping the running config when the new one is bad.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { parseConfig, readConfigBytes } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../proxy/log.js';
import { Observability } from '../proxy/observability.js';
import { Proxy, type ReloadSummary } from '../proxy/proxy.js';
import { WorkerFleet } from '../proxy/workers/fleet.js';
import { configValidators } from './config-validators.js';

export interface ServeOptions {
  readonly config: Config;
  /** The config file, when there is one to reload from. */
  readonly file: string | undefined;
  /** sha256 of the file text `config` came from (see readConfigFile). */
  readonly digest?: string;
  /** Applied to every config loaded from the file (the --log-level flag). */
  readonly adjust: (config: Config) => Config;
  readonly logger: Logger;
  /** The switchyard version, for the admin page and metrics. */
  readonly version: string;
}

/** Editors save by writing a new file and renaming it; wait for the burst of events to end. */
const WATCH_SETTLE_MS = 250;

function fleetEngine(fleet: WorkerFleet): Engine {
  return {
    get config() {
      return fleet.config();
    },
    reload: (next) => fleet.reload(next),
    close: (graceMs) => fleet.shutdown(graceMs ?? fleet.config().shutdownGraceMs),
  };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Reads and validates a config file, remembering which text it was, so a change made while
 * the proxy starts is not missed. Throws ConfigError.
 */
export async function readConfigFile(file: string): Promise<{ config: Config; digest: string }> {
  const text = (await readConfigBytes(file)).toString('utf8');
  return {
    config: parseConfig(text, file, { validators: configValidators }),
    digest: digest(text),
  };
}

/** What serves calls: one proxy in this process, or a fleet of worker processes. */
interface Engine {
  readonly config: Config;
  reload(next: Config): Promise<ReloadSummary>;
  close(graceMs?: number): Promise<void>;
}

/** `workers: auto` means one per CPU the process may use. */
export function workerCount(workers: Config['workers']): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

export class Server {
  private watcher: FSWatcher | undefined;
  private settle: NodeJS.Timeout | undefined;
  private lastDigest: string | undefined;
  private observability: Observability | undefined;

  private constructor(
    private readonly engine: Engine,
    private readonly options: ServeOptions,
  ) {}

  /** The config in force. */
  get config(): Config {
    return this.engine.config;
  }

  /**
   * Starts the proxy (or, with `workers` > 1, the worker processes and the control plane),
   * its observability (metrics, access log, admin listener) and the file watch. Throws what
   * starting them throws, with nothing left open.
   */
  static async start(options: ServeOptions): Promise<Server> {
    const { config, logger, version } = options;
    const workers = workerCount(config.workers);
    let server: Server;
    const reload = options.file !== undefined ? () => server.reload('admin API') : undefined;
    if (workers > 1) {
      const fleet = await WorkerFleet.start(config, workers, logger);
      server = new Server(fleetEngine(fleet), options);
      try {
        server.observability = await Observability.startAdmin(
          config,
          fleet,
          () => fleet.metrics(),
          {
            logger,
            version,
            reload,
          },
        );
      } catch (err) {
        await fleet.shutdown(0);
        throw err;
      }
    } else {
      const proxy = await Proxy.start(config, { logger });
      server = new Server(proxy, options);
      try {
        server.observability = await Observability.start(config, proxy, {
          logger,
          version,
          reload,
        });
      } catch (err) {
        await proxy.close(0);
        throw err;
      }
    }
    if (options.file !== undefined) {
      server.lastDigest = options.digest;
      server.watchFile(options.file);
      // The file may have changed while the proxy started, before the watch began.
      await server.fileChanged(options.file);
    }
    return server;
  }

  /**
   * Loads the config file again and applies it. Resolves with what changed; rejects with a
   * ConfigError (every problem in the file) or the reason the proxy could not apply it, in which
   * case the running config stays. Every outcome is logged.
   */
  async reload(trigger: string): Promise<ReloadSummary> {
    const { file, logger } = this.options;
    if (file === undefined) {
      const err = new Error('no config file to reload (started with --listen/--upstream)');
      logger.warn(`${trigger}: ${err.message}`);
      throw err;
    }
    let next: Config;
    try {
      const read = await readConfigFile(file);
      this.lastDigest = read.digest;
      next = this.options.adjust(read.config);
    } catch (err) {
      const detail = err instanceof ConfigError ? err.message : (err as Error).message;
      logger.error(`${trigger}: ${file} rejected, the running configuration stays:\n${detail}`);
      throw err;
    }
    try {
      const summary = await this.engine.reload(next);
      // Its own failures are logged there and leave that part as it was.
      await this.observability?.reconfigure(next).catch(() => undefined);
      logger.level = next.log.level;
      logger.info({ trigger }, `${file} reloaded`);
      return summary;
    } catch (err) {
      logger.error(
        `${trigger}: ${file} could not be applied, the running configuration stays: ${(err as Error).message}`,
      );
      throw err;
    }
  }

  async close(graceMs?: number): Promise<void> {
    this.watcher?.close();
    clearTimeout(this.settle);
    this.observability?.shuttingDown();
    await this.engine.close(graceMs);
    await this.observability?.close();
  }

  private watchFile(file: string): void {
    // Watch the folder, not the file: a rename-on-save replaces the inode a file watch holds.
    const name = basename(file);
    try {
      this.watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed !== null && changed !== name) return;
        clearTimeout(this.settle);
        this.settle = setTimeout(() => void this.fileChanged(file), WATCH_SETTLE_MS);
        this.settle.unref();
      });
      this.watcher.on('error', (err) =>
        this.options.logger.warn(`watching ${file} failed: ${err.message}`),
      );
    } catch (err) {
      this.options.logger.warn(
        `cannot watch ${file} for changes (SIGHUP still reloads): ${(err as Error).message}`,
      );
    }
  }

  private async fileChanged(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return; // mid-save or removed; the next event or SIGHUP will tell
    }
    if (digest(text) === this.lastDigest) return;
    await this.reload('file changed').catch(() => undefined);
  }
}
