// `npm run bench:tls`: what TLS on the listener costs switchyard, nginx and HAProxy per call.
// Each proxy is measured twice on the same load, with h2c and with TLS (HTTP/2 by ALPN) on its
// listener, h2c to the bench backend's two ports either way. The proxy runs alone on CPU 0 (one
// process or thread), the backend, h2load and this process on CPU 1, as ../shared/bench/compare
// does: a warm-up, a throughput run (h2load -c 16 -m 8 bounded by -n), a latency run (-c 1 -m 1),
// then a connection run (every h2load client one new connection making one call) for the cost
// of a full handshake. Proxy CPU comes from /proc over each run; --runs N prints medians.
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startBackend } from './backend-process.js';
import { ChildProcesses, type StartedProcess } from './child-processes.js';
import { grpcMessage } from './grpc-check.js';
import { parseSummary, runH2load, type H2loadResult } from './h2load.js';
import { processCpuSeconds, treeCpuSeconds, treeRssBytes } from './proc-stats.js';
import { canConnect, freePort } from './proxy-process.js';
import { makeBenchCerts, type BenchCerts } from './tls-certs.js';
import { PROXY_NAMES, proxyLaunch, proxyVersion, type ProxyName } from './tls-proxies.js';

const log = (line: string) => process.stderr.write(`[bench:tls] ${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const PROXY_CPU = '0';
const LOAD_CPU = '1';
const PAYLOAD_BYTES = 10;
const PATH = '/bench.Echo/Unary';
/** Cap on h2load -n, so a fast proxy's run stays bounded. */
const MAX_REQUESTS = 1_000_000;

export type Listener = 'h2c' | 'tls';

export interface Options {
  readonly runs: number;
  readonly rsa: boolean;
  readonly seconds: number;
  readonly latSeconds: number;
  readonly warmupS: number;
  /** New connections in the connection run; 0 skips it. */
  readonly connections: number;
  readonly only: readonly ProxyName[];
}

export interface Measurement {
  readonly target: ProxyName;
  readonly listener: Listener;
  readonly run: number;
  /** Negotiated by h2load: protocol, cipher, key exchange, ALPN. */
  readonly tls: string | null;
  readonly rps: number;
  readonly calls: number;
  readonly errors: number;
  readonly cpuUsPerCall: number;
  readonly rssMB: number;
  /** Busy time at normal priority not charged to proxy, backend or h2load, % of one core. */
  readonly noisePct: number;
  /** Busy time of processes at a raised nice value (they yield to the measured ones). */
  readonly nicedPct: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly latErrors: number;
  /** Proxy CPU per new connection that makes one call (the connection run). */
  readonly cpuUsPerConnection: number | null;
  readonly connectionErrors: number | null;
}

/** Ticks of all cores from /proc/stat: busy at normal priority, busy at nice > 0, in total. */
function cpuTicks(): { normal: number; niced: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu user nice system idle iowait irq softirq steal
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const normal = user + system + irq + softirq + steal;
  return { normal, niced: nice, total: normal + nice + idle + iowait };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

/** One gRPC call through the proxy, checked like the other benchmarks check theirs. */
function grpcCall(port: number, certs: BenchCerts | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    const session =
      certs === undefined
        ? http2.connect(`http://127.0.0.1:${port}`)
        : http2.connect(`https://127.0.0.1:${port}`, { ca: readFileSync(certs.ca) });
    let status: number | undefined;
    let contentType = '';
    let grpcStatus: string | undefined;
    let bytes = 0;
    let settled = false;
    const finish = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => finish('no complete answer within 5 s'), 5_000);
    session.on('error', (err: Error) => finish(err.message));
    const stream = session.request({
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('response', (h) => {
      status = Number(h[':status']);
      contentType = String(h['content-type'] ?? '');
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']);
    });
    stream.on('error', (err: Error) => finish(err.message));
    stream.on('close', () => {
      const why: string[] = [];
      if (status !== 200) why.push(`:status ${status}`);
      if (!contentType.startsWith('application/grpc')) why.push(`content-type ${contentType}`);
      if (bytes !== 5 + PAYLOAD_BYTES) why.push(`body ${bytes} B, want ${5 + PAYLOAD_BYTES}`);
      if (grpcStatus !== '0') why.push(`grpc-status ${grpcStatus ?? 'missing'}`);
      finish(why.length === 0 ? undefined : why.join('; '));
    });
    stream.end(grpcMessage(PAYLOAD_BYTES));
  });
}

