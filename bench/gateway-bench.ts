// The `gateway` scenario of `npm run bench` (also alone: `npm run bench:gateway`): what the gateway costs next to the plain gRPC path. One route_guide
// backend, the switchyard binary with `--gateway --proto route_guide_api.proto`, and h2load
// (h2c) making the same small call three ways — gRPC, REST/JSON (GET, transcoded both ways)
// and gRPC-Web (bytes passed through) — then an NDJSON server stream. Proxy CPU per call comes
// from /proc (the proxy's process tree), each figure the median of 3 runs. Loopback only.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import { loadProtos } from '../gateway/descriptor-pool.js';
import { GRID_ORIGIN, GRID_STEP } from '../examples/route-guide/features.js';
import { startRouteGuideServer } from '../examples/route-guide/server.js';
import { PROTOS_DIR } from '../examples/protos.js';
import { ChildProcesses } from './child-processes.js';
import { parseSummary } from './h2load.js';
import { treeCpuSeconds } from './proc-stats.js';
import { startProxy } from './proxy-process.js';

const API_PROTO = path.join(PROTOS_DIR, 'route_guide_api.proto');
const RUNS = 3;
const log = (line: string) => process.stderr.write(`[bench:gateway] ${line}\n`);

interface Measured {
  readonly rps: number;
  readonly usPerCall: number;
  readonly mbPerS: number;
  readonly usPerMB: number;
  readonly ok: number;
  readonly total: number;
}

function h2load(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('h2load', args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, out) => {
      if (err !== null && out === '') reject(new Error(`h2load failed: ${err.message}`));
      else resolve(out);
    });
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export interface GatewayBenchRow {
  readonly name: string;
  readonly rps: number;
  readonly usPerCall: number;
  /** Proxy CPU per call over the gRPC unary call's. */
  readonly vsGrpc: number;
  /** Response DATA MB/s (10^6 bytes), streams only. */
  readonly mbPerS: number | null;
  readonly usPerMB: number | null;
  /** The fewest 2xx answers of the runs, and the calls of each run. */
  readonly ok: number;
  readonly calls: number;
}

export interface GatewayBenchResult {
  readonly runs: number;
  readonly loadAverage: { readonly before: number; readonly after: number };
  readonly rows: readonly GatewayBenchRow[];
}

export interface GatewayBenchOptions {
  /** Unary calls per run (streams: a twentieth, at least 200). Default 20,000. */
  readonly calls?: number;
  readonly processes: ChildProcesses;
  readonly log?: (line: string) => void;
}

