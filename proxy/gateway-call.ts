// A call the REST/JSON gateway makes: the upstream half of a proxied call (upstream-call.ts)
// with the gateway in place of a gRPC client, so transcoded calls take the same filters, route,
// cluster, balancer, retries, deadline, metrics and access log as proxied ones.
import type { PeerIdentity } from '../common/peer-identity.js';
import { Status } from '../grpc/grpc-status.js';
import { fieldValue, type HeaderFields } from '../transport/header-fields.js';
import { frameMessage, MessageDeframer } from '../gateway/grpc-frames.js';
import { decodeGrpcMessage } from '../gateway/status-json.js';
import type { GatewayCall, GatewayCallRequest, GatewayCallSink } from '../gateway/upstream.js';
import type { FilterCall } from '../filter/filter-call.js';
import { FieldMetadata } from '../filter/field-metadata.js';
import type { MessageReader, MessageSink } from '../grpc/message-reader.js';
import { responseHookSink } from './message-call.js';
import type { MessageDecoder } from './message-decoder.js';
import { UpstreamCall, statusTrailers } from './upstream-call.js';
import type { CallContext, CallRecord } from './call.js';

/**
 * The response side of a gateway call whose filters have message hooks (the request's messages
 * were shown to them before the call was made): the response's messages are read out of its
 * DATA and shown to the hooks before the gateway gets them.
 */
export interface GatewayMessageHooks {
  readonly reader: MessageReader;
  /** Set when a filter asked for decoded messages and the descriptors know the method. */
  readonly decoder: MessageDecoder | undefined;
}

export class GatewayProxyCall extends UpstreamCall implements GatewayCall, CallRecord {
  /** Takes REST responses apart; made on first use (gRPC-Web's bytes pass as they are). */
  private deframer: MessageDeframer | undefined;
  private sinkEnded = false;
  /** The sink refused a message of the chunk being taken apart: pause the upstream. */
  private sinkBehind = false;
  private readonly toSink = (message: Buffer): void => {
    if (!this.sink.onMessage(message)) this.sinkBehind = true;
  };
  /** Shows each response message to the filters' message hooks (when they have some). */
  private readonly responseSink: MessageSink | undefined;

  private readonly request: Uint8Array;
  private readonly clientPeer: string;
  private readonly framed: boolean;
  private readonly identity: PeerIdentity | undefined;

  constructor(
    fields: HeaderFields,
    call: GatewayCallRequest,
    readonly context: CallContext,
    timeoutMs: number | undefined,
    headerBytes: number,
    private readonly sink: GatewayCallSink,
    /** The call's filters, whose request hooks have run; null when it has none. */
    private readonly filterCall: FilterCall | null,
    /** Set when those filters have message hooks. */
    private readonly messages?: GatewayMessageHooks,
  ) {
    super(fields, call.path, context, timeoutMs, headerBytes);
    this.request = call.message;
    this.clientPeer = call.peer;
    this.framed = call.framed === true;
    this.identity = call.identity;
    if (messages !== undefined) {
      this.responseSink = responseHookSink(filterCall!, messages.reader, messages.decoder);
    }
  }

  start(): void {
    this.context.observer.callStarted(this);
    this.begin();
  }

  /** GatewayCall: the HTTP client went away. */
  cancel(): void {
    this.cancelledByClient();
    this.endSink(Status.CANCELLED, 'cancelled by the client', []);
  }

  /** GatewayCall: the HTTP client took what it was behind on. */
  resume(): void {
    if (!this.sinkEnded) this.responseDrained();
  }

  peer(): string {
    return this.clientPeer;
  }

  /** CallRecord: the verified client certificate's identity. */
  peerIdentity(): PeerIdentity | undefined {
    return this.identity;
  }

  protected startRequest(): void {
    const r = this.request;
    this.forwardRequest(
      this.framed ? Buffer.from(r.buffer, r.byteOffset, r.byteLength) : frameMessage(r),
    );
    this.requestEnd();
  }

  // One message, sent at once: there is no client stream to pause.
  protected pauseRequest(): void {}
  protected resumeRequest(): void {}

  protected clientHeaderLimit(): number {
    return Infinity;
  }

  protected respond(fields: HeaderFields, endStream: boolean): void {
    if (!endStream) {
      this.filterCall?.responseHeaders(new FieldMetadata(fields));
      this.sink.onHeaders(fields);
      return;
    }
    // Trailers-only: the status is in the only header block.
    const code = Number(fieldValue(fields, 'grpc-status') ?? Status.INTERNAL);
    this.filterCall?.trailers(code, new FieldMetadata(fields));
    this.endSink(code, decodeGrpcMessage(fieldValue(fields, 'grpc-message')), fields);
  }

  protected writeResponse(chunk: Buffer): boolean {
    if (this.sinkEnded) return true;
    const messages = this.messages;
    if (messages !== undefined) {
      const problem = messages.reader.read(chunk, this.responseSink!);
      if (problem !== null) {
        this.fail(problem.code, problem.message, false);
        return true;
      }
    }
    // false pauses the upstream until resume() (responseDrained).
    if (this.sink.onData !== undefined) return this.sink.onData(chunk);
    this.sinkBehind = false;
    const problem = (this.deframer ??= new MessageDeframer()).push(chunk, this.toSink);
    if (problem !== null) {
      this.fail(Status.INTERNAL, problem, false);
      return true;
    }
    return !this.sinkBehind;
  }

  protected endResponse(): void {
    const trailers = this.trailers ?? [];
    const code = Number(fieldValue(trailers, 'grpc-status') ?? Status.INTERNAL);
    this.filterCall?.trailers(code, new FieldMetadata(trailers));
    if (code === Status.OK && this.deframer !== undefined && this.deframer.leftover > 0) {
      this.endSink(Status.INTERNAL, 'the upstream ended the call inside a message', trailers);
      return;
    }
    this.endSink(code, decodeGrpcMessage(fieldValue(trailers, 'grpc-message')), trailers);
  }

  protected respondStatus(code: number, message: string): void {
    const fc = this.filterCall;
    if (fc === null || this.sinkEnded) {
      this.endSink(code, message, []);
      return;
    }
    // Trailer hooks see (and may add to) the status the proxy made.
    const trailers = statusTrailers(code, message);
    fc.trailers(code, new FieldMetadata(trailers));
    this.endSink(code, message, trailers);
  }

  protected ended(): void {
    this.filterCall?.end(this.status, this.message);
    this.context.observer.callEnded(this);
  }

  private endSink(code: number, message: string, trailers: HeaderFields): void {
    if (this.sinkEnded) return;
    this.sinkEnded = true;
    this.sink.onEnd(code, message, trailers);
  }
}
