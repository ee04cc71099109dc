// Loads a YAML config file into a validated Config, or fails with every problem in it, each
// with file, line, column and key path. Nothing here opens a socket.
import { accessSync, constants, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { buildConfig, type CheckedConfig } from './build-config.js';
import { CONFIG_SHAPE } from './config-schema.js';
import { ConfigError, formatKeyPath, reportIssues, type FoundIssue } from './config-error.js';
import type { Env } from './env-substitution.js';
import { KeyPathSet } from './key-path-set.js';
import { checkShape, isMapping, type CheckContext, type ShapeIssue } from './shape.js';
import type { Config } from './types.js';
import type { ConfigValidators } from './validators.js';
import { parseYamlSource } from './yaml-source.js';

/**
 * The largest config file read: far beyond any real one (100,000 routes are about 5 MiB), and
 * small enough that checking it takes seconds, not minutes, and memory stays bounded.
 */
export const MAX_CONFIG_BYTES = 16 << 20;

export interface LoadConfigOptions {
  /** Policy and resolver checks (see proxy/config-validators.ts). */
  readonly validators: ConfigValidators;
  /** For `${VAR}` substitution; default `process.env`. */
  readonly env?: Env;
  /** Folder that relative file paths in the config are relative to; default the config file's. */
  readonly baseDir?: string;
  /**
   * Checks that a certificate or key file can be read; undefined when it can, else the reason.
   * Default: the file exists, is a regular file and is readable by this process.
   */
  readonly checkFile?: (path: string) => string | undefined;
}

/** The default `checkFile`: readable regular file. */
export function checkReadableFile(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'not a regular file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/**
 * Reads and validates `file`. Throws `ConfigError`: `SWY_ERR_CONFIG_READ` when the file cannot be
 * read, `SWY_ERR_CONFIG_TOO_LARGE` when it is over MAX_CONFIG_BYTES (a regular file is not read
 * then), `SWY_ERR_CONFIG_INVALID` with its problems (sorted by position) when it is not valid.
 */
export async function loadConfig(file: string, options: LoadConfigOptions): Promise<Config> {
  return parseConfig((await readConfigBytes(file)).toString('utf8'), file, options);
}

/** The file's bytes, read only up to the size limit. Throws ConfigError as loadConfig does. */
export async function readConfigBytes(file: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw readError(file, err);
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_CONFIG_BYTES) throw tooLarge(file, size);
    // Not trusting the size: the file may grow, or be a pipe or a device with no size at all.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read({ buffer: Buffer.alloc(1 << 20) });
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_CONFIG_BYTES) throw tooLarge(file, undefined);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    throw err instanceof ConfigError ? err : readError(file, err);
  } finally {
    await handle.close();
  }
}

function tooLarge(file: string, bytes: number | undefined): ConfigError {
  const limit = `${MAX_CONFIG_BYTES / (1 << 20)} MiB`;
  const message =
    bytes === undefined
      ? `the config file is over the limit of ${limit}`
      : `the config file is ${(bytes / (1 << 20)).toFixed(1)} MiB; the limit is ${limit}`;
  return new ConfigError('SWY_ERR_CONFIG_TOO_LARGE', file, [
    { file, line: 0, column: 0, path: '', message },
  ]);
}

function readError(file: string, err: unknown): ConfigError {
  const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new ConfigError(
    'SWY_ERR_CONFIG_READ',
    file,
    [{ file, line: 0, column: 0, path: '', message: `cannot read the config file: ${reason}` }],
    { cause: err },
  );
}

/**
 * Validates config `text` as if read from `file` (used in messages and, unless `baseDir` is
 * given, to resolve relative paths). Throws `ConfigError` (`SWY_ERR_CONFIG_INVALID`).
 */
export function parseConfig(text: string, file: string, options: LoadConfigOptions): Config {
  // Characters are at most 3 bytes each; count the bytes only when it could matter.
  if (text.length * 3 > MAX_CONFIG_BYTES) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_CONFIG_BYTES) throw tooLarge(file, bytes);
  }
  const source = parseYamlSource(text, file, options.env ?? process.env);
  if (source.value === undefined) throw invalid(file, source.issues);
  const baseDir = options.baseDir ?? dirname(resolve(file));
  const shapeIssues: ShapeIssue[] = [];
  const ctx: CheckContext = {
    issues: shapeIssues,
    resolveFile: (path) => resolve(baseDir, path),
    checkFile: options.checkFile ?? checkReadableFile,
  };
  let config: Config | undefined;
  if (source.value === null) {
    shapeIssues.push({ path: [], message: 'the file is empty: it needs listeners and clusters' });
  } else if (!isMapping(source.value)) {
    shapeIssues.push({
      path: [],
      message: 'the file must be a mapping of listeners, routes, clusters, …',
    });
  } else {
    const checked = checkShape(source.value, CONFIG_SHAPE, [], ctx) as CheckedConfig;
    config = buildConfig(checked, {
      ...ctx,
      validators: options.validators,
      locate: (path) => {
        const at = source.locate(path);
        return `${file}:${at.line}:${at.column}`;
      },
    });
  }

  // An unsubstituted value's other problems are noise.
  const noisy = new KeyPathSet(source.unsubstituted);
  const issues: FoundIssue[] = [...source.issues];
  for (const issue of shapeIssues) {
    if (noisy.coversPath(issue.path)) continue;
    issues.push({
      file,
      ...source.locate(issue.path, issue.on),
      path: formatKeyPath(issue.path),
      message: issue.message,
      detail: issue.detail,
    });
  }
  if (issues.length > 0 || config === undefined) throw invalid(file, issues);
  return config;
}

function invalid(file: string, found: readonly FoundIssue[]): ConfigError {
  const { issues, omitted } = reportIssues(found);
  return new ConfigError('SWY_ERR_CONFIG_INVALID', file, issues, { omitted });
}
