// Config problems with where they are: file, line, column and key path, formatted the way
// compilers print them so editors and terminals can jump to the spot.

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
  | 'ERR_CONFIG_READ'
  /** The file was read; `issues` lists every problem, sorted by position. */
  | 'ERR_CONFIG_INVALID';

/** Thrown by the loader; `message` is every issue formatted, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly code: ConfigErrorCode,
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
    options?: { cause?: unknown },
  ) {
    super(issues.map(formatIssue).join('\n'), options);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/** `clusters.users.balancer`, `listeners[0].address`, `clusters["users.v2"].target`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
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

/** By line, then column, then path, then message; duplicates (same place and text) dropped. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const sorted = [...issues].sort(
    (a, b) =>
      a.line - b.line ||
      a.column - b.column ||
      compareText(a.path, b.path) ||
      compareText(a.message, b.message),
  );
  return sorted.filter(
    (issue, i) =>
      i === 0 ||
      formatIssue(issue) !== formatIssue(sorted[i - 1]) ||
      issue.file !== sorted[i - 1].file,
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
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
