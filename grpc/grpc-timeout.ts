// The `grpc-timeout` header: parsing, formatting, and the cluster's default and maximum.
import type { TimeoutsConfig } from '../config/types.js';

const UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** Milliseconds, or undefined for a missing or malformed header (1–8 digits and a unit). */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = value.length;
  if (n < 2 || n > 9) return undefined;
  const unit = UNIT_MS[value[n - 1]];
  if (unit === undefined) return undefined;
  let digits = 0;
  for (let i = 0; i < n - 1; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    digits = digits * 10 + c;
  }
  return digits * unit;
}

/**
 * Formats milliseconds in the largest unit that keeps the value within 8 digits. Always a valid
 * header: a negative time is `0m`, and so is NaN (a deadline that cannot be computed is treated
 * as spent rather than sent as `NaNm`, which a server rejects or ignores).
 */
export function formatGrpcTimeout(ms: number): string {
  const whole = Number.isNaN(ms) ? 0 : Math.max(0, Math.ceil(ms));
  if (whole < 100_000_000) return `${whole}m`;
  const s = Math.ceil(whole / 1000);
  if (s < 100_000_000) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 60))}M`;
}

/** The deadline a call runs under: the client's, else the cluster default, capped by the max. */
export function effectiveTimeout(
  requestedMs: number | undefined,
  timeouts: TimeoutsConfig,
): number | undefined {
  const ms = requestedMs ?? timeouts.defaultMs;
  if (timeouts.maxMs === undefined) return ms;
  return ms === undefined ? timeouts.maxMs : Math.min(ms, timeouts.maxMs);
}
