// A real dnsmasq on 127.0.0.1 for end-to-end DNS tests: hosts-file A/AAAA, SRV and TXT records.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const DNSMASQ_BINARY = '/usr/sbin/dnsmasq';

export interface DnsmasqSrv {
  /** Owner name, e.g. `_grpc._tcp.svc.test`. */
  readonly name: string;
  /** Target host name (needs an A/AAAA record in the hosts file). */
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export interface DnsmasqOptions {
  /** Hosts-file lines: `127.0.0.2 a.test`, `::2 a.test`. */
  readonly hosts?: readonly string[];
  readonly srv?: readonly DnsmasqSrv[];
  /** TXT records; `text` may hold commas (it is quoted for dnsmasq). */
  readonly txt?: readonly { readonly name: string; readonly text: string }[];
  /** TTL of hosts-file answers, seconds. Default 1. */
  readonly localTtl?: number;
  /** Domains answered locally only (NXDOMAIN for unknown names, never forwarded). Default `test`. */
  readonly localDomains?: readonly string[];
  /** Log every query (see `queries()`). */
  readonly logQueries?: boolean;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A process that dies with the test file must not leave dnsmasq behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A port free for both UDP and TCP on 127.0.0.1 (dnsmasq needs both). */
async function freeDnsPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
  throw new Error('no free UDP+TCP port for dnsmasq');
}

export class Dnsmasq {
  private options: DnsmasqOptions;
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'switchyard-dnsmasq-'));
  private readonly hostsFile = join(this.dir, 'hosts');
  private readonly confFile = join(this.dir, 'dnsmasq.conf');
  private log = '';
  private reads = 0;
  private readWaiters: (() => void)[] = [];
  private portNumber = 0;

  constructor(options: DnsmasqOptions = {}) {
    this.options = options;
  }

  /** The UDP/TCP port, fixed from the first `start()` on (restarts reuse it). */
  get port(): number {
    return this.portNumber;
  }

  /** `127.0.0.1:PORT`, as `setServers` and a target authority want it. */
  get server(): string {
    return `127.0.0.1:${this.portNumber}`;
  }

  /** Everything dnsmasq logged so far (for failure messages). */
  get output(): string {
    return this.log;
  }

  /**
   * Queries logged since the last start (needs `logQueries`), as `A name`, `AAAA name`,
   * `SRV name`, `TXT name`.
   */
  queries(): string[] {
    const out: string[] = [];
    for (const m of this.log.matchAll(/query\[(\w+)\] (\S+) from/g)) out.push(`${m[1]} ${m[2]}`);
    return out;
  }

  /** Starts dnsmasq and resolves once it has read its hosts file. */
  async start(): Promise<void> {
    if (this.child) throw new Error('dnsmasq is already running');
    writeFileSync(this.hostsFile, (this.options.hosts ?? []).join('\n') + '\n');
    const txt = (this.options.txt ?? []).map(
      (t) => `txt-record=${t.name},"${t.text.replace(/(["\\])/g, '\\$1')}"`,
    );
    writeFileSync(this.confFile, txt.join('\n') + '\n');
    const reuse = this.portNumber !== 0;
    for (let attempt = 0; ; attempt++) {
      if (!reuse) this.portNumber = await freeDnsPort();
      try {
        await this.spawn();
        return;
      } catch (error) {
        // Someone took the port between the probe and dnsmasq's bind: pick another.
        if (reuse || attempt >= 4 || !/Address already in use/i.test(String(error))) throw error;
      }
    }
  }

  private args(): string[] {
    const o = this.options;
    const args = [
      '--no-daemon',
      // TXT text may hold commas, which only a config file can quote.
      `--conf-file=${this.confFile}`,
      `--port=${this.portNumber}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--no-negcache',
      `--addn-hosts=${this.hostsFile}`,
      `--local-ttl=${o.localTtl ?? 1}`,
      `--pid-file=${join(this.dir, 'pid')}`,
      `--user=${userInfo().username}`,
      '--log-facility=-',
    ];
    if (o.logQueries) args.push('--log-queries');
    for (const d of o.localDomains ?? ['test']) args.push(`--local=/${d}/`);
    for (const s of o.srv ?? []) {
      args.push(`--srv-host=${s.name},${s.target},${s.port},${s.priority ?? 0},${s.weight ?? 0}`);
    }
    return args;
  }

  private spawn(): Promise<void> {
    this.log = '';
    this.reads = 0;
    const child = spawn(DNSMASQ_BINARY, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    installExitHook();
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      this.log += text;
      const reads = text.split('\n').filter((l) => l.includes(`read ${this.hostsFile}`)).length;
      if (reads > 0) {
        this.reads += reads;
        const waiters = this.readWaiters;
        this.readWaiters = [];
        for (const w of waiters) w();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`dnsmasq did not start in 5 s:\n${this.log}`)),
        5_000,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      child.once('error', fail);
      child.once('exit', (code, signal) => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        fail(new Error(`dnsmasq exited (${code ?? signal}) while starting:\n${this.log}`));
      });
      this.waitForRead(0).then(
        () => {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.once('exit', () => {
            running.delete(child);
            if (this.child === child) this.child = undefined;
          });
          resolve();
        },
        () => {},
      );
    });
  }

  private waitForRead(seen: number): Promise<void> {
    if (this.reads > seen) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.reads > seen) resolve();
        else this.readWaiters.push(check);
      };
      this.readWaiters.push(check);
    });
  }

  /** Rewrites the hosts file and makes dnsmasq re-read it (SIGHUP); resolves once it has. */
  async setHosts(lines: readonly string[]): Promise<void> {
    this.options = { ...this.options, hosts: [...lines] };
    writeFileSync(this.hostsFile, lines.join('\n') + '\n');
    const child = this.child;
    if (!child) return;
    const seen = this.reads;
    child.kill('SIGHUP');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.waitForRead(seen),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`dnsmasq did not re-read its hosts file:\n${this.log}`)),
          5_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** SRV and TXT records only change with a restart; the port stays the same. */
  async restartWith(options: Partial<DnsmasqOptions>): Promise<void> {
    await this.stop();
    this.options = { ...this.options, ...options };
    await this.start();
  }

  /** Stops dnsmasq (the port stays reserved for a later `start()`); safe to call twice. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    running.delete(child);
  }

  /** Stops dnsmasq and removes its files. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
