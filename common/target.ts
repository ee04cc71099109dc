// The one target syntax (dns, dns+srv, consul, static and bare host:port), parsed and formatted.
// It lives at the bottom because config/ parses targets while validating a file, and the
// resolvers, the upstream-proxy wiring and the grpc-js adapter read the parsed form.
import { isIP, isIPv6 } from 'node:net';
import { SwitchyardError } from './errors.js';

/** A target string that cannot be parsed or names an unknown scheme. */
export class TargetError extends SwitchyardError {
  override readonly name = 'TargetError';
  declare readonly code: 'SWY_ERR_BAD_TARGET';
  constructor(
    readonly target: string,
    message: string,
  ) {
    super('SWY_ERR_BAD_TARGET', `invalid target "${target}": ${message}`);
  }
}

export interface HostPort {
  /** Host name or IP address; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

/** `dns:///host:port` or `dns://NAMESERVER:PORT/host:port`; a bare `host:port` too. */
export interface DnsTarget {
  readonly scheme: 'dns';
  /** The server to ask instead of the system's (or the configured `servers`). */
  readonly nameserver: HostPort | undefined;
  readonly host: string;
  /** `DEFAULT_DNS_PORT` (443, as in gRPC) when the target names none. */
  readonly port: number;
}

/** `dns+srv:///_grpc._tcp.service.example`: SRV records, then A/AAAA of each SRV target. */
export interface SrvTarget {
  readonly scheme: 'dns+srv';
  readonly nameserver: HostPort | undefined;
  /** The full SRV owner name, e.g. `_grpc._tcp.service.example`. */
  readonly name: string;
}

/** `consul:///service?tag=…&dc=…&ns=…&filter=…` or `consul://AGENT:PORT/service`. */
export interface ConsulTarget {
  readonly scheme: 'consul';
  /** The agent to ask; undefined: the `address` option, `CONSUL_HTTP_ADDR`, or 127.0.0.1:8500. */
  readonly agent: HostPort | undefined;
  readonly service: string;
  /** Every tag must be present on an instance. */
  readonly tags: readonly string[];
  readonly datacenter: string | undefined;
  readonly namespace: string | undefined;
  /** A Consul filter expression, combined with the tags by `and`. */
  readonly filter: string | undefined;
}

/** `static:///10.0.0.1:50051,10.0.0.2:50051`, or a bare comma-separated list. */
export interface StaticTarget {
  readonly scheme: 'static';
  readonly endpoints: readonly HostPort[];
}

export type Target = DnsTarget | SrvTarget | ConsulTarget | StaticTarget;
export type TargetScheme = Target['scheme'];

export const TARGET_SCHEMES: readonly TargetScheme[] = ['dns', 'dns+srv', 'consul', 'static'];
/** gRPC's default for DNS targets without a port; we keep it so one target means one thing. */
export const DEFAULT_DNS_PORT = 443;
export const DEFAULT_NAMESERVER_PORT = 53;
export const DEFAULT_CONSUL_PORT = 8500;

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const CONSUL_PARAMS = new Set(['tag', 'dc', 'ns', 'filter']);

/** True for a DNS name we can query: letters, digits, `-`, `_`, at most 253 characters. */
export function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

interface RawHostPort {
  host: string;
  port: number | undefined;
}

/** Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal; checks both parts. */
function splitHostPort(target: string, part: string, what: string): RawHostPort {
  if (part.length === 0) throw new TargetError(target, `${what} is empty`);
  let host: string;
  let portText: string | undefined;
  if (part.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(part);
    if (!m || !isIPv6(m[1])) throw new TargetError(target, `"${part}" is not [IPv6]:port`);
    host = m[1];
    portText = m[2];
  } else if (isIPv6(part)) {
    host = part;
  } else {
    const colon = part.lastIndexOf(':');
    if (colon >= 0 && part.indexOf(':') !== colon) {
      throw new TargetError(target, `"${part}": IPv6 addresses with a port need brackets`);
    }
    host = colon >= 0 ? part.slice(0, colon) : part;
    portText = colon >= 0 ? part.slice(colon + 1) : undefined;
    if (isIP(host) === 0 && !isHostName(host)) {
      throw new TargetError(target, `"${host}" is not a valid host name or IP address`);
    }
  }
  if (portText === undefined) return { host, port: undefined };
  if (!/^\d{1,5}$/.test(portText))
    throw new TargetError(target, `port "${portText}" is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) {
    throw new TargetError(target, `port ${port} is out of range (1-65535)`);
  }
  return { host, port };
}

function parseNameserver(target: string, authority: string): HostPort | undefined {
  if (authority === '') return undefined;
  const { host, port } = splitHostPort(target, authority, 'nameserver');
  if (isIP(host) === 0) throw new TargetError(target, `nameserver "${host}" must be an IP address`);
  return { host, port: port ?? DEFAULT_NAMESERVER_PORT };
}

function parseDns(target: string, authority: string, path: string): DnsTarget {
  const nameserver = parseNameserver(target, authority);
  if (/[,?/]/.test(path)) throw new TargetError(target, `"${path}" is not host:port`);
  const { host, port } = splitHostPort(target, path, 'host');
  return { scheme: 'dns', nameserver, host, port: port ?? DEFAULT_DNS_PORT };
}

function parseSrv(target: string, authority: string, path: string): SrvTarget {
  const nameserver = parseNameserver(target, authority);
  if (path.length === 0) throw new TargetError(target, 'the SRV name is empty');
  if (path.includes(':')) throw new TargetError(target, 'an SRV name carries no port');
  if (!isHostName(path)) throw new TargetError(target, `"${path}" is not a valid SRV name`);
  return { scheme: 'dns+srv', nameserver, name: path };
}

function parseConsul(target: string, authority: string, path: string): ConsulTarget {
  let agent: HostPort | undefined;
  if (authority !== '') {
    const { host, port } = splitHostPort(target, authority, 'Consul agent');
    agent = { host, port: port ?? DEFAULT_CONSUL_PORT };
  }
  const q = path.indexOf('?');
  const service = q >= 0 ? path.slice(0, q) : path;
  if (service.length === 0) throw new TargetError(target, 'the Consul service name is empty');
  if (!/^[A-Za-z0-9_.-]+$/.test(service)) {
    throw new TargetError(target, `"${service}" is not a valid Consul service name`);
  }
  const params = new URLSearchParams(q >= 0 ? path.slice(q + 1) : '');
  for (const key of params.keys()) {
    if (!CONSUL_PARAMS.has(key)) {
      throw new TargetError(target, `unknown parameter "${key}" (expected tag, dc, ns or filter)`);
    }
  }
  const single = (key: string): string | undefined => {
    const values = params.getAll(key);
    if (values.length > 1) throw new TargetError(target, `"${key}" may appear only once`);
    if (values.length === 1 && values[0] === '') throw new TargetError(target, `"${key}" is empty`);
    return values[0];
  };
  const tags = params.getAll('tag');
  if (tags.some((t) => t === '')) throw new TargetError(target, '"tag" is empty');
  return {
    scheme: 'consul',
    agent,
    service,
    tags,
    datacenter: single('dc'),
    namespace: single('ns'),
    filter: single('filter'),
  };
}

function parseStatic(target: string, list: string): StaticTarget {
  const parts = list.split(',').map((p) => p.trim());
  if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) {
    throw new TargetError(target, 'the static list is empty');
  }
  const endpoints = parts.map((part) => {
    const { host, port } = splitHostPort(target, part, 'static endpoint');
    if (port === undefined) throw new TargetError(target, `"${part}" needs a port`);
    return { host, port };
  });
  return { scheme: 'static', endpoints };
}

/** Why `text` is not a target (the `TargetError` message), or undefined when it is one. */
export function targetProblem(text: string): string | undefined {
  try {
    parseTarget(text);
    return undefined;
  } catch (err) {
    if (err instanceof TargetError) return err.message;
    throw err;
  }
}

/**
 * Parses any target the project accepts. Throws `TargetError` (naming the target) for anything
 * else; never does I/O.
 */
export function parseTarget(text: string): Target {
  const target = text.trim();
  if (target.length === 0) throw new TargetError(text, 'the target is empty');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(target);
  if (m) {
    const scheme = m[1].toLowerCase();
    if (!TARGET_SCHEMES.includes(scheme as TargetScheme)) {
      throw new TargetError(
        text,
        `unknown scheme "${scheme}" (expected ${TARGET_SCHEMES.join(', ')} or a bare host:port)`,
      );
    }
    const slash = m[2].indexOf('/');
    if (slash < 0) {
      throw new TargetError(text, `expected ${scheme}://[authority]/path (e.g. ${scheme}:///…)`);
    }
    const authority = m[2].slice(0, slash);
    const path = m[2].slice(slash + 1);
    switch (scheme as TargetScheme) {
      case 'dns':
        return parseDns(text, authority, path);
      case 'dns+srv':
        return parseSrv(text, authority, path);
      case 'consul':
        return parseConsul(text, authority, path);
      case 'static':
        if (authority !== '') throw new TargetError(text, 'static targets take no authority');
        return parseStatic(text, path);
    }
  }
  // `dns:host:port` is valid gRPC but reads like host "dns"; ask for the unambiguous form.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(?!\d+$)/.exec(target);
  if (scheme && TARGET_SCHEMES.includes(scheme[1].toLowerCase() as TargetScheme)) {
    throw new TargetError(text, `write ${scheme[1]}:///… (with three slashes)`);
  }
  if (target.includes(',')) return parseStatic(text, target);
  return parseDns(text, '', target);
}

function formatHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

export function formatHostPort(hp: HostPort): string {
  return `${formatHost(hp.host)}:${hp.port}`;
}

/** The canonical text of a target; `parseTarget(formatTarget(t))` gives `t` back. */
export function formatTarget(target: Target): string {
  switch (target.scheme) {
    case 'dns':
      return `dns://${target.nameserver ? formatHostPort(target.nameserver) : ''}/${formatHostPort(target)}`;
    case 'dns+srv':
      return `dns+srv://${target.nameserver ? formatHostPort(target.nameserver) : ''}/${target.name}`;
    case 'consul': {
      const params = new URLSearchParams();
      for (const tag of target.tags) params.append('tag', tag);
      if (target.datacenter !== undefined) params.set('dc', target.datacenter);
      if (target.namespace !== undefined) params.set('ns', target.namespace);
      if (target.filter !== undefined) params.set('filter', target.filter);
      const query = params.size > 0 ? `?${params.toString()}` : '';
      return `consul://${target.agent ? formatHostPort(target.agent) : ''}/${target.service}${query}`;
    }
    case 'static':
      return `static:///${target.endpoints.map(formatHostPort).join(',')}`;
  }
}
