// A gRPC call whose listener or route has filters: the request hooks run on the client's header
// fields before the call is made, synchronously unless a hook returns a Promise. The client's
// request data waits meanwhile (a stream delivers nothing before its handler's first resume()).
// A rejection is answered trailers-only; a change to the headers is read again for the call.
import { hasMessageHooks, wantsDecoded, type FilterCall } from '../filter/filter-call.js';
import { FieldMetadata } from '../filter/field-metadata.js';
import { Status } from '../grpc/grpc-status.js';
import { INVALID_FIELDS, headerFieldsSize, invalidFieldReason } from '../grpc/header-fields.js';
import type { DownstreamHandler, DownstreamStream } from '../transport/downstream.js';
import { ProxyCall } from './call.js';
import type { ClientConnection } from './client-connection.js';
import { statusResponse } from './upstream-call.js';
import { FilterStage, type FilterStageInput } from './filter-stage.js';
import { MessageProxyCall } from './message-call.js';
import { MessageDecoder, type DescriptorLookup } from './message-decoder.js';

/** Only closes matter while filters wait: request data waits for the call's first resume(). */
function closeWatch(stage: FilterStage): DownstreamHandler {
  return {
    onRequestData() {},
    onRequestEnd() {},
    onResponseDrain() {},
    onStreamClose: () => stage.cancel(),
  };
}

/**
 * Runs the filter stage (filter-stage.ts) for a gRPC call, then makes the call by the route
 * it chose, or answers the client with the status that ended it.
 */
export function startFilteredCall(
  input: FilterStageInput,
  stream: DownstreamStream,
  connection: ClientConnection,
  headerBytes: number,
  /** The largest message a call with message hooks reads, each way (the listener's). */
  maxMessageBytes: number,
  /** The descriptors for decoded messages, when the proxy has any. */
  descriptors?: DescriptorLookup,
): void {
  let decided = false;
  const stage: FilterStage = new FilterStage(input, (outcome) => {
    decided = true;
    const call = stage.call;
    if (!outcome.go) {
      refuse(stream, call, outcome.code, outcome.message, outcome.trailers);
      return;
    }
    if (stream.closed) {
      call.end(Status.CANCELLED, 'the client went away while filters ran');
      return;
    }
    const fields = input.fields;
    let bytes = headerBytes;
    if (outcome.changed) {
      bytes = headerFieldsSize(fields);
      if (bytes === INVALID_FIELDS) {
        refuse(
          stream,
          call,
          Status.INTERNAL,
          `a filter made bad metadata: ${invalidFieldReason(fields)}`,
        );
        return;
      }
    }
    const { context, timeoutMs } = outcome;
    const filters = call.filters;
    // The one check a call without message hooks pays: it stays a plain ProxyCall.
    if (hasMessageHooks(filters)) {
      const decoder = wantsDecoded(filters)
        ? MessageDecoder.forMethod(descriptors?.(), input.path)
        : undefined;
      new MessageProxyCall(
        stream,
        connection,
        fields,
        input.path,
        context,
        timeoutMs,
        bytes,
        call,
        decoder,
        maxMessageBytes,
      ).start();
      return;
    }
    new ProxyCall(stream, connection, fields, input.path, context, timeoutMs, bytes, call).start();
  });
  stage.run();
  // A filter waits: a client that goes away meanwhile ends the call here.
  if (!decided) stream.attach(closeWatch(stage));
}

function refuse(
  stream: DownstreamStream,
  call: FilterCall,
  code: number,
  message: string,
  trailers?: Readonly<Record<string, string>>,
): void {
  if (!stream.closed) {
    const fields = statusResponse(code, message);
    if (trailers !== undefined) {
      for (const [name, value] of Object.entries(trailers)) fields.push(name.toLowerCase(), value);
    }
    call.trailers(code, new FieldMetadata(fields));
    stream.respond(fields, true);
  }
  call.end(code, message);
}
