// Dialers open the byte stream an upstream HTTP/2 session runs on: TCP, then TLS when the
// cluster asks for it. Proxy tunnels wrap the same contract.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Endpoint } from '../resolver/endpoint.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import { describeTlsFailure } from './tls-failures.js';

export interface Dialer {
  /** The `:scheme` of requests sent over the sockets this dialer makes. */
  readonly scheme: 'http' | 'https';
  /**
   * Resolves with a connected socket (for TLS: handshake done, ALPN `h2`), or rejects with a
   * SwitchyardError (SWY_ERR_CONNECT_REFUSED, SWY_ERR_CONNECT_TIMEOUT, SWY_ERR_CONNECT_FAILED). Never
   * takes longer than `timeoutMs`.
   */
  dial(endpoint: Endpoint, timeoutMs: number): Promise<Duplex>;
  /**
   * Why a connection this dialer made ended before the peer's HTTP/2 SETTINGS, when it can
   * say more than the socket did (a TLS alert read after the handshake, a backend that hung up
   * right after it): `error` is the socket's error, undefined when it just closed.
   */
  explainEarlyFailure?(endpoint: Endpoint, error: Error | undefined): SwitchyardError | undefined;
}

export interface UpstreamTlsOptions {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly serverName: string | undefined;
  readonly rejectUnauthorized: boolean;
  /** The cluster's name, for advice in error messages. */
  readonly cluster?: string;
}

/** A TLS failure in words (see describeTlsFailure), as the error the pool and callers see. */
function tlsError(
  endpoint: Endpoint,
  err: Error | undefined,
  stage: 'handshake' | 'after-handshake',
  options: UpstreamTlsOptions,
): SwitchyardError | undefined {
  const why = describeTlsFailure(err, stage, {
    cluster: options.cluster,
    clientCert: options.cert,
  });
  if (why === undefined) return undefined;
  return new SwitchyardError('SWY_ERR_CONNECT_FAILED', `TLS with ${endpoint.key} failed: ${why}`, {
    cause: err,
  });
}

/** Wraps a connect failure in the error the pool and the caller's status message use. */
export function connectError(endpoint: Endpoint, err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') {
    return new SwitchyardError('SWY_ERR_CONNECT_REFUSED', `connection refused by ${endpoint.key}`, {
      cause: err,
    });
  }
  return new SwitchyardError(
    'SWY_ERR_CONNECT_FAILED',
    `cannot connect to ${endpoint.key}: ${describeError(err)}`,
    {
      cause: err,
    },
  );
}

/** Opens a TCP connection, failing after `timeoutMs`. */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new SwitchyardError(
          'SWY_ERR_CONNECT_TIMEOUT',
          `connect to ${host}:${port} timed out after ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      // Half-open peers (a host that vanished) are found by TCP keepalive even on idle sessions.
      socket.setKeepAlive(true, 30_000);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

function isIp(host: string): boolean {
  return net.isIP(host) !== 0;
}

/** Runs a TLS handshake with ALPN `h2` over an open socket (or a fresh connection). */
export function startTls(
  socket: Duplex | undefined,
  endpoint: Endpoint,
  options: UpstreamTlsOptions,
  timeoutMs: number,
): Promise<tls.TLSSocket> {
  const serverName =
    options.serverName ??
    (endpoint.hostname && !isIp(endpoint.hostname) ? endpoint.hostname : undefined);
  return new Promise((resolve, reject) => {
    const conn = tls.connect({
      socket,
      host: endpoint.address,
      port: endpoint.port,
      // SNI must be a name, never an IP literal.
      servername: serverName,
      ALPNProtocols: ['h2'],
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized,
      checkServerIdentity: (host, cert) => tls.checkServerIdentity(serverName ?? host, cert),
    });
    const timer = setTimeout(() => {
      conn.destroy();
      reject(
        new SwitchyardError(
          'SWY_ERR_CONNECT_TIMEOUT',
          `TLS handshake with ${endpoint.key} timed out after ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    conn.once('secureConnect', () => {
      clearTimeout(timer);
      conn.removeListener('error', onError);
      if (conn.alpnProtocol !== 'h2') {
        conn.destroy();
        reject(
          new SwitchyardError(
            'SWY_ERR_CONNECT_FAILED',
            `${endpoint.key} did not negotiate HTTP/2 over TLS (ALPN: ${conn.alpnProtocol || 'none'})`,
          ),
        );
        return;
      }
      resolve(conn);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(
        tlsError(endpoint, err, 'handshake', options) ??
          new SwitchyardError(
            'SWY_ERR_CONNECT_FAILED',
            `TLS with ${endpoint.key} failed: ${describeError(err)}`,
            { cause: err },
          ),
      );
    };
    conn.once('error', onError);
  });
}

/**
 * TLS over a socket that took part of the connect budget already (TCP, a proxy tunnel): the
 * handshake gets what is left until `deadline` (a Date.now() time). On failure the socket is
 * destroyed and the SwitchyardError rethrown.
 */
export async function secureSocket(
  socket: Duplex,
  endpoint: Endpoint,
  options: UpstreamTlsOptions,
  deadline: number,
): Promise<tls.TLSSocket> {
  try {
    return await startTls(socket, endpoint, options, Math.max(1, deadline - Date.now()));
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** Connects straight to the endpoint, with TLS when options are given. */
export class DirectDialer implements Dialer {
  readonly scheme: 'http' | 'https';

  constructor(private readonly tlsOptions: UpstreamTlsOptions | undefined) {
    this.scheme = tlsOptions ? 'https' : 'http';
  }

  async dial(endpoint: Endpoint, timeoutMs: number): Promise<Duplex> {
    const started = Date.now();
    let socket: net.Socket;
    try {
      socket = await connectTcp(endpoint.address, endpoint.port, timeoutMs);
    } catch (err) {
      throw connectError(endpoint, err);
    }
    if (!this.tlsOptions) return socket;
    return secureSocket(socket, endpoint, this.tlsOptions, started + timeoutMs);
  }

  explainEarlyFailure(endpoint: Endpoint, error: Error | undefined): SwitchyardError | undefined {
    return this.tlsOptions && tlsError(endpoint, error, 'after-handshake', this.tlsOptions);
  }
}
