// Runs the switchyard binary as a child process, for tests of the CLI, signals and memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { closedPort } from './raw-upstream.js';

export const SWITCHYARD_BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

export interface SpawnedProxy {
  readonly child: ChildProcess;
  readonly port: number;
  readonly target: string;
  /** stderr lines so far (JSON log lines when not on a terminal). */
  readonly lines: string[];
  /** Resident memory of the process now, in bytes. */
  rss(): number;
  /** Resolves with the exit code (or signal name) once the process ends. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `switchyard --listen 127.0.0.1:<free port> ...args` and waits until it listens. */
export async function spawnProxy(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<SpawnedProxy> {
  const port = await closedPort();
  const child = spawn(
    process.execPath,
    [SWITCHYARD_BIN, '--listen', `127.0.0.1:${port}`, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let buffered = '';
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.includes('"listening"')) resolve();
      }
    });
    void exited.then((code) =>
      reject(new Error(`switchyard exited (${code}) before listening:\n${lines.join('\n')}`)),
    );
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    await listening;
  } finally {
    clearTimeout(timer);
  }
  child.stdout.resume();
  return {
    child,
    port,
    target: `127.0.0.1:${port}`,
    lines,
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      return kb ? Number(kb[1]) * 1024 : 0;
    },
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
