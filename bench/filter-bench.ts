// Filter benchmark: what a filter list costs per call on the proxy's call path — the per-call
// context, the request hook on the client's header block, the proxy's re-read of a block a
// filter changed (proxy/filtered-call.ts: headerFieldsSize), the response-header and trailer
// hooks, the end of call — for a header-only filter, the headers built-in with a per-call
// value, a rate limit keyed by client address, and a message hook that counts bytes (one
// 100-byte message each way, read out of its DATA chunk). The call itself (upstream, frames) is not
// counted: this is what filters add to it. A route without filters runs none of this.
//
// Two measures. `nsPerCall`: header blocks made just before their calls, 256 at a time, as
// the transport hands over a block it has just decoded (in cache, in the young generation).
// `nsPerCallCold`: 32,768 blocks made ahead, so by their turn they are out of the CPU caches
// and promoted to the old generation — a block a filter grows then costs a copy that the
// garbage collector must promote again. The cold figure bounds what a proxy holding tens of
// thousands of calls could see; the fresh one is the filter's own work.
// Run: node dist/bench/filter-bench.js
import { pathToFileURL } from 'node:url';
import { systemClock, type Clock } from '../common/clock.js';
import type { Filter } from '../filter/filter.js';
import { FilterCall, hasMessageHooks } from '../filter/filter-call.js';
import { MessageReader, type MessageSink } from '../grpc/message-reader.js';
import { loadProtos } from '../gateway/descriptor-pool.js';
import { MessageDecoder } from '../proxy/message-decoder.js';
import { PROTOS_DIR } from '../examples/protos.js';
import { FieldMetadata } from '../filter/field-metadata.js';
import { headerFieldsSize } from '../grpc/header-fields.js';
import { headersFilter } from '../filter/headers-filter.js';
import { rateLimitFilter } from '../filter/rate-limit-filter.js';
import type { CallContext } from '../proxy/call.js';
import { FilterStage, type FilterRouting } from '../proxy/filter-stage.js';

export interface FilterBenchRow {
  readonly filters: string;
  /** Median CPU ns per call over the timed runs, header blocks fresh. */
  readonly nsPerCall: number;
  readonly nsPerCallBest: number;
  /** The same with header blocks made long before their calls (cold). */
  readonly nsPerCallCold: number;
}

const REQUEST: readonly string[] = [
  ':method', 'POST',
  ':scheme', 'http',
  ':path', '/bench.Bench/Unary',
  ':authority', '127.0.0.1:8080',
  'grpc-accept-encoding', 'identity,deflate,gzip',
  'user-agent', 'grpc-node-js/1.14.7',
  'content-type', 'application/grpc',
  'te', 'trailers',
  'x-tenant', 'acme',
]; // prettier-ignore

const RESPONSE: readonly string[] = [':status', '200', 'content-type', 'application/grpc'];
const TRAILERS: readonly string[] = ['grpc-status', '0'];

/** Header blocks made before each timed stretch: fresh (in cache) or cold (made long before). */
const FRESH_WINDOW = 256;
const COLD_WINDOW = 32_768;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const NO_EDITS = { add: {}, set: {}, remove: [], rename: {} };

/** A filter that reads one header and refuses calls without it: header-only, synchronous. */
const tenantCheck: Filter = {
  name: 'tenant',
  onRequestHeaders(ctx, md) {
    const t = md.get('x-tenant');
    if (t === undefined) return { code: 7, message: 'no tenant' };
    ctx.values.set('tenant', t);
    return undefined;
  },
};

/**
 * The route a staged call goes by: only what the request stage reads of a call context (its
 * route name, filters and the cluster's timeouts); the call itself is not made.
 */
function benchRoute(filters: readonly Filter[]): { routing: FilterRouting; context: CallContext } {
  const context = {
    routeName: 'bench',
    filters,
    cluster: { config: { timeouts: { defaultMs: undefined, maxMs: undefined } } },
  } as unknown as CallContext;
  return {
    context,
    routing: {
      match: () => context,
      named: (name) => (name === 'bench' ? context : undefined),
      unknownRoute: () => {},
    },
  };
}

/**
 * The same filters as the route's, run through the proxy's request stage (FilterStage: the
 * route's context, the deadline, the outcome record) instead of FilterCall alone.
 */
function timeStagedCalls(
  filters: readonly Filter[],
  calls: number,
  clock: Clock,
  window: number,
): number {
  const { routing, context } = benchRoute(filters);
  const go = (o: { go: boolean }) => {
    if (!o.go) sink++;
  };
  return timeWindows(calls, window, (request, response, trailers) => {
    const stage = new FilterStage(
      {
        listenerFilters: undefined,
        context,
        pinned: false,
        routing,
        fields: request,
        path: '/bench.Bench/Unary',
        peer: { address: '127.0.0.1:50000', secure: false, identity: undefined },
        listener: 'main',
        requestedMs: 2_000,
        clock,
      },
      go,
    );
    stage.run();
    const call = stage.call;
    call.responseHeaders(new FieldMetadata(response));
    call.trailers(0, new FieldMetadata(trailers));
    call.end(0, '');
  });
}

/** A filter that counts message bytes each way (raw, never refusing). */
const byteCounter: Filter = {
  name: 'bytes',
  onRequestMessage(ctx, m) {
    ctx.values.set('in', m.bytes.length);
    return undefined;
  },
  onResponseMessage(ctx, m) {
    ctx.values.set('out', m.bytes.length);
  },
};

/** The same, asking for decoded messages (proto3 JSON). */
const decodedCounter: Filter = { ...byteCounter, messages: 'decoded' };

