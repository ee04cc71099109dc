// Runs the proxy until a shutdown signal, and reloads its config file on SIGHUP, on a change of
// the file, or on request (the admin API), keeping the running config when the new one is bad.
// Reloads load the file in a process of their own (config-loader.ts) and run one at a time;
// triggers that arrive during one are folded into one more (reload-coalescer.ts).
import { watch, type FSWatcher } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname } from 'node:path';
import type { ConfigError } from '../config/config-error.js';
import { parseConfig, readConfigBytes } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../common/log.js';
import { Observability } from '../observability/observability.js';
import { Switchyard, type PreloadedFiles, type ReloadSummary } from '../proxy/switchyard.js';
import { WorkerFleet } from '../workers/fleet.js';
import { configDigest, loadConfigApart, type ConfigLoad } from './config-loader.js';
import { configValidators } from '../proxy/config-validators.js';
import { ReloadCoalescer, type ReloadRequest } from './reload-coalescer.js';

export interface ServeOptions {
  readonly config: Config;
  /** The config file, when there is one to reload from. */
  readonly file: string | undefined;
  /** SHA-256 of the bytes of the file `config` came from (see readConfigFile). */
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
    reload: (next, files) => fleet.reload(next, files),
    close: (graceMs) => fleet.shutdown(graceMs ?? fleet.config().shutdownGraceMs),
  };
}

/**
 * Reads and validates a config file in this process (at start, and for `switchyard validate`,
 * when no call is being served), remembering which text it was, so a change made while the proxy
 * starts is not missed. Throws ConfigError.
 */
export async function readConfigFile(file: string): Promise<{ config: Config; digest: string }> {
  const bytes = await readConfigBytes(file);
  return {
    config: parseConfig(bytes.toString('utf8'), file, { validators: configValidators }),
    digest: await configDigest(bytes),
  };
}

/** What serves calls: one proxy in this process, or a fleet of worker processes. */
interface Engine {
  readonly config: Config;
  reload(next: Config, files?: PreloadedFiles): Promise<ReloadSummary>;
  close(graceMs?: number): Promise<void>;
}

/** `workers: auto` means one per CPU the process may use. */
export function workerCount(workers: Config['workers']): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

export class Server {
  private watcher: FSWatcher | undefined;
  private settle: NodeJS.Timeout | undefined;
  /** The text last read from the file, valid or not. */
  private lastDigest: string | undefined;
  private observability: Observability | undefined;
  private readonly reloads = new ReloadCoalescer((request) => this.runReload(request));
  /** The loader at work, if any. */
  private loading: ConfigLoad | undefined;
  private closed = false;

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
      const proxy = await Switchyard.start(config, { logger });
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
      server.fileChanged();
    }
    return server;
  }

  /**
   * Loads the config file again and applies it. Resolves with what changed; rejects with a
   * ConfigError (the problems in the file) or the reason the proxy could not apply it, in which
   * case the running config stays. Every outcome is logged. A reload asked for while one runs
   * is done once that one ends, together with any others asked for meanwhile.
   */
  async reload(trigger: string): Promise<ReloadSummary> {
    const { file, logger } = this.options;
    if (file === undefined) {
      const err = new Error('no config file to reload (started with --listen/--upstream)');
      logger.warn(`${trigger}: ${err.message}`);
      throw err;
    }
    // Only runs for the file watch alone skip an unchanged file: this one loads.
    return (await this.reloads.request(trigger))!;
  }

  /** One run of the reload coalescer: undefined when it was skipped (the file is unchanged). */
  private async runReload({
    triggers,
    onlyIfChanged,
  }: ReloadRequest): Promise<ReloadSummary | undefined> {
    const { file, logger } = this.options as { file: string; logger: Logger };
    const why = triggers.join(', ');
    let next: Config;
    let files: PreloadedFiles;
    /** What loading took, for the log: wall time, and the loader's CPU time and peak memory. */
    let loader: { ms: number; cpuMs: number; peakRssMb: number } | undefined;
    try {
      if (onlyIfChanged && (this.closed || (await this.unchanged(file)))) return undefined;
      if (this.closed) throw new Error('switchyard is shutting down');
      const started = performance.now();
      const load = loadConfigApart({ file }, () => logger.info({ triggers }, `reloading ${file}`));
      this.loading = load;
      const outcome = await load.outcome.finally(() => (this.loading = undefined));
      loader = {
        ms: Math.round(performance.now() - started),
        cpuMs: outcome.usage.cpuMs,
        peakRssMb: Math.round(outcome.usage.peakRssBytes / (1 << 20)),
      };
      this.lastDigest = outcome.digest ?? this.lastDigest;
      if (outcome.kind === 'invalid') throw outcome.error;
      next = this.options.adjust(outcome.config);
      files = outcome.files;
    } catch (err) {
      // A ConfigError's message is its first problems and the count of the rest: one entry.
      logger.error(
        { triggers, loader },
        `${why}: ${file} rejected, the running configuration stays:\n${(err as Error).message}`,
      );
      throw err;
    }
    try {
      const summary = await this.engine.reload(next, files);
      // Its own failures are logged there and leave that part as it was.
      await this.observability?.reconfigure(next).catch(() => undefined);
      logger.level = next.log.level;
      logger.info({ triggers, loader }, `${file} reloaded`);
      return summary;
    } catch (err) {
      logger.error(
        { triggers },
        `${why}: ${file} could not be applied, the running configuration stays: ${(err as Error).message}`,
      );
      throw err;
    }
  }

  async close(graceMs?: number): Promise<void> {
    this.closed = true;
    this.loading?.cancel();
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
        this.settle = setTimeout(() => this.fileChanged(), WATCH_SETTLE_MS);
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

  /**
   * Whether the file holds the text last read (then the file watch has nothing to do). Read and
   * hashed off the loop. A file that cannot be read now (mid-save, removed) counts as unchanged:
   * the next event or SIGHUP will tell; one too large to read is a change, to be reported.
   */
  private async unchanged(file: string): Promise<boolean> {
    try {
      return (await configDigest(await readConfigBytes(file))) === this.lastDigest;
    } catch (err) {
      return (err as ConfigError).code !== 'SWY_ERR_CONFIG_TOO_LARGE';
    }
  }

  /** The file may have changed: reload it unless its text is the one last read. */
  private fileChanged(): void {
    if (this.closed) return;
    this.reloads.request('file changed', true).catch(() => undefined);
  }
}
