// Loads a config file for a reload in a process of its own, so the loop that serves calls (or,
// with workers, relays endpoints and answers the admin listener) never waits for it: a big file
// takes seconds to parse and check. A process rather than a thread: a file that exhausts memory
// or the stack while it is parsed ends the loader, not the proxy.
import { fork, type ChildProcess } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ConfigError, type ConfigErrorCode, type ConfigIssue } from '../config/config-error.js';
import type { Config } from '../config/types.js';

const LOADER_JS = fileURLToPath(new URL('./config-loader-process.js', import.meta.url));
/** The end of the loader's stderr kept to say why it died (V8 prints "FATAL ERROR: …" there). */
const STDERR_TAIL = 4_096;

/**
 * SHA-256 of a config file's bytes, to tell a changed file from one saved again unchanged.
 * WebCrypto hashes on libuv's thread pool, not on the loop (16 MiB take tens of ms).
 */
export async function configDigest(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

export interface LoadRequest {
  readonly file: string;
}

/** What loading cost, as the loader process measured itself (its start included). */
export interface LoaderUsage {
  readonly cpuMs: number;
  readonly peakRssBytes: number;
}

/** What the loader process sends: 'checking' once it has read the file, then the result. */
export type LoadReply =
  | { readonly kind: 'checking' }
  | {
      readonly kind: 'loaded';
      readonly config: Config;
      readonly digest: string;
      /** The certificate, key and CA files the config names, by absolute path. */
      readonly files: ReadonlyMap<string, Uint8Array>;
      readonly usage: LoaderUsage;
    }
  | {
      readonly kind: 'invalid';
      /** Undefined when the file could not be read at all. */
      readonly digest: string | undefined;
      readonly code: ConfigErrorCode;
      readonly file: string;
      readonly issues: readonly ConfigIssue[];
      readonly omitted: number;
      readonly usage: LoaderUsage;
    }
  | { readonly kind: 'failed'; readonly message: string };

export type LoadOutcome =
  | Extract<LoadReply, { kind: 'loaded' }>
  | {
      readonly kind: 'invalid';
      readonly digest: string | undefined;
      readonly error: ConfigError;
      readonly usage: LoaderUsage;
    };

export interface ConfigLoad {
  /** Rejects when the loader fails (it died, or a bug): not the file's fault. */
  readonly outcome: Promise<LoadOutcome>;
  /** Ends the loader; `outcome` then rejects. */
  cancel(): void;
}

/**
 * Starts loading `request.file` in a new process. `onChecking` runs once the file has been read
 * and is being checked. The outcome arrives once the process has exited: none is left behind.
 */
export function loadConfigApart(request: LoadRequest, onChecking: () => void): ConfigLoad {
  const child = fork(LOADER_JS, [], {
    // No --inspect and the like from this process; the loader's own stdout has nothing to say.
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  let reply: LoadReply | undefined;
  child.on('message', (message: LoadReply) => {
    if (message.kind === 'checking') onChecking();
    else reply = message;
  });
  const outcome = new Promise<LoadOutcome>((resolve, reject) => {
    child.on('error', reject);
    // After 'exit', once its stderr and IPC channel are drained.
    child.on('close', (code, signal) => {
      const result = outcomeOf(reply, code, signal, stderr);
      if (result instanceof Error) reject(result);
      else resolve(result);
    });
  });
  child.send(request);
  return { outcome, cancel: () => stop(child) };
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** What the loader's reply (if any) and exit mean: an Error when it failed. */
function outcomeOf(
  reply: LoadReply | undefined,
  code: number | null,
  signal: string | null,
  stderr: string,
): LoadOutcome | Error {
  switch (reply?.kind) {
    case 'loaded':
      return reply;
    case 'invalid':
      return {
        kind: 'invalid',
        digest: reply.digest,
        error: new ConfigError(reply.code, reply.file, reply.issues, { omitted: reply.omitted }),
        usage: reply.usage,
      };
    case 'failed':
      return new Error(`the config loader failed: ${reply.message}`);
    default: {
      const how = signal !== null ? `signal ${signal}` : `code ${code}`;
      const last = stderr.trim().split('\n').filter(Boolean).at(-1);
      return new Error(`the config loader ended (${how})${last ? `: ${last}` : ''}`);
    }
  }
}
