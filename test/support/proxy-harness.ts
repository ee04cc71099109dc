// Starts the real proxy in-process on a loopback port for end-to-end tests, with its log lines
// captured so tests can check what it reported.
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { parseTarget } from '../../common/target.js';
import { DEFAULT_CLUSTER, listenerConfig, quickStartConfig } from '../../config/defaults.js';
import type { ClusterConfig, Config, ListenerConfig, RouteConfig } from '../../config/types.js';
import { Switchyard, type SwitchyardOptions } from '../../proxy/switchyard.js';
import { echoClient, type EchoServiceClient } from './echo-backend.js';

export interface TestProxyOptions {
  /** Endpoints (or one resolver target) of the default cluster. */
  readonly upstream?: string | readonly string[];
  /** Overrides for the default cluster. */
  readonly cluster?: Partial<ClusterConfig>;
  /** More clusters, and routes that use them (tried before the catch-all route). */
  readonly clusters?: readonly ClusterConfig[];
  readonly routes?: readonly RouteConfig[];
  readonly listener?: Partial<ListenerConfig>;
  readonly config?: Partial<Config>;
  readonly proxyOptions?: Omit<SwitchyardOptions, 'logger'>;
}

export interface TestProxy {
  readonly proxy: Switchyard;
  /** `127.0.0.1:PORT` of the first listener. */
  readonly target: string;
  readonly port: number;
  /** Parsed JSON log lines, in order. */
  readonly logs: Record<string, unknown>[];
  /** Log messages containing `text`. */
  logged(text: string): string[];
  close(graceMs?: number): Promise<void>;
}

export function testCluster(
  name: string,
  target: string,
  overrides: Partial<ClusterConfig> = {},
): ClusterConfig {
  return { ...DEFAULT_CLUSTER, name, target, parsedTarget: parseTarget(target), ...overrides };
}

export async function startTestProxy(options: TestProxyOptions = {}): Promise<TestProxy> {
  const upstream = options.upstream ?? [];
  const target = typeof upstream === 'string' ? upstream : upstream.join(',');
  const base = quickStartConfig({
    listen: '127.0.0.1:0',
    upstream: target || 'static:///127.0.0.1:1',
  });
  const defaultCluster: ClusterConfig = { ...base.clusters[0], ...options.cluster };
  const config: Config = {
    ...base,
    listeners: [{ ...listenerConfig('main', { host: '127.0.0.1', port: 0 }), ...options.listener }],
    clusters: [...(options.clusters ?? []), ...(target ? [defaultCluster] : [])],
    routes: [...(options.routes ?? []), ...(target ? base.routes : [])],
    shutdownGraceMs: 2_000,
    ...options.config,
  };
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = pino({ level: 'debug', base: undefined }, sink);
  const proxy = await Switchyard.start(config, { ...options.proxyOptions, logger });
  const address = Object.values(proxy.addresses())[0];
  return {
    proxy,
    target: `127.0.0.1:${address.port}`,
    port: address.port,
    logs,
    logged: (text) => logs.map((l) => String(l.msg)).filter((m) => m.includes(text)),
    close: (graceMs = 0) => proxy.close(graceMs),
  };
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await delay(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * An echo client to `proxy`. When the test ends, the client and then the proxy are closed,
 * before any cleanup registered later (backends, DNS servers) runs.
 */
export function clientFor(t: TestContext, proxy: TestProxy): EchoServiceClient {
  const client = echoClient(proxy.target);
  t.after(async () => {
    client.close();
    await proxy.close();
  });
  return client;
}
