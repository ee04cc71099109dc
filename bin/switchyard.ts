#!/usr/bin/env node
// The switchyard command: run the proxy from flags (quick start) or a config file.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { quickStartConfig } from '../config/defaults.js';
import type { Config } from '../config/types.js';
import { createLogger } from '../proxy/log.js';
import { Proxy } from '../proxy/proxy.js';

const USAGE = `Usage:
  switchyard --listen HOST:PORT --upstream TARGET [--balancer POLICY]

Quick start: accept gRPC (h2c) on --listen and balance every call over the endpoints
of --upstream, e.g. --upstream 127.0.0.1:50051,127.0.0.1:50052.

Options:
  --listen HOST:PORT     address to accept h2c gRPC on
  --upstream TARGET      endpoints: host:port[,host:port...] or a resolver target
  --balancer POLICY      balancing policy (default: round_robin)
  --log-level LEVEL      trace, debug, info, warn, error, silent (default: info)
  -h, --help             show this help
  -v, --version          print the version

Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage or configuration.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usageError(message: string): never {
  process.stderr.write(`switchyard: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string' },
        upstream: { type: 'string' },
        balancer: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.version) {
    process.stdout.write(`switchyard ${version()}\n`);
    return;
  }
  if (!values.listen || !values.upstream) usageError('--listen and --upstream are required');

  let config: Config;
  try {
    config = quickStartConfig({
      listen: values.listen,
      upstream: values.upstream,
      balancer: values.balancer,
    });
  } catch (err) {
    usageError((err as Error).message);
  }
  const level = (values['log-level'] ?? config.log.level) as Config['log']['level'];
  const logger = createLogger({ ...config.log, level });

  let proxy: Proxy;
  try {
    proxy = await Proxy.start(config, { logger });
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(2);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal}: draining calls (up to ${config.shutdownGraceMs} ms)`);
    proxy.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
