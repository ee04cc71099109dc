// Durations as the config writes them (`250ms`, `5s`, `1m30s`, `1h`), parsed to milliseconds.
import { describeValue } from './config-error.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** The longest duration any setting takes: what `setTimeout` can wait (about 24.8 days). */
export const MAX_DURATION_MS = 0x7fffffff;

export interface DurationOptions {
  /**
   * What a bare number means: `'ms'` milliseconds (keys named `…Ms`), `'zero-only'` nothing but
   * 0 (every other duration key: `5` could be seconds or milliseconds, so it needs a unit).
   */
  readonly bareNumbers: 'ms' | 'zero-only';
}

/**
 * Milliseconds for a duration string (units `ms`, `s`, `m`, `h`, combinable as in `1m30s`,
 * fractions allowed as in `1.5s`) or a bare number; an error message for anything else.
 */
export function parseDuration(value: unknown, options: DurationOptions): number | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return `must not be negative, got ${value}`;
    if (options.bareNumbers === 'ms') {
      if (!Number.isInteger(value)) return `must be a whole number of milliseconds, got ${value}`;
      return value;
    }
    if (value === 0) return 0;
    return `${value} needs a unit: write "${value}s" or "${value}ms" (units: ms, s, m, h)`;
  }
  if (typeof value !== 'string') {
    return `must be a duration such as "250ms", "5s" or "1m", got ${describeValue(value)}`;
  }
  const text = value.trim();
  if (!WHOLE.test(text)) {
    return `"${value}" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")`;
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit];
  // 1.0005s is not a whole number of milliseconds; rounding would hide a typo.
  const rounded = Math.round(ms);
  if (Math.abs(rounded - ms) > 1e-6) {
    return `"${value}" is not a whole number of milliseconds`;
  }
  return rounded;
}

/** Exact text for `ms`, largest units first (`1500` → `1s500ms`, `90000` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (!Number.isInteger(ms) || ms < 0) return `${ms}ms`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}
