// Runs h2load with gRPC-shaped requests, bounded by a kill timer, and reads its summary and
// its per-request log (latency percentiles are computed here, from every request).
import { readFileSync, rmSync } from 'node:fs';
import type { ChildProcesses } from './child-processes.js';
import { processCpuSeconds } from './proc-stats.js';

export interface H2loadOptions {
  readonly url: string;
  readonly clients: number;
  /** Concurrent streams per client connection (h2load -m). */
  readonly streams: number;
  /** Stop after this many requests (-n) ... */
  readonly requests?: number;
  /** ... or after this many seconds (-D). */
  readonly durationS?: number;
  /** The request body: one length-prefixed gRPC message. */
  readonly dataFile: string;
  /** Extra request headers, "name: value". */
  readonly headers: readonly string[];
  /** Where h2load writes one line per request; read and removed after the run. */
  readonly logFile?: string;
  /** SIGINT after this long, SIGKILL 2 s later. */
  readonly timeoutMs: number;
  /** taskset CPU list to run h2load on. */
  readonly cpu?: string;
}

export interface Latency {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  readonly p999Ms: number | null;
  readonly maxMs: number | null;
  readonly meanMs: number | null;
}

export interface H2loadResult {
  readonly exit: number | string;
  readonly timedOut: boolean;
  readonly seconds: number | null;
  readonly rps: number | null;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeouts: number;
  /** Requests that did not succeed (h2load counts HTTP status only, not grpc-status). */
  readonly errors: number;
  readonly status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number } | null;
  /** DATA payload bytes received. */
  readonly dataBytes: number | null;
  /** h2load's own CPU seconds (last reading before it exited). */
  readonly cpuSeconds: number;
  readonly latency: Latency | null;
  /** The summary lines of h2load's output, for error reports. */
  readonly summary: string;
}

const UNIT_S: Record<string, number> = { s: 1, ms: 1e-3, us: 1e-6 };

export function parseSummary(out: string) {
  const finished = /finished in ([\d.]+)(s|ms|us), ([\d.]+) req\/s/.exec(out);
  const req =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const traffic = /traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers.*?, .*?\((\d+)\) data/.exec(
    out,
  );
  return {
    seconds: finished ? Number(finished[1]) * UNIT_S[finished[2]] : null,
    rps: finished ? Number(finished[3]) : null,
    total: req ? Number(req[1]) : 0,
    succeeded: req ? Number(req[4]) : 0,
    failed: req ? Number(req[5]) : 0,
    errored: req ? Number(req[6]) : 0,
    timeouts: req ? Number(req[7]) : 0,
    status: status
      ? {
          '2xx': Number(status[1]),
          '3xx': Number(status[2]),
          '4xx': Number(status[3]),
          '5xx': Number(status[4]),
        }
      : null,
    dataBytes: traffic ? Number(traffic[3]) : null,
  };
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/**
 * Latency of the successful (2xx) requests in an h2load --log-file: one line per request,
 * "start-µs <TAB> status <TAB> duration-µs".
 */
export function latencyFromLog(text: string): Latency {
  const durations: number[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [, status, duration] = line.split('\t');
    const code = Number(status);
    if (code >= 200 && code < 300) durations.push(Number(duration));
  }
  const sorted = Float64Array.from(durations).sort();
  let sum = 0;
  for (const d of sorted) sum += d;
  const ms = (us: number | null) => (us === null ? null : Math.round(us) / 1000);
  return {
    count: sorted.length,
    p50Ms: ms(percentile(sorted, 0.5)),
    p90Ms: ms(percentile(sorted, 0.9)),
    p99Ms: ms(percentile(sorted, 0.99)),
    p999Ms: ms(percentile(sorted, 0.999)),
    maxMs: ms(sorted.length ? sorted[sorted.length - 1] : null),
    meanMs: ms(sorted.length ? sum / sorted.length : null),
  };
}

/** Runs h2load once; resolves when it has exited (after at most timeoutMs + 2 s). */
export async function runH2load(
  processes: ChildProcesses,
  options: H2loadOptions,
): Promise<H2loadResult> {
  const args = [
    ...(options.requests !== undefined
      ? ['-n', String(options.requests)]
      : ['-D', `${Math.round((options.durationS ?? 1) * 1000)}ms`]),
    '-c',
    String(options.clients),
    '-m',
    String(options.streams),
    '-t',
    '1',
    '-d',
    options.dataFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    ...options.headers.flatMap((h) => ['-H', h]),
  ];
  if (options.logFile !== undefined) {
    rmSync(options.logFile, { force: true });
    args.push('--log-file', options.logFile);
  }
  args.push(options.url);
  const [command, argv] =
    options.cpu !== undefined
      ? ['taskset', ['-c', options.cpu, 'h2load', ...args]]
      : ['h2load', args];
  const p = processes.start('h2load', command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  let cpuSeconds = 0;
  const poll = setInterval(() => {
    cpuSeconds = processCpuSeconds(p.pid) ?? cpuSeconds;
  }, 100);
  let timedOut = false;
  let hardKill: NodeJS.Timeout | undefined;
  const killer = setTimeout(() => {
    timedOut = true;
    // Signal only a process that has not exited, so a recycled pid is never hit.
    if (p.running) p.child.kill('SIGINT');
    hardKill = setTimeout(() => {
      if (p.running) p.child.kill('SIGKILL');
    }, 2_000);
  }, options.timeoutMs);
  const exit = await p.exited;
  clearTimeout(killer);
  clearTimeout(hardKill);
  clearInterval(poll);
  await processes.stop(p, 0); // nothing left of the group
  const summary = parseSummary(out);
  let latency: Latency | null = null;
  if (options.logFile !== undefined) {
    try {
      latency = latencyFromLog(readFileSync(options.logFile, 'utf8'));
    } catch {
      latency = null;
    }
    rmSync(options.logFile, { force: true });
  }
  const lines = out.trim().split('\n');
  const from = lines.findIndex((l) => l.startsWith('finished in'));
  return {
    ...summary,
    exit,
    timedOut,
    errors: Math.max(0, summary.total - summary.succeeded),
    cpuSeconds,
    latency,
    summary: (from >= 0 ? lines.slice(from) : lines.slice(-8)).join('\n'),
  };
}
