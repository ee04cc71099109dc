// Client-facing listeners: h2c with prior knowledge (sniffed, so HTTP/1.1 gets a clear answer,
// or, in forward-proxy mode, CONNECT is served) and TLS with ALPN h2. Tracks client sessions
// for graceful shutdown.
import http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tlsModule from 'node:tls';
import type { ListenerConfig, SocketAddress } from '../config/types.js';
import { ConnectGateway, tagTunnelSession, tagTunnelSocket } from './connect-listener.js';
import { SwitchyardError, describeError } from './errors.js';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from './flow-control.js';
import type { Logger } from './log.js';

export type StreamHandler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  /** The fields as they came, [name, value, …]: `headers` joins a repeated name's values. */
  rawHeaders: string[],
) => void;

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/** Every file a listener needs, read before it opens. */
export interface ListenerMaterial {
  /** The listener's own TLS; undefined for h2c. */
  readonly tls: TlsMaterial | undefined;
  /** The certificate for TLS inside CONNECT tunnels (`connect.tls`). */
  readonly tunnel: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

/** What forward-proxy mode needs from the proxy. */
export interface TunnelServices {
  /** Whether a cluster of that name exists now. */
  hasCluster(name: string): boolean;
  /** A raw connection for a passthrough tunnel (through an upstream proxy when one applies). */
  dial(host: string, port: number, timeoutMs: number): Promise<Duplex>;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const HTTP1_REQUEST_LINE = /^[A-Z]{3,10} \S+ HTTP\/1\.[01]\r?\n/;
/** How an HTTP/1.x request starts: a method token (upper-case letters). */
const HTTP1_START = /^[A-Z]/;

/** The answer to an HTTP/1.x request on a listener that speaks only HTTP/2. */
export function http1Refusal(listenerKind: string): string {
  const body = `switchyard: this port serves gRPC over HTTP/2 (${listenerKind}); HTTP/1.x requests are not accepted.\n`;
  return (
    'HTTP/1.1 505 HTTP Version Not Supported\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Writes a last answer and closes. The socket is destroyed once the answer is flushed: a
 * half-closed socket nobody reads would otherwise hold the listener open at shutdown.
 */
function refuse(socket: net.Socket, answer: string): void {
  socket.on('error', () => {});
  socket.end(answer, () => socket.destroy());
}

/** Peer settings every client session gets. */
function serverSettings(config: ListenerConfig): http2.Settings {
  return {
    maxConcurrentStreams: config.maxConcurrentStreams,
    enablePush: false,
    initialWindowSize: STREAM_WINDOW_BYTES,
  };
}

export class Listener {
  readonly name: string;
  private readonly h2: http2.Http2Server;
  /** The socket server: a plain net.Server in front of h2c, the TLS server itself otherwise. */
  private readonly server: net.Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private bound: SocketAddress | undefined;
  private closing = false;
  /** Client connections accepted since start, for metrics. */
  accepted = 0;
  /** Called when the last session (or passthrough tunnel) closes during shutdown. */
  private drained: (() => void) | undefined;

  private current: ListenerConfig;
  /** Forward-proxy mode (CONNECT); made on first use. */
  private gateway: ConnectGateway | undefined;
  /** The certificate for TLS inside tunnels (`connect.tls`). */
  private tunnelCert: ListenerMaterial['tunnel'];
  /** One TLS server per cluster for TLS inside tunnels; never listens, takes sockets. */
  private tunnelServers = new Map<string, tlsModule.Server>();

  constructor(
    config: ListenerConfig,
    material: ListenerMaterial | undefined,
    handler: StreamHandler,
    private readonly logger: Logger,
    private readonly tunnels?: TunnelServices,
  ) {
    this.current = config;
    this.name = config.name;
    const tls = material?.tls;
    this.tunnelCert = material?.tunnel;
    const common = {
      settings: serverSettings(config),
      // nghttp2's memory cap for all streams of one client session (MB); the 10 MB default
      // refuses streams under load from a busy multiplexing client.
      maxSessionMemory: 64,
    };
    // One HTTP/2 server handles sessions for both kinds; sockets reach it only after the
    // listener has seen HTTP/2 on them (the h2c preface, or ALPN h2), so anything else can be
    // answered in HTTP/1.1 instead of with a binary GOAWAY.
    this.h2 = http2.createServer(common);
    if (tls) {
      const server = tlsModule.createServer({
        cert: tls.cert,
        key: tls.key,
        ca: tls.ca,
        requestCert: tls.ca !== undefined,
        rejectUnauthorized: config.tls?.requireClientCert ?? false,
        // http/1.1 is offered only so such clients hear why they are refused.
        ALPNProtocols: ['h2', 'http/1.1'],
        handshakeTimeout: config.handshakeTimeoutMs,
      });
      server.on('secureConnection', (socket: tlsModule.TLSSocket) => {
        this.accepted++;
        if (socket.alpnProtocol === 'h2') {
          this.h2.emit('connection', socket);
        } else if (this.current.connect !== undefined && this.tunnels !== undefined) {
          // A client that uses this listener as an https:// proxy.
          this.connectGateway().accept(socket, Buffer.alloc(0));
        } else {
          refuse(socket, http1Refusal('TLS with ALPN h2'));
        }
      });
      server.on('tlsClientError', (err: Error) => {
        this.logger.debug({ listener: this.name }, `TLS handshake failed: ${describeError(err)}`);
      });
      this.server = server;
    } else {
      this.server = net.createServer({ noDelay: true }, (socket) => this.sniff(socket));
    }
    this.h2.on('stream', handler);
    this.h2.on('session', (session: http2.ServerHttp2Session) => this.track(session));
    this.h2.on('sessionError', (err: Error) => {
      this.logger.debug({ listener: this.name }, `client session error: ${describeError(err)}`);
    });
  }

  get config(): ListenerConfig {
    return this.current;
  }

  /**
   * Whether `next` can be applied to this listener without reopening its socket: same
   * address, same kind (h2c or TLS), same client-certificate policy.
   */
  canReconfigure(next: ListenerConfig): boolean {
    const cur = this.current;
    return (
      cur.address.host === next.address.host &&
      cur.address.port === next.address.port &&
      (cur.tls === undefined) === (next.tls === undefined) &&
      (cur.tls?.caFile === undefined) === (next.tls?.caFile === undefined) &&
      cur.tls?.requireClientCert === next.tls?.requireClientCert
    );
  }

  /** Applies a new config in place (see canReconfigure); new connections see it. */
  reconfigure(next: ListenerConfig, material: ListenerMaterial | undefined): void {
    this.current = next;
    this.h2.updateSettings(serverSettings(next));
    const tls = material?.tls;
    if (tls && this.server instanceof tlsModule.Server) {
      this.server.setSecureContext({ cert: tls.cert, key: tls.key, ca: tls.ca });
    }
    this.tunnelCert = material?.tunnel;
    // New tunnels use the new certificate; those already open keep theirs.
    this.tunnelServers = new Map();
  }

  /** Passthrough tunnels open now (forward-proxy mode). */
  get tunnelCount(): number {
    return this.gateway?.tunnelCount ?? 0;
  }

  private connectGateway(): ConnectGateway {
    if (this.gateway === undefined) {
      const tunnels = this.tunnels!;
      const gateway = new ConnectGateway({
        config: () => this.current,
        hasCluster: (name) => tunnels.hasCluster(name),
        dial: (host, port, timeoutMs) => tunnels.dial(host, port, timeoutMs),
        serveHttp2: (socket) => this.h2.emit('connection', socket),
        serveTls: (socket, cluster) => {
          const server = this.tunnelServer(cluster);
          if (server !== undefined) server.emit('connection', socket);
          return server !== undefined;
        },
        logger: this.logger,
        name: this.name,
      });
      gateway.onTunnelClosed = () => this.checkDrained();
      if (this.closing) gateway.stopAccepting();
      this.gateway = gateway;
    }
    return this.gateway;
  }

  /**
   * The TLS server for tunnels to `cluster` (one per cluster, so the socket it hands over is
   * known to belong to that cluster); undefined without `connect.tls`.
   */
  private tunnelServer(cluster: string): tlsModule.Server | undefined {
    const cert = this.tunnelCert;
    if (cert === undefined) return undefined;
    let server = this.tunnelServers.get(cluster);
    if (server === undefined) {
      server = tlsModule.createServer({
        cert: cert.cert,
        key: cert.key,
        ALPNProtocols: ['h2'],
        handshakeTimeout: this.current.handshakeTimeoutMs,
      });
      server.on('secureConnection', (socket: tlsModule.TLSSocket) => {
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          return;
        }
        tagTunnelSocket(socket, cluster);
        this.h2.emit('connection', socket);
      });
      server.on('tlsClientError', (err: Error) => {
        this.logger.debug(
          { listener: this.name, cluster },
          `TLS inside a tunnel failed: ${describeError(err)}`,
        );
      });
      this.tunnelServers.set(cluster, server);
    }
    return server;
  }

  private checkDrained(): void {
    if (this.sessions.size === 0 && this.tunnelCount === 0) this.drained?.();
  }

  listen(): Promise<SocketAddress> {
    const { host, port } = this.current.address;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new SwitchyardError(
            'ERR_LISTEN',
            `listener "${this.name}" cannot listen on ${host}:${port}: ${describeError(err)}`,
            {
              cause: err,
            },
          ),
        );
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.removeListener('error', onError);
        this.server.on('error', (err) =>
          this.logger.error({ listener: this.name }, describeError(err)),
        );
        const a = this.server.address() as net.AddressInfo;
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  /** The bound address (with the real port when the config said 0). */
  address(): SocketAddress {
    if (!this.bound) throw new Error(`listener "${this.name}" is not listening`);
    return this.bound;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Stops accepting, sends GOAWAY to every client so they open no new streams, and resolves
   * once every session has closed, or after `graceMs`, when the rest are cut.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    this.gateway?.stopAccepting();
    if (this.sessions.size > 0 || this.tunnelCount > 0) {
      // These timers stay referenced: shutdown is waiting on them.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const session of this.sessions) session.destroy();
          this.gateway?.destroyTunnels();
          resolve();
        }, graceMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await closed;
  }

  private track(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    try {
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    } catch {
      // Destroyed already; 'close' follows.
    }
    session.once('close', () => {
      this.sessions.delete(session);
      this.checkDrained();
    });
    tagTunnelSession(session);
    session.on('error', () => {
      // 'close' follows; nothing a client does may crash the proxy.
    });
    if (this.closing) session.close();
    const idle = this.current.idleTimeoutMs;
    if (idle > 0) {
      session.setTimeout(idle, () => session.close());
    }
  }

  /**
   * h2c: look at the first bytes before handing the socket to HTTP/2, so an HTTP/1.x request
   * is answered in HTTP/1.1 rather than with a binary GOAWAY, and a silent client times out.
   */
  private sniff(socket: net.Socket): void {
    this.accepted++;
    const timer = setTimeout(() => socket.destroy(), this.current.handshakeTimeoutMs);
    timer.unref();
    socket.on('error', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) {
        socket.once('readable', onReadable);
        return;
      }
      const n = Math.min(chunk.length, PREFACE.length);
      if (chunk.compare(PREFACE, 0, n, 0, n) === 0) {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.unshift(chunk);
        this.h2.emit('connection', socket);
        return;
      }
      clearTimeout(timer);
      if (
        this.current.connect !== undefined &&
        this.tunnels !== undefined &&
        HTTP1_START.test(chunk.toString('latin1', 0, 1))
      ) {
        // Forward-proxy mode: the gateway reads the request head with its own deadline.
        socket.removeAllListeners('error');
        this.connectGateway().accept(socket, chunk);
      } else if (
        HTTP1_REQUEST_LINE.test(chunk.toString('latin1', 0, Math.min(chunk.length, 256)))
      ) {
        refuse(socket, http1Refusal('h2c, prior knowledge'));
      } else {
        socket.destroy();
      }
    };
    socket.once('readable', onReadable);
  }
}
