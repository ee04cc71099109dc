// gRPC C-core as a peer of the proxy: test/interop/ccore_peer.py on Debian's python3-grpcio,
// run as a test.Echo server or as a client that runs interop cases, and the python3-h2 client
// that sends what no gRPC library would.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's python: the one with the grpc and h2 modules (python3-grpcio, python3-h2). */
export const DEBIAN_PYTHON = '/usr/bin/python3';

const here = dirname(fileURLToPath(import.meta.url));
const inDist = basename(dirname(dirname(here))) === 'dist';
const repoRoot = inDist ? dirname(dirname(dirname(here))) : dirname(dirname(here));
const PEER_SCRIPT = join(repoRoot, 'test', 'interop', 'ccore_peer.py');
const HOSTILE_SCRIPT = join(repoRoot, 'test', 'interop', 'hostile_client.py');

export interface CcoreServer {
  readonly name: string;
  readonly address: string;
  /** Methods whose calls the server saw cancelled, in order. */
  readonly cancelled: readonly string[];
  stop(): Promise<void>;
}

/** Starts the C-core test.Echo server; it stops when its stdin closes (or on stop()). */
export async function startCcoreServer(name: string): Promise<CcoreServer> {
  const child = spawn(DEBIAN_PYTHON, [PEER_SCRIPT, 'server', '--name', name], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const cancelled: string[] = [];
  const lines = createInterface({ input: child.stdout });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('C-core server did not start in 10 s')),
      10_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`C-core server exited with ${code} before listening`));
    });
    lines.on('line', (line) => {
      const listening = /^listening on (\S+)$/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]);
      }
      const cancel = /^cancelled (\w+)$/.exec(line);
      if (cancel) cancelled.push(cancel[1]);
    });
  });
  return {
    name,
    address,
    cancelled,
    stop: () => stopChild(child),
  };
}

export interface CaseResult {
  readonly case: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface CcoreClientOptions {
  /** Only these cases (default all). */
  readonly cases?: readonly string[];
  /**
   * The server reads a repeated text key as one value joined with ", ": grpc-js does, as
   * node:http2 hands it the fields joined.
   */
  readonly serverJoinsText?: boolean;
}

/** Runs ccore_peer.py's client cases against `target`. */
export function runCcoreClient(
  target: string,
  options: CcoreClientOptions = {},
): Promise<CaseResult[]> {
  const args = [PEER_SCRIPT, 'client', '--target', target];
  for (const c of options.cases ?? []) args.push('--case', c);
  if (options.serverJoinsText) args.push('--server-joins-text');
  return runJsonLines(args, 60_000);
}

/** What hostile_client.py saw for one hostile request and the ordinary call beside it. */
export interface HostileResult {
  readonly case: string;
  /** "grpc-status N: message", "reset CODE" or "no answer". */
  readonly hostile: string;
  readonly neighbour: string;
}

/** Runs hostile_client.py's cases against `target`, one connection each. */
export function runHostileClient(
  target: string,
  cases: readonly string[],
): Promise<HostileResult[]> {
  return runJsonLines([HOSTILE_SCRIPT, '--target', target, ...cases], 30_000);
}

async function runJsonLines<T>(args: string[], timeoutMs: number): Promise<T[]> {
  const child = spawn(DEBIAN_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const results: T[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{')) results.push(JSON.parse(line) as T);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${basename(args[0])} exited with ${code}: ${stderr}`);
  return results;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
