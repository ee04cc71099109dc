// Runs one test.Echo backend in its own process (started by echo-backend-process.ts): reports
// its port once it listens, and its call counts when asked, over the IPC channel.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { startEchoBackend, type EchoMethod } from './echo-backend.js';

/** TLS for the backend: its certificate and key, and the CA client certificates must chain to. */
export interface BackendTls {
  readonly certPath: string;
  readonly keyPath: string;
  /** Set: clients must present a certificate signed by this CA. */
  readonly clientCaPath?: string;
}

export interface BackendReady {
  readonly kind: 'ready';
  readonly port: number;
}

export interface BackendStats {
  readonly kind: 'stats';
  readonly calls: number;
  readonly cancelled: number;
  readonly byMethod: Readonly<Record<string, number>>;
}

/** Asks for a BackendStats answer. */
export interface StatsRequest {
  readonly kind: 'stats?';
}

const [name = 'child', port = '0', tlsJson] = process.argv.slice(2);
const tls = tlsJson === undefined ? undefined : (JSON.parse(tlsJson) as BackendTls);
const credentials =
  tls === undefined
    ? undefined
    : grpc.ServerCredentials.createSsl(
        tls.clientCaPath === undefined ? null : readFileSync(tls.clientCaPath),
        [{ cert_chain: readFileSync(tls.certPath), private_key: readFileSync(tls.keyPath) }],
        tls.clientCaPath !== undefined,
      );
const backend = await startEchoBackend({ name, port: Number(port), credentials });
const byMethod: Record<string, number> = {};
backend.events.on('call', (method: EchoMethod) => {
  byMethod[method] = (byMethod[method] ?? 0) + 1;
});
process.on('message', (message: StatsRequest) => {
  if (message.kind !== 'stats?') return;
  const stats: BackendStats = {
    kind: 'stats',
    calls: backend.calls,
    cancelled: backend.cancelled,
    byMethod,
  };
  process.send?.(stats);
});
// The parent going away (or closing the channel) ends the backend.
process.on('disconnect', () => {
  backend.kill();
  process.exit(0);
});
const ready: BackendReady = { kind: 'ready', port: backend.port };
process.send?.(ready);
