// What every example and test server built on @grpc/grpc-js shares: binding, shutting down,
// and delays that end early when the call is cancelled.
import * as grpc from '@grpc/grpc-js';
import { formatAddress } from './route-guide/cli.js';

/** Binds `server` to `host:port` (port 0: any free one) and resolves with the bound port. */
export function bindServer(
  server: grpc.Server,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(formatAddress(host, port), credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
}

/** Graceful and immediate shutdown of a server, as the example servers expose them. */
export function serverShutdown(server: grpc.Server): { close(): Promise<void>; kill(): void } {
  return {
    /** Stops accepting calls and resolves once calls in flight have finished (tryShutdown). */
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    /** Cancels calls in flight and closes every connection at once (forceShutdown). */
    kill: () => server.forceShutdown(),
  };
}

/** The part of a grpc-js server call a delay watches. */
export interface Cancellable {
  readonly cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/** Runs `fn` after `ms`, unless the call is cancelled first; with `ms` ≤ 0 runs it now. */
export function afterDelay(call: Cancellable, ms: number, fn: () => void): void {
  if (ms <= 0) {
    fn();
    return;
  }
  const onCancel = (): void => clearTimeout(timer);
  const timer = setTimeout(() => {
    call.removeListener('cancelled', onCancel);
    if (!call.cancelled) fn();
  }, ms);
  call.once('cancelled', onCancel);
}
