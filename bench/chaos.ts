// `npm run chaos`: steady grpc-js load through the switchyard binary to three grpc-js backends,
// while, in turn, one backend is killed with SIGKILL and restarted on its port, and one is frozen
// with SIGSTOP and resumed with SIGCONT. For each fault it prints the calls that failed of those
// that ended while it lasted (and for a recovery window after), their p99, and when the last
// failure came. A skeleton: the faults of issue 14 that need more (a silent or non-HTTP/2
// backend, DNS flaps, the Consul double down, reloads, a worker killed) are still to be added.
import { parseArgs } from 'node:util';
import { ChildProcesses } from './child-processes.js';
import { startFleet, type Backend } from './grpc-fleet.js';
import { GrpcLoad, percentile, type CallOutcome } from './grpc-load.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Fault {
  readonly name: string;
  /** Injects the fault, holds it `holdMs`, then clears it. */
  readonly run: (backend: Backend, holdMs: number) => Promise<void>;
}

const FAULTS: readonly Fault[] = [
  {
    name: 'kill -9, restart',
    run: async (b, holdMs) => {
      b.signal('SIGKILL');
      await sleep(holdMs);
      await b.start();
    },
  },
  {
    name: 'SIGSTOP, SIGCONT',
    run: async (b, holdMs) => {
      b.signal('SIGSTOP');
      await sleep(holdMs);
      b.signal('SIGCONT');
    },
  },
];

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

function summarize(outcomes: readonly CallOutcome[], from: number, to: number) {
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      hold: { type: 'string', default: '5' },
      recovery: { type: 'string', default: '15' },
      concurrency: { type: 'string', default: '8' },
    },
  });
  const holdMs = Number(values.hold) * 1000;
  const recoveryMs = Number(values.recovery) * 1000;
  const processes = new ChildProcesses();
  processes.installHandlers((line) => console.error(line));
  // Outlier detection as examples/static.yaml configures it: what a deployment would run.
  const fleet = await startFleet(processes, {
    backends: 3,
    delayMs: 2,
    clusterYaml: ['    outlierDetection: {}'],
  });
  // Deadlines of 2 s: a call stuck on a frozen backend fails in 2 s, not the default 10.
  const load = new GrpcLoad({
    target: fleet.target,
    concurrency: Number(values.concurrency),
    channels: 2,
    churnMs: 60_000,
    mix: 'steady',
    deadlineMs: 2_000,
  });
  const rows: string[][] = [];
  // Channels connect and the proxy's code warms up first: the baseline is the steady state.
  await sleep(3_000);
  const baselineStart = performance.now();
  await sleep(5_000);
  const baseline = summarize(load.outcomes, baselineStart, performance.now());
  rows.push([
    'none (baseline, 5 s)',
    `${baseline.failed} / ${baseline.total}`,
    fixed(baseline.p99, 1),
    '–',
    baseline.statuses,
  ]);
  for (const [i, fault] of FAULTS.entries()) {
    const backend = fleet.backends[i];
    console.error(`chaos: ${fault.name} on ${backend.name} for ${holdMs / 1000} s`);
    const start = performance.now();
    await fault.run(backend, holdMs);
    const cleared = performance.now();
    await sleep(recoveryMs);
    const s = summarize(load.outcomes, start, performance.now());
    rows.push([
      `${fault.name} (${backend.name}, ${holdMs / 1000} s)`,
      `${s.failed} / ${s.total}`,
      fixed(s.p99, 1),
      s.lastFailure === undefined
        ? 'no failure'
        : `${fixed((s.lastFailure - cleared) / 1000, 1)} s`,
      s.statuses,
    ]);
  }
  await load.stop();
  await fleet.close();
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const header = [
    'fault',
    'calls failed / ended',
    'p99 ms',
    'last failure after the fault cleared',
    'failed with',
  ];
  console.log(`\n### Chaos: ${Number(values.concurrency)} calls in flight, 2 s deadlines\n`);
  console.log([line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n'));
  console.log(
    `\nEach fault's window runs from the moment it is injected to ${recoveryMs / 1000} s after it is cleared.`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
