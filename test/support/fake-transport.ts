// A scripted upstream for unit tests: a dialer whose dials the test settles, and a transport
// whose connections and streams the test drives (SETTINGS, GOAWAY, resets, answers), all in
// memory and in the fake clock's time.
import { Duplex } from 'node:stream';
import type { Dialer } from '../../upstream/dialer.js';
import type { Endpoint } from '../../resolver/endpoint.js';
import type { HeaderFields } from '../../transport/header-fields.js';
import {
  StreamOutcome,
  type UpstreamConnectOptions,
  type UpstreamConnection,
  type UpstreamConnectionEvents,
  type UpstreamHandler,
  type UpstreamStream,
  type UpstreamTransport,
} from '../../transport/upstream.js';

/** A dial the test has not settled yet. */
export interface PendingDial {
  readonly endpoint: Endpoint;
  succeed(): void;
  fail(error: Error): void;
}

/** Dials that wait for the test: `dials` lists them in order. */
export class FakeDialer implements Dialer {
  readonly scheme = 'http' as const;
  readonly dials: PendingDial[] = [];

  dial(endpoint: Endpoint): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.dials.push({
        endpoint,
        succeed: () =>
          resolve(
            new Duplex({
              read() {},
              write(_c, _e, cb) {
                cb();
              },
            }),
          ),
        fail: reject,
      });
    });
  }

  /** The oldest unsettled dial; throws when there is none. */
  next(): PendingDial {
    const dial = this.dials.shift();
    if (dial === undefined) throw new Error('no dial pending');
    return dial;
  }
}

export class FakeTransport implements UpstreamTransport {
  readonly connections: FakeConnection[] = [];

  connect(
    _socket: Duplex,
    options: UpstreamConnectOptions,
    events: UpstreamConnectionEvents,
  ): FakeConnection {
    const c = new FakeConnection(options, events);
    this.connections.push(c);
    return c;
  }

  /** The connection made last. */
  get last(): FakeConnection {
    const c = this.connections.at(-1);
    if (c === undefined) throw new Error('no connection made');
    return c;
  }
}

export class FakeConnection implements UpstreamConnection {
  activeStreams = 0;
  maxStreams = 100;
  maxHeaderListSize = Infinity;
  closing = false;
  destroyed = false;
  /** PINGs sent and not yet answered. */
  readonly pings: (() => void)[] = [];
  readonly streams: FakeStream[] = [];
  /** Bytes "received", for the liveness monitor; a test bumps it to look alive. */
  received = 0;
  /** Bytes "written": each PING counts its 17 octets, so a monitor sees it leave. */
  sent = 0;
  /** The next openStream answers this instead of opening a stream. */
  refuseNext: Error | null | undefined = undefined;

  constructor(
    readonly options: UpstreamConnectOptions,
    private readonly events: UpstreamConnectionEvents,
  ) {}

  // Driven by the test.

  /** The peer's SETTINGS. */
  settings(maxConcurrentStreams = 100, maxHeaderListSize = Infinity): void {
    this.maxStreams = maxConcurrentStreams;
    this.maxHeaderListSize = maxHeaderListSize;
    this.events.settings(this, { maxConcurrentStreams, maxHeaderListSize });
  }

  goaway(code: number, data?: string): void {
    this.events.goaway(this, code, data === undefined ? undefined : Buffer.from(data, 'latin1'));
  }

  error(error: Error, source: 'session' | 'socket', protocol = false): void {
    this.events.error(this, error, source, protocol);
  }

  /** The connection goes away: open streams end as lost. */
  drop(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closing = true;
    for (const s of [...this.streams]) if (s.open) s.finish(StreamOutcome.LOST, 2);
    this.events.closed(this);
  }

  // UpstreamConnection

  openStream(headers: HeaderFields, handler: UpstreamHandler): UpstreamStream | Error | null {
    if (this.refuseNext !== undefined) {
      const answer = this.refuseNext;
      this.refuseNext = undefined;
      return answer;
    }
    if (this.closing) return null;
    const stream = new FakeStream(this, headers, handler);
    this.streams.push(stream);
    this.activeStreams++;
    return stream;
  }

  ping(onAck: () => void): boolean {
    if (this.closing) return false;
    this.sent += 17;
    this.pings.push(onAck);
    return true;
  }

  bytesRead(): number {
    return this.received;
  }

  bytesWritten(): number {
    return this.sent;
  }

  writePending(): boolean {
    return false;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.activeStreams === 0) queueMicrotask(() => this.drop());
  }

  destroy(): void {
    this.drop();
  }

  /** @internal */
  streamEnded(stream: FakeStream): void {
    const i = this.streams.indexOf(stream);
    if (i >= 0) this.streams.splice(i, 1);
    this.activeStreams--;
    if (this.activeStreams === 0) {
      this.events.idle(this);
      if (this.closing && !this.destroyed) this.drop();
    }
  }
}

export class FakeStream implements UpstreamStream {
  readonly written: Buffer[] = [];
  ended = false;
  paused = false;
  bufferedBytes = 0;
  open = true;
  cancelled = false;
  discarding = false;

  constructor(
    readonly connection: FakeConnection,
    readonly headers: HeaderFields,
    private readonly handler: UpstreamHandler,
  ) {}

  // Driven by the test.

  respond(fields: HeaderFields = [':status', '200', 'content-type', 'application/grpc']): void {
    this.handler.onHeaders(this, fields, false);
  }

  data(chunk: Buffer): void {
    if (!this.discarding) this.handler.onData(this, chunk);
  }

  /** Trailers with `grpc-status`, then END_STREAM and close. */
  trailers(status = 0): void {
    this.handler.onTrailers(this, ['grpc-status', String(status)]);
    this.handler.onEnd(this);
    this.finish(StreamOutcome.COMPLETE, 0);
  }

  /** A trailers-only answer: one HEADERS frame with the status and END_STREAM, then close. */
  trailersOnly(status: number, extra: HeaderFields = []): void {
    const fields = [':status', '200', 'content-type', 'application/grpc', 'grpc-status'];
    this.handler.onHeaders(this, [...fields, String(status), ...extra], true);
    this.handler.onEnd(this);
    this.finish(StreamOutcome.COMPLETE, 0);
  }

  /** RST_STREAM from the peer. */
  reset(code: number): void {
    this.finish(code === 7 ? StreamOutcome.REFUSED : StreamOutcome.RESET, code);
  }

  finish(outcome: StreamOutcome, code: number, error?: Error): void {
    if (!this.open) return;
    this.open = false;
    this.connection.streamEnded(this);
    this.handler.onClose(this, outcome, code, error);
  }

  // UpstreamStream

  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** As with node:http2, the close the reset causes is reported later, never from here. */
  cancel(): void {
    if (!this.open) return;
    this.cancelled = true;
    this.open = false;
    queueMicrotask(() => {
      this.connection.streamEnded(this);
      this.handler.onClose(this, StreamOutcome.RESET, 8, undefined);
    });
  }

  discard(): void {
    this.discarding = true;
  }
}
