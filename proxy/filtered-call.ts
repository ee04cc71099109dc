// A call whose listener or route has filters: the request hooks run on the client's header
// fields before the call is made, synchronously unless a hook returns a Promise. The client's
// request data waits meanwhile (a stream delivers nothing before its handler's first resume()).
// A rejection is answered trailers-only; a change to the headers is read again for the call.
import type { Filter, FilterReject } from '../filter/filter.js';
import { FilterCall, hasMessageHooks, wantsDecoded } from '../filter/filter-call.js';
import { FieldMetadata } from '../filter/field-metadata.js';
import { Status } from '../grpc/grpc-status.js';
import { INVALID_FIELDS, headerFieldsSize, invalidFieldReason } from '../grpc/header-fields.js';
import type { DownstreamStream } from '../transport/downstream.js';
import type { HeaderFields } from '../transport/header-fields.js';
import { ProxyCall, type CallContext } from './call.js';
import type { ClientConnection } from './client-connection.js';
import { statusResponse } from './upstream-call.js';
import { MessageProxyCall } from './message-call.js';
import { MessageDecoder, type DescriptorLookup } from './message-decoder.js';

/** The listener's filters, then the route's; the same array when only one side has any. */
export function filterList(
  listener: readonly Filter[] | undefined,
  route: readonly Filter[] | undefined,
): readonly Filter[] {
  if (listener === undefined) return route!;
  if (route === undefined) return listener;
  return [...listener, ...route];
}

function isPromise<T>(v: unknown): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

export function startFilteredCall(
  filters: readonly Filter[],
  stream: DownstreamStream,
  connection: ClientConnection,
  fields: HeaderFields,
  path: string,
  context: CallContext,
  timeoutMs: number | undefined,
  headerBytes: number,
  now: () => number,
  /** The descriptors for decoded messages, when the proxy has any. */
  descriptors?: DescriptorLookup,
): void {
  const info = stream.info;
  const call = new FilterCall(
    filters,
    'proxy',
    path,
    { address: info.peer, secure: info.tls !== undefined, identity: info.tls?.identity },
    context.routeName,
    info.listener,
    now,
  );
  const metadata = new FieldMetadata(fields);
  const go = (verdict: FilterReject | undefined): void => {
    if (verdict !== undefined) {
      refuse(stream, call, verdict.code, verdict.message, verdict.trailers);
      return;
    }
    if (stream.closed) {
      call.end(Status.CANCELLED, 'the client went away while filters ran');
      return;
    }
    let bytes = headerBytes;
    if (metadata.changed) {
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
    // The one check a call without message hooks pays: it stays a plain ProxyCall.
    if (hasMessageHooks(filters)) {
      const decoder = wantsDecoded(filters)
        ? MessageDecoder.forMethod(descriptors?.(), path)
        : undefined;
      new MessageProxyCall(
        stream,
        connection,
        fields,
        path,
        context,
        timeoutMs,
        bytes,
        call,
        decoder,
      ).start();
      return;
    }
    new ProxyCall(stream, connection, fields, path, context, timeoutMs, bytes, call).start();
  };
  const verdict = call.requestHeaders(metadata);
  if (isPromise<FilterReject | undefined>(verdict)) void verdict.then(go);
  else go(verdict);
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
