// `npm run soak -- --minutes N`: the switchyard binary in front of real grpc-js backends under
// mixed load (unary and streaming calls, cancels, deadlines, channels replaced) for N minutes,
// its resident memory, heap, handles and file descriptors sampled every few seconds. After the
// warm-up a least-squares slope is fitted to each; the run fails (exit 1) when any grows faster
// than its threshold, or when a call fails in a way the load did not ask for.
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ChildProcesses } from './child-processes.js';
import { scrapeMetrics, startFleet } from './grpc-fleet.js';
import { GrpcLoad, percentile } from './grpc-load.js';
import { treeRssBytes } from './proc-stats.js';

const MIB = 1 << 20;

interface Series {
  readonly name: string;
  readonly unit: string;
  /** Divides raw values for display and for the slope (bytes → MiB). */
  readonly scale: number;
  /** Largest slope, in display units per minute, that passes. */
  readonly limitPerMinute: number;
  readonly why: string;
  /** Fit the lowest sample of each 30 s instead of every sample (see the heap's `why`). */
  readonly floor?: boolean;
  readonly read: (m: Map<string, number>, pid: number) => number | undefined;
}

// The thresholds, in growth per minute after the warm-up. A leak the soak is for grows with the
// calls made: at the ~300 calls/s this load makes on 2 shared cores, one leaked 1 KiB object per
// call is ~18 MiB/min, one leaked handle or descriptor per 1,000 calls is ~18/min. The limits sit
// well below those and above the noise of a steady process (measured: see bench/README.md, "Soak").
const SERIES: readonly Series[] = [
  {
    name: 'rss',
    unit: 'MiB',
    scale: MIB,
    limitPerMinute: 2,
    why:
      'V8 grows its heap for minutes before it settles, hence the warm-up; 2 MiB/min is ~120 ' +
      'bytes per call',
    read: (_m, pid) => treeRssBytes(pid),
  },
  {
    name: 'heap used',
    unit: 'MiB',
    scale: MIB,
    limitPerMinute: 1,
    why:
      'saws between collections (12-55 MiB in a 3 min run), so the slope is fitted to the lowest ' +
      'sample of each 30 s, what survived the last collection; 1 MiB/min is ~60 bytes per call',
    floor: true,
    read: (m) => m.get('nodejs_heap_size_used_bytes'),
  },
  {
    name: 'handles',
    unit: '',
    scale: 1,
    limitPerMinute: 1,
    why: 'sockets and timers; steady under steady load, so 1 a minute is a leak',
    read: (m) => m.get('nodejs_active_handles_total'),
  },
  {
    name: 'fds',
    unit: '',
    scale: 1,
    limitPerMinute: 1,
    why: '/proc/PID/fd; a socket that is never closed adds one per leak',
    read: (_m, pid) => {
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return undefined;
      }
    },
  },
];

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The lowest point of each `width`-minute window. */
function floors(points: readonly (readonly [number, number])[], width: number) {
  const out = new Map<number, readonly [number, number]>();
  for (const p of points) {
    const key = Math.floor(p[0] / width);
    const low = out.get(key);
    if (low === undefined || p[1] < low[1]) out.set(key, p);
  }
  // The last window is cut short by the end of the run: its lowest point is no floor.
  const last = Math.floor((points.at(-1)?.[0] ?? 0) / width);
  return [...out].filter(([key]) => key < last).map(([, p]) => p);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      'warmup-minutes': { type: 'string' },
      interval: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '16' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'Usage: npm run soak -- [--minutes N] [--warmup-minutes W] [--interval S] [--concurrency C]\n' +
        '  N minutes of load (default 10), the first W (default: a third, at most 3) not fitted;\n' +
        '  a sample every S seconds (default 5); C calls in flight (default 16).',
    );
    return 0;
  }
  const minutes = Number(values.minutes);
  const warmup = Number(values['warmup-minutes'] ?? Math.min(3, minutes / 3));
  const intervalS = Number(values.interval);
  const concurrency = Number(values.concurrency);
  if (
    ![minutes, warmup, intervalS, concurrency].every((v) => Number.isFinite(v) && v >= 0) ||
    minutes <= warmup
  ) {
    console.error('soak: --minutes must be a number above --warmup-minutes');
    return 2;
  }

  const processes = new ChildProcesses();
  processes.installHandlers((line) => console.error(line));
  // 5 ms per call at the backend: long enough that a 1 ms deadline always expires in the proxy.
  const fleet = await startFleet(processes, { backends: 2, delayMs: 5 });
  const pid = fleet.proxy.pid;
  console.error(
    `soak: ${minutes} min (${warmup} min warm-up) through switchyard (pid ${pid}) to 2 grpc-js backends, ` +
      `${concurrency} calls in flight, a sample every ${intervalS} s`,
  );
  const load = new GrpcLoad({
    target: fleet.target,
    concurrency,
    channels: 4,
    churnMs: 10_000,
    mix: 'mixed',
    deadlineMs: 5_000,
  });
  const started = performance.now();
  const samples: { t: number; values: (number | undefined)[] }[] = [];
  const endAt = started + minutes * 60_000;
  let problems = 0;
  while (performance.now() < endAt) {
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(intervalS * 1000, endAt - performance.now())),
    );
    if (!fleet.proxy.running) {
      console.error('soak: the proxy exited');
      problems++;
      break;
    }
    let metrics = new Map<string, number>();
    try {
      metrics = await scrapeMetrics(fleet.admin);
    } catch (err) {
      console.error(`soak: /metrics: ${(err as Error).message}`);
    }
    const t = (performance.now() - started) / 60_000;
    const row = SERIES.map((s) => s.read(metrics, pid));
    samples.push({ t, values: row });
    console.error(
      `  ${fixed(t, 2)} min: ${SERIES.map((s, i) => `${s.name} ${fixed((row[i] ?? Number.NaN) / s.scale, s.scale === 1 ? 0 : 1)}${s.unit}`).join(', ')}, ${load.outcomes.length} calls`,
    );
  }
  await load.stop();

  const fitted = samples.filter((s) => s.t >= warmup);
  const rows = SERIES.map((s, i) => {
    let points = fitted
      .filter((p) => p.values[i] !== undefined)
      .map((p) => [p.t, p.values[i]! / s.scale] as const);
    if (s.floor === true) points = floors(points, 0.5);
    const perMinute = slope(points);
    const ys = points.map(([, y]) => y);
    const ok = points.length >= 3 && perMinute <= s.limitPerMinute;
    if (!ok) problems++;
    const digits = s.scale === 1 ? 0 : 1;
    return [
      s.name + (s.unit ? ` (${s.unit})` : ''),
      fixed(ys[0] ?? Number.NaN, digits),
      fixed(ys.at(-1) ?? Number.NaN, digits),
      `${fixed(Math.min(...ys), digits)}–${fixed(Math.max(...ys), digits)}`,
      fixed(perMinute, 3),
      String(s.limitPerMinute),
      points.length < 3 ? 'too few samples' : ok ? 'ok' : 'GROWS',
    ];
  });

  const byStatus = new Map<string, number>();
  let unexpected = 0;
  const latencies: number[] = [];
  for (const o of load.outcomes) {
    byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    if (!o.ok) unexpected++;
    if (o.status === 'OK') latencies.push(o.ms);
  }
  if (unexpected > 0) problems++;
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\n### Soak: ${fixed(minutes, 1)} min, ${fitted.length} samples fitted after ${warmup} min\n`,
  );
  console.log(
    table(['series', 'first', 'last', 'range', 'slope /min', 'limit /min', 'verdict'], rows),
  );
  console.log(
    `\n${load.outcomes.length} calls (${fixed(load.outcomes.length / seconds, 0)}/s), ` +
      `${unexpected} failed unexpectedly; OK p50 ${fixed(percentile(latencies, 50), 1)} ms, ` +
      `p99 ${fixed(percentile(latencies, 99), 1)} ms; ` +
      [...byStatus].map(([k, v]) => `${k} ${v}`).join(', '),
  );
  const reasons = new Map<string, number>();
  for (const o of load.outcomes) {
    if (!o.ok)
      reasons.set(`${o.status}: ${o.details}`, (reasons.get(`${o.status}: ${o.details}`) ?? 0) + 1);
  }
  for (const [reason, count] of reasons) console.log(`- failed unexpectedly, ${count}×: ${reason}`);
  for (const s of SERIES) console.log(`- ${s.name}: ${s.why}`);
  await fleet.close();
  return problems > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
