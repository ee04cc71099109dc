// `npm run chaos [-- --short]`: steady grpc-js load through two switchyard binaries (2 workers
// each) to three grpc-js backends found through SRV records in a real dnsmasq; one proxy's
// cluster has an idempotent A6 retry policy, the other none. In turn: a backend is killed with
// SIGKILL and restarted on its port; frozen with SIGSTOP then resumed; replaced by a listener
// that accepts TCP and never speaks; replaced by one that answers HTTP/1.1 bytes; the SRV records
// flap; the config is reloaded 20 times; a worker of each proxy is killed; then, through a
// Consul-resolved cluster, the Consul double goes down for 30 s. For each fault it
// prints, for both proxies, the calls that failed of those that ended while it lasted (and for a
// recovery window after), their p99, and when the last failure came after the fault cleared;
// it exits 1 when a proxy still fails calls in the last second of a recovery window. `--short`
// holds each fault 2 s (Consul 3 s) for CI. Everything listens on 127.0.0.1; every wait is bounded.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ConsulDouble } from '../test/support/consul-double.js';
import { Dnsmasq } from '../test/support/dnsmasq.js';
import { ChildProcesses } from './child-processes.js';
import { startBackends, startProxy, type Backend, type Proxy } from './grpc-fleet.js';
import { GrpcLoad, percentile, type CallOutcome } from './grpc-load.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface World {
  readonly backends: readonly Backend[];
  readonly proxies: readonly Proxy[];
  readonly dns: Dnsmasq;
  readonly srv: (list: readonly Backend[]) => Parameters<Dnsmasq['restartWith']>[0];
}

interface Fault {
  readonly name: string;
  /** The fault is done to one backend (named in the table). */
  readonly onBackend?: true;
  /** Injects the fault, holds it `holdMs`, then clears it. */
  readonly run: (world: World, backend: Backend, holdMs: number) => Promise<void>;
}

/** A listener on the backend's port in its place: `onSocket` decides what it does with a peer. */
async function impostor(
  backend: Backend,
  holdMs: number,
  onSocket: (s: Socket) => void,
): Promise<void> {
  backend.signal('SIGKILL');
  await backend.process?.exited;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(backend.port, '127.0.0.1', () => resolve());
  });
  await sleep(holdMs);
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await backend.start();
}

/** The child processes (the workers) of `pid`. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const FAULTS: readonly Fault[] = [
  {
    name: 'kill -9, restart',
    onBackend: true,
    run: async (_w, b, holdMs) => {
      b.signal('SIGKILL');
      await sleep(holdMs);
      await b.start();
    },
  },
  {
    name: 'SIGSTOP, SIGCONT',
    onBackend: true,
    run: async (_w, b, holdMs) => {
      b.signal('SIGSTOP');
      await sleep(holdMs);
      b.signal('SIGCONT');
    },
  },
  {
    name: 'accepts TCP, never speaks',
    onBackend: true,
    run: (_w, b, holdMs) => impostor(b, holdMs, () => {}),
  },
  {
    name: 'answers HTTP/1.1 bytes',
    onBackend: true,
    run: (_w, b, holdMs) =>
      impostor(b, holdMs, (s) =>
        s.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request'),
      ),
  },
  {
    name: 'SRV records flap (dnsmasq restarted each second)',
    run: async (w, _b, holdMs) => {
      const sets = [w.backends.slice(0, 1), w.backends.slice(1), w.backends];
      const until = performance.now() + holdMs;
      for (let i = 0; performance.now() < until; i++) {
        await w.dns.restartWith(w.srv(sets[i % sets.length]));
        await sleep(1_000);
      }
      await w.dns.restartWith(w.srv(w.backends));
    },
  },
  {
    name: '20 config reloads (SIGHUP)',
    run: async (w, _b, holdMs) => {
      for (let i = 0; i < 20; i++) {
        for (const p of w.proxies) {
          // A changed file, so every reload builds a new config and swaps it in.
          writeFileSync(p.configFile, `${p.configText}# reload ${i}\n`);
          process.kill(p.process.pid, 'SIGHUP');
        }
        await sleep(holdMs / 20);
      }
    },
  },
  {
    name: 'a worker killed (workers: 2)',
    run: async (w, _b, holdMs) => {
      for (const p of w.proxies) {
        const [worker] = childrenOf(p.process.pid);
        if (worker !== undefined) process.kill(worker, 'SIGKILL');
      }
      await sleep(holdMs);
    },
  },
];

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

interface Window {
  readonly total: number;
  readonly failed: number;
  readonly p99: number;
  readonly lastFailure: number | undefined;
  readonly statuses: string;
}

function summarize(outcomes: readonly CallOutcome[], from: number, to: number): Window {
  const window = outcomes.filter((o) => o.at >= from && o.at < to);
  const failed = window.filter((o) => !o.ok);
  return {
    total: window.length,
    failed: failed.length,
    p99: percentile(
      window.map((o) => o.ms),
      99,
    ),
    lastFailure: failed.length > 0 ? Math.max(...failed.map((o) => o.at)) : undefined,
    statuses: [...new Set(failed.map((o) => o.status))].join(' '),
  };
}

const recovered = (w: Window, cleared: number) => {
  if (w.lastFailure === undefined) return 'no failure';
  if (w.lastFailure <= cleared) return 'while held';
  return `${fixed((w.lastFailure - cleared) / 1000, 1)} s`;
};

// The policy an idempotent read deserves: UNAVAILABLE tried up to 3 times, each attempt bounded
// so a frozen or silent endpoint costs 500 ms, not the call's whole 2 s deadline.
const RETRY_YAML = [
  '    retryPolicy:',
  '      maxAttempts: 3',
  '      initialBackoff: 20ms',
  '      maxBackoff: 200ms',
  '      backoffMultiplier: 2',
  '      retryableStatusCodes: [UNAVAILABLE]',
  '      perTryTimeout: 500ms',
];

/** A proxy pair (with and without retries) and the load on each. */
interface Pair {
  readonly proxies: readonly Proxy[];
  readonly loads: readonly GrpcLoad[];
}

