// A real tinyproxy (HTTP CONNECT forward proxy) on 127.0.0.1 for end-to-end proxy tests: its
// own config and log file in a temp dir, a free port, and the CONNECTs it logged.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TINYPROXY_BINARY = '/usr/bin/tinyproxy';

export interface TinyproxyOptions {
  /** `BasicAuth user password`: CONNECTs without these credentials get 407. */
  readonly basicAuth?: { readonly user: string; readonly password: string };
  /** `ConnectPort` lines: CONNECTs to other ports get 403. Default: every port allowed. */
  readonly connectPorts?: readonly number[];
  /** Most clients served at once (`MaxClients`). Default 100. */
  readonly maxClients?: number;
}

export interface Tinyproxy {
  readonly port: number;
  /** `http://127.0.0.1:PORT` (with credentials when given). */
  url(credentials?: { user: string; password: string }): string;
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  /** The whole log file so far. */
  log(): string;
  /** Targets of the CONNECT requests logged so far, in order (`127.0.0.1:50051`). */
  connects(): string[];
  /** Stops tinyproxy and removes its files; safe to call twice. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A process that dies with the test file must not leave tinyproxy behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function configText(port: number, logFile: string, options: TinyproxyOptions): string {
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Allow 127.0.0.1',
    'Timeout 600',
    `LogFile "${logFile}"`,
    'LogLevel Connect',
    `MaxClients ${options.maxClients ?? 100}`,
  ];
  if (options.basicAuth) {
    lines.push(`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`);
  }
  for (const p of options.connectPorts ?? []) lines.push(`ConnectPort ${p}`);
  return lines.join('\n') + '\n';
}

/** Starts tinyproxy with its own config and log, and resolves once it accepts connections. */
export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<Tinyproxy> {
  if (!existsSync(TINYPROXY_BINARY)) {
    throw new Error(`${TINYPROXY_BINARY} is missing: apt-get install tinyproxy (.ci/run does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-tinyproxy-'));
  const logFile = join(dir, 'tinyproxy.log');
  const confFile = join(dir, 'tinyproxy.conf');
  let output = '';
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    writeFileSync(confFile, configText(port, logFile, options));
    const child = spawn(TINYPROXY_BINARY, ['-d', '-c', confFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    installExitHook();
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true;
        running.delete(child);
        resolve();
      }),
    );
    const until = Date.now() + 5_000;
    while (!exited && Date.now() < until && !(await accepts(port))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (exited || Date.now() >= until) {
      child.kill('SIGKILL');
      await exit;
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      // Someone took the port between the probe and tinyproxy's bind: pick another.
      if (attempt < 4 && /Address already in use|Could not create listening/i.test(output + log)) {
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`tinyproxy did not start:\n${output}\n${log}`);
    }
    const address = `127.0.0.1:${port}`;
    let stopped: Promise<void> | undefined;
    const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    return {
      port,
      address,
      url: (credentials) =>
        credentials
          ? `http://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@${address}`
          : `http://${address}`,
      log,
      connects: () =>
        [...log().matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map(
          (m) => m[1],
        ),
      stop: () =>
        (stopped ??= (async () => {
          if (!exited) {
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
            await exit;
            clearTimeout(killer);
          }
          rmSync(dir, { recursive: true, force: true });
        })()),
    };
  }
}
