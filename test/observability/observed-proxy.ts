// A real in-process proxy with Observability attached, and a small HTTP client for its admin
// listener, for the observability tests.
import http from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { SocketAddress } from '../../config/types.js';
import { Observability, type ObservabilityOptions } from '../../observability/observability.js';
import { startTestProxy, type TestProxy, type TestProxyOptions } from '../support/proxy-harness.js';

export const LOOPBACK_ADMIN = { address: { host: '127.0.0.1', port: 0 } } as const;

export interface ObservedTestProxy extends TestProxy {
  readonly observability: Observability;
  /** `http://127.0.0.1:PORT` of the admin listener. */
  readonly admin: string;
  /** Observability's own log lines. */
  readonly observabilityLogs: Record<string, unknown>[];
}

/** Starts a proxy with `config.admin` on a loopback port and observability attached. */
export async function startObservedProxy(
  options: TestProxyOptions = {},
  observabilityOptions: Partial<ObservabilityOptions> = {},
): Promise<ObservedTestProxy> {
  const tp = await startTestProxy({
    ...options,
    config: { admin: LOOPBACK_ADMIN, ...options.config },
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  let observability: Observability;
  try {
    observability = await Observability.start(tp.proxy.config, tp.proxy, {
      logger: pino({ level: 'debug', base: undefined }, sink),
      version: '9.9.9-test',
      ...observabilityOptions,
    });
  } catch (err) {
    await tp.close();
    throw err;
  }
  const address = observability.adminAddress;
  return {
    ...tp,
    observability,
    admin: address ? baseUrl(address) : '',
    observabilityLogs: logs,
    close: async (graceMs = 0) => {
      await tp.close(graceMs);
      await observability.close();
    },
  };
}

export function baseUrl(address: SocketAddress): string {
  return `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

export interface AdminResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on its own connection (no keep-alive), so nothing lingers after a test. */
export function adminRequest(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<AdminResponse> {
  const timeoutMs = init.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${path}: no answer in ${timeoutMs / 1000} s`)),
    );
    req.on('error', reject);
    req.end();
  });
}

/** GETs `path` and parses the JSON body. */
export async function adminJson<T = unknown>(
  base: string,
  path: string,
): Promise<{ status: number; body: T }> {
  const res = await adminRequest(base, path);
  return { status: res.status, body: JSON.parse(res.body) as T };
}