async function startPair(
  processes: ChildProcesses,
  name: string,
  cluster: (extra: readonly string[]) => string[],
  concurrency: number,
): Promise<Pair> {
  const proxies = [
    await startProxy(processes, `${name}-retries`, cluster(RETRY_YAML), 2),
    await startProxy(processes, `${name}-none`, cluster([]), 2),
  ];
  // Deadlines of 2 s: a call stuck on a frozen backend fails in 2 s, not the default 10.
  const loads = proxies.map(
    (p) =>
      new GrpcLoad({
        target: p.target,
        concurrency,
        channels: 2,
        churnMs: 60_000,
        mix: 'steady',
        deadlineMs: 2_000,
      }),
  );
  // Channels connect and the proxy's code warms up first: the baseline is the steady state.
  await sleep(3_000);
  return { proxies, loads };
}

async function stopPair(processes: ChildProcesses, pair: Pair): Promise<void> {
  await Promise.all(pair.loads.map((l) => l.stop()));
  for (const p of pair.proxies) {
    await processes.stop(p.process);
    p.cleanup();
  }
}

/** The outcome of one fault on both proxies. */
interface Measured {
  readonly label: string;
  readonly cleared: number;
  readonly windows: readonly Window[];
  /** The last second of the recovery window: calls that ended, and those that failed. */
  readonly tail: readonly { readonly total: number; readonly failed: number }[];
}

