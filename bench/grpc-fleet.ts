// Real processes for the soak and chaos runs: RouteGuide backends on @grpc/grpc-js (each its own
// process, so it can be killed or stopped), and the switchyard binary in front of them, run from
// a config file with an admin listener whose /metrics the runs read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_FLAGS } from '../bin/runtime-flags.js';
import type { ChildProcesses, StartedProcess } from './child-processes.js';
import { freePort, SWITCHYARD_JS } from './proxy-process.js';

const ROUTE_GUIDE_JS = fileURLToPath(new URL('../examples/route-guide/server.js', import.meta.url));
const READY_MS = 15_000;

/** Resolves once `p` writes a line containing `text`; rejects when it exits first or after 15 s. */
function waitForLine(p: StartedProcess, text: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${what}: not ready within 15 s:\n${seen}`)),
      READY_MS,
    );
    const onData = (chunk: string) => {
      seen = (seen + chunk).slice(-4_000);
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    p.child.stdout!.setEncoding('utf8').on('data', onData);
    p.child.stderr!.setEncoding('utf8').on('data', onData);
    void p.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready:\n${seen}`));
    });
  });
}

export class Backend {
  process: StartedProcess | undefined;
  constructor(
    private readonly processes: ChildProcesses,
    readonly name: string,
    readonly port: number,
    private readonly delayMs: number,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port) the backend; resolves once it listens. */
  async start(): Promise<void> {
    const p = this.processes.start(
      this.name,
      process.execPath,
      [
        ROUTE_GUIDE_JS,
        '--port',
        String(this.port),
        '--name',
        this.name,
        '--delay-ms',
        String(this.delayMs),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.process = p;
    await waitForLine(p, 'listening on', this.name);
  }

  /** Sends `signal` to the backend's process (SIGKILL, SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    if (this.process !== undefined) process.kill(this.process.pid, signal);
  }
}

export interface Fleet {
  readonly backends: Backend[];
  readonly proxy: StartedProcess;
  /** "127.0.0.1:PORT" the proxy takes h2c gRPC on. */
  readonly target: string;
  /** "http://127.0.0.1:PORT" of the admin listener. */
  readonly admin: string;
  close(): Promise<void>;
}

export interface FleetOptions {
  readonly backends: number;
  /** Added by each backend before its first response. */
  readonly delayMs: number;
  /** Extra YAML lines under the cluster (e.g. an outlier detection block), indented 4. */
  readonly clusterYaml?: readonly string[];
}

export interface Proxy {
  readonly process: StartedProcess;
  /** "127.0.0.1:PORT" the proxy takes h2c gRPC on. */
  readonly target: string;
  /** "http://127.0.0.1:PORT" of the admin listener. */
  readonly admin: string;
  /** The config file it runs from, and what it held at the start (for reloads). */
  readonly configFile: string;
  readonly configText: string;
  /** Removes the config file's folder. */
  cleanup(): void;
}

/** `count` backends on free ports, started and listening. */
export async function startBackends(
  processes: ChildProcesses,
  count: number,
  delayMs: number,
): Promise<Backend[]> {
  const backends: Backend[] = [];
  for (let i = 0; i < count; i++) {
    backends.push(new Backend(processes, `backend-${i + 1}`, await freePort(), delayMs));
  }
  await Promise.all(backends.map((b) => b.start()));
  return backends;
}

/** The switchyard binary with one cluster (`clusterYaml`: its lines, indented 4). */
export async function startProxy(
  processes: ChildProcesses,
  name: string,
  clusterYaml: readonly string[],
  workers = 1,
): Promise<Proxy> {
  const listen = await freePort();
  const admin = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-soak-'));
  const file = join(dir, 'switchyard.yaml');
  const text = [
    'listeners:',
    `  - address: 127.0.0.1:${listen}`,
    'admin:',
    `  address: 127.0.0.1:${admin}`,
    `workers: ${workers}`,
    'clusters:',
    '  routeguide:',
    ...clusterYaml,
    'log:',
    '  level: warn',
    '',
  ].join('\n');
  writeFileSync(file, text);
  const proxy = processes.start(
    name,
    process.execPath,
    [...RUNTIME_FLAGS, SWITCHYARD_JS, '--config', file, '--log-level', 'info'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    await waitForLine(proxy, '"listening"', name);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    process: proxy,
    target: `127.0.0.1:${listen}`,
    admin: `http://127.0.0.1:${admin}`,
    configFile: file,
    configText: text,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function startFleet(processes: ChildProcesses, options: FleetOptions): Promise<Fleet> {
  const backends = await startBackends(processes, options.backends, options.delayMs);
  const proxy = await startProxy(processes, 'switchyard', [
    `    target: static:///${backends.map((b) => b.address).join(',')}`,
    ...(options.clusterYaml ?? []),
  ]);
  return {
    backends,
    proxy: proxy.process,
    target: proxy.target,
    admin: proxy.admin,
    close: async () => {
      await processes.stopAll();
      proxy.cleanup();
    },
  };
}

/** Values of unlabelled series in a Prometheus text exposition, by metric name. */
export async function scrapeMetrics(admin: string): Promise<Map<string, number>> {
  const response = await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}
