// Client-facing listeners: h2c with prior knowledge (sniffed, so HTTP/1.1 gets a clear answer,
// or, in forward-proxy mode, CONNECT is served) and TLS with ALPN h2. Tracks client sessions
// for graceful shutdown.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tlsModule from 'node:tls';
import type { ListenerConfig, ResetLimitConfig, SocketAddress } from '../config/types.js';
import {
  CLOSE_REASONS,
  ClientConnection,
  STREAM_RESET_REASONS,
  type CloseReason,
  type ConnectionHost,
  type StreamResetReason,
} from './client-connection.js';
import { ConnectGateway } from '../forward-proxy/connect-listener.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../upstream/flow-control.js';
import {
  armHandshake,
  disarmHandshake,
  handshakePending,
  matchPreface,
  readBuffered,
} from '../common/handshake.js';
import type { LivenessSettings } from './liveness-probe.js';
import { certificateNotAfter, secureContextOptions, type TlsMaterial } from './listener-tls.js';
import type { Logger } from '../common/log.js';
import { verifiedPeerIdentity } from '../common/peer-identity.js';
import { ConnectionErrorReason, type H2ConnectionError } from '../h2/connection/index.js';
import type { ConnectionInfo, DownstreamStream, TlsInfo } from '../transport/downstream.js';
import type { HeaderFields } from '../transport/header-fields.js';
import { H2DownstreamConnection, type H2DownstreamOptions } from '../transport/h2/downstream.js';
import type { Gateway } from '../gateway/gateway.js';