async function measure(
  pair: Pair,
  label: string,
  recoveryMs: number,
  run: () => Promise<void>,
): Promise<Measured> {
  console.error(`chaos: ${label}`);
  const start = performance.now();
  await run();
  const cleared = performance.now();
  await sleep(recoveryMs);
  const end = performance.now();
  return {
    label,
    cleared,
    windows: pair.loads.map((l) => summarize(l.outcomes, start, end)),
    tail: pair.loads.map((l) => summarize(l.outcomes, end - 1_000, end)),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      hold: { type: 'string' },
      recovery: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
    },
  });
  const short = values.short === true;
  const holdMs = Number(values.hold ?? (short ? 2 : 10)) * 1000;
  const consulDownMs = short ? 3_000 : 30_000;
  const recoveryMs = Number(values.recovery ?? (short ? 3 : 10)) * 1000;
  const concurrency = Number(values.concurrency);
  const load1 = loadavg()[0];
  const processes = new ChildProcesses();
  processes.installHandlers((line) => console.error(line));
  const backends = await startBackends(processes, 3, 2);
  const srv = (list: readonly Backend[]) => ({
    srv: list.map((b) => ({ name: '_grpc._tcp.rg.test', target: 'backends.test', port: b.port })),
  });
  const dns = new Dnsmasq({ hosts: ['127.0.0.1 backends.test'], ...srv(backends) });
  await dns.start();
  const results: Measured[] = [];

  // Every fault but the Consul one, through a cluster that finds the backends in dnsmasq.
  const dnsPair = await startPair(
    processes,
    'dns',
    (extra) => [
      `    target: dns+srv://${dns.server}/_grpc._tcp.rg.test`,
      '    resolver: { minRefreshMs: 200, maxRefreshMs: 1000, timeoutMs: 300, tries: 1 }',
      // Outlier detection as examples/static.yaml configures it: what a deployment would run.
      '    outlierDetection: {}',
      ...extra,
    ],
    concurrency,
  );
  const world: World = { backends, proxies: dnsPair.proxies, dns, srv };
  results.push(await measure(dnsPair, 'none (baseline)', 0, () => sleep(short ? 2_000 : 5_000)));
  for (const [i, fault] of FAULTS.entries()) {
    const backend = backends[i % backends.length];
    results.push(
      await measure(
        dnsPair,
        `${fault.name} (${fault.onBackend ? `${backend.name}, ` : ''}${holdMs / 1000} s)`,
        recoveryMs,
        () => fault.run(world, backend, holdMs),
      ),
    );
  }
  await stopPair(processes, dnsPair);

  // The Consul agent down: the clusters keep their last endpoints while it is unreachable.
  let consul = await ConsulDouble.start();
  const port = Number(consul.address.split(':')[1]);
  const registerAll = (c: ConsulDouble) => {
    for (const b of backends) {
      c.register({ id: b.name, service: 'routeguide', address: '127.0.0.1', port: b.port });
    }
  };
  registerAll(consul);
  const consulPair = await startPair(
    processes,
    'consul',
    (extra) => [
      `    target: consul://${consul.address}/routeguide`,
      '    resolver: { waitMs: 5s, backoffInitialMs: 200, backoffMaxMs: 1000 }',
      '    outlierDetection: {}',
      ...extra,
    ],
    concurrency,
  );
  results.push(
    await measure(
      consulPair,
      `Consul double down (${consulDownMs / 1000} s)`,
      recoveryMs,
      async () => {
        await consul.close();
        await sleep(consulDownMs);
        consul = await ConsulDouble.start({ port });
        registerAll(consul);
      },
    ),
  );
  await stopPair(processes, consulPair);
  await consul.close();
  await dns.close();
  await processes.stopAll();

  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const header = [
    'fault',
    'failed / ended, retries',
    'failed / ended, none',
    'p99 ms, retries',
    'p99 ms, none',
    'last failure after clear, retries / none',
    'failed with, retries / none',
  ];
  const row = (m: Measured) => [
    m.label,
    ...m.windows.map((x) => `${x.failed} / ${x.total}`),
    ...m.windows.map((x) => fixed(x.p99, 1)),
    m.windows.map((x) => recovered(x, m.cleared)).join(' / '),
    m.windows.map((x) => x.statuses || '–').join(' / '),
  ];
  console.log(
    `\n### Chaos: ${concurrency} calls in flight per proxy, 2 s deadlines, faults held ` +
      `${holdMs / 1000} s, load average ${load1.toFixed(2)} at the start\n`,
  );
  console.log(
    [line(header), line(header.map(() => '---')), ...results.map(row).map(line)].join('\n'),
  );
  console.log(
    `\nEach fault's window runs from the moment it is injected to ${recoveryMs / 1000} s after ` +
      'it is cleared; "while held": every failure came before the fault was cleared.',
  );
  // The pass mark: both proxies serve again once a fault has cleared. In the last second of each
  // recovery window calls ended, and none failed.
  const stuck = results.flatMap((m) =>
    m.tail.flatMap((t, i) =>
      m.label.startsWith('none') || (t.total > 0 && t.failed === 0)
        ? []
        : [
            `${m.label}, ${i === 0 ? 'retries' : 'none'}: ${t.failed} / ${t.total} in the last second`,
          ],
    ),
  );
  for (const s of stuck) console.error(`chaos: not recovered: ${s}`);
  return stuck.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
