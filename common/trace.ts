// Tracing for operators and contributors, like grpc-js's GRPC_TRACE: SWITCHYARD_TRACE names the
// categories whose decisions are logged at debug level. Read once at startup into booleans, so
// a call site is `if (TRACE.call) log.debug(...)`: one property read when off, no string built.
import type { Logger } from 'pino';
import { closestName } from './closest-name.js';

/** What each category logs (README "Observability" has the fields). */
export const TRACE_CATEGORIES = [
  /** Per call: the host picked (and the attempt), a retry on another host and why. */
  'call',
  /** Per cluster: the policy's pick and the host's load, ejections and returns, health changes. */
  'balancer',
  /** Per endpoint: connecting, ready, draining and why, failure reasons, backoff and its delay. */
  'pool',
  /** Per cluster: each resolver result (endpoints, not found, errors), each re-resolution asked. */
  'resolver',
] as const;

export type TraceCategory = (typeof TRACE_CATEGORIES)[number];
export type TraceFlags = { readonly [C in TraceCategory]: boolean };

/** The categories `value` enables, and the names in it that are none (`all` is every one). */
export function parseTrace(value: string | undefined): {
  flags: TraceFlags;
  unknown: string[];
} {
  const flags = { call: false, balancer: false, pool: false, resolver: false };
  const unknown: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'all' || name === '*') {
      for (const category of TRACE_CATEGORIES) flags[category] = true;
    } else if ((TRACE_CATEGORIES as readonly string[]).includes(name)) {
      flags[name as TraceCategory] = true;
    } else {
      unknown.push(raw.trim());
    }
  }
  return { flags, unknown };
}

/** One warning for the names SWITCHYARD_TRACE has that are no category; undefined if none. */
export function traceWarning(unknown: readonly string[]): string | undefined {
  if (unknown.length === 0) return undefined;
  const names = unknown.map((name) => {
    const hint = closestName(name, [...TRACE_CATEGORIES, 'all']);
    return hint === undefined ? `"${name}"` : `"${name}" (did you mean "${hint}"?)`;
  });
  return (
    `SWITCHYARD_TRACE: unknown categor${unknown.length === 1 ? 'y' : 'ies'} ${names.join(', ')}` +
    `; known: ${TRACE_CATEGORIES.join(', ')}, all`
  );
}

const parsed = parseTrace(process.env.SWITCHYARD_TRACE);

/** The categories on in this process, fixed at startup. */
export const TRACE: TraceFlags = Object.freeze(parsed.flags);

/** The warning about this process's SWITCHYARD_TRACE, for the program to log once. */
export const TRACE_WARNING: string | undefined = traceWarning(parsed.unknown);

export function traceEnabled(category: TraceCategory): boolean {
  return TRACE[category];
}

/**
 * The logger a category's trace lines go to: a child tagged `trace: category` at debug level
 * whatever the configured level (SWITCHYARD_TRACE is asked for explicitly), or undefined when
 * the category is off or the logger is silent (an embedder that passed no logger gets a silent
 * one, whose destination is stdout: trace lines there could corrupt the program's own output).
 * Made once per component, never per call.
 */
export function traceLogger(logger: Logger, category: TraceCategory): Logger | undefined {
  if (!TRACE[category] || logger.level === 'silent') return undefined;
  return logger.child({ trace: category }, { level: 'debug' });
}
