// The c-ares client seam: the queries resolvers make, how failures are classified, and A+AAAA.
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';

export interface AddressWithTtl {
  readonly address: string;
  /** Seconds. */
  readonly ttl: number;
}

export interface SrvAnswer {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * The part of `dns.promises.Resolver` the resolvers use. Every method rejects with an error whose
 * `code` is a c-ares code (`ENOTFOUND`, `ENODATA`, `ETIMEOUT`, …).
 */
export interface DnsClient {
  setServers(servers: readonly string[]): void;
  resolve4(name: string): Promise<AddressWithTtl[]>;
  resolve6(name: string): Promise<AddressWithTtl[]>;
  resolveSrv(name: string): Promise<SrvAnswer[]>;
  resolveTxt(name: string): Promise<string[][]>;
  /** Rejects every pending query with `ECANCELLED`. */
  cancel(): void;
}

export type DnsClientFactory = (settings: { timeoutMs: number; tries: number }) => DnsClient;

/** One c-ares channel per resolver, so `cancel()` on close touches only that resolver's queries. */
export const createCaresClient: DnsClientFactory = ({ timeoutMs, tries }) => {
  const r = new dnsPromises.Resolver({ timeout: timeoutMs, tries });
  return {
    setServers: (servers) => r.setServers([...servers]),
    resolve4: (name) => r.resolve4(name, { ttl: true }),
    resolve6: (name) => r.resolve6(name, { ttl: true }),
    resolveSrv: (name) => r.resolveSrv(name),
    resolveTxt: (name) => r.resolveTxt(name),
    cancel: () => r.cancel(),
  };
};

/** How a failed query counts: not-found (NXDOMAIN, empty), a bad answer, or transient. */
export type DnsFailureKind = 'not-found' | 'bad-answer' | 'transient';

export function dnsErrorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

export function classifyDnsError(error: unknown): DnsFailureKind {
  switch (dnsErrorCode(error)) {
    case 'ENOTFOUND': // NXDOMAIN
    case 'ENODATA': // the name exists but has no record of this type
      return 'not-found';
    case 'EBADRESP':
    case 'EFORMERR':
    case 'EBADSTR':
      return 'bad-answer';
    default:
      // ETIMEOUT, ESERVFAIL, ECONNREFUSED, EREFUSED, ENOTIMP, EOF, …: the server may recover.
      return 'transient';
  }
}

/** Addresses of one name, both families, with the TTL to re-ask after. */
export type AddressLookup =
  | {
      readonly kind: 'ok';
      readonly v4: readonly AddressWithTtl[];
      readonly v6: readonly AddressWithTtl[];
      readonly failed: FamilyFailure | undefined;
    }
  | { readonly kind: 'not-found'; readonly code: string }
  | { readonly kind: 'error'; readonly code: string; readonly cause: unknown };

/** One family failed transiently while the other answered; the caller decides what to keep. */
export interface FamilyFailure {
  readonly family: 4 | 6;
  readonly code: string;
  readonly cause: unknown;
}

const LOCALHOST_V4: readonly AddressWithTtl[] = Object.freeze([
  { address: '127.0.0.1', ttl: Infinity },
]);
const LOCALHOST_V6: readonly AddressWithTtl[] = Object.freeze([{ address: '::1', ttl: Infinity }]);

/**
 * IP literals and `localhost` need no query: their addresses, with an infinite TTL, or
 * undefined for a name that must be looked up.
 */
export function literalAddresses(
  host: string,
): { v4: readonly AddressWithTtl[]; v6: readonly AddressWithTtl[] } | undefined {
  const family = isIP(host);
  if (family === 4) return { v4: [{ address: host, ttl: Infinity }], v6: [] };
  if (family === 6) return { v4: [], v6: [{ address: host, ttl: Infinity }] };
  const lower = host.toLowerCase();
  if (lower === 'localhost' || lower === 'localhost.')
    return { v4: LOCALHOST_V4, v6: LOCALHOST_V6 };
  return undefined;
}

/**
 * Queries A and AAAA together. A missing family is normal (ENODATA); both missing is not-found;
 * one family failing transiently still returns the other, with `failed` set; both failing, or
 * one failing while the other has nothing, is an error.
 */
export async function lookupAddresses(client: DnsClient, host: string): Promise<AddressLookup> {
  const literal = literalAddresses(host);
  if (literal) return { kind: 'ok', ...literal, failed: undefined };
  const [a, aaaa] = await Promise.allSettled([client.resolve4(host), client.resolve6(host)]);
  const v4 = a.status === 'fulfilled' ? a.value : [];
  const v6 = aaaa.status === 'fulfilled' ? aaaa.value : [];
  const v4Error: unknown = a.status === 'rejected' ? a.reason : undefined;
  const v6Error: unknown = aaaa.status === 'rejected' ? aaaa.reason : undefined;
  // Only a failure other than "no such name / no such record" counts as a failure here.
  const v4Bad = v4Error !== undefined && classifyDnsError(v4Error) !== 'not-found';
  const v6Bad = v6Error !== undefined && classifyDnsError(v6Error) !== 'not-found';
  if (v4.length + v6.length === 0) {
    if (!v4Bad && !v6Bad) {
      // NXDOMAIN beats "no data": one family's NXDOMAIN means the name does not exist.
      const nx = dnsErrorCode(v4Error) === 'ENOTFOUND' || dnsErrorCode(v6Error) === 'ENOTFOUND';
      return { kind: 'not-found', code: nx ? 'ENOTFOUND' : 'ENODATA' };
    }
    const reason = v4Bad ? v4Error : v6Error;
    return { kind: 'error', code: dnsErrorCode(reason), cause: reason };
  }
  let failed: FamilyFailure | undefined;
  if (v4Bad) failed = { family: 4, code: dnsErrorCode(v4Error), cause: v4Error };
  else if (v6Bad) failed = { family: 6, code: dnsErrorCode(v6Error), cause: v6Error };
  return { kind: 'ok', v4, v6, failed };
}

/** Shortest TTL of the given answers, in milliseconds; Infinity when there are none. */
export function shortestTtlMs(...lists: (readonly AddressWithTtl[])[]): number {
  let min = Infinity;
  for (const list of lists) for (const r of list) if (r.ttl * 1000 < min) min = r.ttl * 1000;
  return min;
}
