// Per-scheme resolver settings: types, defaults, and the validator the YAML config uses.
import type { Agent as HttpAgent } from 'node:http';
import { isIP } from 'node:net';
import type { Clock } from '../common/clock.js';
import type { DnsClientFactory } from './dns-client.js';
import type { TargetScheme } from './target.js';

/** Settings of the `dns` and `dns+srv` resolvers. */
export interface DnsResolverOptions {
  /** Nameservers as `ip` or `ip:port`; empty: the system's (resolv.conf). A target's authority wins. */
  readonly servers: readonly string[];
  /** Per-try query timeout handed to c-ares. */
  readonly timeoutMs: number;
  /** Tries per nameserver before c-ares gives up on a query. */
  readonly tries: number;
  /** Floor on re-resolution: TTL 0 answers and bursts of `refresh()` cause at most one query per this. */
  readonly minRefreshMs: number;
  /** Ceiling on re-resolution, however long the TTL (and the interval for SRV, whose TTL Node hides). */
  readonly maxRefreshMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffMultiplier: number;
  readonly backoffJitter: number;
  /** Also look up gRPC's TXT service config (`_grpc_config.<host>`). */
  readonly serviceConfig: boolean;
}

/** Settings of the `consul` resolver. */
export interface ConsulResolverOptions {
  /** `host:port`, `http://host:port` or `https://host:port`; default `CONSUL_HTTP_ADDR`, then 127.0.0.1:8500. */
  readonly address: string | undefined;
  /** ACL token; default `CONSUL_HTTP_TOKEN`. */
  readonly token: string | undefined;
  /** Datacenter to ask (a target's `dc=` wins); default the agent's own. */
  readonly datacenter: string | undefined;
  /** Enterprise namespace (a target's `ns=` wins). */
  readonly namespace: string | undefined;
  /** How long Consul may hold a blocking query open when nothing changes. */
  readonly waitMs: number;
  /** Added to `waitMs` (plus Consul's wait/16 jitter) before a request counts as hung. */
  readonly timeoutMs: number;
  /** Rate limit: at least this long between the starts of two queries, even when each returns at once. */
  readonly minIntervalMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffMultiplier: number;
  readonly backoffJitter: number;
}

export const DEFAULT_DNS_OPTIONS: DnsResolverOptions = Object.freeze({
  servers: Object.freeze([]),
  // c-ares doubles the timeout on each retry round: 2 s and 2 tries give up after about 6 s,
  // well inside the 30 s in which a proxy would otherwise notice nothing.
  timeoutMs: 2_000,
  tries: 2,
  // A TTL of 0 or 1 (Consul DNS, Kubernetes headless services) would otherwise mean a query per
  // answer; once a second per name follows changes quickly and costs next to nothing.
  minRefreshMs: 1_000,
  // gRPC re-resolves at most every 30 s; we re-resolve at least that often, so changes made
  // under a long TTL (and SRV changes, whose TTL Node does not expose) show within 30 s.
  maxRefreshMs: 30_000,
  // gRPC's connection backoff shape (1 s, ×1.6, ±20 %), capped lower: a resolver that comes
  // back should be noticed within half a minute.
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
  backoffMultiplier: 1.6,
  backoffJitter: 0.2,
  serviceConfig: false,
});

export const DEFAULT_CONSUL_OPTIONS: ConsulResolverOptions = Object.freeze({
  address: undefined,
  token: undefined,
  datacenter: undefined,
  namespace: undefined,
  // Below the 60 s idle cut of common load balancers and NATs between clients and agents.
  waitMs: 30_000,
  timeoutMs: 5_000,
  // Consul advises rate-limiting the loop: a flapping service then costs at most 5 queries/s.
  minIntervalMs: 200,
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
  backoffMultiplier: 1.6,
  backoffJitter: 0.2,
});

/**
 * A cluster's flat `resolver:` block once validated for its target's scheme: only the keys of
 * that scheme's group (the dns ones for dns and dns+srv, the consul ones for consul, none for
 * static), durations in milliseconds. Partial: defaults are filled when the resolver is built.
 */
export type ResolverBlock = Readonly<Partial<DnsResolverOptions & ConsulResolverOptions>>;

/**
 * Everything `createResolver` accepts: per-scheme settings (partial; defaults fill the rest) and
 * the seams tests and embedders inject.
 */
