// Forward-proxy mode of a listener: reads `CONNECT host:port`, serves a tunnel to a cluster as
// HTTP/2 (h2c, or TLS with the configured certificate) whose calls are balanced over the
// cluster, tunnels allowed targets as raw bytes, and refuses the rest, all within time limits.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { ConnectConfig, ListenerConfig } from '../config/types.js';
import { HostPatternList } from '../common/host-patterns.js';
import {
  CONNECT_ESTABLISHED,
  MAX_HEAD_BYTES,
  connectRefusal,
  headEnd,
  parseConnectHead,
  type ConnectTarget,
} from './connect-request.js';
import { describeError } from '../common/errors.js';
import { armHandshake, disarmHandshake, matchPreface, readBuffered } from '../common/handshake.js';
import type { Logger } from '../common/log.js';
import { ProxyCredentials } from './proxy-auth.js';

/** The first byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;

/** What the gateway needs from its listener and the proxy. */
export interface ConnectHost {
  /** The listener's config in force (its `connect` block may change on reload). */
  config(): ListenerConfig;
  /** Whether a cluster of that name exists now. */
  hasCluster(name: string): boolean;
  /** A raw connection to `host:port` for a passthrough tunnel (through an upstream proxy if one applies). */
  dial(host: string, port: number, timeoutMs: number): Promise<Duplex>;
  /** Serves a socket that speaks HTTP/2 from its first byte; its calls go to `cluster`. */
  serveHttp2(socket: Duplex, cluster: string): void;
  /**
   * Runs the TLS handshake inside a tunnel (with `connect.tls`, ALPN h2, the handshake timeout)
   * and serves HTTP/2 on it, pinned to `cluster`. False when no tunnel certificate is set.
   */
  serveTls(socket: Duplex, cluster: string): boolean;
  readonly logger: Logger;
  readonly name: string;
}

/** Patterns parsed once per config object (a reload brings a new one). */
const passthroughCache = new WeakMap<ConnectConfig, HostPatternList>();
/** Credential digests made once per config object, likewise. */
const credentialsCache = new WeakMap<ConnectConfig, ProxyCredentials>();

function credentialsOf(config: ConnectConfig): ProxyCredentials {
  let credentials = credentialsCache.get(config);
  if (credentials === undefined) {
    credentials = new ProxyCredentials(config.users);
    credentialsCache.set(config, credentials);
  }
  return credentials;
}

function passthroughOf(config: ConnectConfig): HostPatternList {
  let list = passthroughCache.get(config);
  if (list === undefined) {
    list = HostPatternList.of(config.passthrough);
    passthroughCache.set(config, list);
  }
  return list;
}

/** The cluster a CONNECT target maps to: `host:port`, then `host`, then a cluster's own name. */
export function clusterForTarget(
  config: ConnectConfig,
  target: ConnectTarget,
  hasCluster: (name: string) => boolean,
): string | undefined {
  const mapped = config.clusters[target.authority] ?? config.clusters[target.host];
  if (mapped !== undefined) return mapped;
  if (hasCluster(target.rawHost)) return target.rawHost;
  return hasCluster(target.host) ? target.host : undefined;
}

/**
 * Handles the connections of one listener that did not start with the HTTP/2 preface. Every
 * stage has a deadline (the listener's handshake timeout): the request head, and the first
 * bytes of HTTP/2 (or the TLS handshake) inside a tunnel. After `close()` nothing is accepted
 * and every socket it holds is destroyed.
 */
export class ConnectGateway {
  /** Sockets still in the handshake (head, preface, TLS). */
  private readonly pending = new Set<Duplex>();
  /** Open passthrough tunnels: client socket → upstream socket. */
  private readonly tunnels = new Map<Duplex, Duplex>();
  private closed = false;
  /**
   * CONNECT requests answered, by outcome: `cluster` (an HTTP/2 tunnel to a cluster),
   * `passthrough` (a byte tunnel), or the status of the refusal (`403`, `407`, …); for metrics.
   */
  readonly answered = new Map<string, number>();
  /** Called whenever a passthrough tunnel closes (the listener waits for them at shutdown). */
  onTunnelClosed: (() => void) | undefined;

  constructor(private readonly host: ConnectHost) {}

  /** Passthrough tunnels open now. */
  get tunnelCount(): number {
    return this.tunnels.size;
  }

