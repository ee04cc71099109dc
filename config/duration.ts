// Durations as the config writes them (`250ms`, `5s`, `1m30s`, `1h`), parsed to milliseconds.
import { describeValue } from './config-error.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+)(?:\.(\d+))?(ms|s|m|h)/g;

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
      if (value > Number.MAX_SAFE_INTEGER) return tooLong(String(value));
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
  // Exact decimal arithmetic: in floating point 9148.2h is 32933519999.999996 ms, which read as
  // "not a whole number", and 400 digits of hours were Infinity.
  let ms = 0n;
  for (const [, written, writtenFraction = '', unit] of text.matchAll(PART)) {
    // Bounded work for a file of digits: 17 digits of milliseconds are past 2^53 already, and a
    // fraction of more than 7 digits (zeros at its end aside) is never whole (1 h is 36·10^5 ms).
    const whole = written.replace(/^0+/, '');
    const fraction = writtenFraction.replace(/0+$/, '');
    if (whole.length > 16) return tooLong(`"${value}"`);
    if (fraction.length > 7) return `"${value}" is not a whole number of milliseconds`;
    const scale = 10n ** BigInt(fraction.length);
    const scaled = BigInt(whole + fraction) * BigInt(UNIT_MS[unit]);
    // 1.0005s is not a whole number of milliseconds; rounding would hide a typo.
    if (scaled % scale !== 0n) return `"${value}" is not a whole number of milliseconds`;
    ms += scaled / scale;
  }
  if (ms > BigInt(Number.MAX_SAFE_INTEGER)) return tooLong(`"${value}"`);
  return Number(ms);
}

/** Beyond 2^53 ms (285,000 years) a number stops counting single milliseconds. */
function tooLong(text: string): string {
  return `${text} is far longer than any setting takes (the longest is ${formatDuration(MAX_DURATION_MS)})`;
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