export interface ResolverOptions {
  readonly dns?: Partial<DnsResolverOptions>;
  readonly consul?: Partial<ConsulResolverOptions>;
  /** Time and timers; default the system clock with unref'd timers. */
  readonly clock?: Clock;
  /** [0, 1) for backoff jitter and service-config percentages; default `Math.random`. */
  readonly random?: () => number;
  /** Builds the c-ares resolver; default `new dns.promises.Resolver({ timeout, tries })`. */
  readonly createDnsClient?: DnsClientFactory;
  /**
   * HTTP(S) agent for requests to Consul (e.g. one that tunnels through an HTTP CONNECT proxy).
   * The resolver never destroys an agent it was given.
   */
  readonly consulAgent?: HttpAgent;
  /**
   * Environment for `CONSUL_HTTP_ADDR`, `CONSUL_HTTP_TOKEN`, `CONSUL_HTTP_SSL` and the TLS
   * settings (`CONSUL_CACERT`, …); default `process.env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

type FieldType = 'string' | 'string[]' | 'integer' | 'number' | 'boolean';

export interface OptionField {
  readonly type: FieldType;
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

const MS = { type: 'integer', min: 0, max: 0x7fffffff } as const;

/**
 * The keys a cluster's `resolver:` block may hold, per option group. `dns` applies to the `dns`
 * and `dns+srv` schemes; `static` takes none. Plain data, so a config loader or a JSON schema
 * generator can read it without importing anything else.
 */
export const RESOLVER_OPTION_SCHEMA = {
  dns: {
    servers: { type: 'string[]', description: 'nameservers as ip or ip:port' },
    timeoutMs: { ...MS, min: 1, description: 'per-try query timeout' },
    tries: { type: 'integer', min: 1, max: 10, description: 'tries per nameserver' },
    minRefreshMs: { ...MS, description: 'floor on re-resolution and refresh() rate limit' },
    maxRefreshMs: { ...MS, min: 1, description: 'ceiling on re-resolution; SRV interval' },
    backoffInitialMs: { ...MS, min: 1, description: 'first retry delay after a failure' },
    backoffMaxMs: { ...MS, min: 1, description: 'longest retry delay' },
    backoffMultiplier: { type: 'number', min: 1, max: 10, description: 'retry delay growth' },
    backoffJitter: { type: 'number', min: 0, max: 1, description: 'retry delay randomisation' },
    serviceConfig: { type: 'boolean', description: 'look up the TXT grpc_config' },
  },
  consul: {
    address: { type: 'string', description: 'agent address; default CONSUL_HTTP_ADDR' },
    token: { type: 'string', description: 'ACL token; default CONSUL_HTTP_TOKEN' },
    datacenter: { type: 'string', description: 'datacenter; a target dc= wins' },
    namespace: { type: 'string', description: 'namespace; a target ns= wins' },
    waitMs: { ...MS, min: 1_000, max: 600_000, description: 'blocking query wait' },
    timeoutMs: { ...MS, min: 1, description: 'extra time before a request counts as hung' },
    minIntervalMs: { ...MS, description: 'least time between two query starts' },
    backoffInitialMs: { ...MS, min: 1, description: 'first retry delay after a failure' },
    backoffMaxMs: { ...MS, min: 1, description: 'longest retry delay' },
    backoffMultiplier: { type: 'number', min: 1, max: 10, description: 'retry delay growth' },
    backoffJitter: { type: 'number', min: 0, max: 1, description: 'retry delay randomisation' },
  },
  static: {},
} as const satisfies Record<string, Record<string, OptionField>>;

export type OptionGroup = keyof typeof RESOLVER_OPTION_SCHEMA;

export interface OptionProblem {
  /** Key path inside the resolver block, e.g. `servers[1]`. */
  readonly path: string;
  readonly message: string;
}

export function optionGroupOf(scheme: TargetScheme): OptionGroup {
  return scheme === 'dns+srv' ? 'dns' : scheme;
}

function checkField(key: string, field: OptionField, value: unknown, out: OptionProblem[]): void {
  const range = () => {
    const n = value as number;
    if (field.min !== undefined && n < field.min)
      out.push({ path: key, message: `must be >= ${field.min}` });
    if (field.max !== undefined && n > field.max)
      out.push({ path: key, message: `must be <= ${field.max}` });
  };
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string' || value === '')
        out.push({ path: key, message: 'must be a non-empty string' });
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push({ path: key, message: 'must be true or false' });
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value))
        out.push({ path: key, message: 'must be an integer' });
      else range();
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value))
        out.push({ path: key, message: 'must be a number' });
      else range();
      return;
    case 'string[]':
      if (!Array.isArray(value)) out.push({ path: key, message: 'must be a list of strings' });
      else
        value.forEach((v: unknown, i) => {
          if (typeof v !== 'string' || v === '')
            out.push({ path: `${key}[${i}]`, message: 'must be a non-empty string' });
        });
      return;
  }
}

/** `ip` or `ip:port` or `[v6]:port`: what c-ares `setServers` accepts. */
export function isNameserver(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m) return false;
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  return isIP(host) !== 0 && port >= 1 && port <= 65535;
}

