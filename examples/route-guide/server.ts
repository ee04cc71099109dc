// A RouteGuide backend (all four call kinds) that tags every response with its name, so a
// client can see which backend served each call. Runs standalone or inside tests and the demo.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ROUTE_GUIDE_PROTO, loadServiceClient } from '../protos.js';
import { afterDelay, bindServer, serverShutdown } from '../grpc-server.js';
import {
  formatAddress,
  isMainModule,
  parseCount,
  serverCredentialsFromFiles,
  shutdownOnSignals,
} from './cli.js';
import type { Feature, Point, Rectangle, RouteNote, RouteSummary } from './features.js';
import { FeatureMap, distanceMeters, inRectangle, locationKey } from './features.js';

/** The response header naming the backend that served a call. */
export const BACKEND_HEADER = 'x-backend';

export interface RouteGuideServerOptions {
  /** Address to listen on; default `127.0.0.1`. IPv6 literals without brackets (`::1`). */
  host?: string;
  /** Port; default 0 (the OS picks one, read it back from `port`). */
  port?: number;
  /** Sent back in the `x-backend` header of every response. */
  name: string;
  /** Added before each call's first response; default 0. Change later with `setDelay`. */
  delayMs?: number;
  /** Default insecure. */
  credentials?: grpc.ServerCredentials;
  /** The map; default the deterministic 100-feature grid. */
  features?: readonly Feature[];
}

export interface RouteGuideServer {
  readonly name: string;
  readonly host: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** `host:port`, IPv6 hosts in brackets; usable as a grpc-js target. */
  readonly address: string;
  /** Calls started per method name (`GetFeature`, `ListFeatures`, `RecordRoute`, `RouteChat`). */
  readonly calls: Map<string, number>;
  /** Changes the delay for calls that start from now on. */
  setDelay(ms: number): void;
  /** Stops accepting calls and resolves once calls in flight have finished (tryShutdown). */
  close(): Promise<void>;
  /** Cancels calls in flight and closes every connection at once (forceShutdown). */
  kill(): void;
}

/** Starts a RouteGuide server and resolves once it is listening. */
export async function startRouteGuideServer(
  options: RouteGuideServerOptions,
): Promise<RouteGuideServer> {
  const name = options.name;
  const host = options.host ?? '127.0.0.1';
  const map = new FeatureMap(options.features);
  const calls = new Map<string, number>();
  let delayMs = options.delayMs ?? 0;
  // One header object for every call: sendMetadata only reads it.
  const headers = new grpc.Metadata();
  headers.set(BACKEND_HEADER, name);

  const started = (method: string): void => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
  };

  const getFeature: grpc.handleUnaryCall<Point, Feature> = (call, callback) => {
    started('GetFeature');
    call.sendMetadata(headers);
    afterDelay(call, delayMs, () => {
      const point = call.request;
      callback(null, map.at(point) ?? { name: '', location: point });
    });
  };

  const listFeatures: grpc.handleServerStreamingCall<Rectangle, Feature> = (call) => {
    started('ListFeatures');
    call.sendMetadata(headers);
    afterDelay(call, delayMs, () => {
      // At most a few hundred small messages, so grpc-js's own buffering is enough here.
      for (const feature of map.features) {
        if (feature.location && inRectangle(feature.location, call.request)) call.write(feature);
      }
      call.end();
    });
  };

  const recordRoute: grpc.handleClientStreamingCall<Point, RouteSummary> = (call, callback) => {
    started('RecordRoute');
    call.sendMetadata(headers);
    const startedAt = Date.now();
    let pointCount = 0;
    let featureCount = 0;
    let distance = 0;
    let previous: Point | undefined;
    call.on('data', (point: Point) => {
      pointCount++;
      if (map.at(point)) featureCount++;
      if (previous) distance += distanceMeters(previous, point);
      previous = point;
    });
    call.on('end', () => {
      const elapsedTime = Math.round((Date.now() - startedAt) / 1000);
      afterDelay(call, delayMs, () =>
        callback(null, { pointCount, featureCount, distance, elapsedTime }),
      );
    });
  };

  const routeChat: grpc.handleBidiStreamingCall<RouteNote, RouteNote> = (call) => {
    started('RouteChat');
    call.sendMetadata(headers);
    // Notes are kept per call, not per server: behind a balancer the calls of one client land
    // on different backends, and a per-call history keeps the answers the same everywhere.
    const notes = new Map<string, RouteNote[]>();
    afterDelay(call, delayMs, () => {
      call.on('data', (note: RouteNote) => {
        const key = locationKey(note.location ?? { latitude: 0, longitude: 0 });
        const earlier = notes.get(key);
        if (earlier) {
          for (const previous of earlier) call.write(previous);
          earlier.push(note);
        } else {
          notes.set(key, [note]);
        }
      });
      call.on('end', () => call.end());
    });
  };

  const server = new grpc.Server();
  server.addService(loadServiceClient(ROUTE_GUIDE_PROTO, 'routeguide.RouteGuide').service, {
    GetFeature: getFeature,
    ListFeatures: listFeatures,
    RecordRoute: recordRoute,
    RouteChat: routeChat,
  });
  const port = await bindServer(server, host, options.port ?? 0, options.credentials);

  return {
    name,
    host,
    port,
    address: formatAddress(host, port),
    calls,
    setDelay(ms: number) {
      delayMs = ms;
    },
    ...serverShutdown(server),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '50051' },
      name: { type: 'string' },
      'delay-ms': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
    },
  });
  const port = parseCount('port', values.port, 50051);
  const server = await startRouteGuideServer({
    host: values.host,
    port,
    name: values.name ?? `route-guide-${port}`,
    delayMs: parseCount('delay-ms', values['delay-ms'], 0),
    credentials: serverCredentialsFromFiles(values.cert, values.key),
  });
  console.log(`route-guide server "${server.name}" listening on ${server.address}`);
  shutdownOnSignals(
    () => server.close(),
    () => server.kill(),
  );
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
