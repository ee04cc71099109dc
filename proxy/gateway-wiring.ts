// The REST/JSON gateway's place in the proxy: descriptors and HTTP rules loaded from the config
// before any socket opens, a Gateway per listener that asks for one, and the GatewayUpstream
// that sends its calls through the proxy's router and clusters as GatewayProxyCalls.
import type { JsonValue } from '@bufbuild/protobuf';
import type { Config, ListenerGatewayConfig } from '../config/types.js';
import { effectiveTimeout } from '../grpc/grpc-timeout.js';
import { INVALID_FIELDS, headerFieldsSize, invalidFieldReason } from '../grpc/header-fields.js';
import { Status } from '../grpc/grpc-status.js';
import { loadProtos, type DescriptorPool } from '../gateway/descriptor-pool.js';
import { Gateway } from '../gateway/gateway.js';
import { buildRoutes, RouteTable, type GatewayRoute } from '../gateway/http-rules.js';
import type {
  GatewayCall,
  GatewayCallRequest,
  GatewayCallSink,
  GatewayUpstream,
} from '../gateway/upstream.js';
import type { CallContext } from './call.js';
import { GatewayProxyCall } from './gateway-call.js';

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

export function createGateway(
  loaded: GatewayRoutes,
  config: ListenerGatewayConfig,
  upstream: GatewayUpstream,
): Gateway {
  return new Gateway(loaded.pool, loaded.routes, upstream, {
    json: { emitDefaults: config.emitDefaults, useProtoNames: config.useProtoNames },
    forwardHeaders: config.forwardHeaders,
    maxBodyBytes: config.maxBodyBytes,
    rest: config.rest,
    grpcWeb: config.grpcWeb,
    cors: config.cors,
    openapiPath: config.openapiPath,
  });
}

const NO_CALL: GatewayCall = { cancel() {}, resume() {} };

/** Gateway calls through the proxy's routes: `route` finds the call context for a path. */
export class ProxyGatewayUpstream implements GatewayUpstream {
  constructor(
    /** The call context for a path and request header fields ([name, value, …]). */
    private readonly route: (path: string, fields: readonly string[]) => CallContext | undefined,
  ) {}

  call(request: GatewayCallRequest, sink: GatewayCallSink): GatewayCall {
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
    const context = this.route(request.path, fields);
    if (context === undefined) {
      sink.onEnd(Status.UNIMPLEMENTED, `no route for ${request.path}`, []);
      return NO_CALL;
    }
    const headerBytes = headerFieldsSize(fields);
    if (headerBytes === INVALID_FIELDS) {
      sink.onEnd(Status.INVALID_ARGUMENT, invalidFieldReason(fields), []);
      return NO_CALL;
    }
    const timeoutMs = effectiveTimeout(request.timeoutMs, context.cluster.config.timeouts);
    const call = new GatewayProxyCall(
      fields,
      request.path,
      context,
      timeoutMs,
      headerBytes,
      request.message,
      sink,
      request.peer,
      request.framed === true,
    );
    call.start();
    return call;
  }
}