function crossChecks(group: OptionGroup, o: Record<string, unknown>, out: OptionProblem[]): void {
  if (group === 'dns') {
    const servers = o.servers;
    if (Array.isArray(servers)) {
      servers.forEach((s: unknown, i) => {
        if (typeof s === 'string' && s !== '' && !isNameserver(s)) {
          out.push({ path: `servers[${i}]`, message: `"${s}" is not ip, ip:port or [ipv6]:port` });
        }
      });
    }
    const min = (o.minRefreshMs as number | undefined) ?? DEFAULT_DNS_OPTIONS.minRefreshMs;
    const max = (o.maxRefreshMs as number | undefined) ?? DEFAULT_DNS_OPTIONS.maxRefreshMs;
    if (typeof min === 'number' && typeof max === 'number' && min > max) {
      out.push({ path: 'minRefreshMs', message: `must not exceed maxRefreshMs (${max})` });
    }
  }
  if (group === 'consul' && typeof o.address === 'string' && o.address !== '') {
    if (!/^(?:https?:\/\/)?(?:\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::\d{1,5})?\/?$/.test(o.address)) {
      out.push({
        path: 'address',
        message: `"${o.address}" is not host:port or http(s)://host:port`,
      });
    }
  }
  if (group !== 'static') {
    const d = group === 'dns' ? DEFAULT_DNS_OPTIONS : DEFAULT_CONSUL_OPTIONS;
    const initial = (o.backoffInitialMs as number | undefined) ?? d.backoffInitialMs;
    const max = (o.backoffMaxMs as number | undefined) ?? d.backoffMaxMs;
    if (typeof initial === 'number' && typeof max === 'number' && initial > max) {
      out.push({ path: 'backoffInitialMs', message: `must not exceed backoffMaxMs (${max})` });
    }
  }
}

/**
 * Checks a cluster's `resolver:` block (plain data from YAML) against the target's scheme.
 * Returns options ready for `createResolver`, or every problem with its key path.
 */
export function validateResolverOptions(
  scheme: string,
  raw: unknown,
): { options: ResolverOptions } | { errors: OptionProblem[] } {
  const group = (['dns', 'dns+srv', 'consul', 'static'] as const).includes(scheme as TargetScheme)
    ? optionGroupOf(scheme as TargetScheme)
    : undefined;
  if (group === undefined) return { errors: [{ path: '', message: `unknown scheme "${scheme}"` }] };
  if (raw === undefined || raw === null) return { options: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { errors: [{ path: '', message: 'must be a mapping of option names to values' }] };
  }
  const fields: Record<string, OptionField> = RESOLVER_OPTION_SCHEMA[group];
  const names = Object.keys(fields);
  const problems: OptionProblem[] = [];
  const o = raw as Record<string, unknown>;
  for (const [key, value] of Object.entries(o)) {
    const field = fields[key];
    if (!field) {
      const expected =
        names.length > 0 ? `expected one of ${names.join(', ')}` : 'takes no options';
      problems.push({ path: key, message: `unknown option for ${scheme} (${expected})` });
    } else if (value !== undefined) checkField(key, field, value, problems);
  }
  crossChecks(group, o, problems);
  if (problems.length > 0) return { errors: problems };
  if (group === 'static') return { options: {} };
  return { options: { [group]: { ...o } } };
}

/**
 * A cluster's `resolver:` block checked against the target's scheme: the block itself, typed,
 * or every problem with its key path.
 */
export function parseResolverBlock(
  scheme: TargetScheme,
  raw: unknown,
): { block: ResolverBlock } | { errors: OptionProblem[] } {
  const result = validateResolverOptions(scheme, raw);
  if ('errors' in result) return result;
  const group = optionGroupOf(scheme);
  return { block: group === 'static' ? {} : (result.options[group] ?? {}) };
}

/**
 * The options `createResolver` builds a resolver from, for a block `parseResolverBlock`
 * accepted: placed under the target's option group, checked no further.
 */
export function blockOptions(scheme: TargetScheme, block: ResolverBlock): ResolverOptions {
  const group = optionGroupOf(scheme);
  return group === 'static' ? {} : { [group]: block };
}

export function dnsOptions(partial: Partial<DnsResolverOptions> | undefined): DnsResolverOptions {
  return { ...DEFAULT_DNS_OPTIONS, ...stripUndefined(partial) };
}

export function consulOptions(
  partial: Partial<ConsulResolverOptions> | undefined,
): ConsulResolverOptions {
  return { ...DEFAULT_CONSUL_OPTIONS, ...stripUndefined(partial) };
}

function stripUndefined<T extends object>(partial: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!partial) return out;
  for (const [k, v] of Object.entries(partial))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
