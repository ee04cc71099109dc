// Command-line plumbing shared by the example programs: run-directly detection, addresses,
// TLS flags and graceful shutdown on signals.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';

/**
 * True when the module at `moduleUrl` (pass `import.meta.url`) is the script node was started
 * with, so the example files can be both imported and run. Both sides go through realpath
 * because `node dist/x.js` may be reached through a symlink.
 */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Formats `host:port`, bracketing IPv6 literals (`[::1]:50051`). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses a non-negative integer flag value; throws a readable error otherwise. */
export function parseCount(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a non-negative integer`);
  return n;
}

/** Server credentials from `--cert`/`--key` files, or insecure when neither is given. */
export function serverCredentialsFromFiles(cert?: string, key?: string): grpc.ServerCredentials {
  if (cert === undefined && key === undefined) return grpc.ServerCredentials.createInsecure();
  if (cert === undefined || key === undefined) throw new Error('--cert and --key go together');
  return grpc.ServerCredentials.createSsl(null, [
    { cert_chain: readFileSync(cert), private_key: readFileSync(key) },
  ]);
}

/** Channel credentials trusting the CA in `--ca`, or insecure when it is not given. */
export function channelCredentialsFromFile(ca?: string): grpc.ChannelCredentials {
  return ca === undefined
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(readFileSync(ca));
}

/**
 * On the first SIGINT/SIGTERM calls `close()` (graceful); on a second signal, or when closing
 * takes longer than `graceMs`, calls `kill()`. The handlers stay installed until the process
 * exits, which is what a long-running example server wants.
 */
export function shutdownOnSignals(
  close: () => Promise<void>,
  kill: () => void,
  graceMs = 10_000,
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      console.error(`${signal} again: stopping now`);
      kill();
      return;
    }
    closing = true;
    console.error(`${signal}: finishing calls in flight (send it again to stop at once)`);
    const timer = setTimeout(kill, graceMs);
    timer.unref();
    close().then(
      () => clearTimeout(timer),
      (error: unknown) => {
        console.error('graceful shutdown failed:', error);
        kill();
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
