// An HTTP stand-in for the Consul agent API we call (/v1/health/service), with real blocking queries.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface ConsulInstance {
  readonly id: string;
  readonly service: string;
  /** Node name; default `node-<id>`. */
  readonly node?: string;
  /** Node address; default 127.0.0.1. */
  readonly nodeAddress?: string;
  /** Service address; empty or missing means "use the node's". */
  readonly address?: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  readonly weights?: { readonly passing: number; readonly warning: number };
  /** Aggregate check status; default passing. */
  readonly status?: CheckStatus;
  /** Default dc1. */
  readonly datacenter?: string;
  /** Default `default`. */
  readonly namespace?: string;
}

/** A scripted answer for the next request (instead of the real one). */
export interface ConsulFault {
  readonly status?: number;
  readonly body?: string;
  readonly contentType?: string;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** X-Consul-Index to send; null sends none; default the real index. */
  readonly index?: string | null;
}

export interface ConsulRequest {
  readonly service: string;
  readonly query: Readonly<Record<string, string>>;
  readonly token: string | undefined;
  readonly namespace: string | undefined;
  /** The index the client sent, if any. */
  readonly index: bigint | undefined;
  /** When the request arrived (performance.now()). */
  readonly at: number;
  /** Over HTTPS: the CN of the client certificate the agent verified, if one was presented. */
  readonly clientCn: string | undefined;
  /** True when the request blocked waiting for a change. */
  blocked: boolean;
  /** How it ended: answered, or the client went away first. */
  outcome: 'pending' | 'answered' | 'aborted';
}

export interface ConsulDoubleOptions {
  /** When set, requests must carry this token (X-Consul-Token), else 403. */
  readonly token?: string;
  /** Datacenters that exist; the first is the agent's own. Default ['dc1']. */
  readonly datacenters?: readonly string[];
  /** Index to start at; default 10. */
  readonly startIndex?: bigint;
  /** Port to listen on (to come back where it was after close()); default a free one. */
  readonly port?: number;
  /**
   * Serve HTTPS with this certificate; with `ca`, ask for a client certificate and refuse the
   * handshake without one that `ca` signed (Consul's `verify_incoming`).
   */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer };
}

/** Go durations as Consul takes them for `wait`: `30s`, `1500ms`, `1m`. */
function parseWait(text: string | undefined): number {
  if (!text) return 5 * 60_000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) return 5 * 60_000;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1_000;
  // Consul caps the wait at 10 minutes.
  return Math.min(Number(m[1]) * unit, 10 * 60_000);
}

/** The verified client certificate's CN, over HTTPS. */
function clientCn(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.getPeerCertificate === undefined || socket.authorized !== true) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

type Clause = (i: ConsulInstance) => boolean;

/** The slice of Consul's filter language the resolver emits: tag membership and meta equality. */
function compileFilter(text: string): Clause | string {
  const clauses: Clause[] = [];
  for (let part of text.split(/\s+and\s+/)) {
    part = part.trim().replace(/^\(+/, '').replace(/\)+$/, '').trim();
    let m = /^("(?:[^"\\]|\\.)*")\s+in\s+Service\.Tags$/.exec(part);
    if (m) {
      const tag = JSON.parse(m[1]) as string;
      clauses.push((i) => (i.tags ?? []).includes(tag));
      continue;
    }
    m = /^Service\.Meta\.([\w-]+)\s*==\s*("(?:[^"\\]|\\.)*")$/.exec(part);
    if (m) {
      const [key, value] = [m[1], JSON.parse(m[2]) as string];
      clauses.push((i) => i.meta?.[key] === value);
      continue;
    }
    return `Failed to create boolean expression evaluator: unsupported clause "${part}"`;
  }
  return (i) => clauses.every((c) => c(i));
}

interface Waiter {
  readonly service: string;
  readonly wake: () => void;
}

