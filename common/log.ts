// Logging: pino, JSON lines for machines, pino-pretty on a terminal; and a limiter that keeps
// a failing upstream from flooding the log with one line per call.
import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/** What a logger is made from (the config's `log:` block has this shape). */
export interface LogOptions {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** `pretty` on a terminal, `json` otherwise, unless set. */
  readonly format: 'json' | 'pretty' | 'auto';
}

export function createLogger(
  config: LogOptions,
  stream: NodeJS.WritableStream = process.stderr,
): Logger {
  const usePretty =
    config.format === 'pretty' ||
    (config.format === 'auto' && (stream as NodeJS.WriteStream).isTTY === true);
  const options = { level: config.level, base: undefined };
  if (!usePretty) return pino(options, stream);
  // pino-pretty as a synchronous stream: no worker thread to start or to lose lines on exit.
  // Loaded only for a terminal; services writing JSON never load it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pino(
    options,
    pretty({
      destination: stream,
      colorize: (stream as NodeJS.WriteStream).isTTY === true,
      sync: true,
      ignore: 'pid,hostname',
    }),
  );
}

/** A logger that writes nothing, for embedding and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Lets one line per key through per interval and counts the rest, so a dead endpoint under
 * load logs once a second, not once per call.
 */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** -1 when the line should be dropped; otherwise how many were dropped since the last one. */
  take(key: string): number {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry === undefined) {
      if (this.last.size > 10_000) this.last.clear();
      this.last.set(key, { at: t, suppressed: 0 });
      return 0;
    }
    if (t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return -1;
    }
    const suppressed = entry.suppressed;
    entry.at = t;
    entry.suppressed = 0;
    return suppressed;
  }
}
