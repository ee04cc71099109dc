// The switchyard binary in quick-start form on a free loopback port, for tests of signals and
// memory: startSwitchyard plus the port and the process's resident memory.
import { readFileSync } from 'node:fs';
import { closedPort } from './raw-upstream.js';
import { startSwitchyard, type RunningSwitchyard } from './switchyard-process.js';

export interface SpawnedProxy extends RunningSwitchyard {
  readonly port: number;
  readonly target: string;
  /** Resident memory of the process now, in bytes. */
  rss(): number;
}

/** Starts `switchyard --listen 127.0.0.1:<free port> ...args` and waits until it listens. */
export async function spawnProxy(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<SpawnedProxy> {
  const port = await closedPort();
  const running = await startSwitchyard(['--listen', `127.0.0.1:${port}`, ...args], { env });
  return {
    ...running,
    port,
    target: `127.0.0.1:${port}`,
    rss() {
      const status = readFileSync(`/proc/${running.child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      return kb ? Number(kb[1]) * 1024 : 0;
    },
  };
}
