// One client connection (an HTTP/2 session on a listener) and how it ends when the proxy ends
// it: a liveness PING that finds clients, and sessions, that no longer answer, and closing
// with a deadline so a socket never outlives the proxy's decision to drop it.
import type http2 from 'node:http2';
import { handshakePending } from './handshake.js';
import { LivenessProbe, type LivenessSettings } from './liveness-probe.js';

/** Why the proxy closed a client connection (a metrics label). */
export type CloseReason = 'handshake_timeout' | 'unresponsive' | 'protocol_error';

export const CLOSE_REASONS: readonly CloseReason[] = [
  'handshake_timeout',
  'unresponsive',
  'protocol_error',
];

/** What a connection needs from its listener. */
export interface ConnectionHost {
  /** The listener's settings now (a reload may change them). */
  liveness(): LivenessSettings;
  readonly closeTimeoutMs: number;
  /** The proxy ended a connection, and why (metrics, logs). */
  connectionClosed(connection: ClientConnection, reason: CloseReason, detail: string): void;
}

export class ClientConnection {
  private readonly probe: LivenessProbe;
  private closeTimer: NodeJS.Timeout | undefined;
  /** Set once the proxy decided to end the connection. */
  closing = false;
  private readonly onPingAck: (err: Error | null) => void;

  constructor(
    readonly session: http2.ServerHttp2Session,
    private readonly host: ConnectionHost,
    now: number,
  ) {
    this.probe = new LivenessProbe(now);
    this.onPingAck = (err) => {
      if (err !== null || session.destroyed) return;
      this.probe.answered(performance.now(), session.socket.bytesRead);
    };
    session.once('close', () => clearTimeout(this.closeTimer));
  }

  /** One sweep of the listener's timer: PING a silent client, drop one that does not answer. */
  sweep(now: number): void {
    const session = this.session;
    // Draining sessions (GOAWAY sent) refuse PINGs; the handshake has its own deadline.
    if (this.closing || session.destroyed || session.closed) return;
    const socket = session.socket;
    if (handshakePending(socket)) return;
    const probe = this.probe;
    const queued = probe.waiting ? (session.state.outboundQueueSize ?? 0) : 0;
    const settings = this.host.liveness();
    switch (probe.tick(now, socket.bytesRead, socket.bytesWritten, queued, settings)) {
      case 'ping':
        try {
          session.ping(this.onPingAck);
        } catch {
          // Destroyed meanwhile: 'close' follows.
        }
        return;
      case 'unanswered':
        this.destroy('unresponsive', `no answer to a PING within ${settings.timeoutMs} ms`);
        return;
      case 'stuck':
        this.destroy(
          'unresponsive',
          `the connection took no frames for ${settings.stuckMs} ms (ended after a protocol error?)`,
        );
        return;
      default:
        return;
    }
  }

  /** Closes the socket now; its streams end, and their calls are cancelled upstream. */
  destroy(reason: CloseReason, detail: string): void {
    if (this.session.destroyed) return;
    this.closing = true;
    this.host.connectionClosed(this, reason, detail);
    this.session.destroy();
  }
}