/** One 100-byte message with its 5-byte prefix, as one DATA chunk carries it. */
const MESSAGE = Buffer.alloc(105);
MESSAGE.writeUInt32BE(100, 1);

/** helloworld.HelloRequest / HelloReply with a 98-character string field 1: 100 bytes. */
const HELLO = Buffer.alloc(105, 'a'.charCodeAt(0));
HELLO.writeUInt32BE(100, 1);
HELLO[0] = 0;
HELLO[5] = 0x0a;
HELLO[6] = 98;

/** What the proxy does per message-hook call: two readers, two sinks, one message each way. */
function runMessages(call: FilterCall, decoder: MessageDecoder | undefined): void {
  const requests = new MessageReader(4 << 20, 'request');
  const responses = new MessageReader(4 << 20, 'response');
  const requestSink: MessageSink = {
    message: (bytes, compressed) =>
      call.requestMessage({
        bytes,
        compressed,
        index: requests.count - 1,
        decoded: decoder?.request(bytes),
      }) === undefined,
  };
  const responseSink: MessageSink = {
    message: (bytes, compressed) => {
      call.responseMessage({
        bytes,
        compressed,
        index: responses.count - 1,
        decoded: decoder?.response(bytes),
      });
      return true;
    },
  };
  const chunk = decoder === undefined ? MESSAGE : HELLO;
  requests.read(chunk, requestSink);
  responses.read(chunk, responseSink);
}

function timeCalls(
  filters: readonly Filter[],
  calls: number,
  clock: Clock,
  window: number,
  decoder?: MessageDecoder,
): number {
  return timeWindows(calls, window, (request, response, trailers) => {
    const call = new FilterCall(
      filters,
      'proxy',
      '/bench.Bench/Unary',
      { address: '127.0.0.1:50000', secure: false, identity: undefined },
      'bench',
      'main',
      clock,
    );
    const metadata = new FieldMetadata(request);
    const verdict = call.requestHeaders(metadata);
    if (verdict !== undefined) sink++;
    // What the proxy does before it sends a block a filter changed.
    else if (metadata.changed) sink += headerFieldsSize(request);
    // The proxy's one check per call for message hooks.
    if (hasMessageHooks(filters)) runMessages(call, decoder);
    call.responseHeaders(new FieldMetadata(response));
    call.trailers(0, new FieldMetadata(trailers));
    call.end(0, '');
  });
}

/** Keeps results alive so the timed work is not optimized away. */
let sink = 0;

/**
 * CPU nanoseconds per call of `oneCall`, run `calls` times on fresh header blocks made
 * `window` at a time before each timed stretch (see the file comment: fresh or cold).
 */
function timeWindows(
  calls: number,
  window: number,
  oneCall: (request: string[], response: string[], trailers: string[]) => void,
): number {
  let cpuMicros = 0;
  let done = 0;
  while (done < calls) {
    const requests = Array.from({ length: window }, () => [...REQUEST]);
    const responses = Array.from({ length: window }, () => [...RESPONSE]);
    const trailers = Array.from({ length: window }, () => [...TRAILERS]);
    const start = process.cpuUsage();
    for (let i = 0; i < window; i++) oneCall(requests[i], responses[i], trailers[i]);
    const used = process.cpuUsage(start);
    cpuMicros += used.user + used.system;
    done += window;
  }
  if (sink < 0) console.log(sink);
  return (cpuMicros * 1000) / done;
}

export function filterBench(calls = 300_000, runs = 5): FilterBenchRow[] {
  const clock = systemClock;
  const now = () => clock.now();
  const cases: [string, Filter[]][] = [
    ['header-only check (custom, sync)', [tenantCheck]],
    [
      'headers: set from ${peer.address}, response set',
      [
        headersFilter(
          { ...NO_EDITS, set: { 'x-forwarded-for': '${peer.address}' } },
          { ...NO_EDITS, set: { 'x-served-by': 'switchyard' } },
        ),
      ],
    ],
    [
      'rateLimit per peer (never refusing)',
      [
        rateLimitFilter(
          { requestsPerSecond: 1e9, burst: 1e9, key: 'peer', maxKeys: 10_000 },
          { now, share: 1, allowed: { value: 0 }, denied: { value: 0 } },
        ),
      ],
    ],
    ['message hook counting bytes (raw), 1 message each way', [byteCounter]],
    ['message hook, decoded (proto3 JSON), 1 message each way', [decodedCounter]],
  ];
  const hello = MessageDecoder.forMethod(
    loadProtos({ files: ['helloworld.proto'], importPaths: [PROTOS_DIR] }),
    '/helloworld.Greeter/SayHello',
  );
  const rows: FilterBenchRow[] = [];
  const measure = (name: string, time: (calls: number, window: number) => number) => {
    time(100_000, FRESH_WINDOW); // warm-up
    const ns: number[] = [];
    const cold: number[] = [];
    for (let r = 0; r < runs; r++) {
      ns.push(time(calls, FRESH_WINDOW));
      cold.push(time(calls, COLD_WINDOW));
    }
    rows.push({
      filters: name,
      nsPerCall: Math.round(median(ns)),
      nsPerCallBest: Math.round(Math.min(...ns)),
      nsPerCallCold: Math.round(median(cold)),
    });
  };
  for (const [name, filters] of cases) {
    const decoder = filters === cases.at(-1)![1] ? hello : undefined;
    measure(name, (n, w) => timeCalls(filters, n, clock, w, decoder));
  }
  measure('header-only check, through the request stage', (n, w) =>
    timeStagedCalls([tenantCheck], n, clock, w),
  );
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`node ${process.version}`);
  console.table(filterBench());
}
