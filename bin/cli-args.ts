// The switchyard command line: which command to run with which inputs, or a usage error.
import { parseArgs } from 'node:util';
import { closestName } from '../common/closest-name.js';
import { SwitchyardError } from '../common/errors.js';
import type { LogConfig } from '../config/types.js';

export const USAGE = `Usage:
  switchyard --config FILE [--workers N|auto] [--log-level LEVEL]
  switchyard validate FILE
  switchyard --listen HOST:PORT --upstream TARGET [--balancer POLICY] [--workers N|auto]
             [--gateway [--proto FILE... [--proto-path DIR...]] [--cors ORIGIN...]]
             [--log-level LEVEL]

Run the proxy from a YAML config file; or check a config file, print what it would run and
exit; or (quick start) accept gRPC (h2c) on --listen and balance every call over the endpoints
of --upstream, e.g. --upstream 127.0.0.1:50051,127.0.0.1:50052.

Options:
  -c, --config FILE      YAML config file to run
  --listen HOST:PORT     quick start: address to accept h2c gRPC on
  --upstream TARGET      quick start: host:port[,host:port...] or a resolver target
                         (dns:///host:port, dns+srv:///name, consul:///service, static:///...)
  --balancer POLICY      quick start: balancing policy (default: round_robin)
  --gateway              quick start: also serve REST/JSON and server reflection on --listen,
                         transcoded by the google.api.http rules of the --proto files, or
                         without --proto, of what the backends serve by server reflection
  --proto FILE           quick start: a .proto file for --gateway (repeatable)
  --proto-path DIR       quick start: a directory imports are looked up in (repeatable)
  --cors ORIGIN          quick start: let browser pages from ORIGIN call the --gateway (REST
                         and gRPC-Web): "*", http://localhost:5173, https://*.example.com
                         (repeatable)
  --workers N|auto       worker processes sharing the listeners (default: 1, or workers
                         from the config file; auto: one per CPU)
  --log-level LEVEL      trace, debug, info, warn, error, fatal or silent (default: info,
                         or log.level from the config file)
  -h, --help             show this help
  -v, --version          print the version

Exit codes: 0 clean shutdown (or a valid config), 1 runtime failure, 2 bad usage or
configuration.`;

export type LogLevel = LogConfig['level'];
const LOG_LEVELS: readonly LogLevel[] = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
];
const COMMANDS = ['validate'];

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'validate'; readonly file: string }
  | {
      readonly kind: 'run';
      readonly file: string;
      readonly logLevel: LogLevel | undefined;
      readonly workers: Workers | undefined;
    }
  | {
      readonly kind: 'quick-start';
      readonly listen: string;
      readonly upstream: string;
      readonly balancer: string | undefined;
      /** --gateway: the .proto files and import paths, and the origins --cors lets call. */
      readonly gateway:
        | {
            readonly protos: string[];
            readonly protoPaths: string[];
            readonly corsOrigins: string[];
          }
        | undefined;
      readonly logLevel: LogLevel | undefined;
      readonly workers: Workers | undefined;
    };

export type Workers = number | 'auto';

function parseWorkers(text: string | undefined): Workers | undefined {
  if (text === undefined) return undefined;
  if (text === 'auto') return 'auto';
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1024) {
    throw new UsageError(`--workers: expected a number from 1 to 1024 or "auto", got "${text}"`);
  }
  return Number(text);
}

/** Bad flags or arguments; the program prints the message with the usage and exits 2. */
export class UsageError extends SwitchyardError {
  override readonly name = 'UsageError';
  declare readonly code: 'SWY_ERR_USAGE';
  constructor(message: string) {
    super('SWY_ERR_USAGE', message);
  }
}

/** The command `argv` (without node and the script) asks for; throws UsageError. */
export function parseCommandLine(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string' },
        upstream: { type: 'string' },
        balancer: { type: 'string' },
        gateway: { type: 'boolean' },
        proto: { type: 'string', multiple: true },
        'proto-path': { type: 'string', multiple: true },
        cors: { type: 'string', multiple: true },
        'log-level': { type: 'string' },
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const logLevel = values['log-level'];
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as LogLevel)) {
    const hint = closestName(logLevel, LOG_LEVELS);
    throw new UsageError(
      `--log-level: unknown level "${logLevel}"${hint ? ` (did you mean "${hint}"?)` : ''}; ` +
        `expected ${LOG_LEVELS.join(', ')}`,
    );
  }
  const workers = parseWorkers(values.workers);
  const quickStart = (
    ['listen', 'upstream', 'balancer', 'gateway', 'proto', 'proto-path', 'cors'] as const
  ).filter((k) => values[k] !== undefined);

  if (positionals.length > 0) {
    const [command, ...rest] = positionals;
    if (command !== 'validate') {
      const hint = closestName(command, COMMANDS);
      throw new UsageError(
        hint
          ? `unknown command "${command}" (did you mean "${hint}"?)`
          : `unexpected argument "${command}"`,
      );
    }
    if (quickStart.length > 0 || logLevel !== undefined || workers !== undefined) {
      const flag =
        quickStart.length > 0
          ? `--${quickStart[0]}`
          : logLevel !== undefined
            ? '--log-level'
            : '--workers';
      throw new UsageError(`validate takes a file and no ${flag}`);
    }
    if (rest.length > 1 || (rest.length === 1 && values.config !== undefined)) {
      throw new UsageError('validate takes one file');
    }
    const file = rest[0] ?? values.config;
    if (file === undefined) throw new UsageError('validate needs a FILE to check');
    return { kind: 'validate', file };
  }

  if (values.config !== undefined) {
    if (quickStart.length > 0) {
      throw new UsageError(
        `--config and --${quickStart[0]} exclude each other (put it in the file)`,
      );
    }
    return {
      kind: 'run',
      file: values.config,
      logLevel: logLevel as LogLevel | undefined,
      workers,
    };
  }
  if (values.listen === undefined || values.upstream === undefined) {
    throw new UsageError(
      quickStart.length > 0
        ? '--listen and --upstream are required together'
        : 'nothing to run: give --config FILE, or --listen and --upstream',
    );
  }
  const protos = values.proto ?? [];
  const protoPaths = values['proto-path'] ?? [];
  const corsOrigins = values.cors ?? [];
  if (values.gateway !== true) {
    const given = (['proto', 'proto-path', 'cors'] as const).find((k) => values[k] !== undefined);
    if (given !== undefined) throw new UsageError(`--${given} needs --gateway`);
  }
  if (values.gateway === true && protos.length === 0 && protoPaths.length > 0) {
    throw new UsageError(
      '--proto-path needs a --proto FILE (without --proto, the backends reflect)',
    );
  }
  return {
    kind: 'quick-start',
    listen: values.listen,
    upstream: values.upstream,
    balancer: values.balancer,
    gateway: values.gateway === true ? { protos, protoPaths, corsOrigins } : undefined,
    logLevel: logLevel as LogLevel | undefined,
    workers,
  };
}
