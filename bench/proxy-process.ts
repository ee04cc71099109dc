// Starts the proxy under test: the compiled switchyard binary in quick-start mode, or any
// command given with --proxy-cmd (run by bash with LISTEN and BACKENDS in its environment).
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { RUNTIME_FLAGS } from '../bin/runtime-flags.js';
import type { ChildProcesses, StartedProcess } from './child-processes.js';

export const SWITCHYARD_JS = fileURLToPath(new URL('../bin/switchyard.js', import.meta.url));

const READY_TIMEOUT_MS = 15_000;

export interface ProxySpec {
  /** Name in progress lines and tables. */
  readonly name: string;
  /** A bash command line; undefined runs the switchyard binary. */
  readonly command?: string;
  /** Extra arguments for the switchyard binary (e.g. --workers 2). */
  readonly extraArgs: readonly string[];
  /** taskset CPU list for the proxy and everything it starts. */
  readonly cpu?: string;
}

export interface RunningProxy {
  readonly process: StartedProcess;
  /** "127.0.0.1:PORT" the proxy accepts h2c on. */
  readonly target: string;
  /** The last lines the proxy wrote, for error reports. */
  output(): string;
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP on the loopback `port` (within 500 ms). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts the proxy in front of `backends` ("host:port,host:port") and resolves once it is ready:
 * for the switchyard binary when it logs "listening", for a custom command when its port
 * accepts TCP. Rejects (and stops it) when it exits first or is not ready within 15 s.
 */
export async function startProxy(
  processes: ChildProcesses,
  spec: ProxySpec,
  backends: string,
): Promise<RunningProxy> {
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const base: [string, string[]] =
    spec.command !== undefined
      ? ['bash', ['-c', spec.command]]
      : [
          process.execPath,
          [
            ...RUNTIME_FLAGS,
            SWITCHYARD_JS,
            '--listen',
            listen,
            '--upstream',
            backends,
            ...spec.extraArgs,
          ],
        ];
  const [command, args] =
    spec.cpu !== undefined ? ['taskset', ['-c', spec.cpu, base[0], ...base[1]]] : base;
  const p = processes.start(spec.name, command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LISTEN: listen, BACKENDS: backends },
  });
  const lines: string[] = [];
  let sawListening = false;
  const keep = (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      if (line.includes('"listening"')) sawListening = true;
      lines.push(line);
      if (lines.length > 50) lines.shift();
    }
  };
  p.child.stdout!.setEncoding('utf8').on('data', keep);
  p.child.stderr!.setEncoding('utf8').on('data', keep);
  const running: RunningProxy = { process: p, target: listen, output: () => lines.join('\n') };
  const until = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < until) {
    if (!p.running) {
      throw new Error(
        `${spec.name} exited (${await p.exited}) before it was ready:\n${running.output()}`,
      );
    }
    const ready = spec.command === undefined ? sawListening : await canConnect(port);
    if (ready) return running;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await processes.stop(p);
  throw new Error(`${spec.name} was not ready on ${listen} within 15 s:\n${running.output()}`);
}
