// Every process the benchmark starts, each in its own process group, so that one call stops
// all of them (and whatever they started) on exit, error, SIGINT or SIGTERM.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { groupMembers } from './proc-stats.js';

export interface StartedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the process has exited (code or signal name). */
  readonly exited: Promise<number | string>;
  /** True until the process has exited. */
  readonly running: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Zombies do not count: an orphan's zombie may linger where PID 1 does not reap. */
function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts and stops child processes. Everything goes through `start()`, which puts the child in
 * a new process group (`detached`), so `stop()` reaches grandchildren too (a `bash -c`
 * wrapper's proxy, worker processes). After `stopAll()` or a signal nothing new starts.
 */
export class ChildProcesses {
  private readonly live = new Map<number, StartedProcess>();
  /** Every process started, for the report (a test checks none is left). */
  readonly started: { name: string; pid: number }[] = [];
  private stopping = false;

  /**
   * Installs exit and signal handlers: on SIGINT/SIGTERM/SIGHUP everything is stopped and the
   * process exits 130/143/129; on any exit whatever is still running gets SIGKILL.
   */
  installHandlers(log: (line: string) => void): void {
    process.on('exit', () => {
      for (const p of this.live.values()) signalGroup(p.pid, 'SIGKILL');
    });
    const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    for (const signal of Object.keys(codes) as NodeJS.Signals[]) {
      process.on(signal, () => {
        if (this.stopping) return;
        log(`${signal}: stopping everything this run started`);
        void this.stopAll().finally(() => process.exit(codes[signal]));
      });
    }
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  start(name: string, command: string, args: readonly string[], options: SpawnOptions = {}) {
    if (this.stopping) throw new Error(`not starting ${name}: the run is stopping`);
    const child = spawn(command, args, { ...options, detached: true });
    let running = true;
    const exited = new Promise<number | string>((resolve) => {
      child.on('exit', (code, signal) => {
        running = false;
        resolve(code ?? signal ?? -1);
      });
      child.on('error', () => {
        running = false;
        resolve(-1);
      });
    });
    if (child.pid === undefined) {
      // A failed spawn (ENOENT) has no pid; its 'error' event is handled above.
      throw new Error(`cannot start ${name}: ${command} not found or not executable`);
    }
    const pid = child.pid;
    const started: StartedProcess = {
      name,
      child,
      pid,
      exited,
      get running() {
        return running;
      },
    };
    this.live.set(pid, started);
    this.started.push({ name, pid });
    return started;
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs` if any member is still there. */
  async stop(p: StartedProcess, graceMs = 3_000): Promise<void> {
    if (!this.live.has(p.pid)) return;
    if (!p.running && !groupAlive(p.pid)) {
      // Already gone with nothing left behind: no signal that could hit a reused id.
      this.live.delete(p.pid);
      return;
    }
    signalGroup(p.pid, 'SIGTERM');
    const until = Date.now() + graceMs;
    while (groupAlive(p.pid) && Date.now() < until) await sleep(25);
    if (groupAlive(p.pid)) {
      signalGroup(p.pid, 'SIGKILL');
      const hard = Date.now() + 2_000;
      while (groupAlive(p.pid) && Date.now() < hard) await sleep(25);
    }
    this.live.delete(p.pid);
  }

  /** Stops everything still running, newest first; nothing starts afterwards. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const p of [...this.live.values()].reverse()) await this.stop(p);
  }
}
