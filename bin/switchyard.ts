#!/usr/bin/env -S node --max-semi-space-size=4
// (The flags on the line above are RUNTIME_FLAGS in runtime-flags.ts; keep the two the same.)
// The switchyard command: run the proxy from a config file or flags (quick start), or check a
// config file.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';
import { originProblem } from '../config/config-schema.js';
import { quickStartConfig } from '../config/defaults.js';
import { describeConfig } from '../config/describe-config.js';
import type { Config } from '../config/types.js';
import { TRACE_WARNING } from '../common/trace.js';
import { createLogger, type Logger } from '../common/log.js';
import nodeCluster from 'node:cluster';
import { WORKER_ENV } from '../workers/messages.js';
import {
  parseCommandLine,
  USAGE,
  UsageError,
  type Command,
  type LogLevel,
  type Workers,
} from './cli-args.js';
import { runWorker } from './worker.js';
import { targetProblem } from '../common/target.js';
import { configValidators } from '../proxy/config-validators.js';
import { readConfigFile, Server } from './serve.js';

/** Exit codes: 0 clean shutdown or a valid config, 1 runtime failure, 2 usage or config error. */
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Loads and validates a config file; on failure prints every issue and returns undefined. */
async function load(file: string): Promise<{ config: Config; digest: string } | undefined> {
  try {
    return await readConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return undefined;
  }
}

/** The quick-start config, with the checks the YAML loader would make; throws UsageError. */
function quickStart(command: Extract<Command, { kind: 'quick-start' }>): Config {
  const upstreamProblem = targetProblem(command.upstream);
  if (upstreamProblem !== undefined) throw new UsageError(`--upstream: ${upstreamProblem}`);
  if (command.balancer !== undefined) {
    const policyProblem = configValidators.validatePolicyName(command.balancer);
    if (policyProblem !== undefined) throw new UsageError(`--balancer: ${policyProblem}`);
  }
  for (const origin of command.gateway?.corsOrigins ?? []) {
    const problem = originProblem(origin);
    if (problem !== undefined) throw new UsageError(`--cors: ${problem}`);
  }
  try {
    return quickStartConfig(command);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Flags that override the config file (and every reload of it). */
interface Overrides {
  readonly logLevel: LogLevel | undefined;
  readonly workers: Workers | undefined;
}

function applyOverrides(config: Config, { logLevel, workers }: Overrides): Config {
  return {
    ...config,
    ...(logLevel === undefined ? {} : { log: { ...config.log, level: logLevel } }),
    ...(workers === undefined ? {} : { workers }),
  };
}

/** Errors from Switchyard.start that mean the config asks for something impossible. */
function isConfigProblem(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    [
      'SWY_ERR_TLS_FILES',
      'SWY_ERR_CONFIG',
      'SWY_ERR_BAD_TARGET',
      'SWY_ERR_BAD_RESOLVER_OPTIONS',
      'SWY_ERR_UNKNOWN_POLICY',
      'SWY_ERR_BAD_POLICY_SETTINGS',
    ].includes(code)
  );
}

/**
 * Runs the proxy for `config` until SIGTERM or SIGINT, then drains calls for up to
 * `shutdownGraceMs` and exits 0 (a second signal exits 1 at once). SIGHUP reloads the config
 * file. Exits 2 when the config cannot be started, 1 when listening fails.
 */
async function run(
  config: Config,
  file: string | undefined,
  digest: string | undefined,
  overrides: Overrides,
  logger: Logger,
): Promise<void> {
  let server: Server;
  try {
    server = await Server.start({
      config,
      file,
      digest,
      adjust: (c) => applyOverrides(c, overrides),
      logger,
      version: version(),
    });
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(isConfigProblem(err) ? EXIT_USAGE : EXIT_RUNTIME);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    const grace = server.config.shutdownGraceMs;
    logger.info(`${signal}: draining calls (up to ${grace} ms)`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void server.reload('SIGHUP').catch(() => undefined));
}

async function main(argv: string[]): Promise<void> {
  let command: Command;
  let config: Config;
  let fileDigest: string | undefined;
  try {
    command = parseCommandLine(argv);
    switch (command.kind) {
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return;
      case 'version':
        process.stdout.write(`switchyard ${version()}\n`);
        return;
      case 'validate': {
        const loaded = await load(command.file);
        if (loaded === undefined) {
          process.exitCode = EXIT_USAGE;
          return;
        }
        process.stdout.write(`${command.file}: valid\n${describeConfig(loaded.config)}\n`);
        return;
      }
      case 'run': {
        const loaded = await load(command.file);
        if (loaded === undefined) {
          process.exitCode = EXIT_USAGE;
          return;
        }
        config = applyOverrides(loaded.config, command);
        fileDigest = loaded.digest;
        break;
      }
      case 'quick-start':
        config = applyOverrides(quickStart(command), command);
        break;
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`switchyard: ${err.message}\n\n${USAGE}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const file = command.kind === 'run' ? command.file : undefined;
  const logger = createLogger(config.log);
  if (TRACE_WARNING !== undefined) logger.warn(TRACE_WARNING);
  await run(config, file, fileDigest, command, logger);
}

if (nodeCluster.isWorker && process.env[WORKER_ENV] === '1') {
  runWorker(version());
} else {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(EXIT_RUNTIME);
  });
}
