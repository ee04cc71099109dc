// Runs one h2load scenario against the backend directly and then through a fresh proxy:
// gRPC check, warm-up, a measured run bounded by count and time, CPU and memory accounting.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backendStats, callsBetween } from './backend-process.js';
import {
  fmtInt,
  proxyPeakRss,
  round1,
  round3,
  withProxy,
  MiB,
  type BenchContext,
  type ProxyRun,
  type Via,
} from './bench-context.js';
import { grpcCheck, grpcMessage, type GrpcCheck } from './grpc-check.js';
import { runH2load, type H2loadResult, type Latency } from './h2load.js';
import { machineTicks, processCpuSeconds, treeCpuSeconds } from './proc-stats.js';
import { shape, type LoadScenario } from './scenarios.js';

export interface LoadRun {
  readonly via: Via;
  /** Name of what was measured: "direct" or the proxy's name. */
  readonly target: string;
  readonly check: GrpcCheck;
  readonly warmupRps: number;
  /** Calls asked for in the measured run (h2load -n). */
  readonly requested: number;
  readonly completed: number;
  /** Calls h2load did not see succeed (HTTP level: failed, errored, timed out, not done). */
  readonly errors: number;
  /** h2load's own counts of the measured run (HTTP level). */
  readonly h2load: {
    readonly failed: number;
    readonly errored: number;
    readonly timeouts: number;
    readonly status: H2loadResult['status'];
  };
  readonly timedOut: boolean;
  readonly seconds: number;
  readonly rps: number;
  /** Response payload MB/s (10^6 bytes), from h2load's DATA byte count. */
  readonly mbPerS: number;
  readonly latency: Latency | null;
  readonly cpu: {
    /** Proxy process tree CPU per completed call, µs (null for direct). */
    readonly proxyUsPerCall: number | null;
    /** Proxy CPU per MB of response payload, µs (streaming scenarios; null for direct). */
    readonly proxyUsPerMB: number | null;
    /** Proxy CPU over the run, % of one core. */
    readonly proxyPct: number | null;
    readonly backendUsPerCall: number | null;
    readonly backendPct: number | null;
    readonly h2loadPct: number;
    /** All CPUs of the machine, % busy (100 = every core busy). */
    readonly machineBusyPct: number;
    /**
     * Busy time not charged to the proxy, backend, h2load or this benchmark, in % of one core:
     * other work on the machine. Compare runs only when it is low.
     */
    readonly otherPct: number;
  };
  /** Peak resident memory of the proxy's process tree over warm-up and run, MiB. */
  readonly proxyPeakRssMb: number | null;
  /** Calls each backend port answered during warm-up and run. */
  readonly backendCalls: Record<string, number>;
  readonly h2loadSummary: string;
}

export interface LoadScenarioResult {
  readonly kind: 'load';
  readonly about: string;
  readonly clients: number;
  readonly streams: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly messages: number;
  readonly direct: LoadRun | { readonly error: string };
  readonly proxy: LoadRun | { readonly error: string };
  /** Proxy req/s (or MB/s) over direct. */
  readonly ratio: number | null;
}

const isRun = (r: LoadRun | { error: string }): r is LoadRun => !('error' in r);