async function waitListening(p: StartedProcess, port: number, what: string): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (!p.running) throw new Error(`${what} exited (${await p.exited}) before listening`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within 15 s`);
}

/** h2load's own view of the session: "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519 h2". */
function negotiated(url: string, dataFile: string): Promise<string | null> {
  return new Promise((resolve) => {
    const args = ['-n', '1', '-c', '1', '-d', dataFile, '-H', 'content-type: application/grpc'];
    execFile('h2load', [...args, '-H', 'te: trailers', url], { timeout: 10_000 }, (_e, out) => {
      const proto = /TLS Protocol: (\S+)/.exec(out)?.[1];
      const cipher = /Cipher: (\S+)/.exec(out)?.[1];
      const kx = /Server Temp Key: (\S+)/.exec(out)?.[1];
      const alpn = /Application protocol: (\S+)/.exec(out)?.[1];
      resolve(proto === undefined ? null : `${proto} ${cipher} ${kx ?? ''} ${alpn ?? ''}`.trim());
    });
  });
}

/**
 * h2load with `connections` clients of one call each, opened at 1,000 a second (all at once
 * would overflow the listen backlogs, 511 by default, and time out SYNs for 1 s).
 */
async function connectionRun(
  processes: ChildProcesses,
  url: string,
  dataFile: string,
  connections: number,
): Promise<ReturnType<typeof parseSummary>> {
  const args = ['-c', String(connections), '-n', String(connections), '-m', '1', '-t', '1'];
  args.push('--rate', '100', '--rate-period', '100ms', '-d', dataFile);
  args.push('-H', 'content-type: application/grpc', '-H', 'te: trailers', url);
  const p = processes.start('h2load', 'taskset', ['-c', LOAD_CPU, 'h2load', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const killer = setTimeout(() => {
    if (p.running) p.child.kill('SIGKILL');
  }, 30_000);
  await p.exited;
  clearTimeout(killer);
  await processes.stop(p, 0);
  return parseSummary(out);
}

interface Ctx {
  readonly processes: ChildProcesses;
  readonly dir: string;
  readonly dataFile: string;
  readonly backend: StartedProcess;
  readonly backends: readonly string[];
  readonly certs: BenchCerts;
  readonly options: Options;
}

async function measureOne(
  ctx: Ctx,
  target: ProxyName,
  listener: Listener,
  run: number,
): Promise<Measurement> {
  const { processes, options } = ctx;
  const certs = listener === 'tls' ? ctx.certs : undefined;
  const port = await freePort();
  const launch = proxyLaunch(target, ctx.dir, port, ctx.backends, certs);
  const fd = openSync(path.join(ctx.dir, `${target}-${listener}.out`), 'a');
  const proxy = processes.start(
    target,
    'taskset',
    ['-c', PROXY_CPU, launch.command, ...launch.args],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  try {
    await waitListening(proxy, port, target);
    const why = await grpcCall(port, certs);
    if (why !== undefined) throw new Error(`${target} (${listener}): gRPC check failed: ${why}`);
    const url = `${listener === 'tls' ? 'https' : 'http'}://127.0.0.1:${port}${PATH}`;
    const tls = listener === 'tls' ? await negotiated(url, ctx.dataFile) : null;
    const load = (c: number, m: number, n: number | undefined, logFile?: string) =>
      runH2load(processes, {
        url,
        clients: c,
        streams: m,
        ...(n === undefined ? { durationS: options.warmupS } : { requests: n }),
        dataFile: ctx.dataFile,
        headers: [],
        ...(logFile === undefined ? {} : { logFile }),
        timeoutMs: Math.ceil((n === undefined ? options.warmupS : options.seconds) * 4 + 15) * 1000,
        cpu: LOAD_CPU,
      });
    const measured = async (c: number, m: number, secs: number, minN: number, logFile?: string) => {
      const warm = await load(c, m, undefined);
      if (warm.succeeded === 0)
        throw new Error(`${target} (${listener}) warm-up:\n${warm.summary}`);
      const n = Math.min(MAX_REQUESTS, Math.max(minN, Math.round((warm.rps ?? 1000) * secs)));
      const cpu0 = treeCpuSeconds(proxy.pid);
      const backend0 = processCpuSeconds(ctx.backend.pid) ?? 0;
      const m0 = cpuTicks();
      const t0 = process.hrtime.bigint();
      const r: H2loadResult = await load(c, m, n, logFile);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const m1 = cpuTicks();
      const cpu = treeCpuSeconds(proxy.pid) - cpu0;
      const backendCpu = (processCpuSeconds(ctx.backend.pid) ?? 0) - backend0;
      // Cores busy during the run (ticks of all cores over the run's ticks per core), at normal
      // priority and at a raised nice value; what the benchmark's own processes used is
      // normal-priority time, so the rest of it is other work competing with the measurement.
      const cores = os.cpus().length;
      const share = (k: 'normal' | 'niced') =>
        ((m1[k] - m0[k]) / Math.max(1, m1.total - m0.total)) * cores;
      const noise = Math.max(0, share('normal') - (cpu + backendCpu + r.cpuSeconds) / wall);
      return {
        r,
        cpu,
        noisePct: Math.round(noise * 1000) / 10,
        nicedPct: Math.round(share('niced') * 1000) / 10,
      };
    };
    const thr = await measured(16, 8, options.seconds, 10_000);
    const rssMB = Math.round(treeRssBytes(proxy.pid) / 1048576);
    const latLog = path.join(ctx.dir, `${target}-${listener}-lat.log`);
    const lat = await measured(1, 1, options.latSeconds, 2_000, latLog);
    let cpuUsPerConnection: number | null = null;
    let connectionErrors: number | null = null;
    if (options.connections > 0) {
      const cpu0 = treeCpuSeconds(proxy.pid);
      const c = await connectionRun(processes, url, ctx.dataFile, options.connections);
      const cpu = treeCpuSeconds(proxy.pid) - cpu0;
      cpuUsPerConnection = Math.round((cpu * 1e7) / Math.max(1, c.succeeded)) / 10;
      connectionErrors = options.connections - c.succeeded;
    }
    const calls = thr.r.succeeded;
    return {
      target,
      listener,
      run,
      tls,
      rps: Math.round(thr.r.rps ?? 0),
      calls,
      errors: thr.r.errors,
      cpuUsPerCall: Math.round((thr.cpu * 1e7) / Math.max(1, calls)) / 10,
      rssMB,
      noisePct: Math.max(thr.noisePct, lat.noisePct),
      nicedPct: Math.max(thr.nicedPct, lat.nicedPct),
      p50Ms: lat.r.latency?.p50Ms ?? null,
      p99Ms: lat.r.latency?.p99Ms ?? null,
      latErrors: lat.r.errors,
      cpuUsPerConnection,
      connectionErrors,
    };
  } finally {
    await processes.stop(proxy);
  }
}

