// A RouteGuide client that runs a mixed workload (all four call kinds) through one channel and
// records which backend served each call, how long it took and whether the answer was right.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ROUTE_GUIDE_PROTO, loadServiceClient } from '../protos.js';
import { channelCredentialsFromFile, isMainModule, parseCount } from './cli.js';
import type { Feature, Point, Rectangle, RouteNote, RouteSummary } from './features.js';
import { FEATURE_COLUMNS, FEATURE_ROWS, GRID_STEP, gridPoint } from './features.js';
import type { CallKind, CallRecord } from './summary.js';
import { formatSummary, summarize } from './summary.js';

export type {
  BackendSummary,
  CallKind,
  CallRecord,
  LatencyPercentiles,
  WorkloadSummary,
} from './summary.js';
export { NO_BACKEND, formatSummary, percentile, summarize } from './summary.js';

/** The typed view of the grpc-js client built from route_guide.proto. */
export interface RouteGuideClient extends grpc.Client {
  GetFeature(
    point: Point,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<Feature>,
  ): grpc.ClientUnaryCall;
  ListFeatures(
    rect: Rectangle,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<Feature>;
  RecordRoute(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<RouteSummary>,
  ): grpc.ClientWritableStream<Point>;
  RouteChat(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<RouteNote, RouteNote>;
}

export interface RouteGuideClientOptions {
  /** Number of calls to make in total. */
  calls: number;
  /** Calls in flight at once; default 4. */
  concurrency?: number;
  /** Default insecure. */
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** Per-call deadline; default 10 000 ms. */
  deadlineMs?: number;
}

/** Call i has kind CALL_KINDS[i % 4]. */
export const CALL_KINDS: readonly CallKind[] = [
  'unary',
  'server-streaming',
  'client-streaming',
  'bidi',
];

/** Creates a RouteGuide client; close it with `client.close()`. */
export function createRouteGuideClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  channelOptions?: grpc.ChannelOptions,
): RouteGuideClient {
  const Client = loadServiceClient(ROUTE_GUIDE_PROTO, 'routeguide.RouteGuide');
  return new Client(target, credentials, channelOptions) as unknown as RouteGuideClient;
}

/**
 * Runs `options.calls` calls against `target` through one channel, cycling unary,
 * server-streaming, client-streaming and bidi calls, `concurrency` at a time. Never rejects
 * because of a failed call: each failure is a record with `ok: false`. Records are in call
 * order. The channel is closed before the promise resolves.
 */
export async function runRouteGuideClient(
  target: string,
  options: RouteGuideClientOptions,
): Promise<CallRecord[]> {
  const client = createRouteGuideClient(target, options.credentials, options.channelOptions);
  const deadlineMs = options.deadlineMs ?? 10_000;
  const total = Math.max(0, options.calls);
  const records = new Array<CallRecord>(total);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      records[index] = await runCall(client, index, Date.now() + deadlineMs);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, total));
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    client.close();
  }
  return records;
}

/** Tracks one call: start time, backend header, and an answer check done at the end. */
class CallTracker {
  readonly started = performance.now();
  backend: string | undefined;
  wrongAnswer: string | undefined;

  constructor(readonly kind: CallKind) {}

  onMetadata = (metadata: grpc.Metadata): void => {
    this.backend ??= backendOf(metadata);
  };

  finish(status: grpc.StatusObject): CallRecord {
    this.backend ??= backendOf(status.metadata);
    const latencyMs = performance.now() - this.started;
    if (status.code !== grpc.status.OK) {
      const error = `${grpc.status[status.code]}: ${status.details}`;
      return { kind: this.kind, backend: this.backend, latencyMs, ok: false, error };
    }
    if (this.wrongAnswer !== undefined) {
      const error = `WRONG_ANSWER: ${this.wrongAnswer}`;
      return { kind: this.kind, backend: this.backend, latencyMs, ok: false, error };
    }
    return { kind: this.kind, backend: this.backend, latencyMs, ok: true };
  }
}

function backendOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('x-backend')[0];
  return value === undefined ? undefined : value.toString();
}

function runCall(client: RouteGuideClient, index: number, deadline: number): Promise<CallRecord> {
  const kind = CALL_KINDS[index % CALL_KINDS.length] ?? 'unary';
  const tracker = new CallTracker(kind);
  return new Promise<CallRecord>((resolve) => {
    const options: grpc.CallOptions = { deadline };
    let status: grpc.StatusObject | undefined;
    // Streams that read answers finish on both 'status' and 'end': grpc-js may emit 'status'
    // before 'end' because the readable side ends asynchronously after its last message.
    let waiting = kind === 'server-streaming' || kind === 'bidi' ? 2 : 1;
    const step = (): void => {
      if (--waiting === 0 && status) resolve(tracker.finish(status));
    };
    const onStatus = (received: grpc.StatusObject): void => {
      status = received;
      step();
    };
    switch (kind) {
      case 'unary':
        unary(client, index, options, tracker).on('status', onStatus);
        break;
      case 'server-streaming':
        serverStreaming(client, index, options, tracker).on('status', onStatus).on('end', step);
        break;
      case 'client-streaming':
        clientStreaming(client, index, options, tracker).on('status', onStatus);
        break;
      case 'bidi':
        bidi(client, index, options, tracker).on('status', onStatus).on('end', step);
        break;
    }
  });
}