export async function gatewayBench(options: GatewayBenchOptions): Promise<GatewayBenchResult> {
  const calls = options.calls ?? 20_000;
  const say = options.log ?? log;
  const processes = options.processes;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'swy-gateway-bench-'));
  const backend = await startRouteGuideServer({ name: 'bench' });
  let proxyProcess: Awaited<ReturnType<typeof startProxy>> | undefined;
  try {
    const proxy = await startProxy(
      processes,
      {
        name: 'switchyard',
        extraArgs: ['--gateway', '--proto', API_PROTO, '--proto-path', PROTOS_DIR],
      },
      backend.address,
    );
    proxyProcess = proxy;
    const base = `http://${proxy.target}`;
    const pool = loadProtos({ files: [API_PROTO], importPaths: [PROTOS_DIR] });
    const Point = pool.registry.getMessage('routeguide.Point')!;
    const Rectangle = pool.registry.getMessage('routeguide.Rectangle')!;
    const { latitude: lat, longitude: lon } = GRID_ORIGIN;
    const frame = (bytes: Uint8Array) => {
      const out = Buffer.alloc(5 + bytes.length);
      out.writeUInt32BE(bytes.length, 1);
      out.set(bytes, 5);
      return out;
    };
    const pointFile = path.join(dir, 'point.bin');
    writeFileSync(
      pointFile,
      frame(toBinary(Point, create(Point, { latitude: lat, longitude: lon }))),
    );
    const far = { latitude: lat + 9 * GRID_STEP, longitude: lon + 9 * GRID_STEP };
    const rectFile = path.join(dir, 'rect.bin');
    writeFileSync(
      rectFile,
      frame(
        toBinary(Rectangle, create(Rectangle, { lo: { latitude: lat, longitude: lon }, hi: far })),
      ),
    );
    const getFeature = `${base}/routeguide.RouteGuide/GetFeature`;
    const listFeatures = `${base}/routeguide.RouteGuide/ListFeatures`;
    const box = `lo.latitude=${lat}&lo.longitude=${lon}&hi.latitude=${far.latitude}&hi.longitude=${far.longitude}`;
    const grpc = ['-H', 'content-type: application/grpc', '-H', 'te: trailers'];
    const web = ['-H', 'content-type: application/grpc-web+proto', '-H', 'x-grpc-web: 1'];
    const streamCalls = Math.max(200, Math.round(calls / 20));
    const scenarios: { name: string; args: string[]; n: number; c: number; m: number }[] = [
      {
        name: 'gRPC unary (data path)',
        args: ['-d', pointFile, ...grpc, getFeature],
        n: calls,
        c: 16,
        m: 8,
      },
      {
        name: 'REST unary (JSON GET)',
        args: [`${base}/v1/features/${lat}/${lon}`],
        n: calls,
        c: 16,
        m: 8,
      },
      {
        name: 'gRPC-Web unary (binary)',
        args: ['-d', pointFile, ...web, getFeature],
        n: calls,
        c: 16,
        m: 8,
      },
      {
        name: 'gRPC server stream, 100 features',
        args: ['-d', rectFile, ...grpc, listFeatures],
        n: streamCalls,
        c: 4,
        m: 4,
      },
      {
        name: 'NDJSON server stream, 100 features',
        args: [`${base}/v1/features?${box}`],
        n: streamCalls,
        c: 4,
        m: 4,
      },
    ];
    const loadBefore = os.loadavg();
    const results: { name: string; runs: Measured[] }[] = [];
    for (const s of scenarios) {
      const common = ['-c', String(s.c), '-m', String(s.m), '-t', '1'];
      // Warm-up: JIT, connections, the balancer's state.
      await h2load(['-n', String(Math.round(s.n / 5)), ...common, ...s.args], 120_000);
      const runs: Measured[] = [];
      for (let i = 0; i < RUNS; i++) {
        const cpu0 = treeCpuSeconds(proxy.process.pid);
        const out = await h2load(['-n', String(s.n), ...common, ...s.args], 300_000);
        const cpu = treeCpuSeconds(proxy.process.pid) - cpu0;
        const sum = parseSummary(out);
        const ok = sum.status?.['2xx'] ?? 0;
        const mb = (sum.dataBytes ?? 0) / 1e6;
        runs.push({
          rps: sum.rps ?? 0,
          usPerCall: (cpu * 1e6) / Math.max(1, ok),
          mbPerS: sum.seconds ? mb / sum.seconds : 0,
          usPerMB: mb > 0 ? (cpu * 1e6) / mb : 0,
          ok,
          total: sum.total,
        });
        say(
          `${s.name}: run ${i + 1}: ${ok}/${sum.total} 2xx, ${runs.at(-1)!.usPerCall.toFixed(1)} µs/call`,
        );
      }
      results.push({ name: s.name, runs });
    }
    const loadAfter = os.loadavg();
    const grpcUs = median(results[0].runs.map((r) => r.usPerCall));
    return {
      runs: RUNS,
      loadAverage: { before: loadBefore[0], after: loadAfter[0] },
      rows: results.map((r, i) => {
        const us = median(r.runs.map((x) => x.usPerCall));
        const streaming = i >= 3;
        return {
          name: r.name,
          rps: median(r.runs.map((x) => x.rps)),
          usPerCall: us,
          vsGrpc: us / grpcUs,
          mbPerS: streaming ? median(r.runs.map((x) => x.mbPerS)) : null,
          usPerMB: streaming ? median(r.runs.map((x) => x.usPerMB)) : null,
          ok: Math.min(...r.runs.map((x) => x.ok)),
          calls: r.runs[0].total,
        };
      }),
    };
  } finally {
    if (proxyProcess !== undefined) await processes.stop(proxyProcess.process);
    backend.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The result as a markdown table, as bench/README.md shows it. */
export function gatewayTable(result: GatewayBenchResult): string {
  const lines = [
    '| call | req/s | proxy CPU µs/call | × gRPC | MB/s of response | proxy CPU µs/MB | 2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    lines.push(
      `| ${r.name} | ${Math.round(r.rps)} | ${r.usPerCall.toFixed(1)} | ${r.vsGrpc.toFixed(2)} | ${r.mbPerS?.toFixed(2) ?? '–'} | ${r.usPerMB === null ? '–' : Math.round(r.usPerMB)} | ${r.ok}/${r.calls} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { calls: { type: 'string', default: '20000' }, quick: { type: 'boolean' } },
  });
  const processes = new ChildProcesses();
  processes.installHandlers(log);
  const result = await gatewayBench({
    calls: values.quick === true ? 3000 : Number(values.calls),
    processes,
  });
  console.log(
    `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; load average ${result.loadAverage.before.toFixed(2)} before, ${result.loadAverage.after.toFixed(2)} after; medians of ${result.runs}`,
  );
  console.log(gatewayTable(result));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
