// The benchmark's scenarios: what each one runs and measures, by name.

/** A scenario driven by h2load against the direct backend and then through the proxy. */
export interface LoadScenario {
  readonly kind: 'load';
  readonly name: string;
  readonly about: string;
  /** h2load connections (-c) and streams per connection (-m). */
  readonly clients: number;
  readonly streams: number;
  readonly method: 'Unary' | 'ServerStream';
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** Response messages per call (1 for unary). */
  readonly messages: number;
  /** Throughput is the point (MB/s), not calls. */
  readonly reportsBytes: boolean;
}

export interface OtherScenario {
  readonly kind:
    | 'open-streams'
    | 'slow-reader'
    | 'cancel-streams'
    | 'stalled-readers'
    | 'balancer'
    | 'resolver'
    | 'hpack'
    | 'h2-frames'
    | 'h2-connection'
    | 'gateway'
    | 'config'
    | 'observers';
  readonly name: string;
  readonly about: string;
}

export type Scenario = LoadScenario | OtherScenario;

const unary = (
  name: string,
  about: string,
  clients: number,
  streams: number,
  bytes: number,
): LoadScenario => ({
  kind: 'load',
  name,
  about,
  clients,
  streams,
  method: 'Unary',
  requestBytes: bytes,
  responseBytes: bytes,
  messages: 1,
  reportsBytes: false,
});

/** Sizes of the memory scenarios, from the options. */
export interface ScenarioSizes {
  readonly openStreams: number;
  readonly connections: number;
  readonly slowBytes: number;
  readonly cancelStreams: number;
}

const count = (n: number) => n.toLocaleString('en-US');

/** Every scenario, in the order they run. */
export const scenarioList = (z: ScenarioSizes): readonly Scenario[] => [
  unary(
    'unary-small-low',
    'unary, 10 B each way, 1 connection x 1 stream: latency with nothing queued',
    1,
    1,
    10,
  ),
  unary(
    'unary-small-high',
    'unary, 10 B each way, 16 connections x 8 streams: calls/s with 128 in flight',
    16,
    8,
    10,
  ),
  unary('unary-16k', 'unary, 16 KiB each way, 16 connections x 8 streams', 16, 8, 16 << 10),
  {
    kind: 'load',
    name: 'stream-throughput',
    about: 'server streaming, 1,024 x 16 KiB messages per call, 2 connections x 4 streams: MB/s',
    clients: 2,
    streams: 4,
    method: 'ServerStream',
    requestBytes: 10,
    responseBytes: 16 << 10,
    messages: 1024,
    reportsBytes: true,
  },
  {
    kind: 'open-streams',
    name: 'open-streams',
    about:
      `${count(z.openStreams)} concurrent server-streaming calls held open on ${count(z.connections)} ` +
      'connections: memory per stream, cancellation',
  },
  {
    kind: 'slow-reader',
    name: 'slow-reader',
    about:
      `${count(z.slowBytes / (1 << 20))} MiB streamed to a reader slower than the backend: ` +
      'peak RSS under backpressure',
  },
  {
    kind: 'cancel-streams',
    name: 'cancel-streams',
    about:
      `${count(z.cancelStreams)} server-streaming calls cancelled unread after the backend ` +
      'wrote 256 KiB each: memory given back',
  },
  {
    kind: 'stalled-readers',
    name: 'stalled-readers',
    about:
      '300 server-streaming calls of 4 MiB on 3 connections that never open their window, ' +
      'held 3 s: memory held for clients that do not read',
  },
  { kind: 'balancer', name: 'balancer', about: 'balancer pick() cost per policy, in process' },
  { kind: 'resolver', name: 'resolver', about: 'DNS SRV resolution and diff cost, in process' },
  {
    kind: 'hpack',
    name: 'hpack',
    about: 'HPACK decode and encode of gRPC header blocks (h2/hpack), in process',
  },
  {
    kind: 'h2-frames',
    name: 'h2-frames',
    about: 'HTTP/2 frame parser and writer cost per gRPC unary call, in process',
  },
  {
    kind: 'h2-connection',
    name: 'h2-connection',
    about: 'unary calls between a client and a server of h2/connection over loopback, in process',
  },
  {
    kind: 'config',
    name: 'config',
    about: 'loading a 1 MB and a 10 MB config file as a reload does: time and peak memory',
  },
  {
    kind: 'observers',
    name: 'observers',
    about: 'what observing a call costs: metrics, the access log, prom-client for comparison',
  },
  {
    kind: 'gateway',
    name: 'gateway',
    about:
      'REST/JSON and gRPC-Web unary calls next to gRPC through a route_guide backend, and an NDJSON stream: proxy CPU per call',
  },
];

/**
 * The scenarios `only` selects, in run order. An entry matches a scenario by its name or as a
 * prefix followed by "-" ("unary-small" selects both unary-small-*). Throws on an entry that
 * matches nothing.
 */
export function selectScenarios(
  only: readonly string[] | undefined,
  sizes: ScenarioSizes,
): Scenario[] {
  const all = scenarioList(sizes);
  if (only === undefined || only.length === 0) return [...all];
  const matches = (entry: string, s: Scenario) =>
    s.name === entry || s.name.startsWith(`${entry}-`);
  for (const entry of only) {
    if (!all.some((s) => matches(entry, s))) {
      throw new Error(
        `--only: no scenario "${entry}"; scenarios: ${all.map((s) => s.name).join(', ')}`,
      );
    }
  }
  return all.filter((s) => only.some((entry) => matches(entry, s)));
}

/** "unary c=16 m=8" / "stream c=2 m=4": the load shape for progress lines. */
export function shape(s: LoadScenario): string {
  const what = s.method === 'Unary' ? 'unary' : 'stream';
  const size = s.responseBytes >= 1024 ? ` ${s.responseBytes >> 10}KiB` : '';
  return `${what}${size} c=${s.clients} m=${s.streams}`;
}
