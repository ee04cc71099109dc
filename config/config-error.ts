// Config problems with where they are: file, line, column and key path, formatted the way
// compilers print them so editors and terminals can jump to the spot.
import { SwitchyardError } from '../common/errors.js';

/** Keys and list indexes from the document root, e.g. `['clusters', 'users', 'balancer']`. */
export type KeyPath = readonly (string | number)[];

export interface ConfigIssue {
  /** The config file as the caller named it. */
  readonly file: string;
  /** 1-based; 0 when the problem has no place in the file (it could not be read). */
  readonly line: number;
  /** 1-based; 0 with `line`. */
  readonly column: number;
  /** Dotted key path, e.g. `clusters.users.balancer` or `listeners[0].address`; "" for the root. */
  readonly path: string;
  readonly message: string;
}

export type ConfigErrorCode =
  /** The file could not be read. */
  | 'SWY_ERR_CONFIG_READ'
  /** The file is larger than a config file may be (see load-config.ts). */
  | 'SWY_ERR_CONFIG_TOO_LARGE'
  /** The file was read; `issues` lists its problems, sorted by position. */
  | 'SWY_ERR_CONFIG_INVALID';

/**
 * At most this many problems are listed, the first by position; the rest are counted. A file
 * with 100,000 broken routes would otherwise make a message (and a log entry) of tens of MB.
 */
export const MAX_REPORTED_ISSUES = 100;

/**
 * Thrown by the loader; `message` is the issues formatted, one per line, then the count of the
 * problems left out.
 */
export class ConfigError extends SwitchyardError {
  override readonly name = 'ConfigError';
  declare readonly code: ConfigErrorCode;
  /** Problems found beyond those in `issues`. */
  readonly omitted: number;
  constructor(
    code: ConfigErrorCode,
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
    options?: { cause?: unknown; omitted?: number },
  ) {
    const omitted = options?.omitted ?? 0;
    const lines = issues.map(formatIssue);
    if (omitted > 0) lines.push(`${file}: and ${omitted} more problem${omitted === 1 ? '' : 's'}`);
    super(code, lines.join('\n'), { cause: options?.cause });
    this.omitted = omitted;
  }
}

/** Longest name or value quoted in a message (a 1 MB key is shown by its start). */
const QUOTE_CHARS = 100;
/** Longest message kept, for problems whose text comes from elsewhere. */
const MESSAGE_CHARS = 1_000;

/** `text`, or its first 100 characters and "…". */
export function clip(text: string, max = QUOTE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/** `clusters.users.balancer`, `listeners[0].address`, `clusters["users.v2"].target`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (key.length <= QUOTE_CHARS && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(clip(key))}]`;
  }
  return out;
}

/** `FILE:LINE:COL key.path: message` (without the path at the root, without LINE:COL at 0). */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path === ''
    ? `${where}: ${issue.message}`
    : `${where} ${issue.path}: ${issue.message}`;
}

/**
 * A problem as found. Its message may go on with a `detail` that costs work to write (a "did you
 * mean" among 20,000 cluster names): only the reported problems' details are written.
 */
export interface FoundIssue extends ConfigIssue {
  readonly detail?: () => string;
}

/**
 * The problems to report: sorted by line, then column, then path, then message, duplicates (same
 * place and text) dropped, the first `limit` kept with their details; and how many more there were.
 */
export function reportIssues(
  found: readonly FoundIssue[],
  limit = MAX_REPORTED_ISSUES,
): { issues: ConfigIssue[]; omitted: number } {
  const sorted = [...found].sort(
    (a, b) =>
      a.line - b.line ||
      a.column - b.column ||
      compareText(a.path, b.path) ||
      compareText(a.message, b.message),
  );
  const unique = sorted.filter((issue, i) => i === 0 || !sameIssue(issue, sorted[i - 1]));
  const issues = unique.slice(0, limit).map(({ detail, ...issue }) => ({
    ...issue,
    message: clip(detail === undefined ? issue.message : issue.message + detail(), MESSAGE_CHARS),
  }));
  return { issues, omitted: unique.length - issues.length };
}

function sameIssue(a: ConfigIssue, b: ConfigIssue): boolean {
  return (
    a.line === b.line &&
    a.column === b.column &&
    a.path === b.path &&
    a.message === b.message &&
    a.file === b.file
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A short description of a value for messages: `string "4"`, `a list`, `number 3`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `string ${JSON.stringify(clip(value))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
