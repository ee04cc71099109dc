// One proxied gRPC call, on the client's side: wires the client's stream (the downstream seam,
// transport/downstream.ts) to the call's upstream half (upstream-call.ts), with backpressure
// both ways, and answers the client with the upstream's headers, data and trailers or a
// status that says what went wrong. Frames pass through undecoded.
import {
  type BlockedStream,
  type ClientConnection,
  type ConnectionCall,
  type StreamResetReason,
} from './client-connection.js';
import { Status } from '../grpc/grpc-status.js';
import type { DownstreamHandler, DownstreamStream } from '../transport/downstream.js';
import type { HeaderFields } from '../transport/header-fields.js';
import type { PeerIdentity } from '../common/peer-identity.js';
import {
  UpstreamCall,
  statusResponse,
  statusTrailers,
  type UpstreamCallContext,
} from './upstream-call.js';
import type { CallObserver, CallRecord } from './call-record.js';
import type { FilterCall } from '../filter/filter-call.js';
import type { Filter } from '../filter/filter.js';
import { FieldMetadata } from '../filter/field-metadata.js';

export type { CallObserver, CallRecord } from './call-record.js';

/** RST_STREAM code ENHANCE_YOUR_CALM (RFC 9113 §7). */
const ENHANCE_YOUR_CALM = 0xb;

/** Everything a call needs from the proxy that is the same for every call of a route. */
export interface CallContext extends UpstreamCallContext {
  /** The route that matched, for metrics and logs. */
  readonly routeName: string;
  readonly observer: CallObserver;
  /** The route's filters; undefined when it has none (the call path then skips them). */
  readonly filters: readonly Filter[] | undefined;
}

/** The grpc-status a header block carries; UNKNOWN (2) when it has none. */
function statusOf(fields: HeaderFields): number {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'grpc-status') return Number(fields[i + 1]);
  }
  return Status.UNKNOWN;
}

export class ProxyCall
  extends UpstreamCall
  implements BlockedStream, ConnectionCall, CallRecord, DownstreamHandler
{
  /** The client connection, which resets streams whose client is too far behind. */
  private readonly connection: ClientConnection | undefined;
  /** Whether the client is behind (its connection watches the call meanwhile). */
  private blocked = false;
  /** BlockedStream fields, kept by the connection. */
  progressAt = 0;
  lastUnsent = -1;
  /** ConnectionCall: neighbours on the connection's list of calls. */
  prevCall: ConnectionCall | null = null;
  nextCall: ConnectionCall | null = null;

  constructor(
    readonly downstream: DownstreamStream,
    /** The client connection's watch (liveness, stalled streams, reset limit). */
    connection: ClientConnection | undefined,
    /** The client's request header fields; edited in place into the upstream request. */
    fields: HeaderFields,
    path: string,
    readonly context: CallContext,
    /** Milliseconds until the deadline, or undefined for none. */
    timeoutMs: number | undefined,
    /** The request headers' size as a peer's SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
    headerBytes: number,
    /** The call's filters, whose request hooks have run; null for a route without any. */
    private readonly filterCall: FilterCall | null = null,
  ) {
    super(fields, path, context, timeoutMs, headerBytes);
    this.connection = connection;
    connection?.addCall(this);
    downstream.attach(this);
  }

  start(): void {
    this.context.observer.callStarted(this);
    this.begin();
  }

  /** CallRecord: the client's address. */
  peer(): string {
    return this.downstream.info.peer;
  }

  /** CallRecord: the verified client certificate's identity, read once per connection. */
  peerIdentity(): PeerIdentity | undefined {
    return this.downstream.info.tls?.identity;
  }

  /** CallRecord: the listener the call came in on. */
  listener(): string {
    return this.downstream.info.listener;
  }

  // UpstreamCall's client side

  protected startRequest(): void {
    this.downstream.resume();
  }

  protected pauseRequest(): void {
    this.downstream.pause();
  }

  protected resumeRequest(): void {
    this.downstream.resume();
  }

  protected clientHeaderLimit(): number {
    return this.downstream.peerMaxHeaderListSize();
  }

  protected respond(fields: HeaderFields, endStream: boolean): void {
    const fc = this.filterCall;
    if (fc !== null) {
      if (endStream) fc.trailers(statusOf(fields), new FieldMetadata(fields));
      else fc.responseHeaders(new FieldMetadata(fields));
    }
    this.downstream.respond(fields, endStream);
  }

  protected writeResponse(chunk: Buffer): boolean {
    const ds = this.downstream;
    if (ds.closed) return true;
    if (ds.write(chunk)) return true;
    if (!this.blocked && this.connection !== undefined) {
      this.blocked = true;
      this.connection.block(this);
    }
    return false;
  }

  protected endResponse(): void {
    const trailers =
      this.trailers ??
      statusTrailers(Status.INTERNAL, 'upstream ended the call without a grpc-status');
    this.filterCall?.trailers(statusOf(trailers), new FieldMetadata(trailers));
    this.downstream.end(trailers);
  }

  protected respondStatus(code: number, message: string): void {
    const ds = this.downstream;
    if (ds.closed) return;
    if (!ds.headersSent) {
      const fields = statusResponse(code, message);
      this.filterCall?.trailers(code, new FieldMetadata(fields));
      ds.respond(fields, true);
      return;
    }
    this.trailers = statusTrailers(code, message);
    this.filterCall?.trailers(code, new FieldMetadata(this.trailers));
    // The trailers go out behind the data already sent, as upstream trailers do. A client
    // that is behind on reading gets them when it catches up: resetting its stream instead
    // would turn every status into CANCELLED, the code for the caller's own doing, which
    // retry policies do not retry. A client that never reads keeps one stream's buffered data
    // until its deadline, cancel or connection ends it.
    ds.end(this.trailers);
  }

  protected ended(): void {
    this.filterCall?.end(this.status, this.message);
    this.context.observer.callEnded(this);
  }

  // DownstreamHandler: the client's stream

  onRequestData(_stream: DownstreamStream, chunk: Buffer): void {
    this.forwardRequest(chunk);
  }

  onRequestEnd(): void {
    this.requestEnd();
  }

  onResponseDrain(): void {
    this.unblock();
    this.responseDrained();
  }

  /** The client's stream closed: finished normally, or cancelled/reset by the client. */
  onStreamClose(_stream: DownstreamStream, byClient: boolean): void {
    this.unblock();
    this.connection?.removeCall(this);
    // A reset by the client counts towards its limit; streams closed because the whole
    // connection went away do not.
    if (!this.done && byClient) this.connection?.clientReset(performance.now());
    this.cancelledByClient();
  }

  private unblock(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.connection?.unblock(this);
  }

  unsentBytes(): number {
    return this.downstream.unsentBytes;
  }

  heldBytes(): number {
    return this.upstreamBufferedBytes + this.downstream.unsentBytes;
  }

  /**
   * BlockedStream: the client is too far behind. RST_STREAM(ENHANCE_YOUR_CALM), which gRPC
   * clients report as RESOURCE_EXHAUSTED; trailers could not reach a client that reads nothing.
   */
  reset(_reason: StreamResetReason, message: string): void {
    this.blocked = false;
    this.downstream.reset(ENHANCE_YOUR_CALM);
    this.abort(Status.RESOURCE_EXHAUSTED, message);
  }
}
