// One Consul health query (`/v1/health/service/<name>?passing`) through the `consul` package.
import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Consul from 'consul';

/** The consul package is loaded with the first Consul target: setups without one never pay for it. */
let consulModule: Promise<typeof Consul> | undefined;
function loadConsul(): Promise<typeof Consul> {
  return (consulModule ??= import('consul').then((m) => m.default));
}
import type { ConsulResolverOptions } from './options.js';
import { ResolverOptionsError, type ResolutionErrorCode } from './errors.js';
import { ConsulTls, type ConsulTlsSettings } from './consul-tls.js';
import { DEFAULT_CONSUL_PORT, formatHostPort, type ConsulTarget } from './target.js';

/** The agent's answer: the raw health entries and the blocking-query index. */
export interface HealthAnswer {
  readonly index: bigint;
  readonly entries: readonly unknown[];
}

/** Why a query failed, already in the resolver's terms. */
export class ConsulQueryError extends Error {
  constructor(
    readonly code: ResolutionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ConsulEndpointConfig {
  /** `http://host:port` or `https://host:port`, for messages and the client. */
  readonly baseUrl: string;
  readonly token: string | undefined;
  /** TLS for an `https:` agent, re-read when its files change; undefined for `http:`. */
  readonly tls: ConsulTls | undefined;
}

/**
 * Where to reach Consul and with which token: the target's agent, else the `address` option,
 * else `CONSUL_HTTP_ADDR`, else 127.0.0.1:8500; `CONSUL_HTTP_SSL=true` picks https for an
 * address without a scheme; the token from the option, else `CONSUL_HTTP_TOKEN`; for https,
 * the TLS of `ConsulTls`. Throws ResolverOptionsError naming the variable at fault.
 */
export function consulEndpoint(
  text: string,
  target: ConsulTarget,
  options: ConsulResolverOptions,
  env: Readonly<Record<string, string | undefined>>,
): ConsulEndpointConfig {
  const ssl = /^(1|true)$/i.test(env.CONSUL_HTTP_SSL ?? '');
  const raw = target.agent
    ? formatHostPort(target.agent)
    : (options.address ?? env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500');
  const source = target.agent
    ? 'target'
    : options.address !== undefined
      ? 'address'
      : env.CONSUL_HTTP_ADDR
        ? 'CONSUL_HTTP_ADDR'
        : 'default';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw)
    ? raw
    : `${ssl ? 'https' : 'http'}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ResolverOptionsError(text, [
      { path: source, message: `"${raw}" is not a Consul address` },
    ]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ResolverOptionsError(text, [
      { path: source, message: `"${raw}": only http and https Consul addresses are supported` },
    ]);
  }
  const port = url.port || String(url.protocol === 'https:' ? 8501 : DEFAULT_CONSUL_PORT);
  const token = options.token ?? (env.CONSUL_HTTP_TOKEN || undefined);
  const tls = url.protocol === 'https:' ? ConsulTls.fromEnv(text, env) : undefined;
  return { baseUrl: `${url.protocol}//${url.hostname}:${port}`, token, tls };
}

/** A blocking query (it carries `index=`) is background work; the first query is not. */
function isBlocking(path: unknown): boolean {
  return typeof path === 'string' && /[?&]index=/.test(path);
}

/**
 * A program that is done must not stay alive for a blocking query that may wait minutes, so
 * sockets are unref'd while they carry one (and, as Node does, while idle in the pool). The
 * first, immediate query keeps its socket ref'd, like a DNS query in flight.
 */
/** Unrefs a socket while it carries a blocking query (see the agents below). */
function unrefIfBlocking(socket: Duplex, path: unknown): void {
  if (isBlocking(path)) (socket as Socket).unref();
}

class BackgroundHttpAgent extends HttpAgent {
  override createConnection(...args: Parameters<HttpAgent['createConnection']>): Socket {
    const socket = super.createConnection(...args) as Socket;
    unrefIfBlocking(socket, (args[0] as { path?: unknown }).path);
    return socket;
  }
  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    super.reuseSocket(socket, request);
    unrefIfBlocking(socket, request.path);
  }
}

/** The same for https:// agents (a separate class: HttpsAgent has its own createConnection). */
class BackgroundHttpsAgent extends HttpsAgent {
  override createConnection(...args: Parameters<HttpsAgent['createConnection']>): Socket {
    const socket = super.createConnection(...args) as Socket;
    unrefIfBlocking(socket, (args[0] as { path?: unknown }).path);
    return socket;
  }
  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    super.reuseSocket(socket, request);
    unrefIfBlocking(socket, request.path);
  }
}

