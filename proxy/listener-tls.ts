// A TLS listener's certificate material over time: the secure-context options its config and
// files make, when its certificate runs out, and a watch that reads the files again when they
// change so new connections get the new certificate (open ones keep theirs).
import { X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import tls from 'node:tls';
import type { ListenerConfig, ServerTlsConfig } from '../config/types.js';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

/** The files of a listener's own TLS, read. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/** Certificate rotations write the certificate and the key one after the other: wait for both. */
export const TLS_WATCH_SETTLE_MS = 250;

const DAY_MS = 86_400_000;

/** What tls.createServer and setSecureContext take from the config and the files. */
export function secureContextOptions(
  config: ServerTlsConfig,
  material: TlsMaterial,
): tls.SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    minVersion: config.minVersion,
    // Always given: setSecureContext keeps the server's last list when a context names none,
    // so a reload that drops `ciphers` would keep the old one.
    ciphers: config.ciphers ?? tls.DEFAULT_CIPHERS,
  };
}

/** When the first (leaf) certificate of a PEM chain expires, in ms since the epoch. */
export function certificateNotAfter(chain: Buffer): number | undefined {
  try {
    return Date.parse(new X509Certificate(chain).validTo);
  } catch {
    return undefined;
  }
}

/** Days from `now` until `notAfter` (negative once expired), to two decimals. */
export function daysLeft(notAfter: number, now: number): number {
  return Math.round(((notAfter - now) / DAY_MS) * 100) / 100;
}

/**
 * The /ready warning for a listener whose certificate expires within its `expiryWarningDays`,
 * or undefined.
 */
export function expiryWarning(
  listener: string,
  config: ServerTlsConfig,
  notAfter: number | undefined,
  now: number,
): string | undefined {
  if (notAfter === undefined || config.expiryWarningDays <= 0) return undefined;
  const left = daysLeft(notAfter, now);
  if (left > config.expiryWarningDays) return undefined;
  const when = new Date(notAfter).toISOString();
  return left <= 0
    ? `listener "${listener}": its certificate (${config.certFile}) expired on ${when}`
    : `listener "${listener}": its certificate (${config.certFile}) expires in ${left} days, on ${when}`;
}

/** The files a listener reads for TLS: its own, and those for TLS inside tunnels. */
export function listenerTlsFiles(config: ListenerConfig): string[] {
  const files: string[] = [];
  const tls = config.tls;
  if (tls !== undefined) {
    files.push(tls.certFile, tls.keyFile);
    if (tls.caFile !== undefined) files.push(tls.caFile);
  }
  const tunnel = config.connect?.tls;
  if (tunnel !== undefined) files.push(tunnel.certFile, tunnel.keyFile);
  return files;
}

/**
 * Watches the folders of some files and calls `changed` once a burst of events in them has
 * settled. Folders, not files: a rename-on-save replaces the inode a file watch holds, and
 * Kubernetes swaps a `..data` symlink beside the files of a mounted secret. The caller compares
 * contents, so an event for a neighbour costs one read of a few kilobytes.
 */
export class TlsFileWatch {
  private readonly watchers: FSWatcher[] = [];
  private settle: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    files: readonly string[],
    private readonly changed: () => void,
    logger: Logger,
    context: Record<string, unknown>,
    settleMs = TLS_WATCH_SETTLE_MS,
  ) {
    const names = new Map<string, Set<string>>();
    for (const file of files) {
      const dir = dirname(file);
      if (!names.has(dir)) names.set(dir, new Set());
      names.get(dir)!.add(basename(file));
    }
    for (const dir of names.keys()) {
      try {
        const watcher = watch(dir, { persistent: false }, () => {
          if (this.closed) return;
          clearTimeout(this.settle);
          this.settle = setTimeout(() => {
            if (!this.closed) this.changed();
          }, settleMs);
          this.settle.unref();
        });
        watcher.on('error', (err) =>
          logger.warn(context, `watching ${dir} for certificate changes failed: ${err.message}`),
        );
        this.watchers.push(watcher);
      } catch (err) {
        logger.warn(
          context,
          `cannot watch ${dir} for certificate changes (SIGHUP still reloads them): ${describeError(err)}`,
        );
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.settle);
    for (const w of this.watchers) w.close();
  }
}
