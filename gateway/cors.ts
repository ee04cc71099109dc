// CORS for everything the gateway answers (REST, gRPC-Web, its own 404/405/413): preflight
// answered here, and every response to an allowed origin carries Access-Control-Allow-Origin
// and an Expose-Headers list naming grpc-status, grpc-message and the response's own metadata
// headers, so a browser client can read an error rather than see an opaque failure.
import type { HttpExchange, ResponseHeaders } from './http-exchange.js';

export interface CorsOptions {
  /** `*`, exact origins (`https://app.example.com`), or patterns with `*` (`https://*.example.com`). */
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  /** Request headers a preflight may ask for; a trailing `*` matches a prefix (`x-*`). */
  readonly allowHeaders: readonly string[];
  /** Response headers exposed beyond the gRPC status headers and each response's own. */
  readonly exposeHeaders: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds. */
  readonly maxAgeSeconds: number;
  readonly allowCredentials: boolean;
}

/** Headers browsers let scripts read without being exposed (the CORS-safelisted response headers). */
const SAFELISTED = new Set([
  'cache-control',
  'content-language',
  'content-length',
  'content-type',
  'expires',
  'last-modified',
  'pragma',
]);

/** What a gRPC-Web or REST client needs to read the outcome of a call. */
const ALWAYS_EXPOSED = ['grpc-status', 'grpc-message', 'grpc-status-details-bin'];

export class Cors {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[] = [];
  private readonly anyOrigin: boolean;
  private readonly methods: string;
  private readonly exposed: readonly string[];

  constructor(private readonly options: CorsOptions) {
    this.anyOrigin = options.allowOrigins.includes('*');
    for (const o of options.allowOrigins) {
      if (o === '*') continue;
      if (o.includes('*')) this.patterns.push(originPattern(o));
      else this.exact.add(o.toLowerCase());
    }
    this.methods = options.allowMethods.join(', ');
    this.exposed = [...ALWAYS_EXPOSED, ...options.exposeHeaders.map((h) => h.toLowerCase())];
  }

  allowed(origin: string): boolean {
    if (this.anyOrigin) return true;
    const o = origin.toLowerCase();
    return this.exact.has(o) || this.patterns.some((p) => p.test(o));
  }

  /** A preflight: an OPTIONS with Origin and Access-Control-Request-Method. */
  isPreflight(ex: HttpExchange): boolean {
    return (
      ex.method === 'OPTIONS' &&
      ex.header('origin') !== undefined &&
      ex.header('access-control-request-method') !== undefined
    );
  }

  /** Answers a preflight: 204 with the grants, or 403 for an origin not on the list. */
  preflight(ex: HttpExchange): void {
    const origin = ex.header('origin')!;
    if (!this.allowed(origin)) {
      const body = JSON.stringify({
        code: 7,
        message: `origin ${origin} is not in the gateway's cors.allowOrigins`,
        details: [],
      });
      ex.head(403, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        vary: 'origin',
      });
      ex.end(body);
      return;
    }
    const asked = (ex.header('access-control-request-headers') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h.length > 0);
    const granted = asked.filter((h) => this.headerAllowed(h));
    const out: ResponseHeaders = {
      ...this.originHeaders(origin),
      'access-control-allow-methods': this.methods,
      'access-control-max-age': String(this.options.maxAgeSeconds),
      'content-length': '0',
      vary: 'origin, access-control-request-method, access-control-request-headers',
    };
    if (granted.length > 0) out['access-control-allow-headers'] = granted.join(', ');
    ex.head(204, out);
    ex.end();
  }

  /**
   * The exchange with CORS headers added to whatever it answers, when the request came from an
   * allowed origin; the exchange itself otherwise.
   */
  wrap(ex: HttpExchange): HttpExchange {
    const origin = ex.header('origin');
    if (origin === undefined || !this.allowed(origin)) return ex;
    const head = ex.head.bind(ex);
    return Object.assign(Object.create(ex) as HttpExchange, {
      head: (status: number, headers: ResponseHeaders) => {
        head(status, { ...headers, ...this.responseHeaders(origin, headers) });
      },
    });
  }

  private responseHeaders(origin: string, headers: ResponseHeaders): ResponseHeaders {
    const expose = new Set(this.exposed);
    for (const name of Object.keys(headers)) {
      const n = name.toLowerCase();
      if (!SAFELISTED.has(n) && !n.startsWith('access-control-') && n !== 'vary') expose.add(n);
    }
    return {
      ...this.originHeaders(origin),
      'access-control-expose-headers': [...expose].join(', '),
      vary: 'origin',
    };
  }

  private originHeaders(origin: string): ResponseHeaders {
    // The origin itself rather than `*`: browsers refuse `*` on credentialed requests.
    const out: ResponseHeaders = { 'access-control-allow-origin': origin };
    if (this.options.allowCredentials) out['access-control-allow-credentials'] = 'true';
    return out;
  }

  private headerAllowed(name: string): boolean {
    for (const pattern of this.options.allowHeaders) {
      if (pattern === '*') return true;
      if (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern) {
        return true;
      }
    }
    return false;
  }
}

/** `https://*.example.com` → a regex where `*` stands for one or more host characters. */
function originPattern(pattern: string): RegExp {
  const parts = pattern.toLowerCase().split('*').map(escapeRegExp);
  return new RegExp(`^${parts.join('[a-z0-9.-]+')}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