async function measure(
  ctx: BenchContext,
  s: LoadScenario,
  via: Via,
  target: string,
  run: ProxyRun | undefined,
): Promise<LoadRun> {
  const { options } = ctx;
  const name = via === 'direct' ? 'direct' : ctx.proxy.name;
  const dataFile = path.join(ctx.workDir, `request-${s.requestBytes}.bin`);
  writeFileSync(dataFile, grpcMessage(s.requestBytes));
  const grpcPath = `/bench.Bench/${s.method}`;
  const headers: Record<string, string> = { 'bench-response-bytes': String(s.responseBytes) };
  if (s.method === 'ServerStream') headers['bench-messages'] = String(s.messages);
  const h2Headers = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  const url = `http://${target}${grpcPath}`;
  const label = `${shape(s)} via ${name}`;
  const callBytes = s.messages * (5 + s.responseBytes);

  const check = await grpcCheck({
    target,
    path: grpcPath,
    headers,
    body: grpcMessage(s.requestBytes),
    expectBytes: callBytes,
  });
  if (!check.ok) ctx.log(`${label}: gRPC check FAILED: ${check.why}`);

  const before = await backendStats(ctx.backend.ports[0]);
  const common = {
    url,
    clients: s.clients,
    streams: s.streams,
    dataFile,
    headers: h2Headers,
    cpu: ctx.loadCpu,
  };
  const warm = await runH2load(ctx.processes, {
    ...common,
    durationS: options.warmupS,
    timeoutMs: options.warmupS * 1000 + 15_000,
  });
  // A long streaming call may not finish within a short warm-up: its rate then comes from the
  // bytes that arrived.
  const warmCalls = Math.max(warm.succeeded, (warm.dataBytes ?? 0) / callBytes);
  const warmupRps = warm.seconds ? warmCalls / warm.seconds : 0;
  if (warmCalls === 0) {
    throw new Error(`${label}: no call succeeded in the warm-up\n${warm.summary}`);
  }
  const inFlight = s.clients * s.streams;
  const requested = Math.min(
    options.maxRequests,
    Math.max(inFlight * 4, Math.round(warmupRps * options.durationS)),
  );
  ctx.log(
    `${label}: warm-up ${warmupRps < 100 ? warmupRps.toFixed(1) : fmtInt(warmupRps)} calls/s; measuring ${fmtInt(requested)} calls (~${options.durationS} s)`,
  );

  const root = run?.proxy.process.pid;
  const backendPid = ctx.backend.process.pid;
  const proxyCpu0 = root !== undefined ? treeCpuSeconds(root) : 0;
  const backendCpu0 = processCpuSeconds(backendPid) ?? 0;
  const m0 = machineTicks();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await runH2load(ctx.processes, {
    ...common,
    requests: requested,
    logFile: path.join(ctx.workDir, 'h2load.log'),
    // Bounded in time too: three times the planned length, plus room for a slow start.
    timeoutMs: options.durationS * 3_000 + 15_000,
  });
  const wall = (performance.now() - t0) / 1000;
  const proxyCpu = root !== undefined ? treeCpuSeconds(root) - proxyCpu0 : null;
  const backendCpu = (processCpuSeconds(backendPid) ?? backendCpu0) - backendCpu0;
  const m1 = machineTicks();
  const self = process.cpuUsage(self0);
  const selfCpu = (self.user + self.system) / 1e6;
  const after = await backendStats(ctx.backend.ports[0]);

  const seconds = r.seconds ?? wall;
  const completed = r.succeeded;
  const rps = seconds > 0 ? completed / seconds : 0;
  const mb = (r.dataBytes ?? 0) / 1e6;
  const busyShare = (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total);
  const cpus = os.cpus().length;
  const perCall = (cpu: number | null) =>
    cpu === null || completed === 0 ? null : round1((cpu * 1e6) / completed);
  const pct = (cpu: number | null) => (cpu === null ? null : round1((100 * cpu) / wall));
  const result: LoadRun = {
    via,
    target: name,
    check,
    warmupRps: Math.round(warmupRps),
    requested,
    completed,
    errors: r.errors,
    h2load: { failed: r.failed, errored: r.errored, timeouts: r.timeouts, status: r.status },
    timedOut: r.timedOut,
    seconds: round3(seconds),
    rps: Math.round(rps),
    mbPerS: round1(seconds > 0 ? mb / seconds : 0),
    latency: r.latency,
    cpu: {
      proxyUsPerCall: perCall(proxyCpu),
      proxyUsPerMB:
        !s.reportsBytes || proxyCpu === null || mb === 0 ? null : round1((proxyCpu * 1e6) / mb),
      proxyPct: pct(proxyCpu),
      backendUsPerCall: perCall(backendCpu),
      backendPct: pct(backendCpu),
      h2loadPct: round1((100 * r.cpuSeconds) / wall),
      machineBusyPct: round1(busyShare * 100),
      otherPct: round1(
        Math.max(
          0,
          busyShare * cpus * 100 -
            (100 * ((proxyCpu ?? 0) + backendCpu + r.cpuSeconds + selfCpu)) / wall,
        ),
      ),
    },
    proxyPeakRssMb: run ? round1(proxyPeakRss(run) / MiB) : null,
    backendCalls: callsBetween(before, after),
    h2loadSummary: r.summary,
  };
  const rate = s.reportsBytes
    ? `${result.mbPerS.toFixed(1)} MB/s (${fmtInt(rps)} calls/s)`
    : `${fmtInt(rps)} req/s`;
  const p = r.latency;
  ctx.log(
    `${label}: ${rate}, p50 ${p?.p50Ms ?? '–'} ms, p99 ${p?.p99Ms ?? '–'} ms` +
      (result.cpu.proxyUsPerCall !== null ? `, proxy ${result.cpu.proxyUsPerCall} µs/call` : '') +
      (r.errors > 0 ? `, ${fmtInt(r.errors)} ERRORS` : '') +
      (result.cpu.otherPct > 10
        ? ` (other work on the machine: ${result.cpu.otherPct}% of a core)`
        : ''),
  );
  if (r.errors > 0 || r.timedOut) ctx.log(`${label}: h2load said:\n${r.summary}`);
  return result;
}

async function guarded<T>(ctx: BenchContext, what: string, fn: () => Promise<T>) {
  try {
    return await fn();
  } catch (err) {
    if (ctx.processes.isStopping) throw err;
    const error = (err as Error).message;
    ctx.log(`${what}: ${error}`);
    return { error };
  }
}

export async function runLoadScenario(
  ctx: BenchContext,
  s: LoadScenario,
): Promise<LoadScenarioResult> {
  const direct = await guarded(ctx, `${s.name} direct`, () =>
    measure(ctx, s, 'direct', `127.0.0.1:${ctx.backend.ports[0]}`, undefined),
  );
  const proxy = await guarded(ctx, `${s.name} via ${ctx.proxy.name}`, () =>
    withProxy(ctx, (run) => measure(ctx, s, 'proxy', run.proxy.target, run)),
  );
  let ratio: number | null = null;
  if (isRun(direct) && isRun(proxy)) {
    const [a, b] = s.reportsBytes ? [proxy.mbPerS, direct.mbPerS] : [proxy.rps, direct.rps];
    ratio = b > 0 ? Math.round((100 * a) / b) / 100 : null;
  }
  return {
    kind: 'load',
    about: s.about,
    clients: s.clients,
    streams: s.streams,
    requestBytes: s.requestBytes,
    responseBytes: s.responseBytes,
    messages: s.messages,
    direct,
    proxy,
    ratio,
  };
}
