// The benchmark's command line: flags, defaults (full and --quick), and the help text.
import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run bench -- [options]     (or: node dist/bench/run.js [options])

Starts a gRPC-shaped backend (two ports, one process), the proxy under test and h2load, and
measures each scenario directly against the backend and through the proxy. Progress goes to
stderr, tables to stdout, every number to JSON (bench/results/<date>.json or --json FILE).

Scenarios (run in this order; --only takes names or prefixes such as "unary"):
  unary-small-low     unary 10 B, 1 connection x 1 stream (latency)
  unary-small-high    unary 10 B, 16 connections x 8 streams (calls/s)
  unary-16k           unary 16 KiB each way, 16 x 8
  stream-throughput   server streaming, 16 MiB per call in 16 KiB messages (MB/s)
  open-streams        10,000 held server-streaming calls on 100 connections (memory per stream)
  slow-reader         1 GiB to a deliberately slow reader (peak proxy RSS)
  cancel-streams      2,000 unread server-streaming answers cancelled (memory given back)
  stalled-readers     300 streams on 3 connections that never open their window (memory held)
  balancer            balancer pick() cost per policy and endpoint count
  resolver            DNS SRV resolution cost and resolver memory
  hpack               HPACK decode/encode of gRPC request, response and trailer blocks
  h2-frames           HTTP/2 frame parse and write cost per unary call; copy or writev by size
  h2-connection       unary calls between two h2/connection endpoints on loopback (CPU µs per call)
  config              loading a 1 MB and a 10 MB config file (time, peak memory)

Options:
  --quick              short runs and small sizes (a smoke run, about 20 s)
  --only LIST          comma-separated scenario names or prefixes
  --duration S         seconds per measured h2load run (default 5; --quick 1)
  --warmup S           seconds of h2load warm-up before each run (default 1; --quick 0.3)
  --max-requests N     upper bound of calls in one measured run (default 2000000)
  --streams N          open-streams: streams to hold (default 10000; --quick 1000)
  --connections N      open-streams: client connections they share (default 100)
  --slow-mib N         slow-reader: MiB to stream (default 1024; --quick 64)
  --cancels N          cancel-streams: calls to cancel (default 2000; --quick 400)
  --pin                taskset: proxy on CPU 0; backend, h2load and the benchmark on CPU 1
  --proxy-cmd CMD      benchmark another proxy: bash -c CMD with LISTEN=127.0.0.1:PORT and
                       BACKENDS=127.0.0.1:P1,127.0.0.1:P2; ready once LISTEN accepts TCP
  --proxy-args ARGS    extra arguments for the switchyard binary (split on spaces)
  --proxy-name NAME    name of the proxy in tables (default switchyard, or "proxy" with --proxy-cmd)
  --json FILE          write the JSON here instead of bench/results/<date>.json
  -h, --help           show this help

Exit codes: 0 done, 1 a scenario failed (errors, a failed gRPC check), 2 bad usage or h2load
missing (the message says what to install).`;

export interface BenchOptions {
  readonly quick: boolean;
  readonly only: readonly string[] | undefined;
  readonly durationS: number;
  readonly warmupS: number;
  readonly maxRequests: number;
  readonly openStreams: number;
  readonly connections: number;
  readonly slowBytes: number;
  readonly cancelStreams: number;
  readonly pin: boolean;
  readonly proxyCommand: string | undefined;
  readonly proxyArgs: readonly string[];
  readonly proxyName: string;
  readonly json: string | undefined;
  readonly help: boolean;
}

/** Bad flags; run.ts prints the message with the usage and exits 2. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
  readonly code = 'ERR_BENCH_USAGE';
}

function positive(flag: string, value: string | undefined, fallback: number, integer: boolean) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new BenchUsageError(`${flag}: expected a positive ${integer ? 'integer' : 'number'}`);
  }
  return n;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        'max-requests': { type: 'string' },
        streams: { type: 'string' },
        connections: { type: 'string' },
        'slow-mib': { type: 'string' },
        cancels: { type: 'string' },
        pin: { type: 'boolean' },
        'proxy-cmd': { type: 'string' },
        'proxy-args': { type: 'string' },
        'proxy-name': { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new BenchUsageError((err as Error).message, { cause: err });
  }
  const quick = values.quick === true;
  const proxyCommand = values['proxy-cmd'];
  // 100 streams per connection at the full 10,000: the most a switchyard listener allows one
  // connection by default (maxConcurrentStreams), as HAProxy; nginx allows 128.
  const connections = positive('--connections', values.connections, 100, true);
  const openStreams = positive('--streams', values.streams, quick ? 1_000 : 10_000, true);
  if (openStreams < connections) {
    throw new BenchUsageError('--streams must be at least --connections');
  }
  return {
    quick,
    only: values.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    durationS: positive('--duration', values.duration, quick ? 1 : 5, false),
    warmupS: positive('--warmup', values.warmup, quick ? 0.3 : 1, false),
    maxRequests: positive('--max-requests', values['max-requests'], 2_000_000, true),
    openStreams,
    connections,
    slowBytes: positive('--slow-mib', values['slow-mib'], quick ? 64 : 1024, true) * (1 << 20),
    cancelStreams: positive('--cancels', values.cancels, quick ? 400 : 2_000, true),
    pin: values.pin === true,
    proxyCommand,
    proxyArgs: (values['proxy-args'] ?? '').split(/\s+/).filter(Boolean),
    proxyName: values['proxy-name'] ?? (proxyCommand === undefined ? 'switchyard' : 'proxy'),
    json: values.json,
    help: values.help === true,
  };
}