export interface Row {
  readonly target: ProxyName;
  readonly listener: Listener;
  readonly runs: number;
  readonly tls: string | null;
  readonly rps: number;
  readonly cpuUsPerCall: number;
  /** CPU per call over the same proxy's h2c figure (TLS rows only). */
  readonly tlsUsPerCall: number | null;
  readonly rssMB: number;
  readonly p50Ms: number | null;
  readonly tlsP50Us: number | null;
  readonly cpuUsPerConnection: number | null;
  readonly tlsUsPerConnection: number | null;
  readonly errors: number;
  readonly noisePct: readonly number[];
}

/** Medians over runs, per target and listener. */
export function medians(all: readonly Measurement[]): Row[] {
  const rows: Row[] = [];
  const keyed = new Map<string, Measurement[]>();
  for (const m of all) {
    const k = `${m.target}/${m.listener}`;
    keyed.set(k, [...(keyed.get(k) ?? []), m]);
  }
  const med = (ms: Measurement[], f: (m: Measurement) => number | null) => {
    const v = ms.map(f).filter((x): x is number => x !== null);
    return v.length === 0 ? null : median(v);
  };
  for (const ms of keyed.values()) {
    const { target, listener } = ms[0];
    const plain = keyed.get(`${target}/h2c`);
    const cpu = med(ms, (m) => m.cpuUsPerCall)!;
    const p50 = med(ms, (m) => m.p50Ms);
    const conn = med(ms, (m) => m.cpuUsPerConnection);
    const diff = (a: number | null, b: number | null, scale = 1) =>
      listener === 'tls' && a !== null && b !== null ? Math.round((a - b) * scale * 10) / 10 : null;
    rows.push({
      target,
      listener,
      runs: ms.length,
      tls: ms[0].tls,
      rps: med(ms, (m) => m.rps)!,
      cpuUsPerCall: cpu,
      tlsUsPerCall: diff(cpu, plain ? med(plain, (m) => m.cpuUsPerCall) : null),
      rssMB: med(ms, (m) => m.rssMB)!,
      p50Ms: p50,
      tlsP50Us: diff(p50, plain ? med(plain, (m) => m.p50Ms) : null, 1000),
      cpuUsPerConnection: conn,
      tlsUsPerConnection: diff(conn, plain ? med(plain, (m) => m.cpuUsPerConnection) : null),
      errors: ms.reduce((s, m) => s + m.errors + m.latErrors + (m.connectionErrors ?? 0), 0),
      noisePct: ms.map((m) => m.noisePct),
    });
  }
  return rows;
}

