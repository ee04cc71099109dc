// What the admin listener answers: the page and its assets, /metrics, /ready, /live,
// /config, /clusters and POST /reload. Every answer is built per request from live state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config/types.js';
import type { AdminAccess } from './admin-auth.js';
import type { ProxyView, Readiness } from './cluster-view.js';
import { PAGE_HTML } from './page-html.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';

/**
 * What the admin API reads, built per request: one proxy's live state, or the merged state of
 * every worker process.
 */
export interface AdminState {
  /** The running config (before redaction). */
  config(): Config;
  /** The /clusters document. */
  view(): ProxyView | Promise<ProxyView>;
  /** Whether calls can be served, not counting shutdown (the routes add that). */
  readiness(): Readiness | Promise<Readiness>;
}

export interface AdminRoutesOptions {
  readonly state: AdminState;
  /** The Prometheus exposition of the proxy's metrics. */
  readonly metrics: () => Promise<{ readonly contentType: string; readonly text: string }>;
  /** A copy of the config safe to show (secrets replaced). */
  readonly redact: (config: Config) => unknown;
  /**
   * Reloads the configuration and resolves with what changed; rejects with the reason.
   * Undefined when nothing can reload: POST /reload then answers 404.
   */
  readonly reload: (() => Promise<unknown>) | undefined;
  /** True once shutdown began: /ready answers 503 so traffic moves elsewhere. */
  readonly shuttingDown: () => boolean;
  /** Refuses requests without the credentials `admin.auth` asks for; undefined: all pass. */
  readonly access?: AdminAccess;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Error codes that mean the new config itself is wrong (400), not the machine (500). */
const CONFIG_ERROR_CODES = new Set([
  'SWY_ERR_CONFIG_READ',
  'SWY_ERR_CONFIG_TOO_LARGE',
  'SWY_ERR_CONFIG_INVALID',
  'SWY_ERR_CONFIG',
  'SWY_ERR_TLS_FILES',
  'SWY_ERR_BAD_TARGET',
  'SWY_ERR_BAD_RESOLVER_OPTIONS',
  'SWY_ERR_UNKNOWN_POLICY',
  'SWY_ERR_BAD_POLICY_SETTINGS',
]);

// The page loads only its own script and style and talks only to this listener.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  indent = 2,
): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value, null, indent)}\n`, {
    'cache-control': 'no-store',
    ...headers,
  });
}

interface Route {
  /** Methods besides HEAD, which every GET route also answers. */
  readonly method: 'GET' | 'POST';
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

/** A POST from a page of another origin (a browser tricked into it) is refused. */
function crossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

export function adminRoutes(options: AdminRoutesOptions): AdminHandler {
  const { state } = options;
  const asset = (type: string, body: string): Route => ({
    method: 'GET',
    handle: (_req, res) => send(res, 200, type, body, PAGE_HEADERS),
  });
  const routes = new Map<string, Route>([
    ['/', asset('text/html; charset=utf-8', PAGE_HTML)],
    ['/admin.css', asset('text/css; charset=utf-8', PAGE_STYLE)],
    ['/admin.js', asset('text/javascript; charset=utf-8', PAGE_SCRIPT)],
    [
      '/metrics',
      {
        method: 'GET',
        handle: async (_req, res) => {
          const { contentType, text } = await options.metrics();
          send(res, 200, contentType, text, { 'cache-control': 'no-store' });
        },
      },
    ],
    [
      '/ready',
      {
        method: 'GET',
        handle: async (_req, res) => {
          const r = await state.readiness();
          const reasons = options.shuttingDown()
            ? ['switchyard is shutting down', ...r.reasons]
            : r.reasons;
          const warnings = r.warnings ?? [];
          sendJson(res, reasons.length === 0 ? 200 : 503, {
            ready: reasons.length === 0,
            reasons,
            ...(warnings.length > 0 ? { warnings } : {}),
          });
        },
      },
    ],
    ['/live', { method: 'GET', handle: (_req, res) => sendJson(res, 200, { live: true }) }],
    [
      '/config',
      { method: 'GET', handle: (_req, res) => sendJson(res, 200, options.redact(state.config())) },
    ],
    [
      '/clusters',
      // Polled every second by the page: compact.
      {
        method: 'GET',
        handle: async (_req, res) => sendJson(res, 200, await state.view(), {}, 0),
      },
    ],
    [
      '/reload',
      {
        method: 'POST',
        handle: async (req, res) => {
          const reload = options.reload;
          if (reload === undefined) {
            sendJson(res, 404, {
              error: 'reload is not available: switchyard runs without a config file',
            });
            return;
          }
          if (crossOrigin(req)) {
            sendJson(res, 403, { error: 'cross-origin reload refused' });
            return;
          }
          try {
            sendJson(res, 200, await reload());
          } catch (err) {
            const code = (err as { code?: unknown }).code;
            const status = typeof code === 'string' && CONFIG_ERROR_CODES.has(code) ? 400 : 500;
            sendJson(res, status, {
              // The code has its own field; a config error's message lists every issue.
              error: err instanceof Error ? err.message : String(err),
              ...(typeof code === 'string' ? { code } : {}),
            });
          }
        },
      },
    ],
  ]);

  return async (req, res) => {
    // Request bodies are never read; drain them so keep-alive works.
    req.resume();
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    const route = routes.get(path);
    if (route === undefined) {
      sendJson(res, 404, { error: `no such admin path: ${path}` });
      return;
    }
    const denial = options.access?.(req, path, route.method);
    if (denial !== undefined) {
      sendJson(res, denial.status, { error: denial.error }, denial.headers);
      return;
    }
    const method = req.method ?? 'GET';
    if (method !== route.method && !(method === 'HEAD' && route.method === 'GET')) {
      const allow = route.method === 'GET' ? 'GET, HEAD' : 'POST';
      sendJson(res, 405, { error: `${path} answers ${allow}, not ${method}` }, { allow });
      return;
    }
    await route.handle(req, res);
  };
}