  /** Takes a socket whose first bytes (`first`, already read) are not the HTTP/2 preface. */
  accept(socket: Socket | tls.TLSSocket, first: Buffer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    socket.on('error', () => {});
    const timeoutMs = this.host.config().handshakeTimeoutMs;
    let buffered = first;
    const finish = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
    };
    const timer = setTimeout(() => {
      finish();
      this.refuse(socket, 408, `no complete CONNECT request within ${timeoutMs} ms`);
    }, timeoutMs);
    timer.unref();
    socket.once('close', () => {
      finish();
      this.pending.delete(socket);
    });
    /** True once the head is complete (or refused). */
    const examine = (): boolean => {
      const end = headEnd(buffered);
      if (end < 0 || end > MAX_HEAD_BYTES) {
        if (end < 0 && buffered.length <= MAX_HEAD_BYTES) return false;
        finish();
        this.refuse(socket, 431, `the request head is larger than ${MAX_HEAD_BYTES} bytes`);
        return true;
      }
      finish();
      socket.pause();
      // Bytes after the head belong to the tunnel (a client may send before the 200).
      if (end < buffered.length) socket.unshift(buffered.subarray(end));
      this.handleHead(socket, buffered.toString('latin1', 0, end));
      return true;
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      examine();
    };
    if (!examine()) socket.on('data', onData);
  }

  /** Refuses new tunnels and destroys the sockets still in the handshake. */
  stopAccepting(): void {
    this.closed = true;
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
  }

  /** Cuts every passthrough tunnel. */
  destroyTunnels(): void {
    for (const [client, upstream] of this.tunnels) {
      client.destroy();
      upstream.destroy();
    }
  }

  private handleHead(socket: Socket | tls.TLSSocket, head: string): void {
    const parsed = parseConnectHead(head);
    if (!parsed.ok) {
      this.refuse(socket, parsed.status, parsed.reason);
      return;
    }
    const { target } = parsed;
    const config = this.host.config().connect;
    if (config === undefined) {
      // The listener left forward-proxy mode by a reload while this request was read.
      this.refuse(socket, 403, 'this listener no longer accepts CONNECT');
      return;
    }
    const credentials = credentialsOf(config);
    if (credentials.required) {
      const verdict = credentials.check(parsed.headers.get('proxy-authorization'));
      if (!verdict.ok) {
        this.host.logger.debug(
          { listener: this.host.name, target: target.authority },
          `CONNECT refused: ${verdict.reason}`,
        );
        this.refuse(socket, 407, verdict.reason);
        return;
      }
    }
    const cluster = clusterForTarget(config, target, (n) => this.host.hasCluster(n));
    if (cluster !== undefined) {
      this.count('cluster');
      socket.write(CONNECT_ESTABLISHED);
      this.awaitHttp2(socket, cluster, target);
      return;
    }
    const candidate = { names: [target.host], address: undefined, port: target.port };
    if (passthroughOf(config).matches(candidate)) {
      void this.passthrough(socket, target, config.idleTimeoutMs);
      return;
    }
    this.host.logger.debug(
      { listener: this.host.name, target: target.authority },
      'CONNECT refused: no cluster and not in passthrough',
    );
    this.refuse(
      socket,
      403,
      `CONNECT to ${target.authority} is not allowed: it names no cluster and is not in passthrough`,
    );
  }

  /**
   * After the 200: the client must start HTTP/2 (the preface) or, when a tunnel certificate is
   * configured, a TLS handshake negotiating h2, within the handshake timeout.
   */
  private awaitHttp2(socket: Socket | tls.TLSSocket, cluster: string, target: ConnectTarget): void {
    // The same deadline runs on, through the preface, until the session has SETTINGS.
    armHandshake(socket, this.host.config().handshakeTimeoutMs);
    let seen: Buffer = Buffer.alloc(0);
    const onReadable = () => {
      seen = readBuffered(socket, seen);
      const match = matchPreface(seen);
      if (match === 'partial') {
        socket.once('readable', onReadable);
        return;
      }
      socket.unshift(seen);
      if (match === 'preface') {
        this.serve(socket, cluster);
        return;
      }
      disarmHandshake(socket);
      if (seen[0] === TLS_HANDSHAKE && this.host.serveTls(socket, cluster)) {
        // The TLS server owns the socket now, with its own handshake timeout.
        this.pending.delete(socket);
        return;
      }
      this.host.logger.debug(
        { listener: this.host.name, target: target.authority },
        seen[0] === TLS_HANDSHAKE
          ? 'tunnel closed: the client speaks TLS and connect.tls is not set'
          : 'tunnel closed: the client did not start HTTP/2',
      );
      socket.destroy();
    };
    socket.once('readable', onReadable);
  }

  private serve(socket: Duplex, cluster: string): void {
    this.pending.delete(socket);
    socket.removeAllListeners('error');
    this.host.serveHttp2(socket, cluster);
  }

  /** Tunnels the bytes as they are, to an allowed target. */
  private async passthrough(
    client: Socket | tls.TLSSocket,
    target: ConnectTarget,
    idleTimeoutMs: number,
  ): Promise<void> {
    const timeoutMs = this.host.config().handshakeTimeoutMs;
    let upstream: Duplex;
    try {
      upstream = await this.host.dial(target.host, target.port, timeoutMs);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const timedOut = code === 'SWY_ERR_CONNECT_TIMEOUT';
      this.refuse(
        client,
        timedOut ? 504 : 502,
        `cannot connect to ${target.authority}: ${describeError(err)}`,
      );
      return;
    }
    if (client.destroyed || this.closed) {
      upstream.destroy();
      client.destroy();
      return;
    }
    this.pending.delete(client);
    this.tunnels.set(client, upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      if (this.tunnels.delete(client)) this.onTunnelClosed?.();
    };
    upstream.on('error', end);
    client.on('error', end);
    upstream.once('close', end);
    client.once('close', end);
    if (idleTimeoutMs > 0) {
      // Activity either way counts on both sockets (one reads what the other writes).
      const socket = upstream as Partial<Socket>;
      client.setTimeout(idleTimeoutMs, end);
      socket.setTimeout?.(idleTimeoutMs, end);
    }
    this.count('passthrough');
    client.write(CONNECT_ESTABLISHED);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  private count(outcome: string): void {
    this.answered.set(outcome, (this.answered.get(outcome) ?? 0) + 1);
  }

  private refuse(socket: Duplex, status: number, reason: string): void {
    this.count(String(status));
    this.pending.delete(socket);
    if (socket.destroyed) return;
    socket.on('error', () => {});
    socket.end(connectRefusal(status, reason), () => socket.destroy());
  }
}