const n0 = (x: number | null) => (x === null ? '–' : Math.round(x).toLocaleString('en-US'));
const n1 = (x: number | null) => (x === null ? '–' : x.toFixed(1));
const signed = (x: number | null, f: (y: number) => string) =>
  x === null ? '–' : `${x >= 0 ? '+' : ''}${f(x)}`;

export function table(rows: readonly Row[]): string {
  const lines = [
    '| proxy | listener | req/s (16 × 8) | proxy CPU µs/call | TLS adds µs/call | RSS MB | p50 ms (1 × 1) | TLS adds to p50, µs | proxy CPU µs per new connection + call | TLS adds per connection, µs | failed calls | other CPU % each run |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.target} | ${r.listener === 'tls' ? 'TLS (h2)' : 'h2c'} | ${n0(r.rps)} | ${n1(r.cpuUsPerCall)} | ${signed(r.tlsUsPerCall, (y) => y.toFixed(1))} | ${n0(r.rssMB)} | ${r.p50Ms === null ? '–' : r.p50Ms.toFixed(3)} | ${signed(r.tlsP50Us, (y) => String(Math.round(y)))} | ${n0(r.cpuUsPerConnection)} | ${signed(r.tlsUsPerConnection, (y) => String(Math.round(y)))} | ${r.errors} | ${r.noisePct.join(', ')} |`,
    );
  }
  return lines.join('\n');
}