interface PapiError extends Error {
  isPapi?: boolean;
  isResponse?: boolean;
  isCodec?: boolean;
  isTimeout?: boolean;
  isAbort?: boolean;
  code?: string;
  response?: IncomingMessage & { body?: unknown };
}

/** Builds the filter expression: every tag required, and the user's own filter. */
export function consulFilter(target: ConsulTarget): string | undefined {
  const parts = target.tags.map((t) => `${JSON.stringify(t)} in Service.Tags`);
  if (target.filter !== undefined)
    parts.push(target.tags.length > 0 ? `(${target.filter})` : target.filter);
  return parts.length > 0 ? parts.join(' and ') : undefined;
}

function bodyText(body: unknown): string {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * Health queries for one target. Namespaces go in the `X-Consul-Namespace` header (the package
 * has no `ns` option); tags and filters become one `filter` expression (`tag` is deprecated).
 */
export class ConsulHealthClient {
  private consul: Consul | undefined;
  private readonly settings: ConstructorParameters<typeof Consul>[0] & { agent: HttpAgent };
  private readonly ownsAgent: boolean;
  /** Over https with its own agent: the TLS it follows, and the settings that agent was made with. */
  private readonly tls: ConsulTls | undefined;
  private agentTls: ConsulTlsSettings | undefined;
  private ctx: EventEmitter | undefined;
  private closed = false;
  readonly baseUrl: string;

  constructor(
    private readonly target: ConsulTarget,
    private readonly options: ConsulResolverOptions,
    endpoint: ConsulEndpointConfig,
    agent: HttpAgent | undefined,
  ) {
    this.baseUrl = endpoint.baseUrl;
    this.ownsAgent = agent === undefined;
    const secure = endpoint.baseUrl.startsWith('https:');
    this.tls = agent === undefined && secure ? endpoint.tls : undefined;
    this.agentTls = this.tls?.settings();
    const namespace = target.namespace ?? options.namespace;
    // `baseUrl` and `headers` pass through to the underlying papi client (not in the typings).
    const settings = {
      baseUrl: `${endpoint.baseUrl}/v1`,
      agent:
        agent ??
        (secure
          ? new BackgroundHttpsAgent({ keepAlive: true, ...this.agentTls })
          : new BackgroundHttpAgent({ keepAlive: true })),
      headers: namespace !== undefined ? { 'x-consul-namespace': namespace } : {},
      defaults: endpoint.token !== undefined ? { token: endpoint.token } : undefined,
    };
    this.settings = settings;
  }

  /**
   * One query. Without `index` it returns at once; with it, Consul holds it until the data
   * changes or `waitMs` (plus up to wait/16 jitter) passes. Rejects with `ConsulQueryError`.
   */
  async fetch(index: bigint | undefined): Promise<HealthAnswer> {
    if (this.closed) throw new ConsulQueryError('SWY_ERR_RESOLVE_TRANSIENT', 'closed');
    const ConsulClass = await loadConsul();
    if (this.closed) throw new ConsulQueryError('SWY_ERR_RESOLVE_TRANSIENT', 'closed');
    this.followTls();
    const consul = (this.consul ??= new ConsulClass(this.settings));
    const { waitMs, timeoutMs } = this.options;
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
    this.ctx = ctx;
    const query: Record<string, unknown> = { service: this.target.service, passing: true, ctx };
    const dc = this.target.datacenter ?? this.options.datacenter;
    if (dc !== undefined) query.dc = dc;
    const filter = consulFilter(this.target);
    if (filter !== undefined) query.filter = filter;
    if (index !== undefined) {
      query.index = index.toString();
      query.wait = `${waitMs}ms`;
    }
    // Our own unref'd deadline instead of the package's `timeout`, whose timer would keep a
    // finished program alive for the length of a blocking query.
    const limitMs = index === undefined ? timeoutMs : waitMs + Math.ceil(waitMs / 16) + timeoutMs;
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      ctx.emit('cancel');
    }, limitMs);
    deadline.unref();
    let res: IncomingMessage;
    let body: unknown;
    try {
      const out = (await consul.health.service(query as never)) as unknown as [
        IncomingMessage,
        unknown,
      ];
      [res, body] = out;
    } catch (error) {
      if (timedOut) {
        throw new ConsulQueryError(
          'SWY_ERR_RESOLVE_TRANSIENT',
          `Consul at ${this.baseUrl} did not answer in time (${limitMs} ms)`,
          { cause: error },
        );
      }
      throw this.describe(error as PapiError);
    } finally {
      clearTimeout(deadline);
      if (this.ctx === ctx) this.ctx = undefined;
    }
    const header = res.headers['x-consul-index'];
    const indexText = Array.isArray(header) ? header[0] : header;
    let newIndex: bigint;
    try {
      if (indexText === undefined || !/^-?\d+$/.test(indexText.trim())) throw new Error('missing');
      newIndex = BigInt(indexText.trim());
    } catch {
      throw new ConsulQueryError(
        'SWY_ERR_RESOLVE_BAD_ANSWER',
        `answer from ${this.baseUrl} has no valid X-Consul-Index header; is it a Consul agent?`,
      );
    }
    if (!Array.isArray(body)) {
      const type = res.headers['content-type'] ?? 'no content type';
      throw new ConsulQueryError(
        'SWY_ERR_RESOLVE_BAD_ANSWER',
        `answer from ${this.baseUrl} is not a JSON list (${type})`,
      );
    }
    return { index: newIndex, entries: body };
  }

  /**
   * A TLS file changed on disk (a renewed client certificate): the next query goes out on a new
   * agent made with it. Queries run one at a time, so the old agent carries none now and its
   * kept-alive sockets are closed.
   */
  private followTls(): void {
    const now = this.tls?.settings();
    if (now === undefined || now === this.agentTls) return;
    this.agentTls = now;
    const old = this.settings.agent;
    this.settings.agent = new BackgroundHttpsAgent({ keepAlive: true, ...now });
    this.consul = undefined;
    old.destroy();
  }

  /** Aborts the request in flight and releases the connection pool (unless it was injected). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx?.emit('cancel');
    this.ctx = undefined;
    if (!this.ownsAgent) return;
    if (this.consul) this.consul.destroy();
    else (this.settings as { agent: HttpAgent }).agent.destroy();
  }

  private describe(error: PapiError): ConsulQueryError {
    const where = `Consul at ${this.baseUrl}`;
    if (error.isCodec) {
      return new ConsulQueryError(
        'SWY_ERR_RESOLVE_BAD_ANSWER',
        `answer from ${where} is not JSON`,
        {
          cause: error,
        },
      );
    }
    if (error.isTimeout) {
      return new ConsulQueryError('SWY_ERR_RESOLVE_TRANSIENT', `${where} did not answer in time`, {
        cause: error,
      });
    }
    if (error.isResponse && error.response) {
      const status = error.response.statusCode ?? 0;
      const detail = bodyText(error.response.body) || error.message;
      if (status === 401 || status === 403) {
        return new ConsulQueryError(
          'SWY_ERR_RESOLVE_TRANSIENT',
          `${where} refused the ACL token (${status}: ${detail})`,
          { cause: error },
        );
      }
      if (status === 400 || status === 404) {
        return new ConsulQueryError(
          'SWY_ERR_RESOLVE_BAD_ANSWER',
          `${where} rejected the query (${status}: ${detail})`,
          { cause: error },
        );
      }
      return new ConsulQueryError(
        'SWY_ERR_RESOLVE_TRANSIENT',
        `${where} failed (${status}: ${detail})`,
        {
          cause: error,
        },
      );
    }
    const code = error.code ? ` (${error.code})` : '';
    return new ConsulQueryError(
      'SWY_ERR_RESOLVE_TRANSIENT',
      `cannot reach ${where}${code}: ${error.message}`,
      {
        cause: error,
      },
    );
  }
}
