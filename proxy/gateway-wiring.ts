// The REST/JSON gateway's place in the proxy: descriptors and HTTP rules loaded from the config
// before any socket opens, a Gateway per listener that asks for one, and the GatewayUpstream
// that sends its calls through the proxy's filters, router and clusters as GatewayProxyCalls.
import type { JsonValue } from '@bufbuild/protobuf';
import type { Clock } from '../common/clock.js';
import { DEFAULT_LISTENER } from '../config/defaults.js';
import type { Config, ListenerGatewayConfig } from '../config/types.js';
import { effectiveTimeout } from '../grpc/grpc-timeout.js';
import { INVALID_FIELDS, headerFieldsSize, invalidFieldReason } from '../grpc/header-fields.js';
import { Status } from '../grpc/grpc-status.js';
import { loadProtos, type DescriptorPool } from '../gateway/descriptor-pool.js';
import { Gateway } from '../gateway/gateway.js';
import { buildRoutes, RouteTable, type GatewayRoute } from '../gateway/http-rules.js';
import type { StallWatch } from '../gateway/stall-watch.js';
import type {
  GatewayCall,
  GatewayCallRequest,
  GatewayCallSink,
  GatewayUpstream,
} from '../gateway/upstream.js';
import type { Filter, FilterReject } from '../filter/filter.js';
import { hasMessageHooks, wantsDecoded, type FilterCall } from '../filter/filter-call.js';
import { MessageReader, type FramingProblem } from '../grpc/message-reader.js';
import { FieldMetadata } from '../filter/field-metadata.js';
import type { CallContext } from './call.js';
import { GatewayProxyCall, type GatewayMessageHooks } from './gateway-call.js';
import { Message, requestHookSink } from './message-call.js';
import { MessageDecoder, type DescriptorLookup } from './message-decoder.js';
import { FilterStage, type FilterRouting, type FilterStageInput } from './filter-stage.js';
import { statusResponse } from './upstream-call.js';

export interface GatewayRoutes {
  readonly pool: DescriptorPool;
  readonly routes: readonly GatewayRoute[];
}

/**
 * Reads the protos and builds the routes (throws ProtoLoadError or HttpRuleError, naming the
 * file or config position); undefined when the config has no `descriptors:`.
 */
export function loadGatewayRoutes(config: Config): GatewayRoutes | undefined {
  const d = config.descriptors;
  if (d === undefined) return undefined;
  const pool = loadProtos(d.protos);
  const routes = buildRoutes(
    pool,
    d.httpRules.map((r) => ({ rule: r.rule as JsonValue, source: r.source })),
  );
  // Clashing rules fail here, at startup, rather than on the first request.
  new RouteTable(routes);
  return { pool, routes };
}

/** Descriptors for a gateway with no `descriptors:` (gRPC-Web only): the bundled files alone. */
export function emptyGatewayRoutes(): GatewayRoutes {
  return { pool: loadProtos({ files: [], importPaths: [] }), routes: [] };
}

/** `stalls`: the listener's watch over responses whose client stopped reading. */
export function createGateway(
  loaded: GatewayRoutes,
  config: ListenerGatewayConfig,
  upstream: GatewayUpstream,
  stalls: StallWatch,
): Gateway {
  return new Gateway(loaded.pool, loaded.routes, upstream, {
    json: { emitDefaults: config.emitDefaults, useProtoNames: config.useProtoNames },
    forwardHeaders: config.forwardHeaders,
    maxBodyBytes: config.maxBodyBytes,
    rest: config.rest,
    grpcWeb: config.grpcWeb,
    cors: config.cors,
    openapiPath: config.openapiPath,
    stalls,
  });
}

const NO_CALL: GatewayCall = { cancel() {}, resume() {} };

/** What gateway calls need of the routing in force when they come. */
export interface GatewayRouting {
  readonly routes: FilterRouting;
  /** Listeners' filters, only for listeners that have some. */
  readonly listenerFilters: ReadonlyMap<string, readonly Filter[]>;
  /** The filters' clock. */
  readonly clock: Clock;
  /** The descriptors in use now, for filters that ask for decoded messages. */
  readonly descriptors: DescriptorLookup;
  /** By listener: the largest message a call with message hooks reads, each way. */
  readonly messageLimits: ReadonlyMap<string, number>;
}

/**
 * Gateway calls through the proxy's routes and filters: the listener's filters, routing, and
 * the route's filters run as for a gRPC call (filter-stage.ts), with the same peer, listener
 * and deadline; a call refused by a filter reaches the gateway as its status and trailers.
 */
export class ProxyGatewayUpstream {
  constructor(
    /** The routing in force now. */
    private readonly routing: () => GatewayRouting,
  ) {}

  /** The upstream for one listener's gateway (its filters are that listener's). */
  forListener(listener: string): GatewayUpstream {
    return { call: (request, sink) => this.call(listener, request, sink) };
  }

