// Which HTTP CONNECT proxy, if any, a connection goes through: proxy URLs, and the
// environment's grpc_proxy / https_proxy / http_proxy / no_proxy with a fixed precedence.
import { isIP } from 'node:net';
import { HostPatternList, type HostCandidate } from '../common/host-patterns.js';

/** A proxy to send `CONNECT host:port` to. */
export interface ProxyServer {
  /** `https:` means TLS to the proxy itself, before the CONNECT. */
  readonly protocol: 'http:' | 'https:';
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** `host:port` (IPv6 in brackets), for messages: never carries credentials. */
  readonly address: string;
  /** The `Proxy-Authorization` value (`Basic …`) from the URL's user and password, if any. */
  readonly authorization: string | undefined;
  /** Where the URL came from: an environment variable's name, or `config`. */
  readonly source: string;
}

/** What a connection carries, which picks the environment variables that apply. */
export type ProxyUse =
  /** gRPC to an upstream endpoint (h2c or TLS), and passthrough tunnels. */
  | 'grpc'
  /** Plain HTTP requests (a Consul agent at http://). */
  | 'http'
  /** HTTPS requests (a Consul agent at https://). */
  | 'https';

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/**
 * The variables each use reads, first set (non-empty) wins; lower case before upper case.
 * gRPC follows grpc-js (grpc_proxy, then https_proxy, then http_proxy), so a program behaves the
 * same whether it calls through switchyard or embeds it; HTTP requests follow curl.
 */
export const PROXY_VARIABLES: Readonly<Record<ProxyUse, readonly string[]>> = Object.freeze({
  grpc: ['grpc_proxy', 'GRPC_PROXY', 'https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'],
  http: ['http_proxy', 'HTTP_PROXY'],
  https: ['https_proxy', 'HTTPS_PROXY'],
});

/** The exclusion lists each use reads; the first one set is the whole list. */
export const NO_PROXY_VARIABLES: Readonly<Record<ProxyUse, readonly string[]>> = Object.freeze({
  grpc: ['no_grpc_proxy', 'NO_GRPC_PROXY', 'no_proxy', 'NO_PROXY'],
  http: ['no_proxy', 'NO_PROXY'],
  https: ['no_proxy', 'NO_PROXY'],
});

function bracketed(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * Reads `http://[user:password@]host[:port]` (or `https://`; a bare `host:port` means http).
 * Returns the proxy, or why the text is not one. The port defaults to the scheme's (80, 443).
 */
export function parseProxyUrl(text: string, source: string): ProxyServer | string {
  const trimmed = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return `"${text}" is not a URL (write http://host:port)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `"${text}": only http:// and https:// proxies (HTTP CONNECT) are supported`;
  }
  if (url.hostname === '') return `"${text}" names no host`;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return `"${text}" must be http://[user:password@]host[:port] with no path`;
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    let user: string;
    let password: string;
    try {
      user = decodeURIComponent(url.username);
      password = decodeURIComponent(url.password);
    } catch {
      // Not the text: it holds the credentials.
      return 'the user or password is badly percent-encoded';
    }
    authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  }
  return {
    protocol: url.protocol,
    host,
    port,
    address: `${bracketed(host)}:${port}`,
    authorization,
    source,
  };
}

/** Where a connection goes: its host names, the address it connects to, and the port. */
export interface ProxyTarget {
  /** The host as the target or endpoint names it (a name or an IP literal). */
  readonly host: string;
  /** The DNS name the address was found under, when it differs from `host`. */
  readonly hostname?: string | undefined;
  readonly port: number;
}

/** One problem with the environment, for a warning at startup. */
export interface ProxyEnvProblem {
  readonly variable: string;
  readonly message: string;
}

interface UseSettings {
  readonly proxy: ProxyServer | undefined;
  readonly noProxy: HostPatternList;
}

function firstSet(env: ProxyEnv, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return name;
  }
  return undefined;
}

/**
 * The proxy environment of a process, read once. A variable set to an unusable URL (say
 * `socks5://…`) is reported in `problems` and that use connects directly, as grpc-js does.
 */
export class ProxyEnvironment {
  readonly problems: readonly ProxyEnvProblem[];
  private readonly uses: Readonly<Record<ProxyUse, UseSettings>>;

  constructor(env: ProxyEnv) {
    const problems: ProxyEnvProblem[] = [];
    const read = (use: ProxyUse): UseSettings => {
      let proxy: ProxyServer | undefined;
      const variable = firstSet(env, PROXY_VARIABLES[use]);
      if (variable !== undefined) {
        const parsed = parseProxyUrl(env[variable]!, variable);
        if (typeof parsed === 'string') {
          if (!problems.some((p) => p.variable === variable)) {
            problems.push({ variable, message: parsed });
          }
        } else proxy = parsed;
      }
      const noVariable = firstSet(env, NO_PROXY_VARIABLES[use]);
      const noProxy = new HostPatternList(noVariable !== undefined ? env[noVariable]! : '');
      for (const p of noProxy.problems) {
        const message = `entry "${p.entry}" ${p.message}; it is ignored`;
        if (!problems.some((q) => q.variable === noVariable && q.message === message)) {
          problems.push({ variable: noVariable!, message });
        }
      }
      return { proxy, noProxy };
    };
    this.uses = { grpc: read('grpc'), http: read('http'), https: read('https') };
    this.problems = problems;
  }

  /** Whether any use has a proxy at all (else every connection is direct). */
  get any(): boolean {
    return Object.values(this.uses).some((u) => u.proxy !== undefined);
  }

  /** The environment's proxy for `use`, before `no_proxy`. */
  proxy(use: ProxyUse): ProxyServer | undefined {
    return this.uses[use].proxy;
  }

  /** The proxy a connection of this use to `target` goes through, or undefined for direct. */
  proxyFor(use: ProxyUse, target: ProxyTarget): ProxyServer | undefined {
    const { proxy, noProxy } = this.uses[use];
    if (proxy === undefined) return undefined;
    return bypasses(noProxy, target) ? undefined : proxy;
  }
}

/** Whether `target` is on the exclusion list, by any of its names or its address. */
export function bypasses(list: HostPatternList, target: ProxyTarget): boolean {
  if (list.empty) return false;
  const names = target.hostname !== undefined ? [target.host, target.hostname] : [target.host];
  const candidate: HostCandidate = {
    names,
    address: isIP(target.host) !== 0 ? target.host : undefined,
    port: target.port,
  };
  return list.matches(candidate);
}
