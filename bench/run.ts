// `npm run bench`: the project's reproducible benchmark. Starts the backend, the proxy under
// test and h2load, runs each scenario directly and through the proxy, prints tables on stdout,
// progress on stderr, and writes every number as JSON. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_FLAGS } from '../bin/runtime-flags.js';
import { startBackend, type RunningBackend } from './backend-process.js';
import { balancerBench } from './balancer-bench.js';
import { configBench } from './config-bench.js';
import { gatewayBench } from './gateway-bench.js';
import type { BenchContext } from './bench-context.js';
import {
  findProblems,
  type BenchDocument,
  type BenchMeta,
  type ScenarioResult,
} from './bench-document.js';
import { parseBenchOptions, USAGE, type BenchOptions } from './bench-options.js';
import { ChildProcesses } from './child-processes.js';
import { BenchSetupError, ensureH2load, h2loadVersion } from './ensure-h2load.js';
import { h2ConnectionBench } from './h2-connection-bench.js';
import { h2FramesBench } from './h2-frames-bench.js';
import { hpackBench } from './hpack-bench.js';
import { runLoadScenario } from './load-scenario.js';
import {
  runCancelStreams,
  runOpenStreams,
  runSlowReader,
  runStalledReaders,
} from './memory-scenarios.js';
import { SWITCHYARD_JS, type ProxySpec } from './proxy-process.js';
import { renderReport } from './report.js';
import { observerBench } from './observer-bench.js';
import { resolverBench } from './resolver-bench.js';
import { selectScenarios, type Scenario } from './scenarios.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const PROXY_CPU = '0';
const LOAD_CPU = '1';
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
/** Scenarios that run inside this process: no backend, no proxy. */
const IN_PROCESS: ReadonlySet<Scenario['kind']> = new Set([
  'balancer',
  'resolver',
  'hpack',
  'h2-frames',
  'h2-connection',
  'config',
  'observers',
  // Starts its own route_guide backend and gateway proxy.
  'gateway',
]);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function tryText(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

/** Pinning as asked and possible: needs taskset and two CPUs; otherwise says why not. */
function pinning(options: BenchOptions): BenchMeta['pinning'] {
  if (!options.pin) return null;
  if (os.cpus().length < 2) {
    log('--pin needs at least 2 CPUs: not pinning');
    return null;
  }
  if (tryText('sh', ['-c', 'command -v taskset']) === null) {
    log('--pin needs taskset (util-linux): not pinning');
    return null;
  }
  // This process (the h2load driver, the open-streams and slow-reader clients) runs with the load.
  tryText('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)]);
  return { proxyCpu: PROXY_CPU, loadCpu: LOAD_CPU };
}

/** Scenarios that run in this process (or a child of it) and need no backend. */

async function runScenario(
  ctx: BenchContext | undefined,
  s: Scenario,
  quick: boolean,
  workDir: string,
): Promise<ScenarioResult> {
  if (ctx === undefined && !IN_PROCESS.has(s.kind)) {
    throw new Error(`${s.name} needs the backend, which is not running`);
  }
  switch (s.kind) {
    case 'load':
      return runLoadScenario(ctx!, s);
    case 'open-streams':
      return { kind: s.kind, about: s.about, runs: await runOpenStreams(ctx!) };
    case 'slow-reader':
      return { kind: s.kind, about: s.about, runs: await runSlowReader(ctx!) };
    case 'cancel-streams':
      return { kind: s.kind, about: s.about, runs: await runCancelStreams(ctx!) };
    case 'stalled-readers':
      return { kind: s.kind, about: s.about, runs: await runStalledReaders(ctx!) };
    case 'balancer':
      return {
        kind: s.kind,
        about: s.about,
        result: await balancerBench(quick ? { sizes: [10, 1_000], picks: 100_000, runs: 3 } : {}),
      };
    case 'resolver':
      return {
        kind: s.kind,
        about: s.about,
        result: await resolverBench(quick ? { runs: 5, polls: 1_000 } : {}),
      };
    case 'hpack':
      return {
        kind: s.kind,
        about: s.about,
        result: await hpackBench(quick ? { blocks: 20_000, runs: 3 } : {}),
      };
    case 'h2-frames':
      return {
        kind: s.kind,
        about: s.about,
        result: await h2FramesBench(quick ? { calls: 5_000, runs: 3, copyTurns: 300 } : {}),
      };
    case 'h2-connection':
      return {
        kind: s.kind,
        about: s.about,
        result: await h2ConnectionBench(quick ? { calls: 2_000, runs: 3 } : {}),
      };
    case 'config':
      return {
        kind: s.kind,
        about: s.about,
        result: await configBench({ dir: workDir, ...(quick ? { sizes: [1_000_000] } : {}) }),
      };
    case 'observers':
      return {
        kind: s.kind,
        about: s.about,
        result: await observerBench(quick ? { calls: 200_000, loggedCalls: 5_000 } : {}),
      };
    case 'gateway': {
      const processes = new ChildProcesses();
      try {
        return {
          kind: s.kind,
          about: s.about,
          result: await gatewayBench({ calls: quick ? 3_000 : 20_000, processes, log }),
        };
      } finally {
        await processes.stopAll();
      }
    }
  }
}

function resultsFile(options: BenchOptions, date: string): string {
  if (options.json !== undefined) return path.resolve(options.json);
  mkdirSync(RESULTS_DIR, { recursive: true });
  return path.join(RESULTS_DIR, `${date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  let scenarios: Scenario[];
  try {
    options = parseBenchOptions(argv);
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    scenarios = selectScenarios(options.only, options);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const needsH2load = scenarios.some((s) => s.kind === 'load');
  const needsProcesses = scenarios.some((s) => !IN_PROCESS.has(s.kind));
  let h2load: string | null;
  try {
    h2load = needsH2load ? ensureH2load(log) : (h2loadVersion() ?? null);
  } catch (err) {
    if (!(err instanceof BenchSetupError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (needsProcesses && options.proxyCommand === undefined && !existsSync(SWITCHYARD_JS)) {
    process.stderr.write(`bench: ${SWITCHYARD_JS} is missing: run \`npm run build\` first\n`);
    return EXIT_USAGE;
  }

  const date = new Date().toISOString();
  const started = performance.now();
  const pin = pinning(options);
  const proxy: ProxySpec = {
    name: options.proxyName,
    command: options.proxyCommand,
    extraArgs: options.proxyArgs,
    cpu: pin?.proxyCpu,
  };
  const meta: BenchMeta = {
    date,
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
    kernel: os.release(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cpus: os.cpus().length,
    h2load,
    gitCommit: tryText('git', ['-C', path.dirname(SWITCHYARD_JS), 'rev-parse', '--short', 'HEAD']),
    proxy: {
      name: proxy.name,
      command:
        options.proxyCommand ??
        [
          'node',
          ...RUNTIME_FLAGS,
          'dist/bin/switchyard.js',
          '--listen',
          '$LISTEN',
          '--upstream',
          '$BACKENDS',
          ...proxy.extraArgs,
        ].join(' '),
    },
    pinning: pin,
  };

  const processes = new ChildProcesses();
  processes.installHandlers(log);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
  const results: Record<string, ScenarioResult> = {};
  try {
    let backend: RunningBackend | undefined;
    if (needsProcesses) {
      backend = await startBackend(processes, pin?.loadCpu);
      log(`backend pid ${backend.process.pid} on ${backend.addresses}`);
    }
    const ctx: BenchContext | undefined = backend && {
      options,
      processes,
      backend,
      proxy,
      loadCpu: pin?.loadCpu,
      workDir,
      log,
    };
    for (const [i, s] of scenarios.entries()) {
      log(`(${i + 1}/${scenarios.length}) ${s.name}: ${s.about}`);
      try {
        results[s.name] = await runScenario(ctx, s, options.quick, workDir);
      } catch (err) {
        if (processes.isStopping) throw err;
        log(`${s.name}: ${(err as Error).message}`);
        results[s.name] = { kind: 'error', about: s.about, error: (err as Error).message };
      }
    }
  } finally {
    await processes.stopAll();
  }

  const doc: BenchDocument = {
    meta: { ...meta, elapsedS: Math.round((performance.now() - started) / 100) / 10 },
    options,
    scenarios: results,
    processes: processes.started,
    problems: findProblems(results),
  };
  const file = resultsFile(options, date);
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(renderReport(doc));
  log(`done in ${doc.meta.elapsedS} s; JSON: ${file}`);
  if (doc.problems.length > 0) log(`${doc.problems.length} problem(s): see "Problems" above`);
  return doc.problems.length > 0 ? EXIT_FAILED : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Nothing should be left to keep the process alive; if something is, do not hang.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