export async function tlsBench(processes: ChildProcesses, options: Options) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'swy-tls-bench-'));
  try {
    const certs = await makeBenchCerts(dir, options.rsa ? 'rsa-2048' : 'ecdsa-p256');
    const dataFile = path.join(dir, 'request.grpc');
    writeFileSync(dataFile, grpcMessage(PAYLOAD_BYTES));
    const backend = await startBackend(processes, LOAD_CPU);
    const ctx: Ctx = {
      processes,
      dir,
      dataFile,
      backend: backend.process,
      backends: backend.addresses.split(','),
      certs,
      options,
    };
    const loadBefore = os.loadavg()[0];
    const all: Measurement[] = [];
    for (let run = 1; run <= options.runs; run++) {
      for (const target of options.only) {
        // h2c and TLS back to back, so the pair sees the same machine.
        for (const listener of ['h2c', 'tls'] as const) {
          const m = await measureOne(ctx, target, listener, run);
          log(
            `run ${run}: ${target} ${listener}: ${m.rps} req/s, ${m.cpuUsPerCall} µs/call, p50 ${m.p50Ms} ms, ${m.cpuUsPerConnection ?? '–'} µs/connection, other CPU ${m.noisePct} % (niced ${m.nicedPct} %)`,
          );
          all.push(m);
        }
      }
    }
    return { loadAverage: { before: loadBefore, after: os.loadavg()[0] }, measurements: all };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      rsa: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '10' },
      'lat-seconds': { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '1000' },
      only: { type: 'string', default: PROXY_NAMES.join(',') },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench:tls -- [--runs 3] [--rsa] [--seconds 10] [--lat-seconds 5] [--warmup 1] [--connections 1000] [--only switchyard,nginx,haproxy] [--json FILE]',
    );
    return;
  }
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) {
      console.error(`bench:tls: --${name} must be a number ≥ ${min}, got ${v}`);
      process.exit(2);
    }
    return n;
  };
  if (os.cpus().length < 2) {
    console.error('bench:tls: needs 2 CPUs (the proxy alone on CPU 0, the load on CPU 1)');
    process.exit(2);
  }
  const only: ProxyName[] = [];
  for (const name of values.only.split(',').filter(Boolean)) {
    if (!(PROXY_NAMES as readonly string[]).includes(name)) {
      console.error(`bench:tls: --only: unknown proxy ${name} (${PROXY_NAMES.join(', ')})`);
      process.exit(2);
    }
    const version = proxyVersion(name as ProxyName);
    if (version === undefined) log(`${name} is not installed: skipped`);
    else only.push(name as ProxyName);
  }
  const options: Options = {
    runs: Math.round(num('runs', values.runs, 1)),
    rsa: values.rsa,
    seconds: num('seconds', values.seconds, 0.5),
    latSeconds: num('lat-seconds', values['lat-seconds'], 0.5),
    warmupS: num('warmup', values.warmup, 0.1),
    connections: Math.round(num('connections', values.connections, 0)),
    only,
  };
  const processes = new ChildProcesses();
  processes.installHandlers(log);
  // This process (and the backend and h2load it starts) on the load core.
  await new Promise<void>((resolve) =>
    execFile('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], () => resolve()),
  );
  const started = new Date().toISOString();
  try {
    const result = await tlsBench(processes, options);
    const rows = medians(result.measurements);
    const versions = Object.fromEntries(only.map((n) => [n, proxyVersion(n)]));
    console.log(
      `${started}; node ${process.version}; ${Object.values(versions).join('; ')}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; load average ${result.loadAverage.before.toFixed(2)} before, ${result.loadAverage.after.toFixed(2)} after`,
    );
    console.log(
      `${options.rsa ? 'RSA-2048' : 'ECDSA P-256'} certificate; TLS: ${[...new Set(rows.filter((r) => r.tls).map((r) => `${r.target} ${r.tls}`))].join('; ')}; medians of ${options.runs}`,
    );
    console.log(table(rows));
    if (values.json !== undefined) {
      writeFileSync(
        values.json,
        JSON.stringify(
          { started, node: process.version, versions, options, ...result, rows },
          null,
          2,
        ),
      );
      log(`wrote ${values.json}`);
    }
    if (rows.some((r) => r.errors > 0)) process.exitCode = 1;
  } finally {
    await processes.stopAll();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