export class ConsulDouble {
  private readonly instances = new Map<string, ConsulInstance>();
  private readonly serviceIndex = new Map<string, bigint>();
  private raftIndex: bigint;
  private waiters = new Set<Waiter>();
  private readonly faults: ConsulFault[] = [];
  /** Every request, in arrival order. */
  readonly requests: ConsulRequest[] = [];
  /** Delay added to every answer (after any blocking), to simulate a slow agent. */
  slowMs = 0;
  private port = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: ConsulDoubleOptions,
  ) {
    this.raftIndex = options.startIndex ?? 10n;
  }

  /** Starts the double on 127.0.0.1 and `options.port` or a free port. */
  static async start(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const tls = options.tls;
    const server: Server =
      tls === undefined
        ? createServer()
        : createTlsServer({
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca !== undefined ? { ca: tls.ca, requestCert: true } : {}),
            rejectUnauthorized: tls.ca !== undefined,
          });
    const double = new ConsulDouble(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => double.handle(req, res));
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
    double.port = (server.address() as AddressInfo).port;
    return double;
  }

  /** `127.0.0.1:PORT`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Requests currently held open by a blocking query. */
  get held(): number {
    return this.waiters.size;
  }

  /** Adds or replaces an instance (a change: the service's index moves on). */
  register(instance: ConsulInstance): void {
    const previous = this.instances.get(instance.id);
    this.instances.set(instance.id, instance);
    if (previous && previous.service !== instance.service) this.bump(previous.service);
    this.bump(instance.service);
  }

  deregister(id: string): void {
    const previous = this.instances.get(id);
    if (!previous) return;
    this.instances.delete(id);
    this.bump(previous.service);
  }

  setStatus(id: string, status: CheckStatus): void {
    const previous = this.instances.get(id);
    if (previous) this.register({ ...previous, status });
  }

  /**
   * Moves every index back to `index` (as after a snapshot restore) and answers every blocked
   * query at once with it.
   */
  resetIndex(index: bigint): void {
    this.raftIndex = index;
    for (const service of this.serviceIndex.keys()) this.serviceIndex.set(service, index);
    this.wakeAll();
  }

  /** The next requests get these answers, in order, instead of the real one. */
  injectFaults(...faults: ConsulFault[]): void {
    this.faults.push(...faults);
  }

  indexOf(service: string): bigint {
    return this.serviceIndex.get(service) ?? this.raftIndex;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    this.wakeAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private bump(service: string): void {
    this.raftIndex++;
    this.serviceIndex.set(service, this.raftIndex);
    for (const w of [...this.waiters]) if (w.service === service) w.wake();
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w.wake();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://consul');
    const m = /^\/v1\/health\/service\/([^/]+)$/.exec(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const indexText = url.searchParams.get('index');
    const record: ConsulRequest = {
      service: m ? decodeURIComponent(m[1]) : '',
      query,
      token: header('x-consul-token') ?? url.searchParams.get('token') ?? undefined,
      namespace: header('x-consul-namespace') ?? url.searchParams.get('ns') ?? undefined,
      index: indexText !== null && /^\d+$/.test(indexText) ? BigInt(indexText) : undefined,
      at: performance.now(),
      clientCn: clientCn(req),
      blocked: false,
      outcome: 'pending',
    };
    this.requests.push(record);
    let gone = false;
    res.on('close', () => {
      gone = true;
      if (record.outcome === 'pending') record.outcome = 'aborted';
    });
    const send = (status: number, body: string, contentType: string, index: string | null) => {
      if (gone) return;
      const headers: Record<string, string> = { 'content-type': contentType };
      if (index !== null) headers['x-consul-index'] = index;
      if (status === 200) headers['x-consul-knownleader'] = 'true';
      record.outcome = 'answered';
      res.writeHead(status, headers).end(body);
    };
    const later = (ms: number, fn: () => void) => (ms > 0 ? setTimeout(fn, ms) : fn());

    if (!m || req.method !== 'GET') {
      send(404, 'Not Found', 'text/plain; charset=utf-8', null);
      return;
    }
    if (this.options.token !== undefined && record.token !== this.options.token) {
      send(
        403,
        "Permission denied: token with AccessorID 'anonymous' lacks permission",
        'text/plain; charset=utf-8',
        null,
      );
      return;
    }
    const fault = this.faults.shift();
    if (fault) {
      later(fault.delayMs ?? 0, () =>
        send(
          fault.status ?? 200,
          fault.body ?? '[]',
          fault.contentType ?? 'application/json',
          fault.index === undefined ? String(this.indexOf(record.service)) : fault.index,
        ),
      );
      return;
    }
    const datacenters = this.options.datacenters ?? ['dc1'];
    const dc = query.dc ?? datacenters[0];
    if (!datacenters.includes(dc)) {
      send(500, 'No path to datacenter', 'text/plain; charset=utf-8', null);
      return;
    }
    let filter: Clause = () => true;
    if (query.filter !== undefined) {
      const compiled = compileFilter(query.filter);
      if (typeof compiled === 'string') {
        send(400, compiled, 'text/plain; charset=utf-8', null);
        return;
      }
      filter = compiled;
    }
    const answer = () => {
      later(this.slowMs, () => {
        const body = this.entries(
          record.service,
          dc,
          record.namespace ?? 'default',
          'passing' in query && query.passing !== 'false',
          query.tag,
          filter,
        );
        send(200, JSON.stringify(body), 'application/json', String(this.indexOf(record.service)));
      });
    };
    // Blocking: hold while the client's index is current, until a change or the wait ends.
    if (
      record.index !== undefined &&
      record.index > 0n &&
      this.indexOf(record.service) <= record.index
    ) {
      record.blocked = true;
      const wait = parseWait(query.wait);
      const jitter = Math.floor(Math.random() * (wait / 16));
      const waiter: Waiter = {
        service: record.service,
        wake: () => {
          if (!this.waiters.delete(waiter)) return;
          clearTimeout(timer);
          answer();
        },
      };
      const timer = setTimeout(waiter.wake, wait + jitter);
      this.waiters.add(waiter);
      res.on('close', () => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
      });
      return;
    }
    answer();
  }

  private entries(
    service: string,
    dc: string,
    namespace: string,
    passingOnly: boolean,
    tag: string | undefined,
    filter: Clause,
  ): unknown[] {
    const out: unknown[] = [];
    for (const i of this.instances.values()) {
      if (i.service !== service) continue;
      if ((i.datacenter ?? (this.options.datacenters ?? ['dc1'])[0]) !== dc) continue;
      if ((i.namespace ?? 'default') !== namespace) continue;
      const status = i.status ?? 'passing';
      if (passingOnly && status !== 'passing') continue;
      if (tag !== undefined && !(i.tags ?? []).includes(tag)) continue;
      if (!filter(i)) continue;
      const node = i.node ?? `node-${i.id}`;
      out.push({
        Node: {
          ID: `id-${node}`,
          Node: node,
          Address: i.nodeAddress ?? '127.0.0.1',
          Datacenter: dc,
          TaggedAddresses: null,
          Meta: {},
        },
        Service: {
          ID: i.id,
          Service: i.service,
          Tags: [...(i.tags ?? [])],
          Address: i.address ?? '',
          Meta: { ...(i.meta ?? {}) },
          Port: i.port,
          Weights: { Passing: i.weights?.passing ?? 1, Warning: i.weights?.warning ?? 1 },
          EnableTagOverride: false,
          Namespace: namespace,
        },
        Checks: [
          {
            Node: node,
            CheckID: 'serfHealth',
            Name: 'Serf Health Status',
            Status: 'passing',
            ServiceID: '',
          },
          {
            Node: node,
            CheckID: `service:${i.id}`,
            Name: `Service '${i.service}' check`,
            Status: status,
            ServiceID: i.id,
            ServiceName: i.service,
          },
        ],
      });
    }
    return out;
  }
}
