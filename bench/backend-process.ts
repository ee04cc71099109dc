// Starts the benchmark backend (bench/backend.ts) as its own process and reads its counters.
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import type { BackendStats } from './backend.js';
import type { ChildProcesses, StartedProcess } from './child-processes.js';

const BACKEND_JS = fileURLToPath(new URL('./backend.js', import.meta.url));

export interface RunningBackend {
  readonly process: StartedProcess;
  /** The two listening ports. */
  readonly ports: readonly number[];
  /** "127.0.0.1:P1,127.0.0.1:P2". */
  readonly addresses: string;
}

/** Starts the backend on two free loopback ports; rejects after 10 s without its ready line. */
export async function startBackend(
  processes: ChildProcesses,
  cpu: string | undefined,
): Promise<RunningBackend> {
  const args = [BACKEND_JS, '--ports', '0,0'];
  const [command, argv] =
    cpu !== undefined
      ? ['taskset', ['-c', cpu, process.execPath, ...args]]
      : [process.execPath, args];
  const p = processes.start('backend', command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let errText = '';
  p.child.stderr!.setEncoding('utf8').on('data', (d: string) => (errText += d));
  const ports = await new Promise<number[]>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('backend: no ready line within 10 s')), 10_000);
    p.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve((JSON.parse(buffered.slice(0, nl)) as { ports: number[] }).ports);
      } catch (err) {
        reject(new Error(`backend: bad ready line ${buffered.slice(0, nl)}`, { cause: err }));
      }
    });
    void p.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`backend exited (${code}) before listening: ${errText.trim()}`));
    });
  });
  p.child.stdout!.resume();
  return { process: p, ports, addresses: ports.map((port) => `127.0.0.1:${port}`).join(',') };
}

/** The backend's counters, asked directly on `port` (never through a proxy). */
export function backendStats(port: number): Promise<BackendStats> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error('backend stats: no answer within 5 s'));
    }, 5_000);
    session.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    const stream = session.request({ ':method': 'GET', ':path': '/_bench/stats' });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (body += d));
    stream.on('end', () => {
      clearTimeout(timer);
      session.close();
      try {
        resolve(JSON.parse(body) as BackendStats);
      } catch (err) {
        reject(new Error(`backend stats: bad answer ${body}`, { cause: err }));
      }
    });
    stream.on('error', () => {});
    stream.end();
  });
}

/** Calls per port between two readings. */
export function callsBetween(before: BackendStats, after: BackendStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [port, n] of Object.entries(after.calls)) out[port] = n - (before.calls[port] ?? 0);
  return out;
}
