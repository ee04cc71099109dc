// Upstream connections through HTTP CONNECT proxies: one tunnel per endpoint (so balancing
// still sees every endpoint), then h2c or TLS inside it, with errors that name the proxy.
import { STATUS_CODES } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { Client as UndiciClient } from 'undici';

/** undici is loaded on the first tunnel: it costs about 20 MB of memory, and most setups never use one. */
let undici: Promise<{ Client: typeof UndiciClient }> | undefined;
import type { Endpoint } from '../resolver/endpoint.js';
import type { ProxyServer } from './proxy-settings.js';
import {
  DirectDialer,
  secureSocket,
  type Dialer,
  type UpstreamTlsOptions,
} from '../upstream/dialer.js';
import { SwitchyardError, describeError } from '../common/errors.js';

/** A tunnel could not be opened or broke before the upstream answered. */
export class TunnelError extends SwitchyardError {
  constructor(
    code: 'SWY_ERR_CONNECT_FAILED' | 'SWY_ERR_CONNECT_TIMEOUT',
    message: string,
    /** `host:port` of the proxy. */
    readonly proxy: string,
    /** The proxy's HTTP status when it refused the CONNECT. */
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** TLS settings for `https://` proxies (the connection to the proxy itself). */
export interface ProxyTlsOptions {
  /** CA bundle for the proxy's certificate; default the system CAs (and NODE_EXTRA_CA_CERTS). */
  readonly ca?: Buffer | undefined;
  readonly rejectUnauthorized?: boolean;
}

/** `host:port` as a CONNECT request-target: IPv6 in brackets. */
export function connectAuthority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'UND_ERR_SOCKET') return 'the proxy closed the connection';
  return describeError(err);
}

/**
 * Sends `CONNECT host:port` to `proxy` (with its `Proxy-Authorization`) and resolves with the
 * raw tunnel once the proxy answers 200; bytes the proxy sent after its answer stay readable.
 * Rejects with a TunnelError naming the proxy and what it did. Never takes longer than
 * `timeoutMs`.
 */
export async function openTunnel(
  proxy: ProxyServer,
  host: string,
  port: number,
  timeoutMs: number,
  proxyTls: ProxyTlsOptions = {},
): Promise<Socket> {
  const authority = connectAuthority(host, port);
  const via = `proxy ${proxy.address}`;
  const tlsOptions: ConnectionOptions =
    proxy.protocol === 'https:'
      ? {
          ca: proxyTls.ca,
          rejectUnauthorized: proxyTls.rejectUnauthorized ?? true,
          // SNI must be a name, never an IP literal.
          servername: isIP(proxy.host) === 0 ? proxy.host : undefined,
        }
      : {};
  const { Client } = await (undici ??= import('undici'));
  const client = new Client(`${proxy.protocol}//${connectAuthority(proxy.host, proxy.port)}`, {
    connect: { ...tlsOptions, timeout: timeoutMs },
    headersTimeout: timeoutMs,
    // One CONNECT per client: nothing else is ever sent on its connection.
    pipelining: 1,
  });
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  const headers: Record<string, string> = { host: authority };
  if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization;
  try {
    let answer;
    try {
      answer = await client.connect({ path: authority, headers, signal: abort.signal });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (timedOut || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
        throw new TunnelError(
          'SWY_ERR_CONNECT_TIMEOUT',
          `${via} did not answer CONNECT ${authority} within ${timeoutMs} ms`,
          proxy.address,
          undefined,
          { cause: err },
        );
      }
      throw new TunnelError(
        'SWY_ERR_CONNECT_FAILED',
        `cannot reach ${via} for CONNECT ${authority}: ${reasonOf(err)}`,
        proxy.address,
        undefined,
        { cause: err },
      );
    }
    const { statusCode, socket } = answer;
    if (statusCode !== 200) {
      socket.on('error', () => {});
      socket.destroy();
      const text = STATUS_CODES[statusCode] ?? 'unknown status';
      throw new TunnelError(
        'SWY_ERR_CONNECT_FAILED',
        `${via} answered ${statusCode} ${text} to CONNECT ${authority}`,
        proxy.address,
        statusCode,
      );
    }
    return socket as Socket;
  } finally {
    clearTimeout(timer);
    // The tunnel's socket left the client at the 200; closing the client never touches it.
    client.destroy().catch(() => {});
  }
}

/**
 * A tunnel that closes before the upstream sent a whole HTTP/2 frame header (9 bytes) was cut
 * by the proxy or refused behind it: fail the socket with an error that says so, which the
 * session reports instead of a bare "closed before SETTINGS".
 */
function reportEarlyClose(socket: Socket, proxy: ProxyServer, target: string): void {
  const before = socket.bytesRead - socket.readableLength;
  socket.once('end', () => {
    if (socket.bytesRead - before >= 9) return;
    socket.destroy(
      new TunnelError(
        'SWY_ERR_CONNECT_FAILED',
        `proxy ${proxy.address} closed the tunnel to ${target} before the upstream answered`,
        proxy.address,
        undefined,
      ),
    );
  });
}

/** Picks the proxy for an endpoint; undefined connects directly. */
export type ProxyRoute = (endpoint: Endpoint) => ProxyServer | undefined;

/**
 * Dials each endpoint through its own CONNECT tunnel (or directly when `route` says so), then
 * runs TLS inside the tunnel when the cluster uses TLS. Failures reject like DirectDialer's,
 * so the pool marks the endpoint failing and calls go elsewhere.
 */
export class TunnelDialer implements Dialer {
  readonly scheme: 'http' | 'https';
  private readonly direct: DirectDialer;

  constructor(
    private readonly route: ProxyRoute,
    private readonly tlsOptions: UpstreamTlsOptions | undefined,
    private readonly proxyTls: ProxyTlsOptions = {},
  ) {
    this.scheme = tlsOptions ? 'https' : 'http';
    this.direct = new DirectDialer(tlsOptions);
  }

  explainEarlyFailure(endpoint: Endpoint, error: Error | undefined): SwitchyardError | undefined {
    return this.direct.explainEarlyFailure(endpoint, error);
  }

  async dial(endpoint: Endpoint, timeoutMs: number): Promise<Duplex> {
    const proxy = this.route(endpoint);
    if (proxy === undefined) return this.direct.dial(endpoint, timeoutMs);
    const started = Date.now();
    const socket = await openTunnel(
      proxy,
      endpoint.address,
      endpoint.port,
      timeoutMs,
      this.proxyTls,
    );
    socket.setNoDelay(true);
    if (!this.tlsOptions) {
      reportEarlyClose(socket, proxy, endpoint.key);
      return socket;
    }
    try {
      return await secureSocket(socket, endpoint, this.tlsOptions, started + timeoutMs);
    } catch (err) {
      const e = err as SwitchyardError;
      throw new TunnelError(
        e.code === 'SWY_ERR_CONNECT_TIMEOUT' ? 'SWY_ERR_CONNECT_TIMEOUT' : 'SWY_ERR_CONNECT_FAILED',
        `${e.message} (through proxy ${proxy.address})`,
        proxy.address,
        undefined,
        { cause: err },
      );
    }
  }
}
