// A test.Echo backend in a child process, for tests that stop it (SIGSTOP), resume it, kill it
// or give it a core of its own: its port, its call counts, and signals.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendReady, BackendStats, BackendTls, StatsRequest } from './echo-backend-main.js';

export interface SpawnOptions {
  /** Default 0: any free port. */
  readonly port?: number;
  readonly tls?: BackendTls;
  /** Node flags for the child, e.g. `--tls-max-v1.2`. */
  readonly execArgv?: readonly string[];
}

const MAIN = fileURLToPath(new URL('./echo-backend-main.js', import.meta.url));

export interface EchoBackendProcess {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly child: ChildProcess;
  /** Call counts so far (by method name too). */
  stats(): Promise<Omit<BackendStats, 'kind'>>;
  /** SIGSTOP: the process stops answering anything, its sockets stay open. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL, and resolves once the process is gone. Safe to call more than once. */
  kill(): Promise<void>;
}

/** Starts a backend process and resolves once it listens on 127.0.0.1. */
export async function spawnEchoBackend(
  name: string,
  options: SpawnOptions = {},
): Promise<EchoBackendProcess> {
  const args = [name, String(options.port ?? 0)];
  if (options.tls !== undefined) args.push(JSON.stringify(options.tls));
  const child = fork(MAIN, args, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: [...(options.execArgv ?? [])],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`backend ${name} did not start in 10 s`)),
      10_000,
    );
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`backend ${name} exited with ${code}`)));
    child.on('message', (m: BackendReady) => {
      if (m.kind !== 'ready') return;
      clearTimeout(timer);
      resolve(m.port);
    });
  });
  return {
    name,
    port: bound,
    address: `127.0.0.1:${bound}`,
    child,
    stats: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`backend ${name}: no stats in 5 s`)),
          5_000,
        );
        const onMessage = (m: BackendStats) => {
          if (m.kind !== 'stats') return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve({ calls: m.calls, cancelled: m.cancelled, byMethod: m.byMethod });
        };
        child.on('message', onMessage);
        const request: StatsRequest = { kind: 'stats?' };
        child.send(request);
      }),
    pause: () => {
      child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}