  call(listener: string, request: GatewayCallRequest, sink: GatewayCallSink): GatewayCall {
    const fields: string[] = [
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      request.path,
      ':authority',
      request.authority,
      'content-type',
      'application/grpc',
      'te',
      'trailers',
      // The gateway decodes messages itself and does not decompress them.
      'grpc-accept-encoding',
      'identity',
      ...request.metadata,
    ];
    const routing = this.routing();
    const listenerFilters =
      routing.listenerFilters.size === 0 ? undefined : routing.listenerFilters.get(listener);
    let context: CallContext | undefined;
    if (listenerFilters === undefined) {
      const found = routing.routes.match(request.path, fields);
      if (typeof found === 'string') {
        sink.onEnd(Status.UNIMPLEMENTED, found, []);
        return NO_CALL;
      }
      context = found;
    }
    const headerBytes = headerFieldsSize(fields);
    if (headerBytes === INVALID_FIELDS) {
      sink.onEnd(Status.INVALID_ARGUMENT, invalidFieldReason(fields), []);
      return NO_CALL;
    }
    if (context !== undefined && context.filters === undefined) {
      const timeoutMs = effectiveTimeout(request.timeoutMs, context.cluster.config.timeouts);
      const call = new GatewayProxyCall(
        fields,
        request,
        context,
        timeoutMs,
        headerBytes,
        sink,
        null,
      );
      call.start();
      return call;
    }
    const filtered = new FilteredGatewayCall(
      sink,
      routing.descriptors,
      routing.messageLimits.get(listener) ?? DEFAULT_LISTENER.maxFilteredMessageBytes,
    );
    filtered.start(
      {
        listenerFilters,
        context,
        pinned: false,
        routing: routing.routes,
        fields,
        path: request.path,
        peer: {
          address: request.peer,
          secure: request.secure === true,
          identity: request.identity,
        },
        listener,
        requestedMs: request.timeoutMs,
        clock: routing.clock,
      },
      request,
    );
    return filtered;
  }
}

/**
 * Shows a gateway call's request messages to its filters' message hooks: the one message the
 * gateway transcoded, or each message of a framed body (a client stream). Returns the status a
 * hook or the framing ended the call with, or undefined to go on.
 */
function requestMessages(
  request: GatewayCallRequest,
  filterCall: FilterCall,
  decoder: MessageDecoder | undefined,
  maxMessageBytes: number,
): FilterReject | FramingProblem | undefined {
  const r = request.message;
  const body = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  if (request.framed !== true) {
    return filterCall.requestMessage(new Message(body, false, 0, decoder?.request(body)));
  }
  const reader = new MessageReader(maxMessageBytes, 'request');
  let refused: FilterReject | undefined;
  const problem = reader.read(
    body,
    requestHookSink(filterCall, reader, decoder, (reject) => (refused = reject)),
  );
  return refused ?? problem ?? undefined;
}

/** A gateway call while its filters run, and the upstream call once they let it go. */
class FilteredGatewayCall implements GatewayCall {
  private call: GatewayProxyCall | undefined;
  private stage: FilterStage | undefined;
  /** The sink has its status (a filter refused the call, or the client went away). */
  private ended = false;

  constructor(
    private readonly sink: GatewayCallSink,
    private readonly descriptors: DescriptorLookup,
    /** The largest message the call's message hooks read, each way (the listener's). */
    private readonly maxMessageBytes: number,
  ) {}

  start(input: FilterStageInput, request: GatewayCallRequest): void {
    const stage: FilterStage = new FilterStage(input, (outcome) => {
      const filterCall = stage.call;
      if (!outcome.go) {
        this.refuse(filterCall, outcome.code, outcome.message, outcome.trailers);
        return;
      }
      const fields = input.fields;
      const headerBytes = headerFieldsSize(fields);
      if (headerBytes === INVALID_FIELDS) {
        this.refuse(
          filterCall,
          Status.INTERNAL,
          `a filter made bad metadata: ${invalidFieldReason(fields)}`,
          undefined,
        );
        return;
      }
      let messages: GatewayMessageHooks | undefined;
      if (hasMessageHooks(filterCall.filters)) {
        // The whole request is here: its messages are shown to the hooks before the call is
        // made, so one a hook refuses never goes upstream.
        const decoder = wantsDecoded(filterCall.filters)
          ? MessageDecoder.forMethod(this.descriptors(), input.path)
          : undefined;
        const refused = requestMessages(request, filterCall, decoder, this.maxMessageBytes);
        if (refused !== undefined) {
          const extra = 'trailers' in refused ? refused.trailers : undefined;
          this.refuse(filterCall, refused.code, refused.message, extra);
          return;
        }
        messages = {
          decoder,
          reader: new MessageReader(this.maxMessageBytes, 'response'),
        };
      }
      this.call = new GatewayProxyCall(
        fields,
        request,
        outcome.context,
        outcome.timeoutMs,
        headerBytes,
        this.sink,
        filterCall,
        messages,
      );
      this.call.start();
    });
    this.stage = stage;
    stage.run();
  }

  private refuse(
    filterCall: FilterCall,
    code: number,
    message: string,
    extra: Readonly<Record<string, string>> | undefined,
  ): void {
    this.ended = true;
    const fields = statusResponse(code, message);
    if (extra !== undefined) {
      for (const [name, value] of Object.entries(extra)) fields.push(name.toLowerCase(), value);
    }
    filterCall.trailers(code, new FieldMetadata(fields));
    this.sink.onEnd(code, message, fields);
    filterCall.end(code, message);
  }

  cancel(): void {
    if (this.call !== undefined) {
      this.call.cancel();
      return;
    }
    if (this.ended) return;
    this.ended = true;
    this.stage?.cancel();
    this.sink.onEnd(Status.CANCELLED, 'cancelled by the client', []);
  }

  resume(): void {
    this.call?.resume();
  }
}
