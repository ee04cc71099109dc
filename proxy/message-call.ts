// A proxied call whose filters have message hooks: the only calls that read gRPC's framing.
// DATA still passes through as it came (same chunks, same backpressure); beside it, each
// direction's messages are read out (grpc/message-reader.ts) and shown to the hooks before the
// chunk that completes them is passed on, so a request message a hook refuses never reaches
// the upstream whole. Calls without message hooks are plain ProxyCalls and pay nothing.
import type { FilterMessage, FilterReject } from '../filter/filter.js';
import type { FilterCall } from '../filter/filter-call.js';
import { FieldMetadata } from '../filter/field-metadata.js';
import { MessageReader, type FramingProblem, type MessageSink } from '../grpc/message-reader.js';
import type { DownstreamStream } from '../transport/downstream.js';
import type { HeaderFields } from '../transport/header-fields.js';
import { ProxyCall, type CallContext } from './call.js';
import type { ClientConnection } from './client-connection.js';
import type { MessageDecoder } from './message-decoder.js';
import { statusResponse, statusTrailers } from './upstream-call.js';

/** One message as hooks see it; `decoded` filled only when a filter asked and can be. */
export class Message implements FilterMessage {
  constructor(
    readonly bytes: Uint8Array,
    readonly compressed: boolean,
    readonly index: number,
    readonly decoded: unknown,
  ) {}
}

/**
 * A reader's sink that shows each request message to the hooks (decoded when a filter asked
 * and the method is known); a hook's refusal goes to `refuse` and stops the reader. The same
 * for proxied and gateway calls.
 */
export function requestHookSink(
  hooks: FilterCall,
  reader: MessageReader,
  decoder: MessageDecoder | undefined,
  refuse: (reject: FilterReject) => void,
): MessageSink {
  return {
    message: (bytes, compressed) => {
      const decoded = decoder !== undefined && !compressed ? decoder.request(bytes) : undefined;
      const reject = hooks.requestMessage(
        new Message(bytes, compressed, reader.count - 1, decoded),
      );
      if (reject === undefined) return true;
      refuse(reject);
      return false;
    },
  };
}

/** The same for response messages, which hooks see and cannot refuse. */
export function responseHookSink(
  hooks: FilterCall,
  reader: MessageReader,
  decoder: MessageDecoder | undefined,
): MessageSink {
  return {
    message: (bytes, compressed) => {
      const decoded = decoder !== undefined && !compressed ? decoder.response(bytes) : undefined;
      hooks.responseMessage(new Message(bytes, compressed, reader.count - 1, decoded));
      return true;
    },
  };
}

export class MessageProxyCall extends ProxyCall {
  private readonly requests: MessageReader;
  private readonly responses: MessageReader;
  /** A request hook or the framing ended the call: the client's later data is dropped. */
  private refused = false;
  private readonly requestSink: MessageSink;
  private readonly responseSink: MessageSink;

  constructor(
    downstream: DownstreamStream,
    connection: ClientConnection | undefined,
    fields: HeaderFields,
    path: string,
    context: CallContext,
    timeoutMs: number | undefined,
    headerBytes: number,
    private readonly hooks: FilterCall,
    /** Set when a filter asked for decoded messages and the descriptors know the method. */
    decoder: MessageDecoder | undefined,
    /**
     * The largest message read, per direction (the listener's `maxFilteredMessageSize`): a
     * larger one ends the call RESOURCE_EXHAUSTED, as a grpc-js peer with that receive limit
     * would end it; a call holds at most this much of a split message.
     */
    maxMessageBytes: number,
  ) {
    super(downstream, connection, fields, path, context, timeoutMs, headerBytes, hooks);
    const requests = new MessageReader(maxMessageBytes, 'request');
    const responses = new MessageReader(maxMessageBytes, 'response');
    this.requests = requests;
    this.responses = responses;
    this.requestSink = requestHookSink(hooks, requests, decoder, (reject) => this.refuse(reject));
    this.responseSink = responseHookSink(hooks, responses, decoder);
  }

  override onRequestData(stream: DownstreamStream, chunk: Buffer): void {
    if (this.refused) return;
    const problem = this.requests.read(chunk, this.requestSink);
    if (this.refused) return;
    if (problem !== null) {
      this.refuse(problem);
      return;
    }
    super.onRequestData(stream, chunk);
  }

  override onRequestEnd(): void {
    if (!this.refused) super.onRequestEnd();
  }

  protected override writeResponse(chunk: Buffer): boolean {
    if (this.done) return true;
    const problem = this.responses.read(chunk, this.responseSink);
    if (problem !== null) {
      this.fail(problem.code, problem.message, false);
      return true;
    }
    return super.writeResponse(chunk);
  }

  /**
   * Ends the call with a status from a request-message hook (with its extra trailers) or from
   * the framing: the client gets it (trailers-only, or trailers after the data already sent),
   * the upstream stream is cancelled, and the client's later data is dropped.
   */
  private refuse(reject: FilterReject | FramingProblem): void {
    this.refused = true;
    if (this.done) return;
    const extra = 'trailers' in reject ? reject.trailers : undefined;
    const ds = this.downstream;
    if (!ds.closed) {
      const fields = ds.headersSent
        ? statusTrailers(reject.code, reject.message)
        : statusResponse(reject.code, reject.message);
      if (extra !== undefined) {
        for (const [name, value] of Object.entries(extra)) fields.push(name.toLowerCase(), value);
      }
      this.hooks.trailers(reject.code, new FieldMetadata(fields));
      if (ds.headersSent) {
        this.trailers = fields;
        ds.end(fields);
      } else {
        ds.respond(fields, true);
      }
    }
    this.abort(reject.code, reject.message);
  }
}