/** What a listener hands each request: the stream, its header fields, and its connection. */
export type StreamHandler = (
  stream: DownstreamStream,
  /** The fields as they came, [name, value, …], a repeated name kept apart. */
  fields: HeaderFields,
  /** Their size as SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
  headerBytes: number,
  connection: ClientConnection,
) => void;

export type { TlsMaterial } from './listener-tls.js';

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

/** GOAWAY code NO_ERROR: a graceful close. */
const NO_ERROR = 0;

const HTTP1_REQUEST_LINE = /^[A-Z]{3,10} \S+ HTTP\/1\.[01]\r?\n/;
/** Enough of a request line to hand it to the gateway (its target may be any length). */
const HTTP1_METHOD_AND_TARGET = /^[A-Z]{3,10} [^ \r\n]/;
/** How an HTTP/1.x request starts: a method token (upper-case letters). */
const HTTP1_START = /^[A-Z]/;
/** How much of a request line is read to recognise HTTP/1.x. */
const HTTP1_SNIFF_BYTES = 256;

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

/**
 * The client connection's HTTP/2 settings and limits. Its own rapid-reset limit sits above the
 * listener's (twice, and at least nghttp2's 1,000 then 33/s), so the listener's graceful answer
 * comes first; the handshake deadline is the listener's own (armHandshake), from accept.
 */
function connectionOptions(config: ListenerConfig): H2DownstreamOptions {
  return {
    maxConcurrentStreams: config.maxConcurrentStreams,
    streamWindow: STREAM_WINDOW_BYTES,
    connectionWindow: CONNECTION_WINDOW_BYTES,
    handshakeTimeoutMs: 2 * config.handshakeTimeoutMs + 1_000,
    resetLimit: {
      burst: Math.max(1_000, 2 * config.resetLimit.burst),
      ratePerSecond: Math.max(33, 2 * config.resetLimit.rate),
    },
  };
}

/** What a client connection is, read once from its socket. */
function connectionInfo(
  listener: string,
  socket: Duplex,
  tunnelCluster: string | undefined,
): ConnectionInfo {
  const s = socket as Partial<net.Socket>;
  const address = s.remoteAddress;
  const peer =
    address === undefined
      ? ''
      : address.includes(':')
        ? `[${address}]:${s.remotePort ?? 0}`
        : `${address}:${s.remotePort ?? 0}`;
  let tls: TlsInfo | undefined;
  if (socket instanceof tlsModule.TLSSocket) {
    tls = {
      alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : '',
      authorized: socket.authorized,
      identity: verifiedPeerIdentity(socket),
    };
  }
  return { listener, peer, tls, tunnelCluster };
}

/** The sweep that PINGs silent clients runs this often, at most (and at least every 1 s). */
function sweepInterval(config: ListenerConfig): number {
  const finest = Math.min(
    config.pingAfterSilenceMs > 0 ? config.pingAfterSilenceMs : Infinity,
    config.pingTimeoutMs,
    config.closeTimeoutMs,
    config.stalledStreamTimeoutMs > 0 ? config.stalledStreamTimeoutMs : Infinity,
  );
  return Math.max(50, Math.min(1_000, Math.floor(finest / 4)));
}

const NO_ANSWERS: ReadonlyMap<string, number> = new Map();

export class Listener implements ConnectionHost {
  readonly name: string;
  /** The socket server: a plain net.Server in front of h2c, the TLS server itself otherwise. */
  private readonly server: net.Server;
  private readonly connections = new Set<ClientConnection>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private liveSettings: LivenessSettings;
  private bound: SocketAddress | undefined;
  private closing = false;
  /** Client connections accepted since start, for metrics. */
  accepted = 0;
  /** Client connections the proxy ended, by reason, for metrics. */
  readonly closed: Record<CloseReason, number> = Object.fromEntries(
    CLOSE_REASONS.map((r) => [r, 0]),
  ) as Record<CloseReason, number>;
  /**
   * Connection errors the proxy answered with GOAWAY, by h2/ reason (`settings-flood`,
   * `header-block-too-large`, `flow-control`, …), for metrics.
   */
  readonly connectionErrors = new Map<string, number>();
  /** Streams clients reset while the proxy served them, for metrics. */
  clientResets = 0;
  /** Client streams the proxy reset, by reason, for metrics. */
  readonly resets: Record<StreamResetReason, number> = Object.fromEntries(
    STREAM_RESET_REASONS.map((r) => [r, 0]),
  ) as Record<StreamResetReason, number>;
  /** When the listener's certificate expires (ms since the epoch); undefined for h2c. */
  certificateNotAfter: number | undefined;
  /** Called when the last session (or passthrough tunnel) closes during shutdown. */
  private drained: (() => void) | undefined;

  private current: ListenerConfig;
  /** Forward-proxy mode (CONNECT); made on first use. */
  private gateway: ConnectGateway | undefined;
  /** The REST/JSON gateway, when the listener has `gateway: { rest: true }`. */
  httpGateway: Gateway | undefined;
  /** The certificate for TLS inside tunnels (`connect.tls`). */
  private tunnelCert: ListenerMaterial['tunnel'];
  /** One TLS server per cluster for TLS inside tunnels; never listens, takes sockets. */
  private tunnelServers = new Map<string, tlsModule.Server>();

  constructor(
    config: ListenerConfig,
    material: ListenerMaterial | undefined,
    private readonly handler: StreamHandler,
    private readonly logger: Logger,
    private readonly tunnels?: TunnelServices,
  ) {
    this.current = config;
    this.liveSettings = livenessOf(config);
    this.name = config.name;
    const tls = material?.tls;
    this.tunnelCert = material?.tunnel;
    this.certificateNotAfter = tls && certificateNotAfter(tls.cert);
    if (tls && config.tls) {
      const server = tlsModule.createServer({
        ...secureContextOptions(config.tls, tls),
        // As on the h2c listener: with Nagle's algorithm a response written while the client's
        // ACK of the last one is delayed waits for it (about 40 ms at 1 × 1).
        noDelay: true,
        requestCert: tls.ca !== undefined,
        rejectUnauthorized: config.tls?.requireClientCert ?? false,
        // http/1.1 is offered only so such clients hear why they are refused.
        ALPNProtocols: ['h2', 'http/1.1'],
        handshakeTimeout: config.handshakeTimeoutMs,
      });
      server.on('secureConnection', (socket: tlsModule.TLSSocket) => {
        this.accepted++;
        if (socket.alpnProtocol === 'h2') {
          this.serveHttp2(socket, undefined);
        } else if (this.httpGateway !== undefined) {
          // REST/JSON gateway hook: HTTP/1.1 over TLS.
          this.httpGateway.acceptHttp1(socket);
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
    this.liveSettings = livenessOf(next);
    if (this.sweepTimer !== undefined) {
      this.stopSweep();
      this.startSweep();
    }
    const tls = material?.tls;
    if (tls && next.tls && this.server instanceof tlsModule.Server) {
      this.server.setSecureContext(secureContextOptions(next.tls, tls));
      this.certificateNotAfter = certificateNotAfter(tls.cert);
    }
    this.tunnelCert = material?.tunnel;
    // New tunnels use the new certificate; those already open keep theirs.
    this.tunnelServers = new Map();
  }

  /** Passthrough tunnels open now (forward-proxy mode). */
  get tunnelCount(): number {
    return this.gateway?.tunnelCount ?? 0;
  }

  /** CONNECT requests answered in forward-proxy mode, by outcome (see ConnectGateway). */
  get connectAnswers(): ReadonlyMap<string, number> {
    return this.gateway?.answered ?? NO_ANSWERS;
  }

  private connectGateway(): ConnectGateway {
    if (this.gateway === undefined) {
      const tunnels = this.tunnels!;
      const gateway = new ConnectGateway({
        config: () => this.current,
        hasCluster: (name) => tunnels.hasCluster(name),
        dial: (host, port, timeoutMs) => tunnels.dial(host, port, timeoutMs),
        serveHttp2: (socket, cluster) => this.serveHttp2(socket, cluster),
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
        noDelay: true,
        ALPNProtocols: ['h2'],
        handshakeTimeout: this.current.handshakeTimeoutMs,
      });
      server.on('secureConnection', (socket: tlsModule.TLSSocket) => {
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          return;
        }
        this.serveHttp2(socket, cluster);
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
    if (this.connections.size === 0 && this.tunnelCount === 0) this.drained?.();
  }

  listen(): Promise<SocketAddress> {
    const { host, port } = this.current.address;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new SwitchyardError(
            'SWY_ERR_LISTEN',
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
    return this.connections.size;
  }

  // ConnectionHost

  liveness(): LivenessSettings {
    return this.liveSettings;
  }

  get stalledStreamTimeoutMs(): number {
    return this.current.stalledStreamTimeoutMs;
  }

  get connectionBufferLimit(): number {
    return this.current.connectionBufferLimit;
  }

  streamReset(reason: StreamResetReason): void {
    this.resets[reason]++;
  }

  get resetLimit(): ResetLimitConfig {
    return this.current.resetLimit;
  }

  clientReset(): void {
    this.clientResets++;
  }

  connectionClosed(_connection: ClientConnection, reason: CloseReason, detail: string): void {
    this.closed[reason]++;
    this.logger.debug({ listener: this.name, reason }, `client connection closed: ${detail}`);
  }

  /**
   * Stops accepting, sends GOAWAY to every client so they open no new streams, and resolves
   * once every session has closed, or after `graceMs`, when the rest are cut.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.connection.drain(NO_ERROR);
    this.gateway?.stopAccepting();
    if (this.connections.size > 0 || this.tunnelCount > 0) {
      // These timers stay referenced: shutdown is waiting on them.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          // Calls still running end with UNAVAILABLE saying why (a client may retry them
          // elsewhere); the sockets close once that is sent, or after the close timeout.
          const message = `switchyard is shutting down: the call did not end within the shutdown grace of ${graceMs} ms`;
          for (const c of this.connections) c.abandonCalls(message);
          this.gateway?.destroyTunnels();
          const cut = setTimeout(() => {
            for (const c of this.connections) c.connection.destroy();
            resolve();
          }, this.current.closeTimeoutMs);
          this.drained = () => {
            clearTimeout(cut);
            resolve();
          };
          this.checkDrained();
        }, graceMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await closed;
  }

  /**
   * Serves HTTP/2 on a socket that speaks it (the h2c preface seen, or ALPN h2). The handshake
   * deadline runs on (or starts, after TLS) until the client's first SETTINGS.
   * `tunnelCluster`: the socket came through a CONNECT tunnel to that cluster.
   */
  private serveHttp2(socket: Duplex, tunnelCluster: string | undefined): void {
    if (!handshakePending(socket)) this.startHandshakeDeadline(socket);
    const config = this.current;
    const info = connectionInfo(this.name, socket, tunnelCluster);
    let watch: ClientConnection | undefined = undefined;
    const connection = new H2DownstreamConnection(
      socket,
      info,
      connectionOptions(config),
      (stream, fields, headerBytes) => {
        // REST/JSON gateway hook: requests that are not gRPC go to gateway/ (gateway.ts).
        const gateway = this.httpGateway;
        if (gateway !== undefined && gateway.wantsFields(fields)) {
          gateway.handleDownstream(stream, fields);
        } else {
          this.handler(stream, fields, headerBytes, watch!);
        }
      },
      {
        handshakeDone: () => disarmHandshake(socket),
        closed: (_connection, error) => this.connectionGone(watch!, error),
      },
    );
    watch = new ClientConnection(connection, this, performance.now());
    this.connections.add(watch);
    if (this.sweepTimer === undefined) this.startSweep();
    if (this.closing) connection.drain(NO_ERROR);
    const idle = config.idleTimeoutMs;
    if (idle > 0 && typeof (socket as Partial<net.Socket>).setTimeout === 'function') {
      // No bytes either way for this long: GOAWAY, and the socket closes after the last stream.
      (socket as net.Socket).setTimeout(idle, () => connection.drain(NO_ERROR));
    }
  }

  private startHandshakeDeadline(socket: Duplex): void {
    armHandshake(socket, this.current.handshakeTimeoutMs, () => {
      this.closed.handshake_timeout++;
      socket.destroy();
    });
  }

  /** A client connection closed: its books, and why, when the proxy ended it for an error. */
  private connectionGone(watch: ClientConnection, error: H2ConnectionError | null): void {
    watch.gone = true;
    this.connections.delete(watch);
    if (this.connections.size === 0) this.stopSweep();
    if (error !== null && !error.remote) {
      this.connectionErrors.set(error.reason, (this.connectionErrors.get(error.reason) ?? 0) + 1);
    }
    if (error !== null && !error.remote && !watch.closing) {
      // The client broke the protocol or flooded us: the connection answered GOAWAY with the
      // error's code (RFC 9113 §5.4.1).
      const reason: CloseReason =
        error.reason === ConnectionErrorReason.HANDSHAKE_TIMEOUT
          ? 'handshake_timeout'
          : error.reason === ConnectionErrorReason.RAPID_RESET
            ? 'rapid_reset'
            : 'protocol_error';
      this.connectionClosed(watch, reason, error.message);
    }
    this.checkDrained();
  }

  /**
   * h2c: look at the first bytes before handing the socket to HTTP/2, so an HTTP/1.x request
   * is answered in HTTP/1.1 rather than with a binary GOAWAY. The handshake deadline runs
   * from accept: a client that sends the preface a byte at a time, stops half-way, or never
   * follows it with SETTINGS is closed when it expires.
   */
  private startSweep(): void {
    this.sweepTimer = setInterval(() => {
      const now = performance.now();
      for (const c of this.connections) c.sweep(now);
    }, sweepInterval(this.current));
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private sniff(socket: net.Socket): void {
    this.accepted++;
    this.startHandshakeDeadline(socket);
    socket.on('error', () => disarmHandshake(socket));
    let seen: Buffer = Buffer.alloc(0);
    const onReadable = () => {
      seen = readBuffered(socket, seen);
      const match = matchPreface(seen);
      if (match === 'preface') {
        socket.removeAllListeners('error');
        socket.unshift(seen);
        // The deadline keeps running until the connection has the client's SETTINGS.
        this.serveHttp2(socket, undefined);
        return;
      }
      if (match === 'partial') {
        socket.once('readable', onReadable);
        return;
      }
      const head = seen.toString('latin1', 0, Math.min(seen.length, HTTP1_SNIFF_BYTES));
      if (
        this.current.connect !== undefined &&
        this.tunnels !== undefined &&
        HTTP1_START.test(head)
      ) {
        // Forward-proxy mode: the gateway reads the request head with its own deadline.
        disarmHandshake(socket);
        socket.removeAllListeners('error');
        this.connectGateway().accept(socket, seen);
        return;
      }
      if (this.httpGateway !== undefined && HTTP1_METHOD_AND_TARGET.test(head)) {
        // REST/JSON gateway hook: HTTP/1.x requests go to gateway/ instead of a 505.
        disarmHandshake(socket);
        socket.removeAllListeners('error');
        socket.unshift(seen);
        this.httpGateway.acceptHttp1(socket);
        return;
      }
      const line = HTTP1_REQUEST_LINE.test(head);
      if (
        !line &&
        HTTP1_START.test(head) &&
        !head.includes('\n') &&
        seen.length < HTTP1_SNIFF_BYTES
      ) {
        // Perhaps a request line still arriving: wait for the rest (the deadline still runs).
        socket.once('readable', onReadable);
        return;
      }
      disarmHandshake(socket);
      if (line) refuse(socket, http1Refusal('h2c, prior knowledge'));
      else socket.destroy();
    };
    socket.once('readable', onReadable);
  }
}

function livenessOf(config: ListenerConfig): LivenessSettings {
  return {
    silenceMs: config.pingAfterSilenceMs,
    timeoutMs: config.pingTimeoutMs,
    stuckMs: config.closeTimeoutMs,
  };
}
