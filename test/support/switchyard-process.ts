// Runs the compiled switchyard binary with any arguments: to completion (validate, --help,
// bad flags), or as a server waiting for its listeners (--config).
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';

/** The compiled binary the tests run. */
export const SWITCHYARD_BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

export interface Finished {
  /** Exit code, or the signal name when killed. */
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `switchyard ...args` to its end (killed after `timeoutMs`). */
export function runSwitchyard(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SWITCHYARD_BIN, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

export interface RunningSwitchyard {
  readonly child: ChildProcess;
  /** Where each listener is bound, by name, from its "listening" log line. */
  readonly addresses: ReadonlyMap<string, string>;
  /** stderr lines so far (JSON log lines when not on a terminal). */
  readonly lines: string[];
  readonly exited: Promise<number | string>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code; SIGKILL after 10 s. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

interface ListeningLine {
  msg?: string;
  listener?: string;
  address?: string;
}

/**
 * Starts `switchyard ...args` and resolves once `listeners` listeners have logged
 * "listening" (so the log level must let info lines through); rejects if it exits first.
 */
export async function startSwitchyard(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; listeners?: number } = {},
): Promise<RunningSwitchyard> {
  const wanted = options.listeners ?? 1;
  const child = spawn(process.execPath, [SWITCHYARD_BIN, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const addresses = new Map<string, string>();
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  let buffered = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (!line.includes('"listening"')) continue;
        const entry = JSON.parse(line) as ListeningLine;
        if (entry.listener !== undefined && entry.address !== undefined) {
          addresses.set(entry.listener, entry.address);
        }
        if (addresses.size >= wanted) resolve();
      }
    });
    void exited.then((code) =>
      reject(new Error(`switchyard exited (${code}) before listening:\n${lines.join('\n')}`)),
    );
  });
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    await listening;
  } finally {
    clearTimeout(timer);
  }
  return {
    child,
    addresses,
    lines,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(killer);
      }
    },
  };
}
