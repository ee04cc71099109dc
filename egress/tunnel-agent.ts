// node:http agents whose connections go through HTTP CONNECT proxies (for the Consul client,
// which takes an agent): each connection asks its route, then tunnels or connects directly.
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { ProxyServer } from './proxy-settings.js';
import { openTunnel, type ProxyTlsOptions } from './tunnel-dialer.js';

/** The proxy for a request's `host:port`, or undefined to connect directly. */
export type AgentProxyRoute = (host: string, port: number) => ProxyServer | undefined;

export interface TunnelAgentOptions {
  /** `https:` agents run TLS to the server inside the tunnel. */
  readonly secure: boolean;
  readonly route: AgentProxyRoute;
  /** Time allowed for the proxy connection and its answer to CONNECT. */
  readonly connectTimeoutMs?: number;
  readonly proxyTls?: ProxyTlsOptions;
  /**
   * `https:` agents: TLS settings for the server inside the tunnel (CA, client certificate,
   * server name, verification), as node:https agent options; asked for each new connection,
   * so renewed certificates are used from the next one on.
   */
  readonly tls?: () => ConnectionOptions;
}

type Callback = (err: Error | null, stream: Duplex) => void;

function target(options: ClientRequestArgs, secure: boolean): { host: string; port: number } {
  const host = String(options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
  const port = Number(options.port ?? (secure ? 443 : 80));
  return { host, port };
}

/**
 * An agent that tunnels each new connection through the proxy its route names. Connections
 * are not kept alive: a blocking query every half minute does not need it, and nothing is left
 * open for the owner to close.
 */
export function createTunnelAgent(options: TunnelAgentOptions): HttpAgent {
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const proxyTls = options.proxyTls ?? {};
  if (options.secure) {
    return new (class TunnelHttpsAgent extends HttpsAgent {
      override createConnection(
        request: RequestOptions,
        callback?: Callback,
      ): Duplex | null | undefined {
        const { host, port } = target(request, true);
        const proxy = options.route(host, port);
        if (proxy === undefined) return super.createConnection(request, callback);
        openTunnel(proxy, host, port, timeoutMs, proxyTls).then(
          (socket) => {
            // TLS to the server inside the tunnel, with the request's own TLS settings.
            const tlsSocket = super.createConnection({
              ...request,
              ...options.tls?.(),
              socket,
            } as RequestOptions);
            if (tlsSocket) callback?.(null, tlsSocket);
          },
          (err: Error) => callback?.(err, undefined as unknown as Duplex),
        );
        return undefined;
      }
    })({ keepAlive: false });
  }
  return new (class TunnelHttpAgent extends HttpAgent {
    override createConnection(
      request: ClientRequestArgs,
      callback?: Callback,
    ): Duplex | null | undefined {
      const { host, port } = target(request, false);
      const proxy = options.route(host, port);
      if (proxy === undefined) return super.createConnection(request, callback);
      openTunnel(proxy, host, port, timeoutMs, proxyTls).then(
        (socket) => callback?.(null, socket),
        (err: Error) => callback?.(err, undefined as unknown as Duplex),
      );
      return undefined;
    }
  })({ keepAlive: false });
}
