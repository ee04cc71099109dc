// The switchyard binary on free loopback ports, for tests of signals, memory and file
// descriptors: the quick start (`spawnProxy`) or a config file with an admin listener
// (`spawnConfiguredProxy`), plus the process's resident memory and open descriptors.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyView } from '../../observability/admin/cluster-view.js';
import { closedPort } from './raw-upstream.js';
import { startSwitchyard, type RunningSwitchyard } from './switchyard-process.js';

export interface SpawnedProxy extends RunningSwitchyard {
  readonly port: number;
  readonly target: string;
  /** Resident memory of the process now, in bytes. */
  rss(): number;
  /** File descriptors the process has open now. */
  fds(): number;
}

export interface ConfiguredProxy extends SpawnedProxy {
  readonly adminPort: number;
  /** The admin API's /clusters document. */
  clusters(): Promise<ProxyView>;
  /** The admin API's /metrics text. */
  metrics(): Promise<string>;
}

function processView(running: RunningSwitchyard, port: number): SpawnedProxy {
  const pid = running.child.pid;
  return {
    ...running,
    port,
    target: `127.0.0.1:${port}`,
    rss() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      return kb ? Number(kb[1]) * 1024 : 0;
    },
    fds() {
      return readdirSync(`/proc/${pid}/fd`).length;
    },
  };
}

/** Starts `switchyard --listen 127.0.0.1:<free port> ...args` and waits until it listens. */
export async function spawnProxy(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<SpawnedProxy> {
  const port = await closedPort();
  const running = await startSwitchyard(['--listen', `127.0.0.1:${port}`, ...args], { env });
  return processView(running, port);
}

/**
 * Starts `switchyard --config FILE`: one listener named "main" with `listener` keys (YAML
 * flow-mapping entries, e.g. `closeTimeout: 200ms`), one cluster "default" to `upstream` with
 * `cluster` keys, and an admin listener. The file is removed when the process stops.
 */
export async function spawnConfiguredProxy(options: {
  upstream: string;
  listener?: string;
  cluster?: string;
  extra?: string;
}): Promise<ConfiguredProxy> {
  const [port, adminPort] = [await closedPort(), await closedPort()];
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'));
  const file = join(dir, 'switchyard.yaml');
  const listenerKeys = options.listener ? `, ${options.listener}` : '';
  const clusterKeys = options.cluster ? `, ${options.cluster}` : '';
  writeFileSync(
    file,
    `listeners:\n  - { name: main, address: "127.0.0.1:${port}"${listenerKeys} }\n` +
      `clusters:\n  default: { target: "${options.upstream}"${clusterKeys} }\n` +
      `admin: { address: "127.0.0.1:${adminPort}" }\n` +
      (options.extra ?? ''),
  );
  let running: RunningSwitchyard;
  try {
    running = await startSwitchyard(['--config', file, '--log-level', 'info']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  void running.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  const admin = `http://127.0.0.1:${adminPort}`;
  return {
    ...processView(running, port),
    adminPort,
    async clusters() {
      return (await (await fetch(`${admin}/clusters`)).json()) as ProxyView;
    },
    async metrics() {
      return (await fetch(`${admin}/metrics`)).text();
    },
  };
}