/** Even calls ask for a feature on the grid, odd calls for a point between features. */
function unary(
  client: RouteGuideClient,
  index: number,
  options: grpc.CallOptions,
  tracker: CallTracker,
): grpc.ClientUnaryCall {
  const cell = (index >> 1) % (FEATURE_ROWS * FEATURE_COLUMNS);
  const onGrid = index % 2 === 0;
  const base = gridPoint(Math.floor(cell / FEATURE_COLUMNS), cell % FEATURE_COLUMNS);
  const point = onGrid
    ? base
    : { latitude: base.latitude + GRID_STEP / 2, longitude: base.longitude };
  const call = client.GetFeature(point, new grpc.Metadata(), options, (error, feature) => {
    if (error || !feature) return;
    if (onGrid !== (feature.name !== '')) {
      tracker.wrongAnswer = `GetFeature(${point.latitude},${point.longitude}) named "${feature.name}"`;
    }
  });
  call.on('metadata', tracker.onMetadata);
  return call;
}

/** A 3 × 3 block of grid cells: exactly nine features. */
function serverStreaming(
  client: RouteGuideClient,
  index: number,
  options: grpc.CallOptions,
  tracker: CallTracker,
): grpc.ClientReadableStream<Feature> {
  const row = (index >> 2) % (FEATURE_ROWS - 2);
  const column = (index >> 5) % (FEATURE_COLUMNS - 2);
  const rect = { lo: gridPoint(row, column), hi: gridPoint(row + 2, column + 2) };
  let received = 0;
  const call = client.ListFeatures(rect, new grpc.Metadata(), options);
  call.on('metadata', tracker.onMetadata);
  call.on('data', () => received++);
  call.on('end', () => {
    if (received !== 9) tracker.wrongAnswer = `ListFeatures returned ${received} of 9 features`;
  });
  call.on('error', () => {}); // reported through 'status'
  return call;
}

/** Five points along one grid row, each on a feature. */
function clientStreaming(
  client: RouteGuideClient,
  index: number,
  options: grpc.CallOptions,
  tracker: CallTracker,
): grpc.ClientWritableStream<Point> {
  const row = (index >> 2) % FEATURE_ROWS;
  const call = client.RecordRoute(new grpc.Metadata(), options, (error, summary) => {
    if (error || !summary) return;
    if (summary.pointCount !== 5 || summary.featureCount !== 5 || summary.distance <= 0) {
      tracker.wrongAnswer = `RecordRoute summary ${JSON.stringify(summary)}`;
    }
  });
  call.on('metadata', tracker.onMetadata);
  for (let column = 0; column < 5; column++) call.write(gridPoint(row, column));
  call.end();
  return call;
}

/** Notes at A, B, A, B: the second A and the second B each bring one earlier note back. */
function bidi(
  client: RouteGuideClient,
  index: number,
  options: grpc.CallOptions,
  tracker: CallTracker,
): grpc.ClientDuplexStream<RouteNote, RouteNote> {
  const a = gridPoint(index % FEATURE_ROWS, 0);
  const b = gridPoint(index % FEATURE_ROWS, 1);
  let received = 0;
  const call = client.RouteChat(new grpc.Metadata(), options);
  call.on('metadata', tracker.onMetadata);
  call.on('data', () => received++);
  call.on('end', () => {
    if (received !== 2) tracker.wrongAnswer = `RouteChat echoed ${received} of 2 notes`;
  });
  call.on('error', () => {}); // reported through 'status'
  call.write({ location: a, message: `call ${index}: first at A` });
  call.write({ location: b, message: `call ${index}: first at B` });
  call.write({ location: a, message: `call ${index}: second at A` });
  call.write({ location: b, message: `call ${index}: second at B` });
  call.end();
  return call;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: '127.0.0.1:50051' },
      calls: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '4' },
      'deadline-ms': { type: 'string', default: '10000' },
      ca: { type: 'string' },
    },
  });
  const target = values.target ?? '127.0.0.1:50051';
  const records = await runRouteGuideClient(target, {
    calls: parseCount('calls', values.calls, 200),
    concurrency: parseCount('concurrency', values.concurrency, 4),
    deadlineMs: parseCount('deadline-ms', values['deadline-ms'], 10_000),
    credentials: channelCredentialsFromFile(values.ca),
  });
  const summary = summarize(records);
  console.log(`${summary.total} calls to ${target}\n`);
  process.stdout.write(formatSummary(summary));
  if (summary.failed > 0) process.exitCode = 1;
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
